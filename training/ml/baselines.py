"""The DPO baseline through TRL's DPOTrainer, on the same target pairs MPO trains on.

(SimPO runs in MPOTrainer with method="simpo": same collator, reference-free.)
"""
from dataclasses import fields


def dpo_dataset(dataset, tokenizer):
    """TRL's preference format: conversational when the model has a chat template, plain text otherwise."""
    chat = bool(getattr(tokenizer, "chat_template", None))

    def row(r):
        if chat:
            return {"prompt": [{"role": "user", "content": r["prompt"]}],
                    "chosen": [{"role": "assistant", "content": r["chosen"]}],
                    "rejected": [{"role": "assistant", "content": r["rejected"]}]}
        eos = tokenizer.eos_token or ""
        return {"prompt": r["prompt"], "chosen": r["chosen"] + eos, "rejected": r["rejected"] + eos}

    return dataset.map(row, remove_columns=dataset.column_names)


def dpo_config(mpo_config, beta=0.1, **overrides):
    """A DPOConfig carrying the same TrainingArguments as an MPOConfig, so both runs are comparable."""
    from transformers import TrainingArguments
    from trl import DPOConfig

    shared = {f.name: getattr(mpo_config, f.name) for f in fields(TrainingArguments)
              if f.init and f.name not in ("remove_unused_columns",)}
    shared.update(beta=beta, max_length=mpo_config.max_length, **overrides)
    dpo_fields = {f.name for f in fields(DPOConfig)}
    return DPOConfig(**{k: v for k, v in shared.items() if k in dpo_fields})


def dpo_trainer(model, tokenizer, dataset, mpo_config, ref_model=None, callbacks=None, beta=0.1, peft_config=None):
    from trl import DPOTrainer

    if ref_model is None and peft_config is None and not hasattr(model, "disable_adapter"):
        # TRL would reload the reference from model.name_or_path; an in-memory copy is the same thing
        import copy

        ref_model = copy.deepcopy(model).eval().requires_grad_(False)
    return DPOTrainer(model=model, ref_model=ref_model, args=dpo_config(mpo_config, beta=beta),
                      train_dataset=dpo_dataset(dataset, tokenizer), processing_class=tokenizer,
                      callbacks=callbacks, peft_config=peft_config)
