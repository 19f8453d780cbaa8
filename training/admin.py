"""Training runs in the admin: runs are records of what happened, so their outcome fields are read-only;
changes go to the audit log like the rest of the curators' admin."""
from django.contrib import admin

from annotation.admin import AuditedAdmin, ReadOnlyInline
from training import models


class TrainingMetricInline(ReadOnlyInline):
    model = models.TrainingMetric
    fields = ("step", "values", "logged_at")
    readonly_fields = fields
    show_change_link = False


@admin.register(models.TrainingRun)
class TrainingRunAdmin(AuditedAdmin):
    list_display = ("id", "method", "status", "snapshot", "base_model", "worker", "created_by", "created_at",
                    "finished_at")
    list_filter = ("method", "status", "created_at")
    search_fields = ("base_model", "worker", "snapshot__name", "error")
    raw_id_fields = ("snapshot",)
    readonly_fields = ("worker", "heartbeat_at", "created_by", "started_at", "finished_at", "output_dir", "artefacts",
                       "evaluation", "error")
    inlines = [TrainingMetricInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
