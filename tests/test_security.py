"""The security pass: stored XSS, CSRF on every form, login rate limiting, uploads, pseudonymised exports and
no secrets in the repository. (`check --deploy` under production settings: tests/test_settings.py.)"""
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import polars as pl
import pytest
from django.contrib import admin
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse
from markdown_it import MarkdownIt
from rest_framework.test import APIClient

from annotation.models import Assignment, AnnotatorProfile, Candidate, Prompt
from annotation.services.export import export_snapshot
from annotation.services.snapshots import freeze_snapshot
from tests.annotation.api_world import build_world, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RAW_TAGS = ("<script>alert", "<img src=x")


def assert_escaped(html: str, where: str):
    for tag in RAW_TAGS:
        assert tag not in html, f"unescaped user text in {where}"


@pytest.fixture
def hostile(db):
    """A world whose every user-written or imported text field holds a script."""
    world = build_world(text=XSS)
    Prompt.objects.update(source=f"{XSS}.csv", external_id="")  # a file name as the source
    world.own_label.explanation = world.other_label.explanation = XSS
    world.own_label.save()
    world.other_label.save()
    world.own_comparison.rationale = XSS
    world.own_comparison.save()
    Candidate.objects.update(text=XSS)
    type(world.snapshot).objects.filter(pk=world.snapshot.pk).update(description=XSS)  # frozen to save()
    return world


def test_no_stored_xss_in_the_workspace(hostile, client, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "GOLD_RATE": 0.0}  # the hostile items, not the gold one
    fresh = make_user("fresh")
    client.force_login(fresh)
    seen = set()
    for kind in ("label", "compare"):
        page = client.get("/work/", {"kind": kind})
        assert page.status_code == 200
        html = page.content.decode()
        assert_escaped(html, f"/work/?kind={kind}")
        if "&lt;script&gt;" in html:
            seen.add(kind)
        Assignment.objects.filter(annotator=fresh, status="leased").update(status="skipped")
    assert seen == {"label", "compare"}, "the hostile prompt was not shown: the test checked nothing"
    for url in ("/", "/me/"):
        assert_escaped(client.get(url).content.decode(), url)


def test_no_stored_xss_in_the_admin(hostile, client):
    client.force_login(hostile.users["admin"])
    objects = [hostile.prompt, hostile.own_label, hostile.own_comparison, hostile.candidate_set, hostile.snapshot,
               hostile.own_assignment, hostile.run]
    urls = [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    urls += [reverse(f"admin:{o._meta.app_label}_{o._meta.model_name}_change", args=[o.pk]) for o in objects]
    shown = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        html = response.content.decode()
        assert_escaped(html, url)
        shown += "&lt;script&gt;" in html
    assert shown >= 5


def test_no_stored_xss_in_the_dataset_card(hostile, tmp_path):
    # Several lines, so that the script starts a line of its own, where Markdown would read raw HTML.
    snapshot = freeze_snapshot("hostile", description=f"first line\n\n{XSS}\n```\n{XSS}")
    export_snapshot(snapshot, "raw", tmp_path / "raw")
    card = (tmp_path / "raw" / "README.md").read_text()
    assert card.count("<script>") >= 2  # the description and the source file name are there, as text
    # The Hub renders the card as Markdown with HTML allowed: the rendered card must hold no live tag.
    html = MarkdownIt("commonmark").render(card)
    assert_escaped(html, "the dataset card")


def test_api_returns_json_not_html_for_hostile_text(hostile):
    response = hostile.client("curator").get("/api/prompts/")
    assert response["Content-Type"].startswith("application/json")


# ---- CSRF ------------------------------------------------------------------------------------------------------

class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._current = {"action": attrs.get("action") or "", "csrf": False}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name") == "csrfmiddlewaretoken":
            self._current["csrf"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(client, url):
    parser = _Forms()
    parser.feed(client.get(url).content.decode())
    return [(urljoin(url, f["action"]) if f["action"] else url, f["csrf"]) for f in parser.forms]


def test_every_form_has_a_csrf_token_and_refuses_a_post_without_it(hostile, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "GOLD_RATE": 0.0}
    fresh = make_user("fresh")
    pages = {
        None: ["/accounts/login/"],
        fresh: ["/", "/work/?kind=label", "/work/?kind=compare", "/work/write/", "/me/"],
        hostile.users["admin"]: [reverse("admin:index"), reverse("admin:annotation_prompt_add"),
                                 reverse("admin:annotation_prompt_change", args=[hostile.prompt.pk]),
                                 reverse("admin:annotation_prompt_changelist"),
                                 reverse("admin:training_trainingrun_add")],
    }
    checked = set()
    for user, urls in pages.items():
        strict = Client(enforce_csrf_checks=True)
        if user is not None:
            strict.force_login(user)
        for url in urls:
            # The GET sets the CSRF cookie, so the POST below is refused for the missing token alone.
            for action, has_token in post_forms(strict, url):
                assert has_token, f"a POST form on {url} (to {action}) has no CSRF token"
                response = strict.post(action, {})
                assert response.status_code == 403, f"POST {action} without a CSRF token -> {response.status_code}"
                checked.add(action.split("?")[0])
    assert len(checked) >= 6, checked


def test_api_session_auth_needs_csrf_but_token_auth_does_not(hostile):
    session = APIClient(enforce_csrf_checks=True)
    session.force_login(hostile.users["annotator"])
    assert session.post("/api/assignments/next/", {}, format="json").status_code == 403
    assert session.delete("/api/me/").status_code == 403
    assert hostile.client("annotator").post("/api/assignments/next/", {}, format="json").status_code in (200, 204)


# ---- login rate limiting ---------------------------------------------------------------------------------------

FAST_HASHER = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])  # tests only


@FAST_HASHER
def test_login_is_rate_limited_by_username_and_address(db):
    cache.clear()
    user = make_user("victim")
    user.set_password("the right password 42")
    user.save()
    client = Client()
    for _ in range(5):
        assert client.post("/accounts/login/", {"username": "victim", "password": "wrong"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": "victim", "password": "the right password 42"})
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's guesses.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post("/accounts/login/", {"username": "victim", "password": "the right password 42"}).status_code == 302
    cache.clear()
    ok = client.post("/accounts/login/", {"username": "victim", "password": "the right password 42"})
    assert ok.status_code == 302
    cache.clear()


# ---- uploads ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, size, problem", [
    ("prompts.csv", 10, None), ("prompts.jsonl.gz", 10, None), ("prompts.PARQUET", 10, None),
    ("prompts.exe", 10, "unsupported file type"), ("prompts.csv.exe", 10, "unsupported file type"),
    ("noextension", 10, "unsupported file type"), ("prompts.csv", 10**9, "too large"),
])
def test_upload_limits(name, size, problem):
    from annotation.api.views import upload_problem
    found = upload_problem(name, size)
    assert (found is None) if problem is None else (problem in found)


# ---- demographics -------------------------------------------------------------------------------------------------

def test_exports_name_annotators_by_pseudonym_and_keep_demographics_only_when_opted_in(hostile, tmp_path):
    ann, other = hostile.users["annotator"], hostile.users["other"]
    AnnotatorProfile.objects.filter(user=ann).update(demographics_opt_in=True, demographics={"age_band": "25-34"})
    AnnotatorProfile.objects.filter(user=other).update(demographics_opt_in=False)
    result = export_snapshot(freeze_snapshot("pseudo"), "raw", tmp_path / "raw")
    rows = pl.read_parquet(tmp_path / "raw" / "data").filter(pl.col("origin") == "annotated")
    names = set(rows["annotator"].to_list())
    assert names == {ann.profile.pseudonym.hex, other.profile.pseudonym.hex}
    everything = rows.write_json() + Path(tmp_path / "raw" / "README.md").read_text()
    for user in (ann, other):
        assert user.username not in re.findall(r"\w+", everything)
    by_name = {r["annotator"]: r["demographics"] for r in rows.iter_rows(named=True)}
    assert "25-34" in (by_name[ann.profile.pseudonym.hex] or "")
    assert not (by_name[other.profile.pseudonym.hex] or "").strip("{} ")
    assert result["rows"] >= 4


# ---- secrets ------------------------------------------------------------------------------------------------------

# Built from pieces so that this file does not match itself.
SECRET_PATTERNS = {
    "private key": "-----BEGIN " + r"(RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY" + "-----",
    "AWS access key": r"\bAKIA" + r"[0-9A-Z]{16}\b",
    "GitHub token": r"\bgh[pousr]_" + r"[A-Za-z0-9]{36,}\b",
    "Hugging Face token": r"\bhf_" + r"[A-Za-z0-9]{34,}\b",
    "OpenAI key": r"\bsk-" + r"(proj-)?[A-Za-z0-9_-]{32,}\b",
    "Slack token": r"\bxox[baprs]-" + r"[A-Za-z0-9-]{10,}",
    "Django secret key set in code": r"SECRET_KEY\s*=\s*['\"]" + r"(?!dev-only)[^'\"]{30,}['\"]",
}


def repo_files():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    return [ROOT / f for f in listed if f and (ROOT / f).is_file()]


def test_no_secrets_in_the_repository():
    found = []
    for path in repo_files():
        if path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        for what, pattern in SECRET_PATTERNS.items():
            if re.search(pattern, text):
                found.append(f"{path.relative_to(ROOT)}: {what}")
    assert not found, found


def test_the_secret_patterns_do_catch_secrets():
    fake = {"private key": "-----BEGIN " + "RSA PRIVATE KEY-----", "GitHub token": "ghp_" + "a1" * 18,
            "Hugging Face token": "hf_" + "Ab" * 17, "AWS access key": "AKIA" + "ABCDEFGHIJKLMNOP"}
    for what, text in fake.items():
        assert re.search(SECRET_PATTERNS[what], text), what
