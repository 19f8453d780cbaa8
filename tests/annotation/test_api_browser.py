"""The API's documentation page and the "my data" page in Debian's chromium: Swagger UI runs from vendored static
files (no request leaves the server), and an annotator sees, changes and erases their own demographics."""
import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

from annotation.models import AnnotatorProfile
from tests.annotation.workspace_helpers import PASSWORD, annotator

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def shots(tmp_path_factory):
    folder = Path(os.environ.get("CROSSWALK_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_api_docs_and_my_data_page(transactional_db, live_server, settings, shots):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
    user = annotator("amina", codes=("en", "sw"))
    hosts = set()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
        page.goto(live_server.url + "/api/docs/")
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        assert page.locator(".swagger-ui .opblock").count() > 20
        page.screenshot(path=str(shots / "api-docs.png"))

        page.goto(live_server.url + "/accounts/login/")
        page.fill("input[name=username]", "amina")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(live_server.url + "/me/")
        page.check("input[name=opt_in]")
        page.fill("input[name=age_band]", "25-34")
        page.fill("input[name=country]", "KE")
        page.click("[data-testid=demographics-form] button[type=submit]")
        page.wait_for_selector("text=25-34")
        page.screenshot(path=str(shots / "my-data.png"), full_page=True)
        profile = AnnotatorProfile.objects.get(user=user)
        assert profile.demographics == {"age_band": "25-34"} and profile.country == "KE"
        page.click("[data-testid=erase-form] button")
        page.wait_for_selector("text=no (not opted in)")
        profile.refresh_from_db()
        assert (profile.demographics_opt_in, profile.demographics, profile.country) == (False, {}, "")
        browser.close()
    assert hosts == {urlparse(live_server.url).netloc}, f"requests left the server: {hosts}"
