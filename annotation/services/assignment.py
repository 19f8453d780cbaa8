"""The task queue: what an annotator judges next, leases that expire, submit, skip, flag, undo and gold scores.

Rules (settings.CROSSWALK): each regular item needs JUDGEMENTS_PER_ITEM judgements from different annotators
who speak its language; a lease lasts LEASE_MINUTES; with probability GOLD_RATE the next task is a gold item
(an item with a known answer in its `gold` field), which every annotator may get once and which does not count
toward k. An annotator never gets the same item twice (database constraints on Assignment), never an item they
wrote, and never sees others' answers (nothing here returns them).

Race-free: the item's row is locked (SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, so annotators racing for
the same item move on to the next one instead of waiting) and its active leases are counted again after the
lock, in a fresh statement, before a lease is added. Leases that count: submitted ones and unexpired ones.
SQLite has no row locks; it serialises writers on the whole file, which is fine for a single developer.
"""
import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annotation.models import (
    AnnotatorLanguage,
    Assignment,
    Candidate,
    CandidateSet,
    Comparison,
    CuratorDecision,
    HarmLabel,
    Language,
    Prompt,
)
from annotation.services.review import latest_decision, more_rounds

LABEL, COMPARE = Assignment.Kind.LABEL, Assignment.Kind.COMPARE
S = Assignment.Status
AUTHORED_SOURCE = "crosswalk-authored"
_ITEM = {LABEL: (Prompt, "prompt", "language_id", "author"),
         COMPARE: (CandidateSet, "candidate_set", "prompt__language_id", "prompt__author")}
# A locked item can turn out full when its count is taken again; try a few more before giving up.
_MAX_TRIES = 20


def _conf(name):
    return settings.CROSSWALK[name]


class LeaseError(Exception):
    """The lease does not allow this action; `message` is shown to the annotator as it is."""

    NOT_YOURS, EXPIRED, FINISHED, TAKEN, NOTHING = "not_yours", "expired", "finished", "taken", "nothing"
    MESSAGES = {
        NOT_YOURS: _("This task belongs to another annotator. Your answer was not saved; it is still in the form."),
        EXPIRED: _("Your time for this task ran out, so it was not saved. Your answer is still in the form: "
                   "renew the task to save it."),
        FINISHED: _("This task was already submitted or skipped; nothing was changed."),
        TAKEN: _("This task has been given to other annotators meanwhile, so your answer cannot be saved. "
                 "It is still in the form if you want to copy it."),
        NOTHING: _("There is no recent submission to undo."),
    }

    def __init__(self, code, message=None):
        self.code = code
        self.message = message or self.MESSAGES[code]
        super().__init__(str(self.message))


def language_ids(user):
    """The annotator's languages, as a subquery (one round trip less on the hot path)."""
    return AnnotatorLanguage.objects.filter(profile__user=user).values("language_id")


def _active(now):
    return Q(status=S.SUBMITTED) | Q(status=S.LEASED, expires_at__gt=now)


def _active_count(kind, item_id, now, exclude_pk=None) -> int:
    field = _ITEM[kind][1]
    return Assignment.objects.filter(_active(now), **{field: item_id}).exclude(pk=exclude_pk).count()


def quota(kind, item_id) -> int:
    """Judgements an item needs: k, and k more each time a curator sent it back for more."""
    rounds = CuratorDecision.objects.filter(**{_ITEM[kind][1]: item_id}, decision=CuratorDecision.Decision.MORE).count()
    return _conf("JUDGEMENTS_PER_ITEM") * (1 + rounds)


def languages_by_proficiency(user) -> list[int]:
    """Native languages first: an annotator who speaks Arabic and English gets the Arabic items first."""
    rank = {AnnotatorLanguage.Proficiency.NATIVE: 0, AnnotatorLanguage.Proficiency.FLUENT: 1}
    skills = AnnotatorLanguage.objects.filter(profile__user=user).values_list("language_id", "proficiency")
    return [lang for lang, level in sorted(skills, key=lambda s: (rank.get(s[1], 2), s[0]))]


def open_items(user, kind, now=None, *, gold=False, langs=None):
    """Items of `kind` this annotator may still take: their languages (or `langs`), not seen, not their own,
    not full."""
    now = now or timezone.now()
    model, field, lang_field, author_field = _ITEM[kind]
    langs = language_ids(user) if langs is None else langs
    qs = model.objects.filter(**{f"{lang_field}__in": langs, "gold__isnull": not gold})
    qs = qs.exclude(Exists(Assignment.objects.filter(annotator=user, **{field: OuterRef("pk")})))
    qs = qs.exclude(**{author_field: user})
    if not gold:
        counts = (Assignment.objects.filter(_active(now), **{field: OuterRef("pk")})
                  .order_by().values(field).annotate(n=Count("pk")).values("n"))
        qs = qs.alias(taken=Coalesce(Subquery(counts, output_field=IntegerField()), Value(0)),
                      quota=Value(_conf("JUDGEMENTS_PER_ITEM")) * (1 + more_rounds(field)))
        qs = qs.filter(taken__lt=F("quota"))
    # Items a curator excluded are finished, whatever their count.
    return qs.alias(decision=latest_decision(field)).filter(
        Q(decision__isnull=True) | ~Q(decision=CuratorDecision.Decision.EXCLUDE))


def current_lease(user, kind=None, now=None) -> Assignment | None:
    now = now or timezone.now()
    qs = Assignment.objects.filter(annotator=user, status=S.LEASED, expires_at__gt=now)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("prompt__language", "candidate_set__prompt__language").order_by("leased_at", "pk").first()


def _lease_one(user, kind, lang, now, gold) -> Assignment | None:
    field = _ITEM[kind][1]
    related = "language" if kind == LABEL else "prompt__language"
    tried = []
    for _attempt in range(_MAX_TRIES):
        item = (open_items(user, kind, now, gold=gold, langs=[lang]).exclude(pk__in=tried).order_by("pk")
                .select_related(related).select_for_update(skip_locked=True, of=("self",)).first())
        if item is None:
            return None
        # The statement above saw a snapshot taken before the lock; count again now that we hold it.
        if not gold and _active_count(kind, item.pk, now) >= quota(kind, item.pk):
            tried.append(item.pk)
            continue
        # No IntegrityError is possible here: the caller holds this annotator's row lock and open_items
        # excluded the items they already had.
        return Assignment.objects.create(
            annotator=user, kind=kind, is_gold=gold, expires_at=now + timedelta(minutes=_conf("LEASE_MINUTES")),
            **{field: item})
    return None


def next_task(user, kind=None, *, now=None, rng=random) -> Assignment | None:
    """The annotator's current lease of `kind` (any kind when None), or a new one; None when nothing is left."""
    now = now or timezone.now()
    kinds = [kind] if kind else [LABEL, COMPARE]
    with transaction.atomic():
        # Two tabs of one annotator queue on their user row, so one person holds one lease per kind.
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        current = current_lease(user, kind, now)
        if current:
            return current
        langs = languages_by_proficiency(user)
        gold_first = rng.random() < _conf("GOLD_RATE")
        for gold in ([True, False] if gold_first else [False]):
            for k in kinds:
                for lang in langs:
                    assignment = _lease_one(user, k, lang, now, gold)
                    if assignment:
                        return assignment
    return None


def _claim(user, assignment_id, now, *, renew=False, allow_expired=False) -> Assignment:
    """The caller's lease, locked; refused with a LeaseError when it is not theirs, finished or expired."""
    a = Assignment.objects.select_for_update().filter(pk=assignment_id).first()
    if a is None or a.annotator_id != user.pk:
        raise LeaseError(LeaseError.NOT_YOURS)
    expired = a.status == S.EXPIRED or (a.status == S.LEASED and a.expires_at <= now)
    if not expired and a.status != S.LEASED:
        raise LeaseError(LeaseError.FINISHED)
    if expired and not allow_expired:
        if not renew:
            raise LeaseError(LeaseError.EXPIRED)
        _renew(a, now)
    return a


def _renew(a, now):
    """Give an expired lease a fresh term if its item still has room (others may have taken the slot)."""
    model, field = _ITEM[a.kind][:2]
    model.objects.select_for_update().filter(pk=getattr(a, f"{field}_id")).exists()
    item_id = getattr(a, f"{field}_id")
    if not a.is_gold and _active_count(a.kind, item_id, now, exclude_pk=a.pk) >= quota(a.kind, item_id):
        raise LeaseError(LeaseError.TAKEN)
    a.status, a.finished_at = S.LEASED, None
    a.expires_at = now + timedelta(minutes=_conf("LEASE_MINUTES"))
    a.save(update_fields=["status", "finished_at", "expires_at"])


def _finish(a, status, now, note=""):
    a.status, a.finished_at = status, now
    fields = ["status", "finished_at"]
    if note:
        a.note = note
        fields.append("note")
    a.save(update_fields=fields)


def _elapsed_ms(a, now, client_ms):
    """Time spent as the browser measured it, bounded by how long the lease has existed."""
    server_ms = max(0, int((now - a.leased_at).total_seconds() * 1000))
    if client_ms is None:
        return server_ms
    return max(0, min(int(client_ms), server_ms))


@transaction.atomic
def submit_label(user, assignment_id, *, harmful, harm_scope, categories=(), explanation="",
                 literal_translation="", semantic_translation="", time_spent_ms=None, renew=False, now=None):
    now = now or timezone.now()
    a = _claim(user, assignment_id, now, renew=renew)
    if a.kind != LABEL:
        raise ValueError("not a labelling task")
    label = HarmLabel.objects.create(
        prompt_id=a.prompt_id, annotator=user, harmful=harmful, harm_scope=harm_scope, explanation=explanation,
        literal_translation=literal_translation, semantic_translation=semantic_translation,
        time_spent_ms=_elapsed_ms(a, now, time_spent_ms))
    if categories:
        label.categories.add(*categories)
    _finish(a, S.SUBMITTED, now)
    return label


def shown_order(assignment) -> list[int]:
    """Candidate positions in the order this annotator sees them: shuffled, stable for the lease."""
    positions = list(Candidate.objects.filter(candidate_set_id=assignment.candidate_set_id)
                     .order_by("position").values_list("position", flat=True))
    random.Random(f"crosswalk-{assignment.pk}").shuffle(positions)
    return positions


@transaction.atomic
def submit_comparison(user, assignment_id, *, best=None, worst=None, ranking=(), harmful_positions=(),
                      none_acceptable=False, rationale="", time_spent_ms=None, renew=False, now=None):
    """best/worst/ranking/harmful_positions are candidate positions; best is required unless none is acceptable."""
    now = now or timezone.now()
    a = _claim(user, assignment_id, now, renew=renew)
    if a.kind != COMPARE:
        raise ValueError("not a comparison task")
    by_position = {c.position: c for c in Candidate.objects.filter(candidate_set_id=a.candidate_set_id)}
    chosen = [p for p in [best, worst, *ranking, *harmful_positions] if p is not None]
    if any(p not in by_position for p in chosen):
        raise ValueError("unknown candidate position")
    if best is None and not none_acceptable:
        raise ValueError("pick the best candidate or mark none as acceptable")
    comparison = Comparison.objects.create(
        candidate_set_id=a.candidate_set_id, annotator=user, best=by_position.get(best), worst=by_position.get(worst),
        ranking=list(ranking), harmful_positions=sorted(set(harmful_positions)), none_acceptable=none_acceptable,
        rationale=rationale, shown_order=shown_order(a), time_spent_ms=_elapsed_ms(a, now, time_spent_ms))
    _finish(a, S.SUBMITTED, now)
    return comparison


@transaction.atomic
def _give_back(user, assignment_id, status, note, now) -> Assignment:
    now = now or timezone.now()
    a = _claim(user, assignment_id, now, allow_expired=True)
    _finish(a, status, now, note)
    return a


def skip(user, assignment_id, note="", now=None) -> Assignment:
    """Give the item back (it never comes back to this annotator); allowed on an expired lease too."""
    return _give_back(user, assignment_id, S.SKIPPED, note, now)


def flag(user, assignment_id, note="", now=None) -> Assignment:
    """Report the item as broken; it does not count as a judgement, curators see the note."""
    return _give_back(user, assignment_id, S.FLAGGED, note, now)


@dataclass
class Undone:
    assignment: Assignment
    answer: dict  # the withdrawn answer, to fill the form again


@transaction.atomic
def undo(user, now=None) -> Undone:
    """Withdraw the annotator's last submission while its lease still runs; the task is theirs again."""
    now = now or timezone.now()
    a = (Assignment.objects.select_for_update().filter(annotator=user, status=S.SUBMITTED)
         .order_by("-finished_at", "-pk").first())
    if a is None or a.expires_at <= now:
        raise LeaseError(LeaseError.NOTHING)
    if a.kind == LABEL:
        judgement = HarmLabel.objects.filter(prompt_id=a.prompt_id, annotator=user).first()
    else:
        judgement = Comparison.objects.select_related("best", "worst").filter(
            candidate_set_id=a.candidate_set_id, annotator=user).first()
    if judgement is None:  # removed by an admin since: nothing left to give back
        raise LeaseError(LeaseError.NOTHING)
    if a.kind == LABEL:
        answer = {"harm": judgement.harm_scope, "categories": list(judgement.categories.values_list("pk", flat=True)),
                  "explanation": judgement.explanation, "semantic_translation": judgement.semantic_translation}
    else:
        answer = {"best": judgement.best.position if judgement.best else None,
                  "worst": judgement.worst.position if judgement.worst else None,
                  "ranking": judgement.ranking, "harmful": judgement.harmful_positions,
                  "none_acceptable": judgement.none_acceptable, "rationale": judgement.rationale}
    if judgement.snapshots.exists():  # frozen in a dataset already
        raise LeaseError(LeaseError.NOTHING)
    judgement.delete()
    a.status, a.finished_at = S.LEASED, None
    a.save(update_fields=["status", "finished_at"])
    return Undone(a, answer)


def expire_leases(now=None) -> int:
    """Mark leases past their term as expired (bookkeeping: expired leases already stop counting)."""
    now = now or timezone.now()
    return Assignment.objects.filter(status=S.LEASED, expires_at__lte=now).update(status=S.EXPIRED, finished_at=now)


def write_prompt(user, text, language: Language) -> Prompt:
    """A red-teaming prompt an annotator wrote; it enters the labelling queue for the others."""
    if not language_ids(user).filter(language_id=language.pk).exists():
        raise ValueError("annotators write prompts only in their own languages")
    return Prompt.objects.create(text=text.strip(), language=language, author=user, source=AUTHORED_SOURCE)


def progress(user, now=None, *, with_left=True) -> dict:
    now = now or timezone.now()
    start_of_day = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    result = Assignment.objects.filter(annotator=user, status=S.SUBMITTED).aggregate(
        done_total=Count("pk"), done_today=Count("pk", filter=Q(finished_at__gte=start_of_day)))
    if with_left:
        result["left"] = {kind: open_items(user, kind, now).count() for kind in (LABEL, COMPARE)}
    return result


# Gold answers: Prompt.gold = {"harmful": bool, "harm_scope": "global"|"local"|"none" (optional)};
# CandidateSet.gold = {"best": position}. A judgement is correct when it matches every key given.
def label_matches_gold(label: HarmLabel, gold: dict) -> bool:
    if "harmful" in gold and label.harmful != gold["harmful"]:
        return False
    return "harm_scope" not in gold or label.harm_scope == gold["harm_scope"]


def comparison_matches_gold(comparison: Comparison, gold: dict) -> bool:
    return comparison.best is not None and comparison.best.position == gold.get("best")


def gold_scores(users=None) -> dict[int, dict]:
    """Per annotator (user id): gold items judged, how many matched the known answer, and the accuracy."""
    scores: dict[int, dict] = {}

    def add(user_id, ok):
        s = scores.setdefault(user_id, {"judged": 0, "correct": 0})
        s["judged"] += 1
        s["correct"] += int(ok)

    labels = HarmLabel.objects.filter(annotator__isnull=False, prompt__gold__isnull=False).select_related("prompt")
    comparisons = Comparison.objects.filter(annotator__isnull=False, candidate_set__gold__isnull=False).select_related(
        "candidate_set", "best")
    if users is not None:
        labels, comparisons = labels.filter(annotator__in=users), comparisons.filter(annotator__in=users)
    for label in labels:
        add(label.annotator_id, label_matches_gold(label, label.prompt.gold))
    for comparison in comparisons:
        add(comparison.annotator_id, comparison_matches_gold(comparison, comparison.candidate_set.gold))
    for s in scores.values():
        s["accuracy"] = s["correct"] / s["judged"]
    return scores
