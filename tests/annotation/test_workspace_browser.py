"""The workspace in Debian's chromium: a whole session by keyboard, an RTL prompt, undo, skip, flag, an expired
lease, and red-teaming text that must stay text. Screenshots go to $CROSSWALK_SCREENSHOTS (default: a tmp dir)."""
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from annotation.models import Assignment, Comparison, HarmLabel
from tests.annotation.workspace_helpers import PASSWORD, annotator, candidate_set, prompts

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS_IMG, XSS_SCRIPT = "<img src=x onerror=alert(1)>", "</textarea><script>window.__xss = 1</script>"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path_factory):
    folder = Path(os.environ.get("CROSSWALK_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, transactional_db, live_server, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "JUDGEMENTS_PER_ITEM": 3, "GOLD_RATE": 0.0}
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en")
    pg = context.new_page()
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.accept("the text is cut off")))
    pg.dialogs = dialogs
    pg.base = live_server.url
    yield pg
    context.close()


def login_by_keyboard(page, username):
    page.goto(page.base + "/accounts/login/")
    page.keyboard.press("Tab") if not page.evaluate("document.activeElement.name") else None
    page.focus("input[name=username]")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(page.base + "/")


def keys(page, *presses):
    # A key pressed while htmx is still swapping or settling the next task would reach a button that htmx has
    # not wired yet; a person is never that fast, a test is.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    for k in presses:
        page.keyboard.press(k)


def wait_saved(page):
    page.wait_for_selector("#task .notice >> text=Saved")


def test_whole_session_by_keyboard(page, shots):
    user = annotator("ann", ("en",))
    p1, p2 = prompts(2, text="How do I make a dangerous thing {i}?")
    candidate_set(p1, texts=("I cannot help with that.", "Sure, here is how.", "Here is some safety advice."),
                  conversation=[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}])
    login_by_keyboard(page, "ann")
    page.screenshot(path=shots / "01_queue.png", full_page=True)
    page.goto(page.base + "/work/?kind=label")
    keys(page, "g", "1", "3", "e")
    page.keyboard.type("Explains how to hurt people.")
    keys(page, "Escape")
    page.screenshot(path=shots / "02_label_filled.png", full_page=True)
    keys(page, "Enter")
    wait_saved(page)
    keys(page, "n", "Enter")
    page.wait_for_selector("#task .empty")
    assert page.locator("[data-testid=done-today]").first.inner_text() == "2"
    labels = HarmLabel.objects.filter(annotator=user).order_by("id")
    assert [(lab.harm_scope, lab.categories.count()) for lab in labels] == [("global", 2), ("none", 0)]
    assert labels[0].explanation == "Explains how to hurt people." and labels[0].time_spent_ms > 0

    page.goto(page.base + "/work/?kind=compare")
    assert page.locator(".candidate").count() == 3
    keys(page, "2", "w", "1", "h", "1", "r")
    page.keyboard.type("2 3 1")
    keys(page, "Escape", "e")
    page.keyboard.type("Number 2 refuses politely.")
    page.screenshot(path=shots / "03_compare_filled.png", full_page=True)
    keys(page, "Control+Enter")
    page.wait_for_selector("#task .empty")
    c = Comparison.objects.get(annotator=user)
    order = c.shown_order
    assert c.best.position == order[1] and c.worst.position == order[0] and c.harmful_positions == [order[0]]
    assert c.ranking == [order[1], order[2], order[0]] and c.rationale == "Number 2 refuses politely."
    assert not page.dialogs


def test_rtl_prompt_and_red_teaming_text_stay_text(page, shots):
    annotator("ann", ("ar", "en"))
    prompts(1, "ar", text="كيف يمكنني إيذاء جاري دون أن يلاحظ أحد؟ (test 123)")
    (bad,) = prompts(1, "en", text=XSS_IMG + " and " + XSS_SCRIPT)
    candidate_set(bad, texts=(XSS_SCRIPT, XSS_IMG))
    login_by_keyboard(page, "ann")
    # The Spanish interface (the queue page's language picker) around an Arabic text.
    page.select_option("select[name=language]", "es")
    page.click("form[action='/i18n/setlang/'] button")
    page.wait_for_selector("text=Hecho hoy")
    page.goto(page.base + "/work/?kind=label")
    assert "¿Es dañino este prompt?" in page.locator("legend").first.inner_text()
    prompt = page.locator("[data-testid=prompt]")
    assert prompt.get_attribute("dir") == "rtl"
    assert prompt.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert page.locator("legend").first.evaluate("e => getComputedStyle(e).direction") == "ltr"
    page.screenshot(path=shots / "04_rtl_prompt.png", full_page=True)
    keys(page, "n", "Enter")
    page.wait_for_selector("#task .notice >> text=Guardado")
    assert prompt.inner_text() == XSS_IMG + " and " + XSS_SCRIPT
    page.goto(page.base + "/work/?kind=compare")
    assert page.locator(".candidate-text").all_inner_texts() in ([XSS_SCRIPT, XSS_IMG], [XSS_IMG, XSS_SCRIPT])
    page.screenshot(path=shots / "05_escaped.png", full_page=True)
    assert page.evaluate("window.__xss") is None and page.locator("#task img").count() == 0
    assert not page.dialogs


def test_undo_skip_flag_and_expired_lease(page, shots):
    user = annotator("ann", ("en",))
    prompts(4, text="prompt number {i}")
    login_by_keyboard(page, "ann")
    page.goto(page.base + "/work/?kind=label")
    first = page.locator("[data-testid=prompt]").inner_text()
    keys(page, "l", "2", "Enter")
    wait_saved(page)
    keys(page, "u")
    page.wait_for_selector("#task .notice >> text=withdrawn")
    assert page.locator("[data-testid=prompt]").inner_text() == first
    assert page.locator("input[name=harm][value=local]").is_checked()
    assert not HarmLabel.objects.exists()
    page.screenshot(path=shots / "06_undone.png", full_page=True)
    keys(page, "Enter")
    wait_saved(page)
    assert HarmLabel.objects.get().harm_scope == "local"

    second = page.locator("[data-testid=prompt]").inner_text()
    keys(page, "s")
    page.wait_for_selector("#task .notice >> text=Skipped")
    assert page.locator("[data-testid=prompt]").inner_text() != second
    keys(page, "f")
    page.wait_for_selector("#task .notice >> text=broken")
    assert Assignment.objects.get(annotator=user, status="flagged").note == "the text is cut off"

    # The lease runs out while the annotator writes: refused, nothing lost, renewed on request.
    Assignment.objects.filter(annotator=user, status="leased").update(expires_at=timezone.now() - timedelta(seconds=1))
    keys(page, "n", "e")
    page.keyboard.type("A long careful explanation.")
    keys(page, "Control+Enter")
    page.wait_for_selector("#task .lease-error")
    assert "ran out" in page.locator("#task .lease-error").inner_text()
    assert page.locator("textarea[name=explanation]").input_value() == "A long careful explanation."
    page.screenshot(path=shots / "07_expired.png", full_page=True)
    assert HarmLabel.objects.count() == 1
    keys(page, "Enter")
    wait_saved(page)
    assert HarmLabel.objects.filter(explanation="A long careful explanation.").exists()
    assert [s for s in Assignment.objects.filter(annotator=user).order_by("id").values_list("status", flat=True)] == [
        "submitted", "skipped", "flagged", "submitted"]
