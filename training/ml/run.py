"""One training run end to end, without Django: load, validate, evaluate before, train (resuming from
the last checkpoint in output_dir), save, evaluate after. The Django service and the worker call this."""
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .data import prepare

TRAINER_DEFAULTS = dict(
    learning_rate=5e-7, num_train_epochs=2, lr_scheduler_type="cosine", warmup_steps=0.1,  # a float < 1 is a ratio in transformers 5
    per_device_train_batch_size=4, gradient_accumulation_steps=1, logging_steps=1,
    save_strategy="steps", save_steps=50, save_total_limit=2, report_to=[], seed=42,
)


@dataclass
class RunResult:
    output_dir: str
    config: dict
    skipped: dict
    rows: dict
    evaluation: dict
    artefacts: dict = field(default_factory=dict)
    resumed_from: str | None = None
    log_history: list = field(default_factory=list)


def last_checkpoint(output_dir):
    """The newest complete checkpoint-N in output_dir. trainer_state.json is written last, so a process
    killed while saving leaves it missing or cut short: such a checkpoint must not be resumed from."""
    def complete(path):
        try:
            json.loads((path / "trainer_state.json").read_text())
            return True
        except (OSError, ValueError):
            return False

    done = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and complete(p)]
    return str(max(done, key=lambda p: int(p.name.split("-")[-1]))) if done else None


def split_held_out(dataset, fraction, seed=42):
    """Per-language held-out split; with too few rows, evaluate on the training rows (said in the result)."""
    if fraction <= 0:
        return dataset, dataset, "train"
    by_lang = {}
    for i, lang in enumerate(dataset["language"]):
        by_lang.setdefault(lang, []).append(i)
    rng = random.Random(seed)
    held = []
    for lang, idx in sorted(by_lang.items()):
        if len(idx) >= 2:
            held += rng.sample(idx, max(1, round(fraction * len(idx))))
    if not held:
        return dataset, dataset, "train"
    held_set = set(held)
    train = dataset.select([i for i in range(len(dataset)) if i not in held_set])
    return train, dataset.select(sorted(held)), "held_out"


def load_model(model_path, bf16=False, lora_r=0):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.bfloat16 if bf16 else torch.float32)
    if lora_r:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=lora_r, lora_alpha=2 * lora_r, target_modules="all-linear",
                                                 task_type="CAUSAL_LM"))
    return model, tok


def train(data, model_path, output_dir, method="mpo", eval_fraction=0.2, lora_r=0, on_log=None,
          should_stop=None, limit=None, **options):
    """Train and evaluate. `data`: a path (export folder, parquet, the paper's .json) or a list of rows.
    `options`: MPOConfig / TrainingArguments fields (beta, l2_weight, max_steps, ...)."""
    from .baselines import dpo_trainer
    from .callbacks import FunctionCallback
    from .evaluation import evaluate
    from .trainer import MPOConfig, MPOTrainer

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    settings = {**TRAINER_DEFAULTS, **options}
    config = MPOConfig(output_dir=str(output_dir), method="mpo" if method == "dpo" else method, **settings)
    model, tok = load_model(model_path, bf16=config.bf16, lora_r=lora_r)
    prepared = prepare(data, tok, max_length=config.max_length, native_term=config.native_loss != "none"
                       or method != "mpo")
    dataset = prepared.dataset.select(range(min(limit, len(prepared.dataset)))) if limit else prepared.dataset
    train_ds, eval_ds, evaluated_on = split_held_out(dataset, eval_fraction, seed=config.seed)

    pad = tok.pad_token_id
    before, base_scores = evaluate(model, eval_ds, pad, pooling=config.pooling)
    callbacks = [FunctionCallback(on_log=on_log, should_stop=should_stop)]
    if method == "dpo":
        trainer = dpo_trainer(model, tok, train_ds, config, callbacks=callbacks, beta=options.get("dpo_beta", 0.1))
    else:
        trainer = MPOTrainer(model=model, args=config, train_dataset=train_ds, processing_class=tok,
                             callbacks=callbacks)
    resume = last_checkpoint(output_dir)
    trainer.train(resume_from_checkpoint=resume)
    final = output_dir / "final"
    trainer.save_model(str(final))
    tok.save_pretrained(str(final))
    after, _ = evaluate(trainer.model, eval_ds, pad, pooling=config.pooling, reference=base_scores)
    evaluation = {"before": before, "after": after, "evaluated_on": evaluated_on}
    if trainer.is_world_process_zero():  # under accelerate/torchrun every rank gets here
        (output_dir / "evaluation.json").write_text(json.dumps(evaluation, indent=1))
    return RunResult(
        output_dir=str(output_dir),
        config={"method": method, "base_model": str(model_path), "lora_r": lora_r, "eval_fraction": eval_fraction,
                **{k: v for k, v in config.to_dict().items() if _jsonable(v)}},
        skipped=dict(prepared.skipped),
        rows={"train": len(train_ds), "eval": len(eval_ds), "total": len(dataset)},
        evaluation=evaluation,
        artefacts={"model": str(final), "evaluation": str(output_dir / "evaluation.json"),
                   **({"reference_cache": str(output_dir / "reference_cache")}
                      if (output_dir / "reference_cache").exists() else {})},
        resumed_from=resume,
        log_history=trainer.state.log_history,
    )


def _jsonable(v):
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False
