"""Export a frozen DatasetSnapshot to a Hugging Face dataset: Parquet files, a `save_to_disk` folder and a card.

Formats (one row schema each, see SCHEMAS):
- raw:     every judgement (harm labels and comparisons) with the annotator's pseudonym and opt-in demographics only;
           nothing is averaged.
- redteam: one row per prompt in the Aya Red-teaming schema, with the aggregated (majority) label and its agreement.
- dpo:     prompt/chosen/rejected/language pairs (plus chat-message columns) for TRL's DPOTrainer: best vs each other
           candidate, or every pair of a full ranking (pairs="ranking"), with a margin.
- mpo:     one row per target-language pair, beside its parallel English pair (the contract of training/ml/data.py).
           Target pair: a comparison on a non-English prompt, best = chosen, worst = rejected (or each other candidate
           when no worst was picked). English pair: the first comparison (by id) of the snapshot on the prompt's
           `english` link; only the snapshot's own comparisons count, so freeze English with its targets. Rows of
           local harm (majority of the prompt's labels) or without an English pair have has_english False.

Speed: rows are read in keyset-paginated batches (values_list, no model instances), shaped with polars and appended
to one Parquet file per export with pyarrow's ParquetWriter, so memory stays flat whatever the row count; the
`datasets` folder is then built from that Parquet file (memory-mapped, not loaded).

Layout of an export folder:
    README.md                      the dataset card (Hugging Face reads its YAML header for the Parquet config)
    data/train-00000-of-00001.parquet
    dataset/                       datasets.load_from_disk(...) reads this (a DatasetDict with a "train" split)
"""
import json
import re
import shutil
import tempfile
import zipfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import CharField, Count, Min, Q, TextField
from django.db.models.functions import Cast

from annotation.models import (Candidate, CandidateSet, Comparison, DatasetSnapshot, HarmCategory, HarmLabel,
                               Prompt)

FORMATS = ("raw", "redteam", "dpo", "mpo")
PAIR_MODES = ("best", "ranking")
BATCH_SIZE = 5_000
ALPHA_MAX_JUDGEMENTS = 10_000  # beyond this the card shows the majority share only (alpha takes ~0.3 s per 1,000)
PARQUET_NAME = "train-00000-of-00001.parquet"

# Known sources (Prompt.source / CandidateSet.source prefixes) and their licences, from ../shared/data/README.md.
SOURCE_LICENCES = {
    "MultiJail": "MIT",
    "xsafety": "Apache-2.0",
    "hh-rlhf": "MIT",
    "mpo_gemma2": "Apache-2.0",
    "aya_redteaming": "Apache-2.0 (Aya Red-teaming)",
}

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_INTS = pa.list_(pa.int64())
SCHEMAS = {
    "raw": pa.schema([
        ("id", pa.string()), ("kind", pa.string()), ("annotator", pa.string()), ("origin", pa.string()),
        ("country", pa.string()), ("demographics", pa.string()),
        ("prompt_id", pa.int64()), ("prompt", pa.string()), ("language", pa.string()), ("source", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")), ("time_spent_ms", pa.int64()),
        # harm labels (null on comparison rows)
        ("harmful", pa.bool_()), ("harm_scope", pa.string()), ("categories", pa.list_(pa.string())),
        ("explanation", pa.string()), ("literal_translation", pa.string()), ("semantic_translation", pa.string()),
        # comparisons (null on harm-label rows); positions index `candidates`
        ("candidate_set_id", pa.int64()), ("conversation", _MESSAGES), ("candidates", pa.list_(pa.string())),
        ("best", pa.int64()), ("worst", pa.int64()), ("ranking", _INTS), ("harmful_positions", _INTS),
        ("none_acceptable", pa.bool_()), ("rationale", pa.string()), ("shown_order", _INTS),
        ("generator", pa.string()), ("strategy", pa.string()), ("diversity", pa.float64()),
    ]),
    "redteam": pa.schema([
        ("prompt", pa.string()), ("language", pa.string()), ("harm_category", pa.string()),
        ("global_or_local", pa.string()), ("literal_translation", pa.string()), ("semantic_translation", pa.string()),
        ("explanation", pa.string()),
        ("id", pa.string()), ("source", pa.string()), ("english_prompt", pa.string()),
        ("harmful", pa.bool_()), ("harm_scope", pa.string()), ("agreement", pa.float64()), ("n_labels", pa.int64()),
    ]),
    "dpo": pa.schema([
        ("id", pa.string()), ("language", pa.string()), ("prompt", pa.string()), ("chosen", pa.string()),
        ("rejected", pa.string()), ("margin", pa.float64()),
        ("prompt_messages", _MESSAGES), ("chosen_messages", _MESSAGES), ("rejected_messages", _MESSAGES),
        ("annotator", pa.string()), ("source", pa.string()),
    ]),
    "mpo": pa.schema([
        ("id", pa.string()), ("language", pa.string()), ("harm_scope", pa.string()), ("has_english", pa.bool_()),
        ("en_prompt", pa.string()), ("en_chosen", pa.string()), ("en_rejected", pa.string()),
        ("prompt", pa.string()), ("chosen", pa.string()), ("rejected", pa.string()),
    ]),
}

# Ties between scopes resolve toward the more specific harm: a tie between local and global is local (no English
# anchor is safer than a wrong one), a tie between harm and no harm is harm.
_SCOPE_RANK = {"local": 0, "global": 1, "none": 2}
_ENGLISH = Q(language__code="en") | Q(language__code__startswith="en-")


class ExportError(ValueError):
    pass


# ---- reading in batches ---------------------------------------------------------------------------------------

def _frame(queryset, columns: dict) -> pl.DataFrame:
    """A polars frame of `columns` ({name: ORM path or expression}) over `queryset`, ordered by pk."""
    names = list(columns)
    exprs = {f"x_{n}": c for n, c in columns.items() if not isinstance(c, str)}
    paths = [f"x_{n}" if f"x_{n}" in exprs else columns[n] for n in names]
    rows = list(queryset.annotate(**exprs).order_by("pk").values_list(*paths))
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def _batches(snapshot, field, queryset, columns: dict, batch_size: int):
    """Frames of `queryset` restricted to the snapshot's `field` ("prompts", "harm_labels", "comparisons"), batch by
    batch. The id ranges are paged on the snapshot's through table, whose (snapshot, id) index serves each page
    directly; `pk > last ORDER BY pk LIMIT n` on the joined query made SQLite sort all the rest for every page."""
    relation = getattr(DatasetSnapshot, field)
    column = f"{relation.field.m2m_reverse_field_name()}_id"
    ids = (relation.through.objects.filter(datasetsnapshot_id=snapshot.pk).order_by(column)
           .values_list(column, flat=True))
    last = None
    while True:
        page = list((ids.filter(**{f"{column}__gt": last}) if last is not None else ids)[:batch_size])
        if not page:
            return
        last = page[-1]
        # A pk range within the snapshot, not `pk IN (5,000 ids)`: cheaper to send, parse and plan.
        frame = _frame(queryset.filter(snapshots=snapshot, pk__range=(page[0], last)), columns)
        if frame.height:
            yield frame
        if len(page) < batch_size:
            return


def _json(name, dtype):
    """A JSONField read as text (cast in SQL, so no per-row json.loads) and decoded by polars in one go."""
    return pl.col(name).fill_null("[]").str.json_decode(dtype)


def _text(path):
    return Cast(path, TextField())


def _candidates(set_ids) -> pl.DataFrame:
    rows = (Candidate.objects.filter(candidate_set_id__in=set_ids)
            .values_list("candidate_set_id", "id", "position", "text"))
    return pl.DataFrame(list(rows), schema={"candidate_set_id": pl.Int64, "cand_id": pl.Int64, "position": pl.Int64,
                                            "text": pl.String}, orient="row")


def _pseudonym(name="annotator"):
    # UUIDs read as text: 32 hex digits on SQLite, dashed on PostgreSQL; exported as uuid.hex on both.
    return pl.col(name).fill_null("").str.replace_all("-", "")


def _comparison_columns(extra=False):
    cols = {
        "comparison_id": "id", "candidate_set_id": "candidate_set_id", "prompt_id": "candidate_set__prompt_id",
        "prompt": "candidate_set__prompt__text", "language": "candidate_set__prompt__language__code",
        "source": "candidate_set__prompt__source", "english_id": "candidate_set__prompt__english_id",
        "conversation": _text("candidate_set__conversation"), "best_id": "best_id", "worst_id": "worst_id",
        "ranking": _text("ranking"), "annotator": Cast("annotator__profile__pseudonym", CharField()),
    }
    if extra:
        cols |= {
            "origin": "origin", "opt_in": "annotator__profile__demographics_opt_in",
            "country": "annotator__profile__country", "demographics": _text("annotator__profile__demographics"),
            "created_at": "created_at", "time_spent_ms": "time_spent_ms",
            "harmful_positions": _text("harmful_positions"), "shown_order": _text("shown_order"),
            "none_acceptable": "none_acceptable", "rationale": "rationale",
            "generator": "candidate_set__generator", "strategy": "candidate_set__strategy",
            "diversity": "candidate_set__diversity",
        }
    return cols


def _shape_comparisons(comps: pl.DataFrame):
    """(comparisons, their candidates): rankings and conversations decoded."""
    comps = comps.with_columns(
        _json("ranking", _INTS_PL), _json("conversation", _MESSAGES_PL), _pseudonym(),
        pl.col("comparison_id", "candidate_set_id", "prompt_id", "english_id", "best_id", "worst_id").cast(pl.Int64),
    )
    return comps, _candidates(comps["candidate_set_id"].unique().to_list())


def _comparison_batches(snapshot, batch_size, queryset=None, extra=False):
    qs = queryset if queryset is not None else Comparison.objects.all()
    for comps in _batches(snapshot, "comparisons", qs, _comparison_columns(extra), batch_size):
        yield _shape_comparisons(comps)


_INTS_PL = pl.List(pl.Int64)
_MESSAGES_PL = pl.List(pl.Struct({"role": pl.String, "content": pl.String}))


# ---- labels: majority scope and agreement ----------------------------------------------------------------------

def _labels(snapshot, prompt_ids, *, full=False) -> pl.DataFrame:
    cols = ["id", "prompt_id", "harm_scope"]
    if full:
        cols += ["explanation", "literal_translation", "semantic_translation"]
    rows = HarmLabel.objects.filter(snapshots=snapshot, prompt_id__in=prompt_ids).order_by("id").values_list(*cols)
    return pl.DataFrame(list(rows), schema={c: pl.Int64 if c.endswith("id") else pl.String for c in cols}, orient="row")


def majority_scope(labels: pl.DataFrame) -> pl.DataFrame:
    """Per prompt: the majority harm scope, its share of the labels (agreement) and the number of labels."""
    counts = labels.group_by("prompt_id", "harm_scope").agg(n=pl.len())
    return (counts.with_columns(total=pl.col("n").sum().over("prompt_id"),
                                tie=pl.col("harm_scope").replace_strict(_SCOPE_RANK, default=9, return_dtype=pl.Int64))
            .sort("prompt_id", "n", "tie", descending=[False, True, False])
            .group_by("prompt_id", maintain_order=True).first()
            .select("prompt_id", "harm_scope", agreement=pl.col("n") / pl.col("total"), n_labels=pl.col("total")))


# ---- formats ---------------------------------------------------------------------------------------------------

def _messages(role, text):
    return pl.concat_list([pl.struct(role=pl.lit(role), content=text)])


def _dpo_pairs(comps: pl.DataFrame, cands: pl.DataFrame, pairs: str) -> pl.DataFrame:
    """(comparison_id, chosen_pos, rejected_pos, margin): best vs each other candidate, margin = rank distance when
    a full ranking is known (else 1); with pairs="ranking", every ordered pair of a ranking of 2 or more."""
    comps = comps.filter(pl.col("best_id").is_not_null())
    ranks = (comps.select("comparison_id", position="ranking").explode("position").drop_nulls()
             .with_columns(rank=pl.int_range(pl.len()).over("comparison_id")))
    with_set = comps.select("comparison_id", "candidate_set_id", "best_id")
    best = with_set.join(cands.select(best_id="cand_id", chosen_pos="position"), on="best_id")
    others = (best.join(cands.select("candidate_set_id", rejected_pos="position", cand_id="cand_id"),
                        on="candidate_set_id")
              .filter(pl.col("cand_id") != pl.col("best_id")))
    others = (others.join(ranks.select("comparison_id", chosen_pos="position", r_c="rank"),
                          on=["comparison_id", "chosen_pos"], how="left")
              .join(ranks.select("comparison_id", rejected_pos="position", r_r="rank"),
                    on=["comparison_id", "rejected_pos"], how="left")
              .with_columns(margin=(pl.col("r_r") - pl.col("r_c")).cast(pl.Float64).fill_null(1.0))
              .filter(pl.col("margin") > 0)
              .select("comparison_id", "chosen_pos", "rejected_pos", "margin"))
    if pairs == "best":
        return others
    ranked = ranks.filter(pl.len().over("comparison_id") >= 2)
    all_pairs = (ranked.join(ranked, on="comparison_id", suffix="_r").filter(pl.col("rank") < pl.col("rank_r"))
                 .select("comparison_id", chosen_pos="position", rejected_pos="position_r",
                         margin=(pl.col("rank_r") - pl.col("rank")).cast(pl.Float64)))
    unranked = others.filter(~pl.col("comparison_id").is_in(ranked["comparison_id"].unique().implode()))
    return pl.concat([unranked, all_pairs])


def _texts_by_position(pairs, comps, cands):
    by_pos = cands.select("candidate_set_id", "position", "text")
    return (pairs.join(comps, on="comparison_id")
            .join(by_pos.rename({"position": "chosen_pos", "text": "chosen"}), on=["candidate_set_id", "chosen_pos"])
            .join(by_pos.rename({"position": "rejected_pos", "text": "rejected"}),
                  on=["candidate_set_id", "rejected_pos"]))


def dpo_frames(snapshot, batch_size=BATCH_SIZE, pairs="best"):
    for comps, cands in _comparison_batches(snapshot, batch_size):
        rows = _texts_by_position(_dpo_pairs(comps, cands, pairs), comps, cands)
        yield rows.sort("comparison_id", "chosen_pos", "rejected_pos").select(
            id=pl.format("{}-{}-{}", "comparison_id", "chosen_pos", "rejected_pos"),
            language="language", prompt="prompt", chosen="chosen", rejected="rejected", margin="margin",
            prompt_messages=pl.concat_list(["conversation", pl.struct(role=pl.lit("user"), content="prompt")]),
            chosen_messages=_messages("assistant", pl.col("chosen")),
            rejected_messages=_messages("assistant", pl.col("rejected")),
            annotator="annotator", source="source",
        )


def _raw_comparisons(snapshot, batch_size):
    for comps, cands in _comparison_batches(snapshot, batch_size, extra=True):
        per_set = cands.sort("position").group_by("candidate_set_id").agg(candidates=pl.col("text"))
        pos = cands.select("cand_id", "position")
        rows = (comps.join(per_set, on="candidate_set_id", how="left")
                .join(pos.rename({"cand_id": "best_id", "position": "best"}), on="best_id", how="left")
                .join(pos.rename({"cand_id": "worst_id", "position": "worst"}), on="worst_id", how="left"))
        yield rows.sort("comparison_id").select(
            id=pl.format("comparison-{}", "comparison_id"), kind=pl.lit("comparison"), annotator="annotator",
            origin="origin", **_opt_in(), prompt_id="prompt_id", prompt="prompt", language="language",
            source="source", created_at="created_at", time_spent_ms="time_spent_ms",
            candidate_set_id="candidate_set_id", conversation="conversation", candidates="candidates",
            best="best", worst="worst", ranking="ranking", harmful_positions=_json("harmful_positions", _INTS_PL),
            none_acceptable=pl.col("none_acceptable").cast(pl.Boolean), rationale="rationale",
            shown_order=_json("shown_order", _INTS_PL), generator="generator", strategy="strategy",
            diversity=pl.col("diversity").cast(pl.Float64),
        )


def _opt_in():
    """Country and demographics only for annotators who opted in; nothing for the others or for imports."""
    opted = pl.col("opt_in").fill_null(False).cast(pl.Boolean)
    return {"country": pl.when(opted).then(pl.col("country")).otherwise(pl.lit("")),
            "demographics": pl.when(opted).then(pl.col("demographics")).otherwise(pl.lit("{}"))}


def _categories(label_ids) -> pl.DataFrame:
    through = HarmLabel.categories.through
    rows = (through.objects.filter(harmlabel_id__in=label_ids)
            .order_by("harmcategory__order", "harmcategory__name")
            .values_list("harmlabel_id", "harmcategory__name"))
    return (pl.DataFrame(list(rows), schema={"label_id": pl.Int64, "category": pl.String}, orient="row")
            .group_by("label_id", maintain_order=True).agg(categories=pl.col("category")))


def _raw_labels(snapshot, batch_size):
    columns = {
        "label_id": "id", "prompt_id": "prompt_id", "prompt": "prompt__text", "language": "prompt__language__code",
        "source": "prompt__source", "annotator": Cast("annotator__profile__pseudonym", CharField()),
        "origin": "origin", "opt_in": "annotator__profile__demographics_opt_in",
        "country": "annotator__profile__country", "demographics": _text("annotator__profile__demographics"),
        "created_at": "created_at", "time_spent_ms": "time_spent_ms", "harmful": "harmful",
        "harm_scope": "harm_scope", "explanation": "explanation", "literal_translation": "literal_translation",
        "semantic_translation": "semantic_translation",
    }
    for labels in _batches(snapshot, "harm_labels", HarmLabel.objects.all(), columns, batch_size):
        labels = labels.with_columns(pl.col("label_id").cast(pl.Int64))
        cats = _categories(labels["label_id"].to_list())
        rows = labels.join(cats, on="label_id", how="left")
        yield rows.select(
            id=pl.format("harm_label-{}", "label_id"), kind=pl.lit("harm_label"), annotator=_pseudonym(),
            origin="origin", **_opt_in(), prompt_id="prompt_id", prompt="prompt", language="language",
            source="source", created_at="created_at", time_spent_ms="time_spent_ms",
            harmful=pl.col("harmful").cast(pl.Boolean), harm_scope="harm_scope",
            categories=pl.col("categories").fill_null(pl.lit([], dtype=pl.List(pl.String))), explanation="explanation",
            literal_translation="literal_translation", semantic_translation="semantic_translation",
        )


def raw_frames(snapshot, batch_size=BATCH_SIZE):
    yield from _raw_comparisons(snapshot, batch_size)
    yield from _raw_labels(snapshot, batch_size)


def redteam_frames(snapshot, batch_size=BATCH_SIZE):
    columns = {"prompt_id": "id", "prompt": "text", "language": "language__code", "source": "source",
               "external_id": "external_id", "english_prompt": "english__text"}
    for prompts in _batches(snapshot, "prompts", Prompt.objects.all(), columns, batch_size):
        prompts = prompts.with_columns(pl.col("prompt_id").cast(pl.Int64))
        labels = _labels(snapshot, prompts["prompt_id"].to_list(), full=True)
        major = majority_scope(labels)
        in_major = labels.join(major.select("prompt_id", major="harm_scope"), on="prompt_id").filter(
            pl.col("harm_scope") == pl.col("major"))
        # Texts from the first label (by id) of the majority scope that has them.
        texts = in_major.group_by("prompt_id").agg(
            *[pl.col(f).filter(pl.col(f) != "").first() for f in ("explanation", "literal_translation",
                                                                   "semantic_translation")])
        # A category is kept when at least half of the harmful labels chose it.
        harmful = labels.filter(pl.col("harm_scope") != "none")
        n_harmful = harmful.group_by("prompt_id").agg(n_harmful=pl.len())
        cats = (harmful.join(_categories(harmful["id"].to_list()), left_on="id", right_on="label_id")
                .explode("categories").group_by("prompt_id", "categories").agg(n=pl.len())
                .join(n_harmful, on="prompt_id").filter(pl.col("n") * 2 >= pl.col("n_harmful"))
                .sort("categories").group_by("prompt_id").agg(cats=pl.col("categories")))
        rows = (prompts.join(major, on="prompt_id", how="left").join(texts, on="prompt_id", how="left")
                .join(cats, on="prompt_id", how="left"))
        yield rows.sort("prompt_id").select(
            prompt="prompt", language="language",
            harm_category=pl.col("cats").fill_null(pl.lit([], dtype=pl.List(pl.String))).map_elements(
                lambda c: json.dumps(list(c), ensure_ascii=False), return_dtype=pl.String),
            global_or_local=pl.when(pl.col("harm_scope").is_in(["global", "local"])).then("harm_scope")
            .otherwise(pl.lit("")),
            literal_translation=pl.col("literal_translation").fill_null(""),
            semantic_translation=pl.col("semantic_translation").fill_null(""),
            explanation=pl.col("explanation").fill_null(""),
            id=pl.when(pl.col("external_id") != "").then(pl.format("{}:{}", "source", "external_id"))
            .otherwise(pl.format("prompt-{}", "prompt_id")),
            source="source", english_prompt=pl.col("english_prompt").fill_null(""),
            harmful=pl.col("harm_scope").is_in(["global", "local"]), harm_scope=pl.col("harm_scope").fill_null(""),
            agreement="agreement", n_labels=pl.col("n_labels").fill_null(0),
        )


def _english_pairs(snapshot, english_ids) -> pl.DataFrame:
    """Per English prompt: the first comparison (by id) in the snapshot with a best; rejected = worst, else the last
    of its ranking, else the first other candidate by position."""
    qs = Comparison.objects.filter(snapshots=snapshot, candidate_set__prompt_id__in=english_ids, best__isnull=False)
    first = qs.values("candidate_set__prompt_id").annotate(first=Min("id")).values_list("first", flat=True)
    comps = _frame(Comparison.objects.filter(pk__in=list(first)), _comparison_columns())
    if not comps.height:
        return pl.DataFrame(schema={"english_id": pl.Int64, "en_prompt": pl.String, "en_chosen": pl.String,
                                    "en_rejected": pl.String})
    comps, cands = _shape_comparisons(comps)
    last_ranked = comps.select("comparison_id", last=pl.col("ranking").list.last())
    first_other = (comps.select("comparison_id", "candidate_set_id", "best_id")
                   .join(cands, on="candidate_set_id").filter(pl.col("cand_id") != pl.col("best_id"))
                   .sort("position").group_by("comparison_id").agg(other=pl.col("cand_id").first()))
    pos = cands.select("candidate_set_id", "position", last_id="cand_id")
    rows = (comps.join(last_ranked, on="comparison_id")
            .join(pos, left_on=["candidate_set_id", "last"], right_on=["candidate_set_id", "position"], how="left")
            .join(first_other, on="comparison_id", how="left")
            .with_columns(rej=pl.coalesce("worst_id", pl.when(pl.col("last_id") != pl.col("best_id")).then("last_id"),
                                          "other")))
    text = cands.select("cand_id", "text")
    return (rows.join(text.rename({"cand_id": "best_id", "text": "en_chosen"}), on="best_id")
            .join(text.rename({"cand_id": "rej", "text": "en_rejected"}), on="rej")
            .select(english_id="prompt_id", en_prompt="prompt", en_chosen="en_chosen", en_rejected="en_rejected"))


def mpo_frames(snapshot, batch_size=BATCH_SIZE):
    targets = Comparison.objects.filter(best__isnull=False).exclude(
        candidate_set__prompt__in=Prompt.objects.filter(_ENGLISH))
    for comps, cands in _comparison_batches(snapshot, batch_size, queryset=targets):
        # Target pair: best = chosen; worst = rejected, or each other candidate when no worst was picked.
        pairs = (comps.select("comparison_id", "candidate_set_id", "best_id", "worst_id")
                 .join(cands, on="candidate_set_id")
                 .filter((pl.col("cand_id") != pl.col("best_id"))
                         & (pl.col("worst_id").is_null() | (pl.col("cand_id") == pl.col("worst_id"))))
                 .select("comparison_id", rejected_pos="position", rejected="text"))
        chosen = cands.select(best_id="cand_id", chosen="text")
        english_ids = comps["english_id"].drop_nulls().unique().to_list()
        english = _english_pairs(snapshot, english_ids) if english_ids else None
        scope = majority_scope(_labels(snapshot, comps["prompt_id"].unique().to_list()))
        rows = (comps.join(pairs, on="comparison_id").join(chosen, on="best_id")
                .join(scope.select("prompt_id", "harm_scope"), on="prompt_id", how="left"))
        if english is not None:
            rows = rows.join(english, on="english_id", how="left")
        else:
            rows = rows.with_columns(en_prompt=pl.lit(None, pl.String), en_chosen=pl.lit(None, pl.String),
                                     en_rejected=pl.lit(None, pl.String))
        scope_col = pl.col("harm_scope").fill_null("").replace("none", "")
        has_english = pl.col("en_prompt").is_not_null() & (scope_col != "local")
        yield rows.sort("comparison_id", "rejected_pos").select(
            id=pl.format("{}-{}", "comparison_id", "rejected_pos"), language="language", harm_scope=scope_col,
            has_english=has_english,
            **{k: pl.when(has_english).then(pl.col(k)).otherwise(pl.lit("")) for k in
               ("en_prompt", "en_chosen", "en_rejected")},
            prompt="prompt", chosen="chosen", rejected="rejected",
        )


BUILDERS = {"raw": raw_frames, "redteam": redteam_frames, "dpo": dpo_frames, "mpo": mpo_frames}


# ---- writing ---------------------------------------------------------------------------------------------------

def _snapshot(snapshot) -> DatasetSnapshot:
    if isinstance(snapshot, DatasetSnapshot):
        return snapshot
    try:
        return DatasetSnapshot.objects.get(name=snapshot)
    except DatasetSnapshot.DoesNotExist:
        raise ExportError(f"no snapshot named {str(snapshot)[:100]!r}") from None


def export_snapshot(snapshot, fmt, out_dir, push_to_hub=None, token=None, *, pairs="best",
                    batch_size=BATCH_SIZE) -> dict:
    """Export `snapshot` (a DatasetSnapshot or its name) in format `fmt` to `out_dir`; push it when asked.

    Returns {"format", "snapshot", "rows", "by_language", "out_dir", "dataset_dir", "parquet_files", "card",
    "pushed_to"}. `out_dir` must be empty or missing: an export never mixes with older files.
    """
    from datasets import Dataset, DatasetDict

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {str(fmt)[:40]!r}; choose one of {', '.join(FORMATS)}")
    if pairs not in PAIR_MODES:
        raise ExportError(f"unknown pairs mode {str(pairs)[:40]!r}; choose one of {', '.join(PAIR_MODES)}")
    if push_to_hub and not token:
        raise ExportError("pushing to the Hugging Face Hub needs a token (--token or HF_TOKEN)")
    snapshot = _snapshot(snapshot)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ExportError(f"{out} is not empty: export into a new folder")
    (out / "data").mkdir(parents=True, exist_ok=True)
    schema = SCHEMAS[fmt]
    frames = BUILDERS[fmt](snapshot, batch_size, pairs) if fmt == "dpo" else BUILDERS[fmt](snapshot, batch_size)
    parquet = out / "data" / PARQUET_NAME
    rows, by_language, by_scope = 0, Counter(), Counter()
    with tempfile.TemporaryDirectory(prefix="crosswalk-export-") as tmp:
        # Each batch goes to the Parquet file and to an Arrow stream that `datasets` memory-maps (Dataset.from_file)
        # to write its save_to_disk folder: no second read of the Parquet file, no copy in memory.
        arrow = Path(tmp) / "rows.arrow"
        with (pq.ParquetWriter(parquet, schema, compression="zstd") as writer,
              pa.ipc.new_stream(arrow, schema) as stream):
            for frame in frames:
                if frame.height == 0:
                    continue
                table = _arrow(frame, schema)
                writer.write_table(table)
                stream.write_table(table)
                rows += frame.height
                by_language.update(dict(frame["language"].value_counts().iter_rows()))
                if "harm_scope" in frame.columns:
                    by_scope.update(dict(frame["harm_scope"].fill_null("").value_counts().iter_rows()))
        if not rows:  # `datasets` cannot build or read back an empty split: say so rather than leave a broken folder
            shutil.rmtree(out / "data")
            raise ExportError(f"snapshot {snapshot.name!r} has no rows for the {fmt} format")
        ds = Dataset.from_file(str(arrow))
        DatasetDict({"train": ds}).save_to_disk(str(out / "dataset"))
        del ds
    card = render_card(snapshot, fmt, rows, by_language, by_scope, schema, pairs=pairs)
    (out / "README.md").write_text(card, encoding="utf-8")
    result = {"format": fmt, "snapshot": snapshot.name, "rows": rows, "by_language": dict(sorted(by_language.items())),
              "out_dir": str(out), "dataset_dir": str(out / "dataset"), "parquet_files": [str(parquet)],
              "card": str(out / "README.md"), "pushed_to": None}
    if push_to_hub:
        result["pushed_to"] = push(out, push_to_hub, token)
    return result


def _arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """The frame in the format's exact schema; columns a row kind does not have (raw) are nulls."""
    table = frame.to_arrow()
    columns = [table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
               for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def push(out_dir, repo_id, token) -> str:
    """Upload the card and the Parquet files (the Hub's own layout; it reads the card's YAML config)."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=True)
    api.upload_folder(folder_path=str(out_dir), repo_id=repo_id, repo_type="dataset",
                      allow_patterns=["README.md", "data/*.parquet"])
    return f"https://huggingface.co/datasets/{repo_id}"


def export_archive(snapshot, fmt, **options):
    """The export as a zip in an anonymous temporary file (deleted when closed), rewound: for downloads."""
    snapshot = _snapshot(snapshot)
    archive = tempfile.TemporaryFile(suffix=".zip")
    try:
        with tempfile.TemporaryDirectory(prefix="crosswalk-export-") as tmp:
            folder = Path(tmp) / archive_name(snapshot, fmt).removesuffix(".zip")
            export_snapshot(snapshot, fmt, folder, **options)
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        zf.write(path, path.relative_to(folder.parent))
    except BaseException:
        archive.close()
        raise
    archive.seek(0)
    return archive


def archive_name(snapshot, fmt) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{_snapshot(snapshot).name}-{fmt}") + ".zip"


# ---- the dataset card ------------------------------------------------------------------------------------------

def code(text, limit=200) -> str:
    """Any text as a Markdown code span: nothing in it is read as Markdown or HTML. Newlines and control characters
    become spaces; the fence is one backtick longer than the longest run inside."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]", " ", str(text))
    if len(text) > limit:
        text = text[:limit] + "…"
    if not text.strip():
        return "(empty)"
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _licence(source: str) -> str:
    if not source:
        return "annotated in Crosswalk (the deployment's terms)"
    for prefix, licence in SOURCE_LICENCES.items():
        if source.lower().startswith(prefix.lower()):
            return licence
    return "unknown: check before publishing"


def _counts(pairs) -> list[str]:
    return [f"- {code(k)}: {n:,}" for k, n in pairs] or ["- (none)"]


def agreement_figures(snapshot) -> dict:
    """Simple agreement: per item with 2+ judgements, the share that agrees with the majority; averaged."""
    labels = pl.DataFrame(list(HarmLabel.objects.filter(snapshots=snapshot, origin="annotated")
                               .values("prompt_id", "harm_scope").annotate(n=Count("id"))
                               .values_list("prompt_id", "harm_scope", "n")),
                          schema={"item": pl.Int64, "value": pl.String, "n": pl.Int64}, orient="row")
    comps = pl.DataFrame(list(Comparison.objects.filter(snapshots=snapshot, origin="annotated")
                              .values("candidate_set_id", "best_id").annotate(n=Count("id"))
                              .values_list("candidate_set_id", "best_id", "n")),
                         schema={"item": pl.Int64, "value": pl.Int64, "n": pl.Int64}, orient="row")
    figures = {}
    for name, frame in (("harm_scope", labels), ("best_candidate", comps)):
        per_item = frame.group_by("item").agg(top=pl.col("n").max(), total=pl.col("n").sum()).filter(
            pl.col("total") >= 2)
        figures[name] = {"items": per_item.height,
                         "mean_majority_share": round(float((per_item["top"] / per_item["total"]).mean()), 4)
                         if per_item.height else None}
    figures |= krippendorff_figures(snapshot)
    return figures


def krippendorff_figures(snapshot) -> dict:
    """Krippendorff's alpha from the agreement service (issue 5), over the snapshot's prompts and candidate sets.
    That service holds every judgement in Python, so big snapshots get the majority share only."""
    try:
        from annotation.services.agreement import comparison_agreement, label_agreement
    except ImportError:
        return {}
    n = snapshot.harm_labels.count() + snapshot.comparisons.count()
    if n > ALPHA_MAX_JUDGEMENTS:
        return {"krippendorff_alpha": f"not computed for {n:,} judgements (limit {ALPHA_MAX_JUDGEMENTS:,})"}
    labels = label_agreement(prompts=snapshot.prompts.all())["overall"]
    comparisons = comparison_agreement(
        candidate_sets=CandidateSet.objects.filter(comparisons__snapshots=snapshot).distinct())["overall"]
    keys = ("harmful_alpha", "scope_alpha", "categories_alpha", "best_alpha", "pairwise_alpha")
    values = {**labels, **comparisons}
    return {"krippendorff_alpha": {k: None if values.get(k) is None else round(values[k], 4) for k in keys}}


def render_card(snapshot, fmt, rows, by_language, by_scope, schema, pairs="best") -> str:
    prompts = Prompt.objects.filter(snapshots=snapshot)
    sources = prompts.values_list("source").annotate(n=Count("id")).order_by("source")
    label_qs = HarmLabel.objects.filter(snapshots=snapshot)
    scopes = label_qs.values_list("harm_scope").annotate(n=Count("id")).order_by("harm_scope")
    categories = (HarmCategory.objects.filter(labels__snapshots=snapshot).values_list("name")
                  .annotate(n=Count("labels")).order_by("order", "name"))
    generation = (Comparison.objects.filter(snapshots=snapshot)
                  .values_list("candidate_set__generator", "candidate_set__strategy")
                  .annotate(n=Count("candidate_set", distinct=True), example=Min("candidate_set_id"))
                  .order_by("candidate_set__generator", "candidate_set__strategy"))
    figures = agreement_figures(snapshot)
    lines = [
        "---",
        f"pretty_name: {json.dumps(f'Crosswalk {snapshot.name} ({fmt})')}",
        "configs:",
        "- config_name: default",
        "  data_files:",
        "  - split: train",
        "    path: data/*.parquet",
        "tags:",
        "- safety",
        "- red-teaming",
        "- multilingual",
        "---",
        "",
        f"# Crosswalk snapshot {code(snapshot.name)}, format `{fmt}`",
        "",
        "Content warning: harmful and offensive prompts and responses, collected for safety research.",
        "",
        f"- rows: {rows:,}",
        f"- snapshot content hash: {code(snapshot.content_hash)}",
        f"- snapshot created: {snapshot.created_at:%Y-%m-%d %H:%M} UTC",
        f"- exported: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- snapshot filter: {code(json.dumps(snapshot.filter, sort_keys=True, ensure_ascii=False))}",
    ]
    if fmt == "dpo":
        lines.append(f"- pairs: {code(pairs)} (best vs each other candidate; 'ranking': every pair of a full ranking)")
    if snapshot.description.strip():
        lines += ["", "Description (as the curators wrote it):", ""]
        lines += ["    " + line for line in snapshot.description.splitlines()]
    lines += ["", "## Schema", ""]
    lines += [f"- `{f.name}`: `{f.type}`" for f in schema]
    lines += ["", "## Rows per language", ""] + _counts(sorted(by_language.items()))
    if by_scope:
        lines += ["", "## Rows per harm scope", ""] + _counts(sorted(by_scope.items()))
    lines += ["", "## Harm labels in the snapshot", "", "By scope:", ""] + _counts(scopes)
    lines += ["", "By category:", ""] + _counts(categories)
    lines += ["", "## Agreement", "",
              "Share of judgements that agree with the item's majority, averaged over items with two or more "
              "annotated judgements (imported labels left out):", ""]
    for name, value in figures.items():
        lines.append(f"- {name}: {code(json.dumps(value))}")
    lines += ["", "## Generation settings", "", "Candidate sets by generator and sampling strategy "
              "(with the settings of one example set):", ""]
    for generator, strategy, n, example in generation:
        settings_ = CandidateSet.objects.filter(pk=example).values_list("generator_settings", flat=True).first()
        lines.append(f"- {code(generator or '(none)')} / {code(strategy)}: {n:,} sets; "
                     f"e.g. {code(json.dumps(settings_, sort_keys=True, ensure_ascii=False))}")
    if not generation:
        lines.append("- (no candidate sets)")
    lines += ["", "## Sources and licences", ""]
    lines += [f"- {code(source or '(annotated in Crosswalk)')}: {n:,} prompts; licence: {code(_licence(source))}"
              for source, n in sources] or ["- (none)"]
    lines += ["", "## Privacy", "",
              "Annotators appear only by a random pseudonym (`annotator`); country and demographics only for those "
              "who opted in.", ""]
    return "\n".join(lines)



def record_export(snapshot, result: dict) -> None:
    """Note an export in the snapshot's `files` (by format): where it went, how many rows, when."""
    snapshot = _snapshot(snapshot)
    snapshot.files = {**snapshot.files, result["format"]: {
        "out_dir": result["out_dir"], "rows": result["rows"], "pushed_to": result["pushed_to"],
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds")}}
    snapshot.save(update_fields=["files"])
