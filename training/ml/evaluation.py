"""Per-language evaluation before and after training.

For each language: the policy's reward gap on held-out target pairs beside its English gap, the
preference accuracy (chosen alp above rejected alp), and English drift against the reference model
(L2 between pooled English hidden states, and the change of the English gap).
"""
from collections import defaultdict

import torch

from .collator import MPOCollator
from .trainer import english_forward, response_logps


@torch.no_grad()
def score_rows(model, dataset, pad_token_id, pooling="masked_mean", batch_size=8):
    """Per-row target gap, English gap and pooled English hidden states (None for native rows)."""
    collator = MPOCollator(pad_token_id)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    scored = []
    for start in range(0, len(dataset), batch_size):
        rows = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        batch = {k: v.to(device) for k, v in collator(rows).items() if not k.startswith("ref_")}
        _, alp = response_logps(model, batch["input_ids"], batch["attention_mask"], batch["labels"])
        n = len(rows)
        en = iter(())
        if "en_input_ids" in batch:
            pooled, gap = english_forward(model, batch, pooling, with_logps=True)
            a = gap.shape[0]
            en = iter(zip(gap.tolist(), torch.cat([pooled[:a], pooled[a:]], dim=-1).float().cpu()))
        for i, r in enumerate(rows):
            g, h = next(en) if r["anchored"] else (None, None)
            scored.append({"id": r["id"], "language": r["language"],
                           "target_gap": float(alp[i] - alp[n + i]), "english_gap": g, "english_hidden": h})
    model.train(was_training)
    return scored


def _mean(xs):
    return sum(xs) / len(xs) if xs else None


def summarize(scored, reference=None):
    """Per-language figures; with `reference` (the base model's scores) also English drift."""
    ref_by_id = {r["id"]: r for r in (reference or [])}
    out = defaultdict(lambda: defaultdict(list))
    for r in scored:
        for key in (r["language"], "all"):
            d = out[key]
            d["target_gap"].append(r["target_gap"])
            d["accuracy"].append(1.0 if r["target_gap"] > 0 else 0.0)
            if r["english_gap"] is not None:
                d["english_gap"].append(r["english_gap"])
                d["english_accuracy"].append(1.0 if r["english_gap"] > 0 else 0.0)
                ref = ref_by_id.get(r["id"])
                if ref is not None and ref["english_hidden"] is not None:
                    diff = r["english_hidden"] - ref["english_hidden"]
                    d["english_l2"].append(float((diff ** 2).mean()))  # same scale as the L2 loss
                    d["english_gap_drift"].append(r["english_gap"] - ref["english_gap"])
    result = {}
    for lang, d in sorted(out.items()):
        result[lang] = {k: _mean(v) for k, v in d.items()}
        result[lang]["n"] = len(d["target_gap"])
        if result[lang].get("english_gap") is not None:
            result[lang]["gap_ratio"] = result[lang]["target_gap"] / result[lang]["english_gap"] \
                if result[lang]["english_gap"] else None
    return result


def evaluate(model, dataset, pad_token_id, pooling="masked_mean", reference=None, batch_size=8):
    """(summary per language, per-row scores). Pass the base model's scores as `reference` for drift."""
    scored = score_rows(model, dataset, pad_token_id, pooling, batch_size)
    return summarize(scored, reference), scored
