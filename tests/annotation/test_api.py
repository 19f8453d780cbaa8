"""The REST API end to end: auth, pagination, filtering, the queue through the assignment service, snapshots,
exports, training runs, uploads and the annotator's own profile."""
import io
import zipfile

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from annotation.models import AnnotatorProfile, Assignment, HarmLabel, Prompt
from tests.annotation.api_world import build_world, make_user
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "GOLD_RATE": 0.0}  # deterministic queues
    return build_world()


def test_token_and_session_authentication(world):
    assert APIClient().get("/api/languages/").status_code == 401
    assert world.client("annotator").get("/api/languages/").status_code == 200
    session = APIClient()
    session.force_login(world.users["annotator"])
    assert session.get("/api/languages/").status_code == 200


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])  # fast, tests only
def test_token_endpoint_gives_a_token_and_is_throttled(world):
    from django.core.cache import cache
    cache.clear()
    user = world.users["annotator"]
    user.set_password("a long test password 1")
    user.save()
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "ann", "password": "a long test password 1"})
    assert response.status_code == 200 and response.json()["token"] == world.tokens["annotator"]
    codes = [client.post("/api/auth/token/", {"username": "ann", "password": "wrong"}).status_code for _ in range(12)]
    assert codes[-1] == 429 and 400 in codes
    cache.clear()


def test_pagination_and_filtering(world):
    client = world.client("curator")
    page = client.get("/api/prompts/", {"page_size": 2}).json()
    assert page["count"] == Prompt.objects.count() and len(page["results"]) == 2 and page["next"]
    assert [p["id"] for p in client.get("/api/prompts/", {"source": "t"}).json()["results"]] == list(
        Prompt.objects.filter(source="t").values_list("pk", flat=True))
    scopes = {lab["harm_scope"] for lab in client.get("/api/harm-labels/", {"harm_scope": "local"}).json()["results"]}
    assert scopes == {"local"}


def test_queue_next_submit_skip_undo_through_the_assignment_service(world):
    client = world.client("annotator")
    task = client.post("/api/assignments/next/", {"kind": "label"}, format="json")
    assert task.status_code == 200
    body = task.json()
    assert body["id"] == world.own_assignment.pk and body["prompt"]["text"] and "is_gold" not in body
    answer = {"harm_scope": "global", "categories": ["hate-speech"], "explanation": "slur"}
    done = client.post(f"/api/assignments/{body['id']}/submit-label/", answer, format="json")
    assert done.status_code == 201, done.content
    label = HarmLabel.objects.get(pk=done.json()["id"])
    assert label.annotator == world.users["annotator"] and label.harmful and label.harm_scope == "global"
    # Submitting twice: the service refuses (409), nothing changes.
    again = client.post(f"/api/assignments/{body['id']}/submit-label/", answer, format="json")
    assert again.status_code == 409 and again.json()["code"] == "finished"
    undone = client.post("/api/assignments/undo/")
    assert undone.status_code == 200 and undone.json()["answer"]["explanation"] == "slur"
    assert not HarmLabel.objects.filter(pk=label.pk).exists()
    skipped = client.post(f"/api/assignments/{body['id']}/skip/", {"note": "unclear"}, format="json")
    assert skipped.status_code == 200 and skipped.json()["status"] == "skipped"


def test_comparison_task_shows_candidates_in_the_shown_order_and_submits(world):
    from annotation.services.assignment import shown_order
    annotator = make_user("fresh")
    client = APIClient()
    client.force_authenticate(annotator)
    task = client.post("/api/assignments/next/", {"kind": "compare"}, format="json").json()
    assignment = Assignment.objects.get(pk=task["id"])
    assert [c["position"] for c in task["candidate_set"]["candidates"]] == shown_order(assignment)
    bad = client.post(f"/api/assignments/{task['id']}/submit-comparison/", {"best": 1, "worst": 1}, format="json")
    assert bad.status_code == 400
    unknown = client.post(f"/api/assignments/{task['id']}/submit-comparison/", {"best": 9}, format="json")
    assert unknown.status_code == 400
    ok = client.post(f"/api/assignments/{task['id']}/submit-comparison/",
                     {"best": 1, "worst": 0, "rationale": "kinder"}, format="json")
    assert ok.status_code == 201 and ok.json()["best"] == 1


def test_nothing_left_is_204(world):
    client = APIClient()
    client.force_authenticate(make_user("nolang", codes=()))
    assert client.post("/api/assignments/next/", {}, format="json").status_code == 204


def test_snapshot_create_download_and_training_run_create_cancel(world):
    client = world.client("curator")
    made = client.post("/api/snapshots/", {"name": "api-made", "filter": {"languages": ["en"]}}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["row_counts"]["prompts"] == Prompt.objects.filter(language__code="en").count()
    dup = client.post("/api/snapshots/", {"name": "api-made"}, format="json")
    assert dup.status_code == 400
    bad = client.post("/api/snapshots/", {"name": "x", "filter": {"languages": 5}}, format="json")
    assert bad.status_code == 400
    zipped = client.get(f"/api/snapshots/{made.json()['id']}/download/raw/")
    assert zipped.status_code == 200 and zipped["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(b"".join(zipped.streaming_content))).namelist()
    assert any(n.endswith("README.md") for n in names)
    assert client.get(f"/api/snapshots/{made.json()['id']}/download/nope/").status_code == 404

    run = client.post("/api/training-runs/", {"snapshot": "api-made", "base_model": "/models/tiny",
                                              "config": {"beta": 1.5}}, format="json")
    assert run.status_code == 201, run.content
    assert TrainingRun.objects.get(pk=run.json()["id"]).status == "queued"
    cancelled = client.post(f"/api/training-runs/{run.json()['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.post(f"/api/training-runs/{run.json()['id']}/cancel/").status_code == 409


def test_prompt_import_upload_checks_type_and_size(world, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    client = world.client("curator")
    good = SimpleUploadedFile("my file.csv", b"text,language\nhello there,en\nhabari,sw\n", content_type="text/csv")
    made = client.post("/api/prompts/import/", {"file": good}, format="multipart")
    assert made.status_code == 201, made.content
    assert made.json()["created"] == 2 and made.json()["source"] == "my_file"
    wrong = SimpleUploadedFile("evil.exe", b"MZ", content_type="application/octet-stream")
    refused = client.post("/api/prompts/import/", {"file": wrong}, format="multipart")
    assert refused.status_code == 400 and "unsupported file type" in refused.json()["file"][0]
    broken = SimpleUploadedFile("bad.csv", b"text,language\nhello,xx-unknown\n", content_type="text/csv")
    problems = client.post("/api/prompts/import/", {"file": broken}, format="multipart")
    assert problems.status_code == 400 and "row" in " ".join(problems.json()["file"]).lower()
    with override_settings():
        from annotation.api import views
        limit, views.MAX_UPLOAD_BYTES = views.MAX_UPLOAD_BYTES, 10
        try:
            big = SimpleUploadedFile("big.csv", b"text,language\n" + b"x,en\n" * 10, content_type="text/csv")
            too_big = client.post("/api/prompts/import/", {"file": big}, format="multipart")
        finally:
            views.MAX_UPLOAD_BYTES = limit
    assert too_big.status_code == 400 and "too large" in too_big.json()["file"][0]


def test_me_shows_changes_and_erases_own_demographics(world):
    client = world.client("annotator")
    me = client.get("/api/me/").json()
    assert me["username"] == "ann" and me["demographics_opt_in"] is False and me["languages"]
    refused = client.patch("/api/me/", {"demographics": {"age_band": "25-34"}}, format="json")
    assert refused.status_code == 400
    ok = client.patch("/api/me/", {"demographics_opt_in": True, "demographics": {"age_band": "25-34"},
                                   "country": "ke"}, format="json")
    assert ok.status_code == 200 and ok.json()["demographics"] == {"age_band": "25-34"} and ok.json()["country"] == "KE"
    assert client.patch("/api/me/", {"demographics": {"shoe_size": "9"}}, format="json").status_code == 400
    assert client.delete("/api/me/").status_code == 204
    profile = AnnotatorProfile.objects.get(user=world.users["annotator"])
    assert (profile.demographics_opt_in, profile.demographics, profile.country) == (False, {}, "")
    # Opting out erases at once.
    client.patch("/api/me/", {"demographics_opt_in": True, "demographics": {"gender": "f"}}, format="json")
    client.patch("/api/me/", {"demographics_opt_in": False}, format="json")
    assert AnnotatorProfile.objects.get(user=world.users["annotator"]).demographics == {}


def test_me_page_shows_and_erases(world, client):
    client.force_login(world.users["annotator"])
    page = client.get("/me/")
    assert page.status_code == 200 and world.users["annotator"].profile.pseudonym.hex in page.content.decode()
    client.post("/me/", {"opt_in": "on", "age_band": "25-34", "country": "KE"})
    profile = AnnotatorProfile.objects.get(user=world.users["annotator"])
    assert profile.demographics == {"age_band": "25-34"} and profile.country == "KE"
    client.post("/me/", {"erase": "1"})
    profile.refresh_from_db()
    assert (profile.demographics_opt_in, profile.demographics, profile.country) == (False, {}, "")


def test_docs_page_serves_vendored_swagger_without_a_cdn(world, client):
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "/static/drf_spectacular_sidecar/" in page
    assert client.get("/api/schema/").status_code == 200
