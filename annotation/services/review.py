"""Review and adjudication: which items annotators disagree on, and curators' decisions recorded beside them.

Agreement of an item is the share of its annotated judgements that hold the most common value (harm scope for
a prompt, best candidate for a set). Items with at least two judgements and agreement below
CROSSWALK["REVIEW_MIN_AGREEMENT"] (default 0.75: with three annotators a 2-1 split goes to review) wait in the
review queue until a curator decides; a "send back for more" decision puts the item back in the queue once a
newer judgement arrives. Decisions never touch the judgements.
"""
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, FloatField, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf

from annotation.models import CandidateSet, Comparison, CuratorDecision, HarmLabel, HarmScope, Origin, Prompt
from annotation.services import audit


def min_agreement() -> float:
    return float(settings.CROSSWALK.get("REVIEW_MIN_AGREEMENT", 0.75))


def _count(model, item_field, **filters):
    rows = (model.objects.filter(**{item_field: OuterRef("pk")}, origin=Origin.ANNOTATED, **filters)
            .order_by().values(item_field).annotate(c=Count("pk")).values("c")[:1])
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def latest_decision(item_field):
    """Subquery: the latest decision on the outer item (a Prompt or CandidateSet queryset)."""
    return Subquery(CuratorDecision.objects.filter(**{item_field: OuterRef("pk")})
                    .order_by("-created_at", "-id").values("decision")[:1])


def _latest_decision_at(item_field):
    return Subquery(CuratorDecision.objects.filter(**{item_field: OuterRef("pk")})
                    .order_by("-created_at", "-id").values("created_at")[:1])


def _latest_judgement_at(model, item_field):
    return Subquery(model.objects.filter(**{item_field: OuterRef("pk")}, origin=Origin.ANNOTATED).order_by()
                    .values(item_field).annotate(at=Max("created_at")).values("at")[:1])


def _with_review(qs, item_field, judgement_model):
    agreement = Cast(F("top_count"), FloatField()) / NullIf(Cast(F("n_judgements"), FloatField()), 0.0)
    return qs.annotate(
        agreement=agreement,
        decision=latest_decision(item_field),
        decision_at=_latest_decision_at(item_field),
        last_judgement_at=_latest_judgement_at(judgement_model, item_field),
    )


def annotate_prompts(qs=None):
    """Prompts with n_judgements, the split of harm scopes, agreement and the latest decision."""
    qs = Prompt.objects.all() if qs is None else qs
    qs = qs.annotate(
        n_judgements=_count(HarmLabel, "prompt"),
        n_global=_count(HarmLabel, "prompt", harm_scope=HarmScope.GLOBAL),
        n_local=_count(HarmLabel, "prompt", harm_scope=HarmScope.LOCAL),
        n_none=_count(HarmLabel, "prompt", harm_scope=HarmScope.NONE),
    ).annotate(top_count=Greatest("n_global", "n_local", "n_none"))
    return _with_review(qs, "prompt", HarmLabel)


def annotate_candidate_sets(qs=None):
    """Candidate sets with n_judgements, the size of the largest 'best' group, agreement and the latest decision."""
    qs = CandidateSet.objects.all() if qs is None else qs
    top = (Comparison.objects.filter(candidate_set=OuterRef("pk"), origin=Origin.ANNOTATED).order_by()
           .values("best_id").annotate(c=Count("pk")).order_by("-c").values("c")[:1])
    qs = qs.annotate(n_judgements=_count(Comparison, "candidate_set"),
                     top_count=Coalesce(Subquery(top, output_field=IntegerField()), Value(0)))
    return _with_review(qs, "candidate_set", Comparison)


def review_condition():
    """The Q that selects items in the review queue, on a queryset made by annotate_prompts/annotate_candidate_sets."""
    return Q(n_judgements__gte=2, agreement__lt=min_agreement()) & (
        Q(decision__isnull=True) | Q(decision=CuratorDecision.Decision.MORE, last_judgement_at__gt=F("decision_at")))


def review_queue_prompts(qs=None):
    return annotate_prompts(qs).filter(review_condition())


def review_queue_candidate_sets(qs=None):
    return annotate_candidate_sets(qs).filter(review_condition())


def more_rounds(item_field):
    """Subquery: how many times a curator sent the outer item back for more judgements. The assignment service
    can ask for JUDGEMENTS_PER_ITEM * (1 + more_rounds) judgements of an item."""
    rows = (CuratorDecision.objects.filter(**{item_field: OuterRef("pk")}, decision=CuratorDecision.Decision.MORE)
            .order_by().values(item_field).annotate(c=Count("pk")).values("c")[:1])
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def excluded_q(item_field):
    """Q on a Prompt / CandidateSet queryset: items whose latest decision is 'exclude'."""
    return Q(pk__in=_latest_with(item_field, CuratorDecision.Decision.EXCLUDE))


def accepted_q(item_field):
    return Q(pk__in=_latest_with(item_field, CuratorDecision.Decision.ACCEPT))


def _latest_with(item_field, decision):
    model = Prompt if item_field == "prompt" else CandidateSet
    return model.objects.annotate(d=latest_decision(item_field)).filter(d=decision).values("pk")


@transaction.atomic
def decide(items, decision: str, curator, note: str = "") -> list[CuratorDecision]:
    """Record one decision per item (Prompts or CandidateSets), beside its judgements, and audit it."""
    if decision not in CuratorDecision.Decision.values:
        raise ValueError(f"unknown decision {decision!r}; one of {CuratorDecision.Decision.values}")
    made = []
    for item in items:
        field = "prompt" if isinstance(item, Prompt) else "candidate_set"
        previous = CuratorDecision.objects.filter(**{field: item}).first()  # ordered latest first
        made.append(CuratorDecision.objects.create(**{field: item}, decision=decision, curator=curator, note=note))
        audit.record(curator, f"decision:{decision}", item,
                     old={"decision": previous.decision if previous else None},
                     new={"decision": decision, "note": note})
    return made
