"""Evaluation figures of a run, as rows for the page and a table for the terminal."""

COLUMNS = [
    ("target_gap", "target gap"), ("english_gap", "English gap"), ("gap_ratio", "target/English"),
    ("accuracy", "target acc"), ("english_accuracy", "English acc"),
    ("english_gap_drift", "English gap drift"), ("english_l2", "English L2"),
]


def evaluation_rows(evaluation):
    """[{language, n, before: {...}, after: {...}}] in language order, 'all' last."""
    before, after = evaluation.get("before", {}), evaluation.get("after", {})
    langs = sorted(set(before) | set(after), key=lambda lang: (lang == "all", lang))
    return [{"language": lang, "n": (after.get(lang) or before.get(lang) or {}).get("n"),
             "before": before.get(lang, {}), "after": after.get(lang, {})} for lang in langs]


def _fmt(v):
    return "-" if v is None else f"{v:+.3f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def evaluation_table(evaluation):
    if not evaluation:
        return "(no evaluation)"
    head = ["lang", "n"] + [f"{label} {when}" for _, label in COLUMNS[:5] for when in ("before", "after")] \
        + [label for _, label in COLUMNS[5:]]
    lines = [" | ".join(head)]
    for r in evaluation_rows(evaluation):
        cells = [r["language"], str(r["n"])]
        for key, _ in COLUMNS[:5]:
            cells += [_fmt(r["before"].get(key)), _fmt(r["after"].get(key))]
        cells += [_fmt(r["after"].get(key)) for key, _ in COLUMNS[5:]]
        lines.append(" | ".join(cells))
    lines.append(f"(evaluated on {evaluation.get('evaluated_on', '?')} rows)")
    return "\n".join(lines)


def recompute_evaluation(run):
    """Score the base model and the run's final model again on the same held-out rows; store and return."""
    from training.ml.data import prepare
    from training.ml.evaluation import evaluate
    from training.ml.run import load_model, split_held_out

    trainer_cfg = run.config.get("trainer", {})
    base, tok = load_model(run.base_model)
    prepared = prepare(run.data_path, tok, max_length=trainer_cfg.get("max_length", 512))
    _, held, evaluated_on = split_held_out(prepared.dataset, trainer_cfg.get("eval_fraction", 0.2),
                                           seed=trainer_cfg.get("seed", 42))
    pooling = trainer_cfg.get("pooling", "masked_mean")
    before, base_scores = evaluate(base, held, tok.pad_token_id, pooling=pooling)
    trained, _ = load_model(run.artefacts["model"])
    after, _ = evaluate(trained, held, tok.pad_token_id, pooling=pooling, reference=base_scores)
    run.evaluation = {"before": before, "after": after, "evaluated_on": evaluated_on}
    run.save(update_fields=["evaluation"])
    return run.evaluation
