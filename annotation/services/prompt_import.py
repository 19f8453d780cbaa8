"""Import red-teaming prompts from the shapes real files come in.

Shapes (detected from the columns):
- aya:   `prompt, language[, harm_category, global_or_local, literal_translation, semantic_translation, explanation]`
         (Aya Red-teaming); the source's own label is kept as an imported HarmLabel.
- plain: `text, language`.
- wide:  one column per language (`en, zh, ar, ...`), each row a parallel set linked to its English prompt
         (MultiJail, XSafety). Other columns are kept as metadata.

The whole file is checked first and every problem is reported with its row and field; only a clean file is
written, in one transaction, so an import is all or nothing. Rows already imported (same source and external
id) are skipped, so re-importing a file is harmless.
"""
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from tqdm import tqdm

from annotation.models import HarmCategory, HarmLabel, HarmScope, Origin, Prompt
from annotation.services.languages import LanguageResolver
from annotation.services.readers import ImportFileError, ImportProblem, parse_list, read_rows, text_problem

BATCH_SIZE = 2000
METADATA_SKIP = {"id", "external_id"}
AYA_LABEL_FIELDS = ("harm_category", "harm_type", "global_or_local", "literal_translation", "semantic_translation",
                    "explanation")
# Columns that are never a language, even where a code collides ("id" is also Indonesian's code).
NOT_LANGUAGE_COLUMNS = {"id", "external_id", "row", "source", "tags", "category", "no", *AYA_LABEL_FIELDS}


@dataclass
class ImportResult:
    created: int = 0
    skipped_existing: int = 0
    skipped_empty: int = 0  # missing cells in a wide file (a translation that is not there)
    labels: int = 0
    by_language: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        langs = ", ".join(f"{k}: {v}" for k, v in sorted(self.by_language.items()))
        return (f"{self.created} prompts created ({langs or 'none'}), {self.labels} source labels, "
                f"{self.skipped_existing} already present, {self.skipped_empty} empty cells skipped")


@dataclass
class _PlannedPrompt:
    row: int
    external_id: str
    text: str
    language_id: int
    language_code: str
    metadata: dict
    english_key: str | None = None  # external id of the English prompt of its row
    label: dict | None = None  # harmful/harm_scope/categories/explanation/translations from the source


def normalise_category(name: str) -> str:
    """'Violence, Threats & Incitement' and 'violence_threats_incitement' compare equal."""
    return "".join(ch for ch in name.lower() if ch.isalnum()).replace("and", "")


def language_columns(columns, resolver: LanguageResolver) -> dict:
    """Columns of a wide file that hold a language, with their Language."""
    return {c: resolver.get(c) for c in columns if c not in NOT_LANGUAGE_COLUMNS and resolver.get(c)}


def detect_shape(columns, resolver: LanguageResolver) -> str:
    cols = set(columns)
    if {"prompt", "language"} <= cols:
        return "aya"
    if {"text", "language"} <= cols:
        return "plain"
    if len(language_columns(columns, resolver)) >= 2 or "en" in cols:
        return "wide"
    raise ImportFileError([ImportProblem(
        None, "", f"cannot tell the file's shape from its columns {list(columns)}: expected 'prompt,language' (Aya), "
        "'text,language', or one column per language code (e.g. 'en,zh,ar')")])


class _LabelParser:
    def __init__(self):
        self.categories = {normalise_category(c.name): c for c in HarmCategory.objects.all()}
        for c in HarmCategory.objects.all():
            self.categories.setdefault(normalise_category(c.slug), c)

    def parse(self, row_no: int, rec: dict, problems: list) -> dict | None:
        if not any((rec.get(f) or "").strip() for f in AYA_LABEL_FIELDS if f in rec):
            return None
        scope = (rec.get("global_or_local") or "").strip().lower()
        if scope not in ("global", "local", ""):
            problems.append(ImportProblem(row_no, "global_or_local", f"must be 'global' or 'local', got {scope[:40]!r}"))
            return None
        category_field = "harm_category" if "harm_category" in rec else "harm_type"
        try:
            names = parse_list(rec.get(category_field))
        except ValueError as exc:
            problems.append(ImportProblem(row_no, category_field, str(exc)))
            return None
        categories = []
        for name in names:
            cat = self.categories.get(normalise_category(name))
            if cat is None:
                problems.append(ImportProblem(row_no, category_field, f"unknown harm category {name[:80]!r}"))
                return None
            categories.append(cat.pk)
        # Every row of a red-teaming set is a harmful prompt; the scope defaults to global when not given.
        return {
            "harmful": True,
            "harm_scope": scope or HarmScope.GLOBAL,
            "categories": categories,
            "explanation": rec.get("explanation") or "",
            "literal_translation": rec.get("literal_translation") or "",
            "semantic_translation": rec.get("semantic_translation") or "",
        }


def _metadata(rec: dict, used: set) -> dict:
    meta = {}
    for key, value in rec.items():
        if key in used or key in METADATA_SKIP or value in (None, ""):
            continue
        if key == "tags":
            try:
                value = parse_list(value)
            except ValueError:
                pass
        meta[key] = value
    return meta


def plan_prompts(df, resolver: LanguageResolver) -> list[_PlannedPrompt]:
    """Check every row and return what would be created; raise ImportFileError listing every problem."""
    shape = detect_shape(df.columns, resolver)
    problems: list[ImportProblem] = []
    planned: list[_PlannedPrompt] = []
    seen_ids: dict[str, int] = {}
    labels = _LabelParser() if shape in ("aya", "wide") else None
    has_id = "id" in df.columns or "external_id" in df.columns
    lang_columns = language_columns(df.columns, resolver) if shape == "wide" else {}
    english_column = next((c for c, lang in lang_columns.items() if lang.code == "en"), None)

    def external_id(row_no, rec):
        value = (rec.get("external_id") or rec.get("id") or "").strip() if has_id else ""
        if has_id and not value:
            problems.append(ImportProblem(row_no, "id", "empty id"))
        return value or f"row-{row_no}"

    def add(p: _PlannedPrompt, id_field: str):
        if p.external_id in seen_ids:
            problems.append(ImportProblem(p.row, id_field, f"duplicate id {p.external_id!r} (also row {seen_ids[p.external_id]})"))
            return
        seen_ids[p.external_id] = p.row
        planned.append(p)

    for row_no, rec in enumerate(df.iter_rows(named=True), start=1):
        ext = external_id(row_no, rec)
        if shape in ("aya", "plain"):
            text_field = "prompt" if shape == "aya" else "text"
            text = (rec.get(text_field) or "").strip()
            lang = resolver.get(rec.get("language"))
            if message := text_problem(text):
                problems.append(ImportProblem(row_no, text_field, message))
            if lang is None:
                problems.append(ImportProblem(row_no, "language", f"unknown language {str(rec.get('language'))[:40]!r}"))
            label = labels.parse(row_no, rec, problems) if labels else None
            if not message and lang:
                used = {text_field, "language", *AYA_LABEL_FIELDS}
                add(_PlannedPrompt(row_no, ext, text, lang.pk, lang.code, _metadata(rec, used), label=label),
                    "id" if has_id else text_field)
            continue

        # wide: one prompt per language column, all linked to the row's English prompt.
        label = labels.parse(row_no, rec, problems)
        meta = _metadata(rec, set(lang_columns) | set(AYA_LABEL_FIELDS))
        english_text = (rec.get(english_column) or "").strip() if english_column else ""
        english_key = f"{ext}:en" if english_text else None
        for column, lang in lang_columns.items():
            text = (rec.get(column) or "").strip()
            if not text:
                continue  # a missing translation: counted by the caller, not an error
            if message := text_problem(text):
                problems.append(ImportProblem(row_no, column, message))
                continue
            is_english = lang.code == "en"
            add(_PlannedPrompt(row_no, f"{ext}:{lang.code}", text, lang.pk, lang.code, meta,
                               english_key=None if is_english else english_key,
                               # The source's label describes the native prompt, not its English rendering.
                               label=None if is_english else label), "id")
    if problems:
        raise ImportFileError(problems)
    return planned


def import_prompts(path, source: str | None = None, progress: bool = False) -> ImportResult:
    path = Path(path)
    return import_prompt_rows(read_rows(path), source or path.name.split(".")[0], progress, path.name)


def import_prompt_rows(df, source: str, progress: bool = False, name: str = "rows") -> ImportResult:
    """Import rows already read (a file, or a slice of one as the demo does)."""
    if df.height == 0:
        raise ImportFileError([ImportProblem(None, "", "the file has no rows")])
    resolver = LanguageResolver()
    planned = plan_prompts(df, resolver)
    result = ImportResult()
    if detect_shape(df.columns, resolver) == "wide":
        result.skipped_empty = df.height * len(language_columns(df.columns, resolver)) - len(planned)

    existing = set(Prompt.objects.filter(source=source).values_list("external_id", flat=True))
    todo = [p for p in planned if p.external_id not in existing]
    result.skipped_existing = len(planned) - len(todo)

    with transaction.atomic(), tqdm(total=len(todo), desc=f"importing {name}", unit="prompt",
                                     disable=not progress) as bar:
        # English first, so that translations can point at them.
        english = [p for p in todo if p.english_key is None]
        translated = [p for p in todo if p.english_key is not None]
        ids = _create(english, source, {}, bar)
        missing_keys = {p.english_key for p in translated} - set(ids)
        if missing_keys:  # the English prompt was imported earlier
            ids.update(Prompt.objects.filter(source=source, external_id__in=missing_keys).values_list("external_id", "pk"))
        ids.update(_create(translated, source, ids, bar))
        result.labels = _create_labels(todo, ids)
    result.created = len(todo)
    result.by_language = Counter(p.language_code for p in todo)
    return result


def _create(planned, source, english_ids, bar) -> dict[str, int]:
    ids = {}
    for start in range(0, len(planned), BATCH_SIZE):
        batch = planned[start:start + BATCH_SIZE]
        objs = Prompt.objects.bulk_create([
            Prompt(text=p.text, language_id=p.language_id, source=source, external_id=p.external_id,
                   metadata=p.metadata, english_id=english_ids.get(p.english_key) if p.english_key else None)
            for p in batch
        ])
        ids.update((p.external_id, o.pk) for p, o in zip(batch, objs))
        bar.update(len(batch))
    return ids


def _create_labels(planned, ids) -> int:
    with_label = [p for p in planned if p.label]
    labels = HarmLabel.objects.bulk_create([
        HarmLabel(prompt_id=ids[p.external_id], annotator=None, origin=Origin.IMPORTED,
                  **{k: v for k, v in p.label.items() if k != "categories"})
        for p in with_label
    ], batch_size=BATCH_SIZE)
    through = HarmLabel.categories.through
    through.objects.bulk_create([
        through(harmlabel_id=label.pk, harmcategory_id=cat)
        for p, label in zip(with_label, labels) for cat in p.label["categories"]
    ], batch_size=BATCH_SIZE)
    return len(labels)
