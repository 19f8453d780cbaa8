"""Queueing, watching, cancelling, retrying and comparing training runs (curators and admins only)."""
import math
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from training.charts import line_chart, metric_series
from training.forms import NewRunForm
from training.models import TrainingRun
from training.services.queue import QueueError, cancel_run, enqueue_run, reap_stale_runs, retry_run
from training.services.reports import COLUMNS, evaluation_rows
from training.services.runs import create_run


def curators_only(view):
    return login_required(permission_required("training.add_trainingrun", raise_exception=True)(view))


@curators_only
def run_new(request):
    form = NewRunForm(request.POST or None, initial={"snapshot": request.GET.get("snapshot")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        run = create_run(base_model=data["base_model"], method=data["method"], snapshot=data["snapshot"],
                         data_path=data["data_path"], options={"options": form.options()}, created_by=request.user)
        run.queue_name = data["queue_name"]
        run.save(update_fields=["queue_name"])
        enqueue_run(run)
        messages.success(request, f"Run {run.pk} queued on '{run.queue_name}'.")
        return redirect("training:run_detail", pk=run.pk)
    return render(request, "training/run_new.html", {"form": form})


def progress_context(run):
    metrics = list(run.metrics.order_by("step"))
    last = metrics[-1] if metrics else None
    step = last.step if last else 0
    total = int(last.values.get("max_steps", 0)) if last else 0
    eta = None
    if run.status == TrainingRun.Status.RUNNING and run.started_at and step and total > step:
        elapsed = (timezone.now() - run.started_at).total_seconds()
        eta = elapsed / step * (total - step)
    gap_keys = sorted({k for m in metrics for k in m.values if k.startswith("gap/")})
    gaps = {k.removeprefix("gap/"): metric_series(metrics, k) for k in gap_keys}
    return {
        "run": run, "step": step, "total": total, "eta": eta, "last": last.values if last else {},
        "percent": min(100, math.floor(100 * step / total)) if total else None,
        "loss_chart": line_chart({"loss": metric_series(metrics, "loss")}, title="Loss", y_label="loss"),
        "gap_chart": line_chart(gaps, title="Reward gap: target vs English", y_label="avg log-prob gap",
                                dashed={k for k in gaps if "english" in k}),
        "live": run.status in (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING),
    }


def detail_context(run):
    """Everything a run's page shows: what it is, its progress and charts, its evaluation and artefacts."""
    return {
        "rows": evaluation_rows(run.evaluation or {}), "columns": COLUMNS, "drift_columns": COLUMNS[5:],
        "compare_columns": COLUMNS[:5], "last_metric": run.metrics.order_by("-step").first(),
        "metric_count": run.metrics.count(), **progress_context(run),
    }


@login_required
@permission_required("training.view_trainingrun", raise_exception=True)
def run_progress(request, pk):
    """The body of a run's page; htmx polls it while the run is queued or running, so nothing reloads."""
    reap_stale_runs()  # a dead worker's run is noticed even when no other worker is up
    run = get_object_or_404(TrainingRun.objects.select_related("snapshot"), pk=pk)
    return render(request, "training/_run_body.html", detail_context(run))


def _queue_action(request, pk, action, done):
    run = get_object_or_404(TrainingRun, pk=pk)
    try:
        action(run)
        messages.success(request, done.format(pk=run.pk))
    except QueueError as exc:
        messages.error(request, str(exc))
    return redirect("training:run_detail", pk=run.pk)


@require_POST
@curators_only
def run_cancel(request, pk):
    return _queue_action(request, pk, cancel_run, "Run {pk} cancelled.")


@require_POST
@curators_only
def run_retry(request, pk):
    return _queue_action(request, pk, retry_run, "Run {pk} queued again; it resumes from its last checkpoint.")


@login_required
@permission_required("training.view_trainingrun", raise_exception=True)
def run_compare(request):
    runs = list(TrainingRun.objects.filter(pk__in=request.GET.getlist("run")).order_by("pk")[:4])
    languages = sorted({r["language"] for run in runs for r in evaluation_rows(run.evaluation or {})},
                       key=lambda lang: (lang == "all", lang))
    table = []
    for lang in languages:
        cells = []
        for run in runs:
            row = next((r for r in evaluation_rows(run.evaluation or {}) if r["language"] == lang), None)
            cells.append(row["after"] if row else {})
        table.append({"language": lang, "cells": cells})
    loss = line_chart({f"run {r.pk} ({r.method})": metric_series(r.metrics.order_by("step"), "loss") for r in runs},
                      title="Loss", y_label="loss")
    return render(request, "training/run_compare.html", {
        "runs": runs, "table": table, "columns": COLUMNS, "loss_chart": loss,
        "all_runs": TrainingRun.objects.filter(status=TrainingRun.Status.SUCCEEDED)[:50], "now": time.time()})
