"""A curator queues a tiny run in the browser, watches it finish without reloading, and opens its plots."""
import os

import polars as pl
import pytest
from django.contrib.auth.models import User

from annotation.services.roles import CURATORS, ensure_groups
from tests.training.test_queue import start_worker
from training.models import TrainingRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser.new_page(viewport={"width": 1280, "height": 1000})
        browser.close()


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests-1")
    page.click("button[type=submit]")


def test_queue_watch_and_plot_a_tiny_run(page, live_server, tmp_path, rows, tiny_model_dir, settings):
    settings.TRAINING_OUTPUT_DIR = tmp_path / "runs"
    data = tmp_path / "rows.parquet"
    pl.DataFrame(rows * 4).write_parquet(data)
    curator = User.objects.create_user("cur", password="pw-for-tests-1", is_staff=True)
    curator.groups.add(ensure_groups()[CURATORS])

    log_in(page, live_server, "cur")
    page.goto(f"{live_server.url}/training/new/")
    page.fill("input[name=data_path]", str(data))
    page.fill("input[name=base_model]", str(tiny_model_dir))
    page.select_option("select[name=method]", "mpo")
    page.fill("input[name=queue_name]", "browser")
    page.fill("input[name=max_steps]", "6")
    page.fill("input[name=save_steps]", "3")
    page.click("#queue-run")
    page.wait_for_selector("#run-progress[data-status=queued]")
    run = TrainingRun.objects.get()
    assert run.queue_name == "browser" and run.config["options"]["max_steps"] == 6

    worker = start_worker("browser-worker", queue="browser")
    try:
        # htmx polls the progress part; the page itself is never reloaded.
        page.evaluate("window.__marker = 'same page'")
        page.wait_for_selector("#run-progress[data-status=succeeded]", timeout=240_000)
        assert page.evaluate("window.__marker") == "same page"
    finally:
        worker.wait(timeout=120)
    page.screenshot(path=str(tmp_path / "run-finished.png"), full_page=True)
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    assert page.locator("svg.chart path").count() >= 2  # loss and at least one reward-gap line
    assert "6 / 6" in page.inner_text("#run-progress") or "step 6" in page.inner_text("#run-progress")

    page.goto(f"{live_server.url}/training/compare/?run={run.pk}")
    assert page.locator("svg.chart path").count() >= 1
    page.screenshot(path=str(tmp_path / "run-compare.png"), full_page=True)
