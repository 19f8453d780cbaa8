"""The assignment service: k judgements, languages, never twice, leases, skip/flag/undo, gold scoring."""
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, Comparison, HarmCategory, HarmLabel, Language
from annotation.services import assignment as svc
from annotation.services.assignment import LeaseError
from tests.annotation.workspace_helpers import annotator, candidate_set, prompts

pytestmark = pytest.mark.django_db
NO_GOLD = random.Random(0)  # rng.random() > 0 rate below


@pytest.fixture(autouse=True)
def crosswalk(settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "JUDGEMENTS_PER_ITEM": 2, "LEASE_MINUTES": 30, "GOLD_RATE": 0.0}
    return settings.CROSSWALK


def label(user, a, **kw):
    return svc.submit_label(user, a.pk, harmful=kw.pop("harmful", False), harm_scope=kw.pop("harm_scope", "none"), **kw)


def test_k_judgements_from_different_annotators_then_item_is_full():
    (p,) = prompts(1)
    users = [annotator(f"u{i}") for i in range(3)]
    a0, a1 = svc.next_task(users[0], "label"), svc.next_task(users[1], "label")
    assert a0.prompt_id == a1.prompt_id == p.pk
    assert svc.next_task(users[2], "label") is None  # k = 2 leases already
    label(users[0], a0)
    # Nobody gets it twice: the same annotator asks again and gets nothing.
    assert svc.next_task(users[0], "label") is None


def test_language_match_and_own_prompts_excluded():
    en, ar = annotator("en"), annotator("ar", ("ar",))
    (p_ar,) = prompts(1, "ar", text="سؤال")
    own = svc.write_prompt(ar, "my own prompt", Language.objects.get(code="ar"))
    assert svc.next_task(en, "label") is None
    assert svc.next_task(ar, "label").prompt_id == p_ar.pk
    label(ar, svc.current_lease(ar))
    assert svc.next_task(ar, "label") is None  # never their own
    assert own.author == ar and own.source == svc.AUTHORED_SOURCE
    other = annotator("ar2", ("ar",))
    assert {svc.next_task(other, "label").prompt_id} <= {p_ar.pk, own.pk}
    with pytest.raises(ValueError):
        svc.write_prompt(en, "not my language", Language.objects.get(code="ar"))


def test_native_language_first():
    from annotation.models import AnnotatorLanguage
    prompts(2, "en")
    (p_ar,) = prompts(1, "ar", text="سؤال")
    u = annotator("u", ("en", "ar"))
    AnnotatorLanguage.objects.filter(profile__user=u, language__code="en").update(proficiency="fluent")
    assert svc.next_task(u, "label").prompt_id == p_ar.pk


def test_current_lease_is_returned_again():
    prompts(3)
    u = annotator("u")
    assert svc.next_task(u, "label") == svc.next_task(u, "label")


def test_expired_lease_goes_back_and_submission_is_refused_then_renewed():
    (p,) = prompts(1)
    u1, u2, u3 = annotator("u1"), annotator("u2"), annotator("u3")
    a1 = svc.next_task(u1, "label")
    label(u2, svc.next_task(u2, "label"))
    later = timezone.now() + timedelta(minutes=31)
    assert svc.next_task(u3, "label", now=later).prompt_id == p.pk  # u1's slot came free
    with pytest.raises(LeaseError) as e:
        label(u1, a1, now=later)
    assert e.value.code == "expired"
    # Renewing fails: the slot is taken by u3 (k = 2 with u2).
    with pytest.raises(LeaseError) as e:
        label(u1, a1, now=later, renew=True)
    assert e.value.code == "taken"
    assert not HarmLabel.objects.filter(annotator=u1).exists()
    assert svc.expire_leases(now=later) == 1
    assert Assignment.objects.get(pk=a1.pk).status == "expired"


def test_expire_leases_command():
    from django.core.management import call_command
    prompts(1)
    u = annotator("u")
    a = svc.next_task(u, "label", now=timezone.now() - timedelta(hours=1))
    call_command("expire_leases")
    assert Assignment.objects.get(pk=a.pk).status == "expired"


def test_expired_lease_renewed_when_room_is_left():
    prompts(1)
    u1 = annotator("u1")
    a = svc.next_task(u1, "label")
    later = timezone.now() + timedelta(minutes=45)
    label(u1, a, now=later, renew=True)
    assert Assignment.objects.get(pk=a.pk).status == "submitted"


def test_someone_elses_lease_and_double_submission_refused():
    prompts(1)
    u1, u2 = annotator("u1"), annotator("u2")
    a = svc.next_task(u1, "label")
    with pytest.raises(LeaseError) as e:
        label(u2, a)
    assert e.value.code == "not_yours"
    label(u1, a, harmful=True, harm_scope="local", categories=HarmCategory.objects.all()[:2], time_spent_ms=10**9)
    with pytest.raises(LeaseError) as e:
        label(u1, a)
    assert e.value.code == "finished"
    saved = HarmLabel.objects.get()
    assert saved.harm_scope == "local" and saved.categories.count() == 2
    assert saved.time_spent_ms < 10**9  # bounded by the lease's age


def test_skip_and_flag_free_the_slot_and_never_return():
    (p,) = prompts(1)
    u1, u2, u3 = annotator("u1"), annotator("u2"), annotator("u3")
    svc.skip(u1, svc.next_task(u1, "label").pk)
    svc.flag(u2, svc.next_task(u2, "label").pk, note="garbled text")
    assert svc.next_task(u1, "label") is None
    assert svc.next_task(u3, "label").prompt_id == p.pk
    assert Assignment.objects.get(annotator=u2).note == "garbled text"


def test_undo_gives_the_task_back_with_the_answer():
    p1, p2 = prompts(2)
    u = annotator("u")
    cats = list(HarmCategory.objects.all()[:1])
    a = svc.next_task(u, "label")
    label(u, a, harmful=True, harm_scope="global", categories=cats, explanation="why")
    undone = svc.undo(u)
    assert undone.assignment.pk == a.pk and undone.assignment.status == "leased"
    assert undone.answer["harm"] == "global" and undone.answer["explanation"] == "why"
    assert not HarmLabel.objects.exists()
    assert svc.next_task(u, "label").pk == a.pk  # it is theirs again
    label(u, a)
    # Only while the lease runs.
    with pytest.raises(LeaseError):
        svc.undo(u, now=timezone.now() + timedelta(hours=1))


def test_comparison_with_n_candidates_records_shuffled_order():
    (p,) = prompts(1)
    cs = candidate_set(p, texts=("a", "b", "c", "d"))
    u = annotator("u")
    a = svc.next_task(u, "compare")
    assert a.candidate_set_id == cs.pk
    order = svc.shown_order(a)
    assert sorted(order) == [0, 1, 2, 3] and order == svc.shown_order(a)
    with pytest.raises(ValueError):
        svc.submit_comparison(u, a.pk, best=7)
    c = svc.submit_comparison(u, a.pk, best=2, worst=0, ranking=[2, 1, 3, 0], harmful_positions=[0], rationale="r")
    c = Comparison.objects.get(pk=c.pk)
    assert c.best.position == 2 and c.worst.position == 0 and c.shown_order == order and c.harmful_positions == [0]


def test_gold_items_mixed_in_and_scored(crosswalk):
    crosswalk["GOLD_RATE"] = 1.0
    prompts(2)
    (g1,) = prompts(1, text="gold {i}", gold={"harmful": True, "harm_scope": "global"})
    cs = candidate_set(g1, gold={"best": 1})
    u = annotator("u")
    a = svc.next_task(u, "label")
    assert a.prompt_id == g1.pk and a.is_gold
    label(u, a, harmful=True, harm_scope="local")  # wrong scope
    c = svc.next_task(u, "compare")
    assert c.candidate_set_id == cs.pk and c.is_gold
    svc.submit_comparison(u, c.pk, best=1)
    assert svc.gold_scores()[u.pk] == {"judged": 2, "correct": 1, "accuracy": 0.5}
    from django.core.management import call_command
    call_command("gold_scores")
    # No gold left: regular items follow.
    assert svc.next_task(u, "label").prompt.gold is None


def test_progress_counts():
    prompts(3)
    u = annotator("u")
    label(u, svc.next_task(u, "label"))
    svc.next_task(u, "label")
    got = svc.progress(u)
    assert got["done_total"] == 1 and got["done_today"] == 1 and got["left"] == {"label": 1, "compare": 0}


def test_curators_send_back_for_more_and_exclude():
    from django.contrib.auth import get_user_model

    from annotation.services.review import decide

    curator = get_user_model().objects.create_user("cur", is_staff=True)
    full, dropped = prompts(2)
    users = [annotator(f"m{i}") for i in range(4)]
    for user in users[:2]:
        label(user, svc.next_task(user, "label"))
    assert svc.next_task(users[2], "label").prompt_id == dropped.pk  # `full` has its k = 2
    decide([full], "more", curator)
    decide([dropped], "exclude", curator)
    # Sent back: k more judgements from people who have not judged it; excluded: served to nobody new.
    assert svc.next_task(users[3], "label").prompt_id == full.pk
    svc.skip(users[2], svc.next_task(users[2], "label").pk)
    assert svc.next_task(users[2], "label").prompt_id == full.pk
