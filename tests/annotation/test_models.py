"""The integrity rules live in the database: a bulk insert or the admin cannot break them either."""
import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import (AnnotatorProfile, Assignment, Candidate, CandidateSet, Comparison, HarmCategory,
                               HarmLabel, Language, Prompt)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    user = get_user_model().objects.create_user("ann", password="x")
    en = Language.objects.get(code="en")
    prompt = Prompt.objects.create(text="How do I hurt someone?", language=en)
    cset = CandidateSet.objects.create(prompt=prompt, strategy="independent")
    a = Candidate.objects.create(candidate_set=cset, position=0, text="No.")
    b = Candidate.objects.create(candidate_set=cset, position=1, text="Here is how.")
    return user, prompt, cset, a, b


def test_reference_data_is_seeded():
    assert Language.objects.get(code="ar").direction == "rtl"
    assert Language.objects.get(code="tl").direction == "ltr"
    assert HarmCategory.objects.count() == 9
    assert HarmCategory.objects.filter(name="Violence, Threats & Incitement").exists()


def test_one_label_per_annotator_and_prompt(world):
    user, prompt, *_ = world
    HarmLabel.objects.create(prompt=prompt, annotator=user, harmful=True, harm_scope="global")
    with pytest.raises(IntegrityError), transaction.atomic():
        HarmLabel.objects.create(prompt=prompt, annotator=user, harmful=False, harm_scope="none")


def test_label_scope_must_match_harmful_and_annotated_needs_annotator(world):
    user, prompt, *_ = world
    with pytest.raises(IntegrityError), transaction.atomic():
        HarmLabel.objects.create(prompt=prompt, annotator=user, harmful=False, harm_scope="local")
    with pytest.raises(IntegrityError), transaction.atomic():
        HarmLabel.objects.create(prompt=prompt, annotator=None, origin="annotated", harmful=True, harm_scope="global")


def test_candidates_unique_per_position_and_not_empty(world):
    _, _, cset, *_ = world
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.create(candidate_set=cset, position=0, text="another first")
    with pytest.raises(IntegrityError), transaction.atomic():
        Candidate.objects.create(candidate_set=cset, position=2, text="")


def test_comparison_rules(world):
    user, _, cset, a, b = world
    with pytest.raises(IntegrityError), transaction.atomic():
        Comparison.objects.create(candidate_set=cset, annotator=user, best=a, worst=a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comparison.objects.create(candidate_set=cset, annotator=user)  # no best and not "none acceptable"
    Comparison.objects.create(candidate_set=cset, annotator=user, best=a, worst=b)
    with pytest.raises(IntegrityError), transaction.atomic():
        Comparison.objects.create(candidate_set=cset, annotator=user, none_acceptable=True)


def test_prompt_text_and_external_ids(world):
    en = Language.objects.get(code="en")
    with pytest.raises(IntegrityError), transaction.atomic():
        Prompt.objects.create(text="", language=en)
    Prompt.objects.create(text="a", language=en, source="s", external_id="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Prompt.objects.create(text="b", language=en, source="s", external_id="1")
    Prompt.objects.create(text="c", language=en, source="s", external_id="")  # no id: no uniqueness to keep
    Prompt.objects.create(text="d", language=en, source="s", external_id="")


def test_demographics_only_with_opt_in(world):
    user, *_ = world
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnotatorProfile.objects.create(user=user, demographics={"age": "30-39"})
    AnnotatorProfile.objects.create(user=user, demographics_opt_in=True, demographics={"age": "30-39"})


def test_assignment_item_matches_kind_and_never_twice(world):
    user, prompt, cset, *_ = world
    soon = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(annotator=user, kind="label", candidate_set=cset, expires_at=soon)
    Assignment.objects.create(annotator=user, kind="label", prompt=prompt, expires_at=soon)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(annotator=user, kind="label", prompt=prompt, expires_at=soon)
