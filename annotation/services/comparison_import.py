"""Import preference pairs as candidate sets with an imported comparison (chosen = best, rejected = worst).

Shapes (detected from the fields):
- hh-rlhf:  `chosen, rejected` whole transcripts ("\\n\\nHuman: ...\\n\\nAssistant: ...") sharing a prefix.
- mpo:      the MPO paper's parallel file: `source_conversations, source_chosen, source_rejected` (English) and the
            same `target_*` keys; the target language is told by its script (or given with --language).
- pairs:    `prompt, chosen, rejected[, language]`, the shape of Crosswalk's own `dpo` export.

Like the prompt import: every problem is named by row and field, a file with problems writes nothing, and
re-importing skips what is already there (ids are content hashes, so the same pair is the same row).
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from tqdm import tqdm

from annotation.models import Candidate, CandidateSet, Comparison, Origin, Prompt, SamplingStrategy
from annotation.services.languages import LanguageResolver, dominant_script, guess_language
from annotation.services.readers import ImportFileError, ImportProblem, read_rows, text_problem

MPO_TARGET_LANGUAGES = ["zh", "ja", "ko", "ar", "bn", "sw"]
HUMAN, ASSISTANT = "\n\nHuman:", "\n\nAssistant:"


@dataclass
class PairImportResult:
    sets_created: int = 0
    skipped_existing: int = 0
    skipped_invalid: int = 0
    prompts_created: int = 0
    problems: list = field(default_factory=list)  # the rows skipped with --skip-invalid

    def summary(self) -> str:
        return (f"{self.sets_created} candidate sets with imported comparisons, {self.prompts_created} new prompts, "
                f"{self.skipped_existing} already present, {self.skipped_invalid} invalid rows skipped")


@dataclass
class _Pair:
    row: int
    language: str
    prompt: str
    chosen: str
    rejected: str
    conversation: list
    english: "_Pair | None" = None  # the parallel English pair (mpo)

    @property
    def prompt_key(self) -> str:
        return _digest(self.language, json.dumps(self.conversation), self.prompt)

    @property
    def set_key(self) -> str:
        return _digest(self.prompt_key, self.chosen, self.rejected)


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def split_transcript(text: str) -> list[dict]:
    """'\\n\\nHuman: a\\n\\nAssistant: b' -> [{"role": "user", "content": "a"}, {"role": "assistant", ...}]."""
    turns, rest = [], text
    while rest:
        h, a = rest.find(HUMAN), rest.find(ASSISTANT)
        starts = [i for i in (h, a) if i >= 0]
        if not starts:
            break
        start = min(starts)
        role, marker = ("user", HUMAN) if start == h else ("assistant", ASSISTANT)
        body = rest[start + len(marker):]
        nxt = [i for i in (body.find(HUMAN), body.find(ASSISTANT)) if i >= 0]
        end = min(nxt) if nxt else len(body)
        turns.append({"role": role, "content": body[:end].strip()})
        rest = body[end:]
    return turns


def _hh_pair(row_no, rec, language, problems) -> _Pair | None:
    chosen, rejected = split_transcript(rec.get("chosen") or ""), split_transcript(rec.get("rejected") or "")
    for name, turns in (("chosen", chosen), ("rejected", rejected)):
        if len(turns) < 2 or turns[-1]["role"] != "assistant" or turns[-2]["role"] != "user":
            problems.append(ImportProblem(row_no, name, "not a '\\n\\nHuman: ...\\n\\nAssistant: ...' transcript ending with the assistant"))
            return None
    if chosen[:-1] != rejected[:-1]:
        problems.append(ImportProblem(row_no, "rejected", "chosen and rejected do not share the conversation before the last answer"))
        return None
    return _Pair(row_no, language, chosen[-2]["content"], chosen[-1]["content"], rejected[-1]["content"], chosen[:-2])


def _turn_value(raw, row_no, name, problems):
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw[:1] in "[{" else raw
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, list):
        value = value[-1] if value else None
    if isinstance(value, dict):
        value = value.get("value", value.get("content"))
    if not isinstance(value, str):
        problems.append(ImportProblem(row_no, name, "expected a {'from': ..., 'value': ...} turn"))
        return None
    return value.strip()


def _mpo_pair(row_no, rec, forced_language, problems) -> _Pair | None:
    values = {k: _turn_value(rec.get(k), row_no, k, problems) for k in (
        "source_conversations", "source_chosen", "source_rejected", "target_conversations", "target_chosen", "target_rejected")}
    if any(v is None for v in values.values()):
        return None
    # The file is noisy: some target prompts or answers are still in English. The prompt's own script decides
    # when it is not Latin; otherwise the three texts are judged together.
    prompt = values["target_conversations"]
    if dominant_script(prompt) != "LATIN":
        text = prompt
    else:
        text = "\n".join(values[k] for k in ("target_conversations", "target_chosen", "target_rejected"))
    language = forced_language or guess_language(text, MPO_TARGET_LANGUAGES)
    if language is None:
        problems.append(ImportProblem(row_no, "target_conversations", f"cannot tell the language among {MPO_TARGET_LANGUAGES}: give --language"))
        return None
    english = _Pair(row_no, "en", values["source_conversations"], values["source_chosen"], values["source_rejected"], [])
    return _Pair(row_no, language, values["target_conversations"], values["target_chosen"], values["target_rejected"], [], english)


def _plain_pair(row_no, rec, forced_language, problems) -> _Pair | None:
    language = forced_language or (rec.get("language") or "").strip()
    if not language:
        problems.append(ImportProblem(row_no, "language", "missing: add a language column or give --language"))
        return None
    return _Pair(row_no, language, (rec.get("prompt") or "").strip(), (rec.get("chosen") or "").strip(),
                 (rec.get("rejected") or "").strip(), [])


def _check(pair: _Pair, resolver, problems) -> bool:
    ok = True
    for p in [pair] + ([pair.english] if pair.english else []):
        prefix = "source_" if p is pair.english else ("target_" if pair.english else "")
        if resolver.get(p.language) is None:
            problems.append(ImportProblem(p.row, "language", f"unknown language {p.language[:40]!r}"))
            ok = False
        for name in ("prompt", "chosen", "rejected"):
            if message := text_problem(getattr(p, name)):
                field_name = f"{prefix}{'conversations' if name == 'prompt' and prefix else name}"
                problems.append(ImportProblem(p.row, field_name, message))
                ok = False
        if p.chosen and p.chosen == p.rejected:
            problems.append(ImportProblem(p.row, f"{prefix}rejected", "identical to chosen: no preference to learn"))
            ok = False
    return ok


def read_pairs(df, language=None) -> tuple[str, list[_Pair], list[ImportProblem]]:
    cols = set(df.columns)
    if "source_conversations" in cols:
        shape, make = "mpo", _mpo_pair
    elif {"prompt", "chosen", "rejected"} <= cols:
        shape, make = "pairs", _plain_pair
    elif {"chosen", "rejected"} <= cols:
        shape, make = "hh-rlhf", lambda r, rec, lang, probs: _hh_pair(r, rec, lang or "en", probs)
    else:
        raise ImportFileError([ImportProblem(None, "", f"cannot tell the shape from the fields {sorted(cols)}: expected "
                                             "'chosen,rejected' (hh-rlhf), 'prompt,chosen,rejected' or the MPO file's 'source_*'/'target_*'")])
    resolver = LanguageResolver()
    pairs, problems = [], []
    for row_no, rec in enumerate(df.iter_rows(named=True), start=1):
        row_problems = []
        pair = make(row_no, rec, language, row_problems)
        if pair is not None and _check(pair, resolver, row_problems):
            pair.language = resolver.get(pair.language).code
            pairs.append(pair)
        problems.extend(row_problems)
    return shape, pairs, problems


def import_comparisons(path, source=None, language=None, skip_invalid=False, progress=False) -> PairImportResult:
    path = Path(path)
    return import_comparison_rows(read_rows(path), source or path.name.split(".")[0], language, skip_invalid,
                                  progress, path.name)


def import_comparison_rows(df, source, language=None, skip_invalid=False, progress=False, name="rows"):
    """Import rows already read (a file, or a slice of one as the demo does)."""
    if df.height == 0:
        raise ImportFileError([ImportProblem(None, "", "the file has no rows")])
    shape, pairs, problems = read_pairs(df, language)
    if problems and not skip_invalid:
        raise ImportFileError(problems)
    result = PairImportResult(skipped_invalid=len({p.row for p in problems}), problems=problems)
    with transaction.atomic():
        _write(pairs, source, shape, result, progress, name)
    return result


def _write(pairs, source, shape, result, progress, name):
    resolver = LanguageResolver()
    everything = [p.english for p in pairs if p.english] + pairs  # English first: translations link to it
    prompt_ids = dict(Prompt.objects.filter(source=source).values_list("external_id", "pk"))
    new_prompts = {}
    for p in everything:
        if p.prompt_key not in prompt_ids and p.prompt_key not in new_prompts:
            new_prompts[p.prompt_key] = p
    for group in ([p for p in new_prompts.values() if not p.english], [p for p in new_prompts.values() if p.english]):
        created = Prompt.objects.bulk_create([
            Prompt(text=p.prompt, language=resolver.get(p.language), source=source, external_id=p.prompt_key,
                   english_id=prompt_ids.get(p.english.prompt_key) if p.english else None,
                   metadata={"imported_from": shape, "row": p.row})
            for p in group
        ], batch_size=2000)
        prompt_ids.update((o.external_id, o.pk) for o in created)
    result.prompts_created = len(new_prompts)

    existing_sets = set(CandidateSet.objects.filter(source=source).values_list("external_id", flat=True))
    todo, seen = [], set()
    for p in everything:
        if p.set_key in existing_sets or p.set_key in seen:
            continue
        seen.add(p.set_key)
        todo.append(p)
    created = {id(p) for p in todo}
    result.skipped_existing = sum(1 for p in pairs if id(p) not in created)

    with tqdm(total=len(todo), desc=f"importing {name}", unit="pair", disable=not progress) as bar:
        for start in range(0, len(todo), 1000):
            batch = todo[start:start + 1000]
            sets = CandidateSet.objects.bulk_create([
                CandidateSet(prompt_id=prompt_ids[p.prompt_key], conversation=p.conversation, source=source,
                             external_id=p.set_key, strategy=SamplingStrategy.IMPORTED, generator=f"imported:{shape}",
                             generator_settings={"file": name, "row": p.row})
                for p in batch
            ])
            candidates = Candidate.objects.bulk_create([
                Candidate(candidate_set_id=s.pk, position=pos, text=text, provenance={"imported_from": shape, "role": role})
                for s, p in zip(sets, batch)
                for pos, (role, text) in enumerate((("chosen", p.chosen), ("rejected", p.rejected)))
            ])
            Comparison.objects.bulk_create([
                Comparison(candidate_set_id=s.pk, origin=Origin.IMPORTED, best_id=candidates[2 * i].pk,
                           worst_id=candidates[2 * i + 1].pk, ranking=[0, 1])
                for i, s in enumerate(sets)
            ])
            bar.update(len(batch))
    result.sets_created = len(todo)
