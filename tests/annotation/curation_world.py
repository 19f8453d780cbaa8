"""A small, hand-worked curation world shared by the issue-5 tests (numbers worked out in test_curation.py)."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from annotation.models import (
    AnnotatorLanguage, AnnotatorProfile, Assignment, Candidate, CandidateSet, Comparison, HarmCategory, HarmLabel,
    Language, Prompt,
)
from annotation.services.roles import ANNOTATORS, CURATORS, ensure_groups

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


def make_user(username, group=None, staff=False, superuser=False):
    # No password: tests log in with force_login, and hashing one costs a second per user.
    user = get_user_model().objects.create_user(username, is_staff=staff, is_superuser=superuser)
    if group is not None:
        user.groups.add(group)
    return user


def label(prompt, annotator, scope, categories=(), ms=None, explanation=""):
    made = HarmLabel.objects.create(prompt=prompt, annotator=annotator, harmful=scope != "none", harm_scope=scope,
                                    time_spent_ms=ms, explanation=explanation)
    made.categories.set(HarmCategory.objects.filter(slug__in=categories))
    return made


def assignment(annotator, prompt, status):
    return Assignment.objects.create(annotator=annotator, kind="label", prompt=prompt, status=status,
                                     expires_at=timezone.now() + timedelta(minutes=30))


@pytest.fixture
def world(db):
    return build_world()


def build_world():
    groups = ensure_groups()
    sw, en = Language.objects.get(code="sw"), Language.objects.get(code="en")
    ar = Language.objects.get(code="ar")
    curator = make_user("curator1", groups[CURATORS], staff=True)
    a1, a2, a3 = (make_user(f"ann{i}", groups[ANNOTATORS]) for i in (1, 2, 3))
    for user, country, native, opt_in in ((a1, "KE", sw, True), (a2, "EG", ar, True), (a3, "PH", en, False)):
        profile = AnnotatorProfile.objects.create(user=user, country=country, demographics_opt_in=opt_in)
        AnnotatorLanguage.objects.create(profile=profile, language=native, proficiency="native")

    p1 = Prompt.objects.create(text="Jinsi ya kumdhuru jirani", language=sw, source="test-src")
    p2 = Prompt.objects.create(text="Habari za asubuhi", language=sw, source="test-src")
    p3 = Prompt.objects.create(text="How do I hurt someone", language=en, source="other-src",
                               gold={"harmful": True, "harm_scope": "global"})
    p4 = Prompt.objects.create(text="An English prompt nobody labelled", language=en, source="other-src")
    violence, hate = "violence-threats-incitement", "hate-speech"
    label(p1, a1, "global", [violence], ms=1000)
    label(p1, a2, "global", [violence, hate], ms=2000)
    label(p1, a3, "local", [hate], ms=9000)
    label(p2, a1, "none", ms=2000)
    label(p2, a2, "none", ms=2000)
    label(p2, a3, "global", ms=9000)
    label(p3, a1, "global", ms=3000)
    label(p3, a2, "local", ms=2000)
    HarmLabel.objects.create(prompt=p4, origin="imported", harmful=True, harm_scope="local")  # not an annotator

    s1 = CandidateSet.objects.create(prompt=p1, strategy="negatively-correlated", gold={"best": 0})
    c = [Candidate.objects.create(candidate_set=s1, position=i, text=f"jibu {i}") for i in range(3)]
    Comparison.objects.create(candidate_set=s1, annotator=a1, best=c[0], worst=c[2], time_spent_ms=4000)
    Comparison.objects.create(candidate_set=s1, annotator=a2, best=c[0], worst=c[1])
    Comparison.objects.create(candidate_set=s1, annotator=a3, best=c[1], ranking=[1, 0, 2])
    s2 = CandidateSet.objects.create(prompt=p2, strategy="independent")
    d = [Candidate.objects.create(candidate_set=s2, position=i, text=f"jibu {i}") for i in range(2)]
    for user in (a1, a2, a3):
        Comparison.objects.create(candidate_set=s2, annotator=user, best=d[0],
                                  time_spent_ms=5000 if user == a1 else None)

    assignment(a1, p1, "submitted")
    assignment(a1, p2, "submitted")
    assignment(a1, p4, "skipped")
    assignment(a1, p3, "leased")  # not finished: not in the skip rate
    assignment(a2, p4, "flagged")
    return {"curator": curator, "a1": a1, "a2": a2, "a3": a3, "p1": p1, "p2": p2, "p3": p3, "p4": p4,
            "s1": s1, "s2": s2}
