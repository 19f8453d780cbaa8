"""The workspace views through Django's test client: htmx partials, refusals that keep the answer, escaping, i18n."""
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, Comparison, HarmCategory, HarmLabel, Prompt
from annotation.services import assignment as svc
from tests.annotation.workspace_helpers import annotator, candidate_set, prompts

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
XSS = ['<img src=x onerror=alert(1)>', '</textarea><script>alert(2)</script>']


@pytest.fixture(autouse=True)
def crosswalk(settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "JUDGEMENTS_PER_ITEM": 3, "GOLD_RATE": 0.0}


@pytest.fixture
def user(client):
    u = annotator("ann", ("en", "ar"))
    client.force_login(u)
    return u


def test_queue_shows_progress_and_languages(client, user):
    prompts(2)
    page = client.get("/").content.decode()
    assert "Arabic" in page and 'data-testid="left-label">2<' in page


def test_label_submit_by_htmx_returns_next_task_and_progress(client, user):
    p1, p2 = prompts(2)
    page = client.get("/work/?kind=label").content.decode()
    a = Assignment.objects.get(annotator=user)
    assert 'hx-post="/work/task/%d/submit/"' % a.pk in page and "htmx.min.js" in page
    cat = HarmCategory.objects.first()
    r = client.post(f"/work/task/{a.pk}/submit/", {"harm": "local", "categories": [cat.pk], "explanation": "x",
                                                    "next_kind": "label", "time_spent_ms": "1200"}, **HX)
    body = r.content.decode()
    assert r.status_code == 200 and "<html" not in body and 'hx-swap-oob="true"' in body
    label = HarmLabel.objects.get()
    assert label.harm_scope == "local" and label.harmful and list(label.categories.all()) == [cat]
    assert Assignment.objects.filter(annotator=user, status="leased").get().prompt_id == p2.pk


def test_invalid_answer_is_shown_again_with_errors(client, user):
    prompts(1)
    client.get("/work/?kind=label")
    a = Assignment.objects.get()
    r = client.post(f"/work/task/{a.pk}/submit/", {"harm": "global", "explanation": "kept text"}, **HX)
    body = r.content.decode()
    assert "Pick at least one harm category." in body and "kept text" in body
    assert not HarmLabel.objects.exists()


def test_expired_lease_refused_keeps_the_answer_and_renews(client, user):
    prompts(1)
    client.get("/work/?kind=label")
    a = Assignment.objects.get()
    Assignment.objects.filter(pk=a.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    data = {"harm": "none", "explanation": "my careful reasoning"}
    body = client.post(f"/work/task/{a.pk}/submit/", data, **HX).content.decode()
    assert "ran out" in body and "my careful reasoning" in body and 'name="renew" value="1"' in body
    assert not HarmLabel.objects.exists()
    client.post(f"/work/task/{a.pk}/submit/", {**data, "renew": "1"}, **HX)
    assert HarmLabel.objects.get().explanation == "my careful reasoning"


def test_someone_elses_lease_refused(client, user):
    prompts(1)
    other = annotator("other")
    a = svc.next_task(other, "label")
    body = client.post(f"/work/task/{a.pk}/submit/", {"harm": "none", "explanation": "mine"}, **HX).content.decode()
    assert "belongs to another annotator" in body and "mine" in body
    assert not HarmLabel.objects.exists()


def test_compare_with_shown_numbers_ranking_skip_and_undo(client, user):
    (p,) = prompts(1)
    cs = candidate_set(p, texts=("a0", "a1", "a2"), conversation=[{"role": "user", "content": "earlier turn"}])
    body = client.get("/work/?kind=compare").content.decode()
    assert "earlier turn" in body and 'data-key="w 3"' in body
    a = Assignment.objects.get()
    order = svc.shown_order(a)
    # Shown numbers: ranking "3 1 2" means shown #3 best.
    client.post(f"/work/task/{a.pk}/submit/", {"ranking": "3 1 2", "harmful": [order[1]],
                                                    "next_kind": "compare"}, **HX)
    c = Comparison.objects.get(candidate_set=cs)
    assert c.best.position == order[2] and c.ranking == [order[2], order[0], order[1]]
    assert c.harmful_positions == [order[1]] and c.shown_order == order
    body = client.post("/work/undo/", {"next_kind": "compare"}, **HX).content.decode()
    assert "withdrawn" in body and 'value="3 1 2"' in body and not Comparison.objects.exists()
    client.post(f"/work/task/{a.pk}/skip/", {}, **HX)
    assert Assignment.objects.get(kind="compare").status == "skipped"


def test_flag_records_the_reason(client, user):
    prompts(1)
    client.get("/work/?kind=label")
    a = Assignment.objects.get()
    client.post(f"/work/task/{a.pk}/flag/", {}, HTTP_HX_PROMPT="text is cut off", **HX)
    a.refresh_from_db()
    assert a.status == "flagged" and a.note == "text is cut off"


@pytest.mark.parametrize("text", XSS)
def test_red_teaming_text_is_escaped(client, user, text):
    (p,) = prompts(1, text=text)
    candidate_set(p, texts=(text, "fine"), conversation=[{"role": "assistant", "content": text}])
    for kind in ("label", "compare"):
        body = client.get(f"/work/?kind={kind}").content.decode()
        assert text not in body
        assert "&lt;" in body
    assert "<script>alert" not in body and "<img src=x" not in body


def test_write_prompt_enters_the_queue_for_others(client, user):
    client.post("/work/write/", {"language": user.profile.languages.get(code="ar").pk, "text": "نص جديد"})
    p = Prompt.objects.get(author=user)
    assert p.language.code == "ar" and p.source == svc.AUTHORED_SOURCE
    other = annotator("other", ("ar",))
    assert svc.next_task(other, "label").prompt_id == p.pk
    assert svc.next_task(user, "label") is None


def test_interface_in_spanish(client, user):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Hecho hoy" in body
