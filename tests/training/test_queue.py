"""Queued runs on real worker processes: one run per worker, cancel, retry, and a killed worker's run resuming."""
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from training.ml.run import last_checkpoint
from training.models import TrainingRun
from training.services.queue import QueueError, cancel_run, claim_run, enqueue_run, reap_stale_runs, retry_run

ROOT = Path(__file__).resolve().parents[2]
Status = TrainingRun.Status


def queued_run(data="rows.parquet", model="model", queue="test", **options):
    run = TrainingRun.objects.create(data_path=str(data), base_model=str(model), method="mpo", queue_name=queue,
                                     config={"options": options})
    run.output_dir = str(Path(data).parent / f"run-{run.pk}")
    run.save()
    return enqueue_run(run)


@pytest.mark.django_db
def test_enqueue_puts_a_task_on_the_runs_queue_and_only_one_claim_wins():
    run = queued_run(queue="gpu-a100")
    task = DBTaskResult.objects.get(pk=run.task_id)
    assert task.queue_name == "gpu-a100" and task.args_kwargs["args"] == [run.pk]
    assert claim_run(run.pk, "node-1") is True
    assert claim_run(run.pk, "node-2") is False
    run.refresh_from_db()
    assert (run.status, run.worker, run.attempts) == (Status.RUNNING, "node-1", 1)


@pytest.mark.django_db
def test_cancel_and_retry_rules():
    run = queued_run()
    cancel_run(run)
    assert run.status == Status.CANCELLED and claim_run(run.pk, "w") is False  # the task finds nothing to do
    with pytest.raises(QueueError, match="only queued or running"):
        cancel_run(run)
    first_task = run.task_id
    retry_run(run)
    assert run.status == Status.QUEUED and run.task_id != first_task
    with pytest.raises(QueueError, match="only failed or cancelled"):
        retry_run(run)


@pytest.mark.django_db
def test_a_silent_run_is_requeued_then_failed_after_its_attempts(settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "RUN_STALE_SECONDS": 30, "RUN_MAX_ATTEMPTS": 2}
    run = queued_run()
    claim_run(run.pk, "node-1")
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=10))
    assert reap_stale_runs() == []  # still within the bound
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert reap_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.QUEUED and "re-queued" in run.error
    claim_run(run.pk, "node-2")
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=31))
    assert reap_stale_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == Status.FAILED and "gave up after 2 attempts" in run.error


# --- real worker processes -------------------------------------------------------------------------------------


@pytest.fixture
def training_rows(tmp_path, rows):
    path = tmp_path / "rows.parquet"
    pl.DataFrame(rows * 4).write_parquet(path)
    return path


def start_worker(name, queue="test", **env):
    db = connection.settings_dict
    url = (f"sqlite:///{db['NAME']}" if db["ENGINE"].endswith("sqlite3") else
           f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}")
    full_env = {**os.environ, "DATABASE_URL": url, "CROSSWALK_RUN_HEARTBEAT_SECONDS": "0.5", **env}
    return subprocess.Popen(
        [sys.executable, "manage.py", "training_worker", "--queue", queue, "--device", "cpu", "--worker-id", name,
         "--interval", "0.2", "--batch"],
        cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_a_queue_and_never_take_the_same_run(training_rows, tiny_model_dir):
    runs = [queued_run(training_rows, tiny_model_dir, max_steps=2, save_steps=50) for _ in range(3)]
    workers = [start_worker(f"w{i}") for i in range(2)]
    for w in workers:
        out, _ = w.communicate(timeout=240)
        assert w.returncode == 0, out
    for run in runs:
        run.refresh_from_db()
        assert run.status == Status.SUCCEEDED, run.error
        assert run.attempts == 1 and run.worker in {"w0", "w1"}
        assert run.metrics.exists()


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_leaves_a_run_that_is_requeued_and_resumes_from_its_checkpoint(
        training_rows, tiny_model_dir, settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "RUN_STALE_SECONDS": 2}
    run = queued_run(training_rows, tiny_model_dir, max_steps=400, save_steps=3, logging_steps=1)
    worker = start_worker("doomed")
    checkpoints = Path(run.output_dir)
    wait_for(lambda: last_checkpoint(checkpoints), 180, "a first complete checkpoint")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    run.refresh_from_db()
    assert run.status == Status.RUNNING  # nobody told the database
    wait_for(lambda: reap_stale_runs() == [run.pk], 30, "the run to go stale")
    run.refresh_from_db()
    assert run.status == Status.QUEUED and "re-queued" in run.error
    # The newest complete checkpoint when it died (the kill may have cut a later one short mid-save).
    killed_at = int(Path(last_checkpoint(checkpoints)).name.split("-")[1])

    # Finish sooner on the second attempt: the options are read again when a worker picks the run up.
    run.config = {"options": {**run.config["options"], "max_steps": killed_at + 2}}
    run.save(update_fields=["config"])
    second = start_worker("rescuer")
    out, _ = second.communicate(timeout=240)
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED, out + run.error
    assert run.attempts == 2 and run.worker == "rescuer"
    assert f"checkpoint-{killed_at}" in str(run.config.get("resumed_from"))
