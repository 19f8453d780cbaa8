from django.contrib import admin

from training import models


@admin.register(models.TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ("id", "method", "status", "snapshot", "base_model", "worker", "created_at", "finished_at")
    list_filter = ("method", "status")
    readonly_fields = ("heartbeat_at", "started_at", "finished_at", "artefacts", "evaluation", "error")
