"""python manage.py evaluate_run RUN_ID [--recompute]: per-language gaps, accuracy and English drift."""
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Show (or recompute) a training run's evaluation before and after, per language."

    def add_arguments(self, parser):
        parser.add_argument("run_id", type=int)
        parser.add_argument("--recompute", action="store_true",
                            help="score the base model and the trained model again on the held-out rows")

    def handle(self, *args, run_id, recompute, **opts):
        from training.models import TrainingRun
        from training.services.reports import evaluation_table, recompute_evaluation

        run = TrainingRun.objects.filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"no training run {run_id}")
        if recompute:
            try:
                recompute_evaluation(run)
            except (FileNotFoundError, OSError, KeyError) as exc:
                raise CommandError(f"cannot recompute run {run_id}: {exc}") from exc
        if not run.evaluation:
            raise CommandError(f"run {run_id} has no evaluation yet (status {run.status})")
        self.stdout.write(f"run {run.pk} {run.method} on {run.base_model} ({run.status})")
        self.stdout.write(evaluation_table(run.evaluation))
