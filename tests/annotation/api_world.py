"""A small world for the API, permission and security tests: one user per role, and an annotator's work beside
another annotator's, so that every check can ask "own rows only?"."""
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import (
    AnnotatorLanguage, AnnotatorProfile, Assignment, Candidate, CandidateSet, Comparison, HarmLabel, Language, Prompt,
)
from annotation.services.roles import ANNOTATORS, CURATORS, ensure_groups
from annotation.services.snapshots import freeze_snapshot
from training.models import TrainingRun

ROLES = ("anonymous", "annotator", "curator", "admin")


@dataclass
class World:
    users: dict
    tokens: dict
    own_label: HarmLabel
    other_label: HarmLabel
    own_comparison: Comparison
    other_comparison: Comparison
    own_assignment: Assignment
    other_assignment: Assignment
    prompt: Prompt
    gold_prompt: Prompt
    candidate_set: CandidateSet
    snapshot: object
    run: TrainingRun

    def client(self, role) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[role]}")
        return client


def make_user(username, *, group=None, staff=False, superuser=False, codes=("en",)):
    # No password (force_login / tokens): hashing one costs most of a second.
    user = get_user_model().objects.create_user(username, is_staff=staff, is_superuser=superuser)
    if group is not None:
        user.groups.add(group)
    profile = AnnotatorProfile.objects.create(user=user)
    for code in codes:
        AnnotatorLanguage.objects.create(profile=profile, language=Language.objects.get(code=code))
    return user


def candidate_set(prompt, texts=("answer one", "answer two", "answer three")):
    cs = CandidateSet.objects.create(prompt=prompt, strategy="imported")
    Candidate.objects.bulk_create([Candidate(candidate_set=cs, position=i, text=t) for i, t in enumerate(texts)])
    return cs


def build_world(text="a red-teaming prompt") -> World:
    groups = ensure_groups()
    users = {
        "annotator": make_user("ann", group=groups[ANNOTATORS]),
        "other": make_user("other", group=groups[ANNOTATORS]),
        "curator": make_user("cur", group=groups[CURATORS], staff=True),
        "admin": make_user("boss", staff=True, superuser=True),
    }
    en = Language.objects.get(code="en")
    p1, p2, p3 = (Prompt.objects.create(text=f"{text} {i}", language=en, source="t", external_id=f"p{i}")
                  for i in range(3))
    gold = Prompt.objects.create(text="a gold prompt", language=en, gold={"harmful": True, "harm_scope": "global"})
    cs = candidate_set(p1)
    candidate_set(p2)  # a set nobody has judged yet: the queue has a comparison task to give
    later = timezone.now() + timedelta(minutes=30)
    ann, other = users["annotator"], users["other"]
    own_assignment = Assignment.objects.create(annotator=ann, kind="label", prompt=p3, expires_at=later)
    other_assignment = Assignment.objects.create(annotator=other, kind="label", prompt=p3, expires_at=later)
    for user in (ann, other):  # the leases their comparisons below were submitted on
        Assignment.objects.create(annotator=user, kind="compare", candidate_set=cs, status="submitted",
                                  finished_at=timezone.now(), expires_at=later)
    own_label = HarmLabel.objects.create(prompt=p1, annotator=ann, harmful=True, harm_scope="local",
                                         explanation="mine")
    other_label = HarmLabel.objects.create(prompt=p1, annotator=other, harmful=False, harm_scope="none",
                                           explanation="theirs")
    best = cs.candidates.get(position=0)
    own_comparison = Comparison.objects.create(candidate_set=cs, annotator=ann, best=best, rationale="mine")
    other_comparison = Comparison.objects.create(candidate_set=cs, annotator=other, best=best, rationale="theirs")
    snapshot = freeze_snapshot("api-world", user=users["curator"])
    run = TrainingRun.objects.create(snapshot=snapshot, base_model="/models/tiny", created_by=users["curator"])
    tokens = {role: Token.objects.create(user=users[role]).key for role in ("annotator", "curator", "admin")}
    tokens["other"] = Token.objects.create(user=other).key
    return World(users, tokens, own_label, other_label, own_comparison, other_comparison, own_assignment,
                 other_assignment, p1, gold, cs, snapshot, run)
