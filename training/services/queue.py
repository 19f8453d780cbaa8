"""Queued training runs: enqueue, claim, heartbeat, cancel, retry, and re-queue runs whose worker died.

A run is carried by a django-tasks task on the run's queue; a GPU node serves that queue with
`manage.py training_worker`. Two guards keep a run on one worker: django-tasks claims each task with
SELECT ... FOR UPDATE SKIP LOCKED, and `claim_run` only moves a run from queued to running in one
conditional UPDATE, so a duplicate task finds nothing to do.
"""
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from training.models import TrainingRun

Status = TrainingRun.Status


class QueueError(Exception):
    pass


def _knob(name):
    return settings.CROSSWALK[name]


def enqueue_run(run: TrainingRun) -> TrainingRun:
    from training.tasks import run_training

    result = run_training.using(queue_name=run.queue_name).enqueue(run.pk)
    TrainingRun.objects.filter(pk=run.pk).update(task_id=str(result.id))
    run.refresh_from_db()
    return run


def claim_run(run_id: int, worker: str) -> bool:
    """Move a queued run to running for this worker; False when it was cancelled or someone else has it."""
    now = timezone.now()
    return bool(TrainingRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, worker=worker, heartbeat_at=now, started_at=now, attempts=F("attempts") + 1,
        error=""))


def cancel_run(run: TrainingRun) -> TrainingRun:
    """Queued runs never start; running ones stop at the next step (the trainer checks) and keep their checkpoint."""
    updated = TrainingRun.objects.filter(pk=run.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
        status=Status.CANCELLED, finished_at=timezone.now())
    if not updated:
        raise QueueError(f"run {run.pk} is {run.status}: only queued or running runs can be cancelled")
    run.refresh_from_db()
    return run


def retry_run(run: TrainingRun) -> TrainingRun:
    """Queue a failed or cancelled run again; it resumes from its last checkpoint in the same output folder."""
    updated = TrainingRun.objects.filter(pk=run.pk, status__in=[Status.FAILED, Status.CANCELLED]).update(
        status=Status.QUEUED, error="", finished_at=None, attempts=0)
    if not updated:
        raise QueueError(f"run {run.pk} is {run.status}: only failed or cancelled runs can be retried")
    return enqueue_run(run)


def reap_stale_runs(now=None) -> list[int]:
    """Runs whose worker stopped beating: re-queue them (they resume), or fail them after too many attempts."""
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=_knob("RUN_STALE_SECONDS"))
    reaped = []
    for run in TrainingRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale_before):
        silent = f"worker {run.worker or '?'} sent no heartbeat since {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC"
        if run.attempts >= _knob("RUN_MAX_ATTEMPTS"):
            changed = TrainingRun.objects.filter(pk=run.pk, status=Status.RUNNING, heartbeat_at=run.heartbeat_at).update(
                status=Status.FAILED, finished_at=now, error=f"{silent}; gave up after {run.attempts} attempts")
        else:
            changed = TrainingRun.objects.filter(pk=run.pk, status=Status.RUNNING, heartbeat_at=run.heartbeat_at).update(
                status=Status.QUEUED, error=f"{silent}; re-queued to resume from its last checkpoint")
            if changed:
                enqueue_run(run)
        if changed:
            reaped.append(run.pk)
    return reaped


class Heartbeat:
    """Beats for a run from a background thread while it trains, so slow steps do not look like a dead worker."""

    def __init__(self, run_id: int, interval: float | None = None):
        self.run_id, self.interval = run_id, interval or _knob("RUN_HEARTBEAT_SECONDS")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self):
        try:
            while not self._stop.wait(self.interval):
                TrainingRun.objects.filter(pk=self.run_id, status=Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
