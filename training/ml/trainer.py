"""MPOTrainer: MPO (and SimPO, same data and collator) on transformers' Trainer, TRL-style.

Works under `accelerate launch` (the Trainer does the distribution) and with a peft model.
With `precompute_ref=True` (default) the reference values MPO needs -- the English reward gap
RG_d and the pooled English hidden states, plus target log-probs for the native DPO term -- are
computed once before training from the untrained policy, so no reference model stays in memory.
"""
import copy
import json
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import Trainer, TrainingArguments

from .collator import MPOCollator
from .losses import POOLINGS, dpo_loss, mpo_loss, pool_hidden, sequence_logps, simpo_loss

METHODS = ("mpo", "simpo", "dpo")
NATIVE_LOSSES = ("dpo", "simpo", "none")


@dataclass
class MPOConfig(TrainingArguments):
    """TrainingArguments plus the MPO hyperparameters (names follow TRL's DPOConfig/CPOConfig)."""
    method: str = field(default="mpo", metadata={"help": "mpo or simpo (dpo runs through TRL's DPOTrainer)"})
    beta: float = field(default=1.0, metadata={"help": "MPO beta: L1 = mean((beta*RG_t - RG_d)^2)"})
    l2_weight: float = field(default=1.0, metadata={"help": "lambda: weight of the English hidden-state term"})
    pooling: str = field(default="masked_mean", metadata={"help": f"one of {POOLINGS}"})
    precompute_ref: bool = field(default=True, metadata={"help": "reference values computed once, no ref model"})
    native_loss: str = field(default="dpo", metadata={"help": "term for rows without English anchor: dpo|simpo|none"})
    native_weight: float = 1.0
    native_beta: float = field(default=0.1, metadata={"help": "beta of the native DPO term"})
    simpo_beta: float = 2.0
    simpo_gamma: float = 0.5
    max_length: int = 512
    remove_unused_columns: bool = False  # the collator needs the token columns
    # A step makes one or two forward calls depending on the batch (English only for anchored rows);
    # DDP's per-forward buffer broadcast would then mismatch across ranks and hang. Llama-style
    # buffers (rotary frequencies) are constants, so nothing needs broadcasting.
    ddp_broadcast_buffers: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.method not in ("mpo", "simpo"):
            raise ValueError(f"MPOTrainer runs method mpo or simpo, got {self.method!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")
        if self.native_loss not in NATIVE_LOSSES:
            raise ValueError(f"native_loss must be one of {NATIVE_LOSSES}")
        if self.precompute_ref and self.pooling == "mean":
            # the plain mean counts padding positions, which depend on what a row is batched with
            raise ValueError("pooling='mean' depends on batch padding; use masked_mean or last_token to precompute")


def response_logps(model, input_ids, attention_mask, labels):
    """Summed and average log-probs of the response tokens."""
    out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    total, count = sequence_logps(out.logits, labels)
    return total, total / count.clamp(min=1)


def english_forward(model, batch, pooling, with_logps):
    """Pooled final hidden states of the English sequences; logps only when asked (reference side),
    otherwise the LM head runs on one position only (logits_to_keep=1) to save compute."""
    out = model(input_ids=batch["en_input_ids"], attention_mask=batch["en_attention_mask"], use_cache=False,
                output_hidden_states=True, **({} if with_logps else {"logits_to_keep": 1}))
    pooled = pool_hidden(out.hidden_states[-1], batch["en_attention_mask"], pooling)
    if not with_logps:
        return pooled, None
    total, count = sequence_logps(out.logits, batch["en_labels"])
    alp = total / count.clamp(min=1)
    half = alp.shape[0] // 2
    return pooled, alp[:half] - alp[half:]


def _reference_context(model):
    """The reference of a peft model is its base with adapters off."""
    unwrapped = getattr(model, "module", model)
    return unwrapped.disable_adapter() if hasattr(unwrapped, "disable_adapter") else nullcontext()


@torch.no_grad()
def reference_values(model, dataset, collator, pooling, batch_size=8, device=None):
    """Per-row reference values: RG_d, pooled English hidden states, target summed log-probs."""
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    cols = defaultdict(list)
    with _reference_context(model):
        for start in range(0, len(dataset), batch_size):
            rows = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
            batch = {k: v.to(device) for k, v in collator(rows).items()}
            tot, _ = response_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
            n = len(rows)
            cols["ref_chosen_logps"] += tot[:n].tolist()
            cols["ref_rejected_logps"] += tot[n:].tolist()
            en_iter = iter(())
            if "en_input_ids" in batch:
                pooled, gap = english_forward(model, batch, pooling, with_logps=True)
                a = gap.shape[0]
                en_iter = iter(zip(gap.tolist(), pooled[:a].tolist(), pooled[a:].tolist()))
            for r in rows:
                g, hc, hr = next(en_iter) if r["anchored"] else (0.0, [], [])
                cols["ref_en_gap"].append(g)
                cols["ref_en_chosen_h"].append(hc)
                cols["ref_en_rejected_h"].append(hr)
    model.train(was_training)
    for name, values in cols.items():
        if name in dataset.column_names:
            dataset = dataset.remove_columns(name)
        dataset = dataset.add_column(name, values)
    return dataset


class MPOTrainer(Trainer):
    """Trainer for MPO (L1 + lambda*L2, native-pair term for rows without an English anchor) and SimPO."""

    def __init__(self, model, args, train_dataset, processing_class, ref_model=None, data_collator=None, **kwargs):
        tok = processing_class
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        data_collator = data_collator or MPOCollator(pad_token_id=pad)
        super().__init__(model=model, args=args, train_dataset=train_dataset, data_collator=data_collator,
                         processing_class=processing_class, **kwargs)
        self._stored = defaultdict(list)
        self.ref_model = None
        if args.method != "mpo":  # SimPO is reference-free
            return
        if args.precompute_ref:
            source = ref_model if ref_model is not None else self.model  # untrained policy == reference
            if ref_model is not None:
                ref_model.to(self.args.device)
            self.train_dataset = self._cached_reference(source, train_dataset)
            # no reference model is kept: that is the point
        elif ref_model is not None:
            self.ref_model = self.accelerator.prepare_model(ref_model, evaluation_mode=True)
        elif not hasattr(self.model, "disable_adapter"):
            # a frozen copy, as TRL's DPOTrainer does when given no ref model
            ref = copy.deepcopy(self.model).eval().requires_grad_(False)
            self.ref_model = self.accelerator.prepare_model(ref, evaluation_mode=True)

    def _cached_reference(self, source, dataset):
        """Precompute once per output_dir, so a resumed run does not recompute (or see a trained model)."""
        cache = Path(self.args.output_dir) / "reference_cache"
        key = {"fingerprint": dataset._fingerprint, "pooling": self.args.pooling, "rows": len(dataset)}
        meta = cache / "crosswalk_reference.json"
        if meta.exists() and json.loads(meta.read_text()) == key:
            from datasets import load_from_disk
            return load_from_disk(str(cache))
        ds = reference_values(source, dataset, self.data_collator, self.args.pooling,
                              batch_size=self.args.per_device_train_batch_size, device=self.args.device)
        if self.is_world_process_zero():
            ds.save_to_disk(str(cache))
            meta.write_text(json.dumps(key))
        return ds

    # ---- the loss ---------------------------------------------------------------------

    def _live_reference(self, model, batch):
        ref = self.ref_model if self.ref_model is not None else model
        ctx = nullcontext() if self.ref_model is not None else _reference_context(model)
        with torch.no_grad(), ctx:
            out = {}
            if "en_input_ids" in batch:
                out["ref_en_pooled"], out["ref_en_gap"] = english_forward(ref, batch, self.args.pooling, True)
            if self.args.native_loss == "dpo" and (~batch["anchored"]).any():
                tot, _ = response_logps(ref, batch["input_ids"], batch["attention_mask"], batch["labels"])
                n = batch["anchored"].shape[0]
                out["ref_chosen_logps"], out["ref_rejected_logps"] = tot[:n], tot[n:]
        return out

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        a = self.args
        anchored = inputs["anchored"]
        n = anchored.shape[0]
        tot, alp = response_logps(model, inputs["input_ids"], inputs["attention_mask"], inputs["labels"])
        gap_t = alp[:n] - alp[n:]
        m = {"gap/target": gap_t.mean(), "accuracy": (gap_t > 0).float().mean()}

        if a.method == "simpo":
            loss = simpo_loss(alp[:n], alp[n:], a.simpo_beta, a.simpo_gamma).mean()
        else:
            if "ref_en_gap" not in inputs:
                inputs = {**inputs, **self._live_reference(model, inputs)}
            loss = gap_t.new_zeros(())
            if anchored.any():
                pooled, _ = english_forward(model, inputs, a.pooling, with_logps=False)
                mpo, l1, l2 = mpo_loss(gap_t[anchored], inputs["ref_en_gap"], pooled, inputs["ref_en_pooled"],
                                       a.beta, a.l2_weight)
                loss = loss + mpo
                m.update({"l1": l1, "l2": l2, "gap/english_ref": inputs["ref_en_gap"].mean(),
                          "gap/target_anchored": gap_t[anchored].mean()})
            native = ~anchored
            if native.any() and a.native_loss != "none":
                if a.native_loss == "dpo":
                    term = dpo_loss(tot[:n][native], tot[n:][native], inputs["ref_chosen_logps"][native],
                                    inputs["ref_rejected_logps"][native], a.native_beta)
                else:
                    term = simpo_loss(alp[:n][native], alp[n:][native], a.simpo_beta, a.simpo_gamma)
                loss = loss + a.native_weight * term.mean()
                m["native"] = term.mean()
        if model.training:
            for k, v in m.items():
                self._stored[k].append(float(v.detach()))
        return (loss, {"gap_target": gap_t.detach()}) if return_outputs else loss

    def log(self, logs, start_time=None):
        # average what compute_loss stored since the last log, as TRL's trainers do
        if "loss" in logs:
            for k, v in self._stored.items():
                logs[k] = sum(v) / len(v)
            self._stored.clear()
        super().log(logs, start_time)
