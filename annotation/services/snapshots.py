"""Freezing a filtered selection of prompts and judgements into a named, immutable DatasetSnapshot.

A snapshot records the ids of what it holds (prompts, harm labels, comparisons) at the moment it is made;
judgements are append-only, so later judgements never change it. The content hash covers the ids and the
judged values, so anyone can check that an export still matches its snapshot.
"""
import hashlib
import json
from collections import Counter

from django.db import transaction

from annotation.models import CandidateSet, Comparison, DatasetSnapshot, HarmLabel, Prompt

# The filter keys a snapshot understands; each is optional. Unknown keys are refused so a typo never widens a dataset.
FILTER_KEYS = {
    "languages",  # list of language codes
    "sources",  # list of Prompt.source values
    "origins",  # list of "annotated" / "imported" (judgement origin)
    "harm_scopes",  # list of "global" / "local" / "none" (prompts with at least one such label)
    "prompt_ids",  # explicit list of prompt ids
    "created_before",  # ISO datetime: judgements made before this moment
    "curation",  # "any" (default) / "not-excluded" / "accepted": by the latest curator decision (issue 5)
}
CURATION_CHOICES = ("any", "not-excluded", "accepted")


class SnapshotError(ValueError):
    pass


def select_prompts(filters: dict):
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise SnapshotError(f"unknown filter key(s): {sorted(unknown)}; known: {sorted(FILTER_KEYS)}")
    prompts = Prompt.objects.all()
    if filters.get("languages"):
        prompts = prompts.filter(language__code__in=filters["languages"])
    if filters.get("sources"):
        prompts = prompts.filter(source__in=filters["sources"])
    if filters.get("prompt_ids"):
        prompts = prompts.filter(pk__in=filters["prompt_ids"])
    if filters.get("harm_scopes"):
        prompts = prompts.filter(labels__harm_scope__in=filters["harm_scopes"]).distinct()
    return _curated(prompts, "prompt", filters)


def _curated(items, item_field, filters):
    """Apply the curation filter to Prompts or CandidateSets (each item by its own latest decision)."""
    from annotation.services.review import accepted_q, excluded_q

    curation = filters.get("curation") or "any"
    if curation not in CURATION_CHOICES:
        raise SnapshotError(f"unknown curation {curation!r}; one of {CURATION_CHOICES}")
    if curation == "not-excluded":
        return items.exclude(excluded_q(item_field))
    if curation == "accepted":
        return items.filter(accepted_q(item_field))
    return items


def _judgements(model, prompt_field, prompt_ids, filters):
    rows = model.objects.filter(**{f"{prompt_field}__in": prompt_ids})
    if filters.get("origins"):
        rows = rows.filter(origin__in=filters["origins"])
    if filters.get("created_before"):
        rows = rows.filter(created_at__lt=filters["created_before"])
    return rows


def content_hash(prompt_ids, label_rows, comparison_rows) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(prompt_ids)).encode())
    for row in sorted(label_rows):
        digest.update(json.dumps(row, default=str).encode())
    for row in sorted(comparison_rows):
        digest.update(json.dumps(row, default=str).encode())
    return digest.hexdigest()


def snapshot_rows(prompt_ids, label_ids, comparison_ids):
    """The values the hash covers: what a judgement said, not when it was shown."""
    labels = list(HarmLabel.objects.filter(pk__in=label_ids).order_by("pk").values_list(
        "pk", "prompt_id", "annotator_id", "harmful", "harm_scope", "explanation"))
    comparisons = list(Comparison.objects.filter(pk__in=comparison_ids).order_by("pk").values_list(
        "pk", "candidate_set_id", "annotator_id", "best_id", "worst_id", "none_acceptable", "rationale"))
    return labels, comparisons


@transaction.atomic
def freeze_snapshot(name: str, *, filters: dict | None = None, user=None, description: str = "") -> DatasetSnapshot:
    filters = dict(filters or {})
    if DatasetSnapshot.objects.filter(name=name).exists():
        raise SnapshotError(f"a snapshot named {name!r} already exists: snapshots never change, choose a new name")
    prompts = select_prompts(filters)
    prompt_ids = list(prompts.values_list("pk", flat=True))
    label_ids = list(_judgements(HarmLabel, "prompt_id", prompt_ids, filters).values_list("pk", flat=True))
    sets = _curated(CandidateSet.objects.filter(prompt_id__in=prompt_ids), "candidate_set", filters)
    comparison_ids = list(_judgements(Comparison, "candidate_set__prompt_id", prompt_ids, filters)
                          .filter(candidate_set__in=sets).values_list("pk", flat=True))
    labels, comparisons = snapshot_rows(prompt_ids, label_ids, comparison_ids)
    by_language = Counter(prompts.values_list("language__code", flat=True))
    snapshot = DatasetSnapshot.objects.create(
        name=name, description=description, filter=filters, created_by=user,
        row_counts={"prompts": len(prompt_ids), "harm_labels": len(label_ids), "comparisons": len(comparison_ids),
                    "prompts_by_language": dict(sorted(by_language.items()))},
        content_hash=content_hash(prompt_ids, labels, comparisons),
    )
    # Through-table bulk inserts: a snapshot of 200k comparisons must not issue 200k queries.
    for field, ids in (("prompts", prompt_ids), ("harm_labels", label_ids), ("comparisons", comparison_ids)):
        through = getattr(DatasetSnapshot, field).through
        target = getattr(DatasetSnapshot, field).field.m2m_reverse_field_name()
        through.objects.bulk_create(
            [through(datasetsnapshot_id=snapshot.pk, **{f"{target}_id": i}) for i in ids], batch_size=5000)
    return snapshot


def verify_snapshot(snapshot: DatasetSnapshot) -> bool:
    """True when the rows a snapshot holds still hash to what was recorded when it was frozen."""
    prompt_ids = list(snapshot.prompts.values_list("pk", flat=True))
    labels, comparisons = snapshot_rows(prompt_ids, snapshot.harm_labels.values_list("pk", flat=True),
                                        snapshot.comparisons.values_list("pk", flat=True))
    return content_hash(prompt_ids, labels, comparisons) == snapshot.content_hash
