"""Pages for training runs: the list, and one run's evaluation before/after per language."""
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from training.models import TrainingRun
from training.views_runs import detail_context


@login_required
@permission_required("training.view_trainingrun", raise_exception=True)
def run_list(request):
    runs = TrainingRun.objects.select_related("snapshot")[:100]
    return render(request, "training/run_list.html", {"runs": runs})


@login_required
@permission_required("training.view_trainingrun", raise_exception=True)
def run_detail(request, pk):
    run = get_object_or_404(TrainingRun.objects.select_related("snapshot"), pk=pk)
    return render(request, "training/run_detail.html", detail_context(run))
