"""Command line for the ML side, without Django: what a GPU worker runs under `accelerate launch`.

    accelerate launch -m training.ml.cli --data DIR --model PATH --output-dir OUT [--method mpo] [--set key=value ...]
Re-running with the same --output-dir resumes from the last checkpoint-* in it.
"""
import argparse
import json
import sys


def parse_value(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def options_from(pairs):
    """--set beta=1.5 --set max_steps=10 -> {"beta": 1.5, "max_steps": 10}"""
    out = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {pair!r}")
        out[key.strip().replace("-", "_")] = parse_value(value)
    return out


def add_arguments(parser):
    parser.add_argument("--method", choices=["mpo", "dpo", "simpo"], default="mpo")
    parser.add_argument("--beta", type=float, help="MPO beta (paper: 1.0 LLaMA-3.1, 1.5 Gemma-2/Qwen2.5)")
    parser.add_argument("--l2-weight", type=float, help="lambda, weight of the English hidden-state term")
    parser.add_argument("--native-loss", choices=["dpo", "simpo", "none"])
    parser.add_argument("--native-weight", type=float)
    parser.add_argument("--no-precompute-ref", action="store_true", help="keep a live reference model")
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--epochs", type=float, dest="num_train_epochs")
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--batch-size", type=int, dest="per_device_train_batch_size")
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--save-steps", type=int)
    parser.add_argument("--lora-r", type=int, default=0, help="train a LoRA adapter of this rank (0: full)")
    parser.add_argument("--eval-fraction", type=float, default=0.2)
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="force CPU even where a GPU is present")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="any MPOConfig/TrainingArguments field")


TRAINER_KEYS = ("beta", "l2_weight", "native_loss", "native_weight", "learning_rate", "num_train_epochs",
                "max_steps", "per_device_train_batch_size", "max_length", "save_steps")


def options_from_args(args):
    """The trainer options named on the command line (the rest keep their defaults)."""
    opts = {k: getattr(args, k) for k in TRAINER_KEYS if getattr(args, k, None) is not None}
    if args.no_precompute_ref:
        opts["precompute_ref"] = False
    if args.bf16:
        opts["bf16"] = True
    if args.cpu:
        opts["use_cpu"] = True
    opts.update(options_from(args.set))
    return opts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="mpo export folder, parquet, or the paper's .json")
    parser.add_argument("--model", required=True, help="base model folder")
    parser.add_argument("--output-dir", required=True)
    add_arguments(parser)
    args = parser.parse_args(argv)
    from .run import train

    def show(step, metrics):
        print(json.dumps({"step": step, **metrics}), flush=True)

    result = train(args.data, args.model, args.output_dir, method=args.method, eval_fraction=args.eval_fraction,
                   lora_r=args.lora_r, on_log=show, **options_from_args(args))
    print(json.dumps({"resumed_from": result.resumed_from, "rows": result.rows, "skipped": result.skipped,
                      "artefacts": result.artefacts, "evaluation": result.evaluation["after"].get("all")}))


if __name__ == "__main__":
    sys.exit(main())
