"""A real MPO run on CPU: SmolLM2-135M-Instruct on a small slice of the paper's file.

Prints, per language, the target gap and the English gap before and after training on held-out
rows, and the English drift. Run from the project root:  python bench/mpo_real_run.py
"""
import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.ml.data import paper_slice, prepare, truncate_responses  # noqa: E402
from training.ml.evaluation import evaluate  # noqa: E402
from training.ml.models import smollm2_path  # noqa: E402
from training.ml.run import load_model  # noqa: E402
from training.ml.trainer import MPOConfig, MPOTrainer  # noqa: E402


def table(before, after):
    lines = ["| lang | n | target gap before | after | English gap before | after | English drift | "
             "target acc before | after | English L2 |", "|---" * 10 + "|"]
    for lang in before:
        b, a = before[lang], after[lang]
        lines.append(f"| {lang} | {b['n']} | {b['target_gap']:+.3f} | {a['target_gap']:+.3f} | "
                     f"{b['english_gap']:+.3f} | {a['english_gap']:+.3f} | {a['english_gap_drift']:+.3f} | "
                     f"{b['accuracy']:.2f} | {a['accuracy']:.2f} | {a['english_l2']:.2e} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train-per-lang", type=int, default=6)
    ap.add_argument("--eval-per-lang", type=int, default=5)
    ap.add_argument("--response-tokens", type=int, default=48)
    ap.add_argument("--epochs", type=float, default=3)
    ap.add_argument("--max-steps", type=int, default=-1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument("--out", default="/tmp/crosswalk-mpo-real-run")
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()

    import torch
    torch.manual_seed(0)
    path = smollm2_path()
    model, tok = load_model(path)
    train_rows = truncate_responses(paper_slice(args.train_per_lang), tok, args.response_tokens)
    eval_rows = truncate_responses(paper_slice(args.eval_per_lang, offset=args.train_per_lang), tok,
                                   args.response_tokens)
    train = prepare(train_rows, tok, max_length=512)
    held = prepare(eval_rows, tok, max_length=512)
    print(f"train rows {len(train.dataset)} (skipped {dict(train.skipped)}), held-out {len(held.dataset)}")

    t0 = time.time()
    before, base = evaluate(model, held.dataset, tok.pad_token_id)
    train_before, train_base = evaluate(model, train.dataset, tok.pad_token_id)
    config = MPOConfig(output_dir=args.out, beta=args.beta, learning_rate=args.lr, num_train_epochs=args.epochs,
                       max_steps=args.max_steps, per_device_train_batch_size=args.batch, lr_scheduler_type="cosine",
                       warmup_steps=0.1, logging_steps=1, save_strategy="no", report_to=[], use_cpu=True,
                       disable_tqdm=True, seed=0)
    print(f"{len(train.dataset)} training rows, batch {args.batch}, lr {args.lr}, beta {args.beta}", flush=True)
    trainer = MPOTrainer(model=model, args=config, train_dataset=train.dataset, processing_class=tok)
    trainer.train()
    after, _ = evaluate(model, held.dataset, tok.pad_token_id, reference=base)
    seconds = time.time() - t0
    train_after, _ = evaluate(model, train.dataset, tok.pad_token_id, reference=train_base)
    print(f"\n{trainer.state.global_step} steps in {seconds:.0f} s (with evaluation)\n")
    print("Held-out rows:\n" + table(before, after))
    print("\nTraining rows:\n" + table(train_before, train_after))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "steps": trainer.state.global_step,
                                               "seconds": seconds, "held_out": {"before": before, "after": after},
                                               "train": {"before": train_before, "after": train_after},
                                               "log": trainer.state.log_history}, indent=1))


if __name__ == "__main__":
    main()
