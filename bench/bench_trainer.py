"""Step time and peak memory: MPO (live reference / precomputed reference) against TRL's DPOTrainer.

Same model (SmolLM2-135M-Instruct, float32, full fine-tuning, AdamW), same batch (2 rows), same
sequence lengths (synthetic rows of fixed token length, so every sequence has the same size), on CPU.
Each configuration runs in its own subprocess so its peak RSS (ru_maxrss) is its own.

    python bench/bench_trainer.py            # everything, prints a Markdown table and writes --json
    python bench/bench_trainer.py --one mpo_pre   # one configuration (used by the driver)
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BATCH, PROMPT_WORDS, RESPONSE_WORDS = 1, 16, 40
CONFIGS = ("calibrate", "mpo_pre", "mpo_live", "dpo")


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def synthetic_rows(n):
    # repeated single-token words: every prompt and response has the same token count
    return [{"id": f"b{i}", "language": "sw", "harm_scope": "global", "has_english": True,
             "en_prompt": " one" * PROMPT_WORDS, "en_chosen": " yes" * RESPONSE_WORDS, "en_rejected": " no" * RESPONSE_WORDS,
             "prompt": " two" * PROMPT_WORDS, "chosen": " yes" * RESPONSE_WORDS, "rejected": " no" * RESPONSE_WORDS}
            for i in range(n)]


class StepTimer:
    def __init__(self):
        from transformers import TrainerCallback

        timer = self

        class _CB(TrainerCallback):
            def on_step_begin(self, args, state, control, **kw):
                timer.t0 = time.perf_counter()

            def on_step_end(self, args, state, control, **kw):
                timer.times.append(time.perf_counter() - timer.t0)

        self.times, self.callback = [], _CB()


def run_one(name, steps, warmup):
    import torch

    torch.manual_seed(0)
    from training.ml.data import prepare
    from training.ml.models import smollm2_path
    from training.ml.run import load_model

    rss_imports = rss_mb()
    model, tok = load_model(smollm2_path())
    rss_model = rss_mb()
    n_params = sum(p.numel() for p in model.parameters())
    rows = synthetic_rows(BATCH * (steps + warmup))
    ds = prepare(rows, tok, max_length=1024).dataset
    lengths = {k: len(ds[0][k]) for k in ("chosen_ids", "rejected_ids", "en_chosen_ids", "en_rejected_ids")}
    out = {"config": name, "params": n_params, "rss_imports_mb": rss_imports, "rss_model_mb": rss_model,
           "lengths": lengths, "batch": BATCH}
    if name == "calibrate":
        out.update(calibrate(model, ds, tok))
        return out

    from training.ml.trainer import MPOConfig, MPOTrainer

    timer = StepTimer()
    cfg = MPOConfig(output_dir="/tmp/crosswalk-bench-" + name, max_steps=steps + warmup, per_device_train_batch_size=BATCH,
                    learning_rate=1e-6, lr_scheduler_type="constant", logging_steps=1000, save_strategy="no",
                    report_to=[], use_cpu=True, disable_tqdm=True, precompute_ref=(name == "mpo_pre"),
                    dataloader_drop_last=True, seed=0)
    if name == "dpo":
        from training.ml.baselines import dpo_trainer

        trainer = dpo_trainer(model, tok, ds, cfg, callbacks=[timer.callback])
    else:
        trainer = MPOTrainer(model=model, args=cfg, train_dataset=ds, processing_class=tok, callbacks=[timer.callback])
    rss_before_train = rss_mb()
    trainer.train()
    timed = timer.times[warmup:]
    out.update(step_s_median=statistics.median(timed), step_s_min=min(timed), step_s_all=timer.times,
               peak_rss_mb=rss_mb(), rss_before_train_mb=rss_before_train)
    # the floor's pieces, timed in this same process right after training (after the peak RSS was read),
    # so that load from other work on the machine affects measurement and floor alike
    out["pieces"] = time_pieces(model, ds, tok)
    return out


def time_pieces(model, ds, tok, repeats=3):
    """Forward+backward of the 2B target sequences (full logits), of the 2B English sequences (hidden
    states only, as MPO's L2 uses them), a no-grad forward of 2B sequences, and one AdamW step."""
    import torch

    from training.ml.collator import MPOCollator
    from training.ml.trainer import english_forward, response_logps

    batch = MPOCollator(tok.pad_token_id)([ds[i] for i in range(BATCH)])
    model.train()

    def fb():
        _, alp = response_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
        alp.sum().backward()

    def fb_english():
        pooled, _ = english_forward(model, batch, "masked_mean", with_logps=False)
        pooled.pow(2).mean().backward()

    def f():
        with torch.no_grad():
            response_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"])

    def best(fn):
        fn()  # warm
        ts = []
        for _ in range(repeats):
            model.zero_grad(set_to_none=True)
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return min(ts)

    out = {"fb_2seq_s": best(fb), "fb_english_2seq_s": best(fb_english), "f_2seq_s": best(f)}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6)
    fb()
    opt.step()  # creates the state
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        opt.step()
        ts.append(time.perf_counter() - t)
    out["adam_step_s"] = min(ts)
    return out


def calibrate(model, ds, tok):
    """Activation memory of MPO's policy graph (target logits + English hidden states), read as the rise
    of the high-water RSS over a forward of both, before any backward; and the timing pieces."""
    from training.ml.collator import MPOCollator
    from training.ml.trainer import english_forward, response_logps

    batch = MPOCollator(tok.pad_token_id)([ds[i] for i in range(BATCH)])
    model.train()
    rss0 = rss_mb()
    _, alp = response_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
    pooled, _ = english_forward(model, batch, "masked_mean", with_logps=False)
    rss_graph = rss_mb()
    (alp.sum() + pooled.sum()).backward()
    out = {"activations_mpo_mb": rss_graph - rss0, "rss_after_first_backward_mb": rss_mb()}
    del alp, pooled
    out["pieces"] = time_pieces(model, ds, tok)
    return out


def time_floors(pieces):
    """Token-count floor: MPO = 2 x FB(2 seqs) [+ F(2 seqs) for a live reference] + optimizer step;
    DPO = FB(2 seqs) + F(2 seqs) + optimizer step. FB and F are measured on the 2 target sequences
    with full logits; MPO's English pass needs no LM head, so MPO can come in under its token floor."""
    fb, f, opt = pieces["fb_2seq_s"], pieces["f_2seq_s"], pieces["adam_step_s"]
    return {"mpo_pre": 2 * fb + opt, "mpo_live": 2 * fb + f + opt, "dpo": fb + f + opt}


def memory_floors(cal):
    mb = cal["params"] * 4 / 2**20
    base = cal["rss_imports_mb"]  # the process before the model: Python, torch, transformers
    act = cal["activations_mpo_mb"]
    parts = {"base": base, "params": mb, "grads": mb, "adam": 2 * mb, "activations_mpo": act}
    # params + grads + Adam's two states [+ a reference copy of the params] + activations, over the base
    return {"mpo_pre": base + 4 * mb + act, "mpo_live": base + 5 * mb + act}, parts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--one", choices=CONFIGS)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", default=str(ROOT / "bench" / "bench_trainer.json"))
    args = ap.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, args.steps, args.warmup)), flush=True)
        return
    results = {}
    for name in CONFIGS:
        t = time.time()
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(args.steps),
                               "--warmup", str(args.warmup)], capture_output=True, text=True, cwd=ROOT)
        line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode or not line:
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit(f"{name} failed")
        results[name] = json.loads(line[-1][7:])
        print(f"{name}: {time.time() - t:.0f} s", flush=True)
    cal = results["calibrate"]
    mem_floor, parts = memory_floors(cal)
    results["memory_floor_mb"], results["memory_parts_mb"] = mem_floor, parts
    Path(args.json).write_text(json.dumps(results, indent=1))
    print(f"\nlengths {cal['lengths']}, batch {BATCH}, params {cal['params'] / 1e6:.1f} M")
    print("| config | step time min / median (s) | token floor (s) | min / floor | peak RSS (MiB) | "
          "memory floor (MiB) | peak / floor |")
    print("|---|---|---|---|---|---|---|")
    for name in ("mpo_pre", "mpo_live", "dpo"):
        r = results[name]
        tf = time_floors(r["pieces"])[name]
        mf = mem_floor.get(name)
        mem = f"{mf:.0f} | {r['peak_rss_mb'] / mf:.2f}" if mf else "- | -"
        print(f"| {name} | {r['step_s_min']:.2f} / {r['step_s_median']:.2f} | {tf:.2f} | "
              f"{r['step_s_min'] / tf:.2f} | {r['peak_rss_mb']:.0f} | {mem} |")
    print("pieces:", json.dumps({n: results[n]["pieces"] for n in CONFIGS}, indent=1))
    print("memory parts:", json.dumps(parts))


if __name__ == "__main__":
    main()
