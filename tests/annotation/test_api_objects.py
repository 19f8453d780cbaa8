"""Object-level checks: an annotator reads and changes only their own work; others' rows are 404 whatever the id,
and gold answers never reach them."""
import json

import pytest

from annotation.models import Assignment, HarmLabel
from tests.annotation.api_world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "GOLD_RATE": 0.0}
    return build_world()


@pytest.mark.parametrize("resource, own, other", [
    ("harm-labels", "own_label", "other_label"),
    ("comparisons", "own_comparison", "other_comparison"),
    ("assignments", "own_assignment", "other_assignment"),
])
def test_annotators_see_only_their_own_rows(world, resource, own, other):
    client = world.client("annotator")
    listed = {row["id"] for row in client.get(f"/api/{resource}/").json()["results"]}
    model = type(getattr(world, own))
    assert listed == set(model.objects.filter(annotator=world.users["annotator"]).values_list("pk", flat=True))
    assert getattr(world, own).pk in listed and getattr(world, other).pk not in listed
    assert client.get(f"/api/{resource}/{getattr(world, own).pk}/").status_code == 200
    # Another annotator's row, an imported row, a row that does not exist: all the same 404.
    for pk in (getattr(world, other).pk, 10**9):
        assert client.get(f"/api/{resource}/{pk}/").status_code == 404
    # Curators see everyone's.
    curator = world.client("curator")
    assert curator.get(f"/api/{resource}/{getattr(world, other).pk}/").status_code == 200


def test_no_answer_of_another_annotator_appears_anywhere_an_annotator_can_read(world):
    client = world.client("annotator")
    seen = ""
    for url in ("/api/harm-labels/", "/api/comparisons/", "/api/assignments/", "/api/me/", "/api/languages/",
                "/api/harm-categories/"):
        seen += json.dumps(client.get(url).json())
    task = client.post("/api/assignments/next/", {"kind": "label"}, format="json").json()
    seen += json.dumps(task)
    assert "theirs" not in seen and "other" not in seen
    assert "gold" not in seen and "is_gold" not in seen


def test_annotators_cannot_act_on_another_annotators_task(world):
    client = world.client("annotator")
    theirs = world.other_assignment
    answer = {"harm_scope": "none"}
    assert client.post(f"/api/assignments/{theirs.pk}/submit-label/", answer, format="json").status_code == 404
    assert client.post(f"/api/assignments/{theirs.pk}/skip/", {}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "leased"
    assert not HarmLabel.objects.filter(prompt=theirs.prompt).exists()


def test_gold_answers_never_reach_annotators(world, settings):
    world.gold_prompt.refresh_from_db()
    client = world.client("annotator")
    for url in ("/api/prompts/", f"/api/prompts/{world.gold_prompt.pk}/", "/api/candidate-sets/"):
        assert client.get(url).status_code == 403
    # A gold task looks like any other task.
    Assignment.objects.filter(annotator=world.users["annotator"]).delete()
    world.gold_prompt.labels.all().delete()
    settings.CROSSWALK = {**settings.CROSSWALK, "GOLD_RATE": 1.0}
    task = client.post("/api/assignments/next/", {"kind": "label"}, format="json").json()
    assert task["prompt"]["id"] == world.gold_prompt.pk and Assignment.objects.get(pk=task["id"]).is_gold
    assert "gold" not in json.dumps(task).replace("a gold prompt", "")
