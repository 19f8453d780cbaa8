"""Issue 5 in a real browser: a curator logs in to the admin; adversarial red-teaming text never runs."""
import os

import pytest

from annotation.models import Language, Prompt
from annotation.services import review

from .curation_world import XSS, build_world, label

pytestmark = [pytest.mark.browser]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_world(transactional_db):
    world = build_world()
    world["curator"].set_password("curator-pw")
    world["curator"].save()
    ar = Language.objects.get(code="ar")
    evil = Prompt.objects.create(text=f"كيف أؤذي {XSS}", language=ar, source="evil-src")
    label(evil, world["a1"], "global", explanation=XSS)
    label(evil, world["a2"], "local", explanation=XSS)
    review.decide([evil], "more", world["curator"], note=XSS)
    world["evil"] = evil
    return world


def test_curator_browses_the_admin_and_no_script_runs(live_server, browser_world, tmp_path):
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    shots = os.environ.get("CROSSWALK_SCREENSHOTS") or str(tmp_path)
    dialogs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "curator1")
        page.fill("#id_password", "curator-pw")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        for name, path in [
            ("prompts", "/admin/annotation/prompt/?review=queue"),
            ("prompt", f"/admin/annotation/prompt/{browser_world['evil'].pk}/change/"),
            ("labels", "/admin/annotation/harmlabel/"),
            ("agreement", "/admin/annotation/prompt/agreement/"),
            ("freeze", "/admin/annotation/datasetsnapshot/add/"),
            ("audit", "/admin/annotation/auditlogentry/"),
        ]:
            page.goto(live_server.url + path)
            page.screenshot(path=os.path.join(shots, f"{name}.png"), full_page=True)
            assert page.locator("img[src=x]").count() == 0, name
        assert page.get_by_text("decision:more").count() >= 1
        # Freeze a snapshot through the form, as a curator would.
        page.goto(f"{live_server.url}/admin/annotation/datasetsnapshot/add/")
        page.fill("#id_name", "arabic-v1")
        page.check("input[name=languages][value=ar]")
        page.click("input[name=_save]")
        page.screenshot(path=os.path.join(shots, "frozen.png"), full_page=True)
        assert page.get_by_text("arabic-v1").count() >= 1
        browser.close()
    assert dialogs == []
