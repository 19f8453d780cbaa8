"""Training runs: what was trained on what, where, how it went, and what came out."""
from django.conf import settings
from django.db import models
from django.db.models import Q


class TrainingRun(models.Model):
    class Method(models.TextChoices):
        MPO = "mpo", "MPO"
        DPO = "dpo", "DPO"
        SIMPO = "simpo", "SimPO"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    snapshot = models.ForeignKey(
        "annotation.DatasetSnapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="training_runs"
    )
    data_path = models.CharField(max_length=500, blank=True, help_text="An exported folder, when not a snapshot.")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.MPO)
    base_model = models.CharField(max_length=500, help_text="Path of the base model folder on the worker.")
    config = models.JSONField(default=dict, blank=True, help_text="All hyperparameters, as run.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    worker = models.CharField(max_length=200, blank=True)
    # The django-tasks queue a GPU node serves (`training_worker --queue NAME`), and the task that carries the run.
    queue_name = models.CharField(max_length=100, default="default")
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker has started this run.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    output_dir = models.CharField(max_length=500, blank=True)
    artefacts = models.JSONField(default=dict, blank=True, help_text="name -> path")
    evaluation = models.JSONField(default=dict, blank=True, help_text='{"before": {...}, "after": {...}} per language')
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(snapshot__isnull=False) | ~Q(data_path=""), name="run_has_data"
            ),
        ]

    def __str__(self):
        return f"{self.get_method_display()} run {self.pk} ({self.status})"


class TrainingMetric(models.Model):
    """The logged values of one step: loss, reward gaps per language, learning rate."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    logged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="one_metric_row_per_step")]
