"""The `mpo` data contract: build it from the paper's file, load it from a folder, validate it, tokenise it.

One row per target-language pair:
  id, language, harm_scope ("global" | "local" | ""), has_english,
  en_prompt, en_chosen, en_rejected   (empty strings when has_english is False),
  prompt, chosen, rejected            (the target-language pair).
Rows without an English pair, or of local harm, are "native" rows: they cannot use the MPO gap
term and are trained with a native-pair term (DPO or SimPO) instead.
"""
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = {
    "id": str, "language": str, "harm_scope": str, "has_english": bool,
    "en_prompt": str, "en_chosen": str, "en_rejected": str,
    "prompt": str, "chosen": str, "rejected": str,
}
HARM_SCOPES = ("global", "local", "")
PAPER_FILE = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mpo_gemma2_en_to_6langs.json"


class DataError(ValueError):
    """Bad input that must be fixed before training: names the row and the field."""


@dataclass
class Prepared:
    dataset: object  # datasets.Dataset
    skipped: Counter = field(default_factory=Counter)


# ---- the paper's file ---------------------------------------------------------------------

def _script(ch):
    """Coarse Unicode script of one character, enough to tell the paper's six languages apart."""
    o = ord(ch)
    if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF:
        return "kana"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
        return "han"
    if 0x0600 <= o <= 0x06FF or 0x0750 <= o <= 0x077F or 0xFB50 <= o <= 0xFEFF:
        return "arabic"
    if 0x0980 <= o <= 0x09FF:
        return "bengali"
    if ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN"):
        return "latin"
    return None


def detect_language(text):
    """zh ja ko ar bn by the dominant non-Latin script, sw for Latin script (the paper's only Latin
    target). Some target prompts or answers were left in English, so pass all the row's target text."""
    counts = Counter(s for s in map(_script, text) if s)
    letters = sum(counts.values())
    if not letters:
        return ""
    if counts["kana"] >= 0.02 * letters:  # Japanese mixes kana with Han; Chinese has none
        return "ja"
    native = {s: n for s, n in counts.items() if s not in ("latin", "kana")}
    if native and sum(native.values()) >= 0.1 * letters:
        top = max(native, key=native.get)
        return {"hangul": "ko", "arabic": "ar", "bengali": "bn", "han": "zh"}[top]
    return "sw"


def _turns(conversation):
    return "\n\n".join(t["value"] for t in conversation if t.get("from") == "human")


def rows_from_paper_file(path=PAPER_FILE, limit=None):
    """Rows in the `mpo` shape from the MPO paper's released JSON (all rows have an English pair)."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    rows = []
    for i, r in enumerate(raw[:limit] if limit else raw):
        prompt = _turns(r["target_conversations"])
        target_text = " ".join((prompt, r["target_chosen"]["value"], r["target_rejected"]["value"]))
        rows.append({
            "id": f"mpo-gemma2-{i:04d}",
            # the prompt decides unless it was left in English; then the answers do
            "language": detect_language(prompt) if detect_language(prompt) != "sw" else detect_language(target_text),
            "harm_scope": "global",
            "has_english": True,
            "en_prompt": _turns(r["source_conversations"]),
            "en_chosen": r["source_chosen"]["value"],
            "en_rejected": r["source_rejected"]["value"],
            "prompt": prompt,
            "chosen": r["target_chosen"]["value"],
            "rejected": r["target_rejected"]["value"],
        })
    return rows


def paper_slice(n_per_language, path=PAPER_FILE, offset=0):
    """A balanced slice: rows offset..offset+n of each language, in file order."""
    by_lang = {}
    for row in rows_from_paper_file(path):
        by_lang.setdefault(row["language"], []).append(row)
    return [r for lang in sorted(by_lang) for r in by_lang[lang][offset:offset + n_per_language]]


def truncate_responses(rows, tokenizer, max_tokens):
    """Cut every response to its first max_tokens tokens, as text, so that every trainer (ours and
    TRL's) sees the same shorter pairs: used for CPU-sized runs and the benchmark."""
    def cut(text):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        return text if len(ids) <= max_tokens else tokenizer.decode(ids[:max_tokens])

    keys = ("chosen", "rejected", "en_chosen", "en_rejected")
    return [{**r, **{k: cut(r[k]) for k in keys}} for r in rows]


def dataset_from_rows(rows):
    from datasets import Dataset

    return Dataset.from_list(list(rows), features=_features())


def _features():
    from datasets import Features, Value

    return Features({k: Value("bool" if t is bool else "string") for k, t in COLUMNS.items()})


# ---- loading and validating ---------------------------------------------------------------

def load_rows(path):
    """Read an `mpo` export: a save_to_disk folder, a folder of Parquet files, a .parquet or the paper's .json."""
    from datasets import Dataset, DatasetDict, load_from_disk

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix == ".json":
        return dataset_from_rows(rows_from_paper_file(path))
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        ds = load_from_disk(str(path))
        return ds["train"] if isinstance(ds, DatasetDict) else ds
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    if not files or any(f.suffix != ".parquet" for f in files):
        raise DataError(f"{path}: expected a save_to_disk folder, .parquet files or the paper's .json")
    return Dataset.from_parquet([str(f) for f in files])


def validate(ds, native_term=True):
    """Check the contract; return (clean Dataset with an `anchored` column, Counter of skipped rows).

    Structural problems raise DataError naming the row and field; rows that are merely unusable
    (empty response, no English pair with the native term off) are skipped and counted.
    """
    missing = [c for c in COLUMNS if c not in ds.column_names]
    if missing:
        raise DataError(f"missing column(s) {missing}; the mpo export has {sorted(COLUMNS)}")
    skipped = Counter()
    keep = []
    for i, row in enumerate(ds):
        rid = row["id"] if isinstance(row["id"], str) and row["id"] else f"#{i}"
        for name, typ in COLUMNS.items():
            if not isinstance(row[name], typ):
                raise DataError(f"row {rid}: field {name!r} must be {typ.__name__}, got {row[name]!r:.60}")
        if not row["language"]:
            raise DataError(f"row {rid}: field 'language' is empty")
        if row["harm_scope"] not in HARM_SCOPES:
            raise DataError(f"row {rid}: field 'harm_scope' is {row['harm_scope']!r}, expected one of {HARM_SCOPES}")
        if not (row["prompt"].strip() and row["chosen"].strip() and row["rejected"].strip()):
            skipped["empty_target_pair"] += 1
            continue
        english_ok = row["has_english"] and all(row[k].strip() for k in ("en_prompt", "en_chosen", "en_rejected"))
        if row["has_english"] and not english_ok:
            skipped["empty_english_pair"] += 1
            continue
        anchored = english_ok and row["harm_scope"] != "local"
        if not anchored and not native_term:
            skipped["no_english_anchor"] += 1
            continue
        keep.append(i)
    ds = ds.select(keep)
    ds = ds.add_column("anchored", [bool(r["has_english"] and r["harm_scope"] != "local") for r in ds])
    return ds, skipped


# ---- tokenising ---------------------------------------------------------------------------

def prompt_ids(tokenizer, prompt):
    """Prompt tokens in the model's chat format when it has one."""
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                             add_generation_prompt=True)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer(prompt)["input_ids"]


def response_ids(tokenizer, response):
    ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return ids + ([tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else [])


def tokenize_row(row, tokenizer):
    """Token ids of the four sequences; *_prompt_len marks where the response starts."""
    out = {}
    pairs = [("", "prompt", "chosen", "rejected"), ("en_", "en_prompt", "en_chosen", "en_rejected")]
    for prefix, p, c, r in pairs:
        has = bool(row[p]) if prefix else True
        p_ids = prompt_ids(tokenizer, row[p]) if has else []
        for name, text in (("chosen", row[c]), ("rejected", row[r])):
            ids = p_ids + response_ids(tokenizer, text) if has else []
            out[f"{prefix}{name}_ids"] = ids
            out[f"{prefix}{name}_prompt_len"] = len(p_ids)
    return out


def tokenize(ds, tokenizer, max_length):
    """Add token columns; drop rows with a sequence longer than max_length (counted, not truncated,
    because a truncated response would change the average log-prob the gap is made of)."""
    ds = ds.map(lambda r: tokenize_row(r, tokenizer), desc="tokenising")
    seqs = ("chosen_ids", "rejected_ids", "en_chosen_ids", "en_rejected_ids")
    fits = [max(len(r[s]) for s in seqs) <= max_length for r in ds]
    skipped = Counter({"too_long": fits.count(False)}) if not all(fits) else Counter()
    return ds.select([i for i, ok in enumerate(fits) if ok]), skipped


def prepare(path_or_rows, tokenizer, max_length=512, native_term=True):
    """Load (a path or a list of row dicts), validate and tokenise: a Prepared(dataset, skipped)."""
    ds = dataset_from_rows(path_or_rows) if isinstance(path_or_rows, list) else load_rows(path_or_rows)
    ds, skipped = validate(ds, native_term=native_term)
    ds, too_long = tokenize(ds, tokenizer, max_length)
    skipped.update(too_long)
    if len(ds) == 0:
        raise DataError(f"no usable rows left (skipped: {dict(skipped)})")
    return Prepared(ds, skipped)
