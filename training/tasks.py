"""The django-tasks task that carries a training run to a GPU worker."""
import os
import socket

from django_tasks import task


def worker_name() -> str:
    return os.environ.get("CROSSWALK_WORKER_ID") or f"{socket.gethostname()}:{os.getpid()}"


@task()
def run_training(run_id: int) -> str:
    from training.models import TrainingRun
    from training.services.queue import Heartbeat, claim_run
    from training.services.runs import RunError, execute_run

    if not claim_run(run_id, worker_name()):
        return "not queued any more (cancelled, or taken by another worker)"
    run = TrainingRun.objects.get(pk=run_id)
    with Heartbeat(run_id):
        try:
            execute_run(run)
        except RunError as exc:
            return f"failed: {str(exc)[:500]}"  # already recorded on the run
    run.refresh_from_db()
    return run.status
