"""Training runs as plain functions: the `train_mpo` command and the queued worker call the same code.

The heavy ML imports happen inside execute_run, so importing this module never loads torch.
"""
import socket
import traceback
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from training.models import TrainingMetric, TrainingRun


class RunError(Exception):
    """A run could not start or failed; the message is meant for the person who started it."""


def default_output_dir(run):
    root = Path(getattr(settings, "TRAINING_OUTPUT_DIR", Path(settings.BASE_DIR) / "var" / "training_runs"))
    # The creation time keeps a run from resuming another database's run-<pk> checkpoints (after a reset).
    return str(root / f"run-{run.pk}-{run.created_at:%Y%m%d-%H%M%S-%f}")


def snapshot_data_path(snapshot, out_dir):
    """Folder of the snapshot's `mpo` export: the recorded one, or exported now."""
    recorded = (snapshot.files or {}).get("mpo")
    if isinstance(recorded, dict):
        recorded = recorded.get("dataset_dir") or recorded.get("out_dir")
    if recorded and Path(recorded).exists():
        return str(recorded)
    try:
        from annotation.services.export import export_snapshot
    except ImportError as exc:
        raise RunError("export is not available yet (annotation.services.export is missing); "
                       "pass --data with an exported folder") from exc
    try:
        result = export_snapshot(snapshot, fmt="mpo", out_dir=out_dir)
    except Exception as exc:  # the export's own errors say what is wrong with the snapshot
        raise RunError(f"exporting snapshot {snapshot.name!r} failed: {exc}") from exc
    if isinstance(result, dict):
        return str(result.get("dataset_dir") or result.get("out_dir") or out_dir)
    return str(result or out_dir)


def create_run(*, base_model, method="mpo", snapshot=None, data_path="", options=None, created_by=None,
               output_dir=""):
    """A queued TrainingRun: the worker (or start_run) executes it."""
    if snapshot is None and not data_path:
        raise RunError("a run needs a snapshot or a data path")
    run = TrainingRun.objects.create(snapshot=snapshot, data_path=str(data_path or ""), method=method,
                                     base_model=str(base_model), config=dict(options or {}), created_by=created_by)
    if not output_dir:
        output_dir = default_output_dir(run)
    run.output_dir = str(output_dir)
    run.save(update_fields=["output_dir"])
    return run


def record_metrics(run, step, values):
    """One row per step and a heartbeat. The end-of-training summary shares the last step's number and a
    resumed run logs some steps again, so values are merged into the row (later values win)."""
    metric, created = TrainingMetric.objects.get_or_create(run=run, step=step, defaults={"values": values})
    if not created:
        metric.values = {**metric.values, **values}
        metric.save(update_fields=["values"])
    TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())


def is_cancelled(run):
    return TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.CANCELLED).exists()


def execute_run(run, on_progress=None):
    """Train a run to its end; resumes from the last checkpoint in run.output_dir. Returns the run."""
    from training.ml.data import DataError
    from training.ml.run import train

    options = dict(run.config.get("options", run.config))
    lora_r = int(options.pop("lora_r", 0) or 0)
    eval_fraction = float(options.pop("eval_fraction", 0.2))
    for key in ("method", "base_model", "skipped", "rows", "resumed_from", "data_path"):
        options.pop(key, None)  # recorded facts, not trainer options
    run.status = TrainingRun.Status.RUNNING
    run.worker = run.worker or socket.gethostname()  # a queued run was claimed under its worker's name
    run.started_at = run.started_at or timezone.now()
    run.heartbeat_at = timezone.now()
    run.error = ""
    run.save()

    def on_log(step, values):
        record_metrics(run, step, values)
        if on_progress:
            on_progress(step, values)

    try:
        data = run.data_path
        if run.snapshot_id and not data:
            data = snapshot_data_path(run.snapshot, Path(run.output_dir) / "data")
            run.data_path = data
            run.save(update_fields=["data_path"])
        result = train(data, run.base_model, run.output_dir, method=run.method, eval_fraction=eval_fraction,
                       lora_r=lora_r, on_log=on_log, should_stop=lambda: is_cancelled(run), **options)
    except (DataError, RunError) as exc:
        _fail(run, str(exc))
        raise RunError(str(exc)) from exc
    except Exception as exc:
        _fail(run, traceback.format_exc())
        raise RunError(f"training failed: {exc}") from exc

    with transaction.atomic():
        run.refresh_from_db(fields=["status"])
        cancelled = run.status == TrainingRun.Status.CANCELLED
        run.config = {"options": run.config.get("options", run.config), "trainer": result.config,
                      "skipped": result.skipped, "rows": result.rows, "resumed_from": result.resumed_from}
        run.artefacts = result.artefacts
        run.evaluation = result.evaluation
        run.status = TrainingRun.Status.CANCELLED if cancelled else TrainingRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.save()
    return run


def _fail(run, message):
    run.status = TrainingRun.Status.FAILED
    run.error = message
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])


def start_run(*, base_model, method="mpo", snapshot=None, data_path="", options=None, created_by=None,
              output_dir="", on_progress=None):
    """Create a run and execute it here and now (the command line path)."""
    run = create_run(base_model=base_model, method=method, snapshot=snapshot, data_path=data_path,
                     options={"options": dict(options or {})}, created_by=created_by, output_dir=output_dir)
    return execute_run(run, on_progress=on_progress)
