"""Training runs over the API: curators read them, queue new ones and cancel them.

Creating a run only records a queued TrainingRun (training/services/runs.py create_run); the worker runs it.
"""
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response

from annotation.api.filters import FilterBackend
from annotation.api.serializers import json_safe
from annotation.api.views import Pagination
from annotation.models import DatasetSnapshot
from annotation.permissions import IsCurator
from training.models import TrainingMetric, TrainingRun
from training.services.runs import create_run

CANCELLABLE = (TrainingRun.Status.QUEUED, TrainingRun.Status.RUNNING)


class TrainingMetricSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrainingMetric
        fields = ["step", "values", "logged_at"]


class TrainingRunSerializer(serializers.ModelSerializer):
    snapshot = serializers.SlugRelatedField(slug_field="name", queryset=DatasetSnapshot.objects.all(),
                                            help_text="Name of the frozen snapshot to train on.")
    config = serializers.JSONField(required=False, validators=[json_safe],
                                   help_text="Hyperparameters (beta, lambda, lr, epochs, ...).")
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = TrainingRun
        fields = ["id", "snapshot", "data_path", "method", "base_model", "config", "status", "worker", "heartbeat_at",
                  "created_by", "created_at", "started_at", "finished_at", "output_dir", "artefacts", "evaluation",
                  "error"]
        # Through the API a run trains on a snapshot only: no arbitrary folder on the worker.
        read_only_fields = [f for f in fields if f not in ("snapshot", "method", "base_model", "config")]

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("config must be a JSON object.")
        return value


class TrainingRunViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = TrainingRun.objects.select_related("snapshot", "created_by")
    serializer_class = TrainingRunSerializer
    permission_classes = [IsCurator]
    pagination_class = Pagination
    filter_backends = [FilterBackend, OrderingFilter]
    filterset_fields = {"status": ["exact", "in"], "method": ["exact"], "snapshot__name": ["exact"]}
    ordering = ["-created_at", "-id"]

    def perform_create(self, serializer):
        v = serializer.validated_data
        serializer.instance = create_run(base_model=v["base_model"], method=v.get("method", "mpo"),
                                         snapshot=v["snapshot"], options=v.get("config") or {},
                                         created_by=self.request.user)

    @extend_schema(request=None, responses={200: TrainingRunSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued or running run (the worker checks the status between steps)."""
        with transaction.atomic():
            run = self.get_object()
            updated = TrainingRun.objects.filter(pk=run.pk, status__in=CANCELLABLE).update(
                status=TrainingRun.Status.CANCELLED, finished_at=timezone.now())
        run.refresh_from_db()
        if not updated:
            return Response({"detail": f"a {run.status} run cannot be cancelled."}, status=status.HTTP_409_CONFLICT)
        return Response(self.get_serializer(run).data)

    @extend_schema(responses=TrainingMetricSerializer(many=True))
    @action(detail=True, methods=["get"])
    def metrics(self, request, pk=None):
        run = self.get_object()
        page = self.paginate_queryset(run.metrics.order_by("step"))
        return self.get_paginated_response(TrainingMetricSerializer(page, many=True).data)
