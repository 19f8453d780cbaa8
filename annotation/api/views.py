"""The REST API: thin views over the services; who may do what comes from annotation/permissions.py only."""
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter, SearchFilter
from rest_framework.generics import get_object_or_404  # a malformed id is 404 too, not a 500
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.api.filters import FilterBackend
from annotation.models import Assignment, CandidateSet, Comparison, DatasetSnapshot, HarmCategory, HarmLabel, Language, Prompt
from annotation.permissions import IsAnnotator, IsCurator, ReadAnnotatorWriteCurator, can_see_all_judgements, own_rows
from annotation.services import assignment as queue
from annotation.services.export import FORMATS, ExportError, archive_name, export_archive
from annotation.services.profile_data import erase_profile_data, profile_for, update_profile
from annotation.services.prompt_import import import_prompts
from annotation.services.readers import ImportFileError
from annotation.services.snapshots import SnapshotError, freeze_snapshot

UPLOAD_EXTENSIONS = (".csv", ".jsonl", ".ndjson", ".json", ".parquet")
MAX_UPLOAD_BYTES = getattr(settings, "CROSSWALK_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class _Base:
    pagination_class = Pagination
    filter_backends = [FilterBackend, SearchFilter, OrderingFilter]
    ordering = ["id"]


class LanguageViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    queryset = Language.objects.all()
    serializer_class = s.LanguageSerializer
    permission_classes = [ReadAnnotatorWriteCurator]
    filterset_fields = ["code", "direction"]
    search_fields = ["code", "name"]


class HarmCategoryViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    queryset = HarmCategory.objects.all()
    serializer_class = s.HarmCategorySerializer
    permission_classes = [ReadAnnotatorWriteCurator]
    ordering = ["order", "name"]


class PromptViewSet(_Base, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Prompts with their gold answers: curators only (annotators meet prompts through their tasks)."""

    queryset = Prompt.objects.select_related("language")
    serializer_class = s.PromptSerializer
    permission_classes = [IsCurator]
    filterset_fields = {"language__code": ["exact", "in"], "source": ["exact"], "english": ["exact", "isnull"],
                        "author": ["exact"], "created_at": ["gte", "lt"]}
    search_fields = ["text", "external_id"]

    def perform_create(self, serializer):
        serializer.save(author=self.request.user)

    @extend_schema(request={"multipart/form-data": s.ImportUploadSerializer},
                   responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"], url_path="import",
            parser_classes=[MultiPartParser, FormParser], serializer_class=s.ImportUploadSerializer)
    def import_file(self, request):
        """Import a prompt file (all or nothing), as `manage.py import_prompts` does."""
        upload = s.ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        f = upload.validated_data["file"]
        error = upload_problem(f.name, f.size)
        if error:
            return Response({"file": [error]}, status=status.HTTP_400_BAD_REQUEST)
        # The importer reads the format from the extensions, so the temporary file keeps them.
        name = Path(f.name).name
        suffix = "".join(Path(name).suffixes[-2:]) if name.lower().endswith(".gz") else Path(name).suffix
        source = upload.validated_data.get("source") or safe_stem(name)
        with tempfile.NamedTemporaryFile(suffix=suffix.lower()) as tmp:
            for chunk in f.chunks():
                tmp.write(chunk)
            tmp.flush()
            try:
                result = import_prompts(tmp.name, source=source)
            except ImportFileError as exc:
                return Response({"file": [str(p) for p in exc.problems[:200]]}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"source": source, "created": result.created, "labels": result.labels,
                         "skipped_existing": result.skipped_existing, "summary": result.summary()},
                        status=status.HTTP_201_CREATED)


def upload_problem(name: str, size: int) -> str | None:
    """Why an uploaded file is refused (too big, wrong type), or None."""
    lower = name.lower().removesuffix(".gz")
    if not lower.endswith(UPLOAD_EXTENSIONS):
        return f"unsupported file type: use {', '.join(UPLOAD_EXTENSIONS)} (optionally .gz)."
    if size > MAX_UPLOAD_BYTES:
        return f"file too large: {size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB."
    return None


def safe_stem(name: str) -> str:
    stem = Path(name).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem)[:200] or "upload"


class CandidateSetViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    queryset = CandidateSet.objects.prefetch_related("candidates")
    serializer_class = s.CandidateSetSerializer
    permission_classes = [IsCurator]
    filterset_fields = {"prompt": ["exact"], "prompt__language__code": ["exact", "in"], "strategy": ["exact"],
                        "source": ["exact"]}


class HarmLabelViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    """Harm labels: an annotator sees only their own; others' are absent (404), whatever the id."""

    serializer_class = s.HarmLabelSerializer
    permission_classes = [IsAnnotator]
    filterset_fields = {"prompt": ["exact"], "prompt__language__code": ["exact", "in"], "harm_scope": ["exact"],
                        "origin": ["exact"], "harmful": ["exact"], "created_at": ["gte", "lt"]}

    def get_queryset(self):
        qs = HarmLabel.objects.select_related("annotator").prefetch_related("categories")
        return own_rows(qs, self.request.user)


class ComparisonViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    serializer_class = s.ComparisonSerializer
    permission_classes = [IsAnnotator]
    filterset_fields = {"candidate_set": ["exact"], "candidate_set__prompt__language__code": ["exact", "in"],
                        "origin": ["exact"], "none_acceptable": ["exact"], "created_at": ["gte", "lt"]}

    def get_queryset(self):
        return own_rows(Comparison.objects.select_related("annotator", "best", "worst"), self.request.user)


_TASK_RELATED = ("prompt__language", "candidate_set__prompt__language")


class AssignmentViewSet(_Base, viewsets.ReadOnlyModelViewSet):
    """The annotator's own tasks, and the queue: next task, submit, skip, undo (annotation/services/assignment.py)."""

    permission_classes = [IsAnnotator]
    filterset_fields = ["status", "kind"]

    def get_queryset(self):
        qs = Assignment.objects.select_related("annotator", *_TASK_RELATED).prefetch_related(
            "candidate_set__candidates")
        return own_rows(qs, self.request.user)

    def get_serializer_class(self):
        if self.action in ("list", "retrieve") and can_see_all_judgements(self.request.user):
            return s.CuratorAssignmentSerializer
        return s.AssignmentSerializer

    def _task(self, assignment, code=status.HTTP_200_OK):
        assignment = Assignment.objects.select_related(*_TASK_RELATED).get(pk=assignment.pk)
        return Response(s.AssignmentSerializer(assignment).data, status=code)

    def _own_assignment_id(self, pk):
        """Someone else's task is 404, exactly like a task that does not exist."""
        return get_object_or_404(Assignment.objects.filter(annotator=self.request.user), pk=pk).pk

    @extend_schema(request=s.NextTaskSerializer, responses={200: s.AssignmentSerializer, 204: None})
    @action(detail=False, methods=["post"], url_path="next", serializer_class=s.NextTaskSerializer)
    def next(self, request):
        """The current task of this kind (any kind when not given), or a new lease; 204 when nothing is left."""
        data = s.NextTaskSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = queue.next_task(request.user, data.validated_data.get("kind"))
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self._task(assignment)

    def _run(self, call):
        try:
            return call()
        except queue.LeaseError as exc:
            if exc.code == queue.LeaseError.NOT_YOURS:
                raise Http404 from exc
            return Response({"code": exc.code, "detail": str(exc.message)}, status=status.HTTP_409_CONFLICT)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)

    @extend_schema(request=s.LabelSubmitSerializer,
                   responses={201: s.HarmLabelSerializer, 404: None, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="submit-label", serializer_class=s.LabelSubmitSerializer)
    def submit_label(self, request, pk=None):
        pk = self._own_assignment_id(pk)
        data = s.LabelSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        v["harmful"] = v["harm_scope"] != "none"
        v["categories"] = [c.pk for c in v.get("categories", [])]

        def call():
            label = queue.submit_label(request.user, pk, **v)
            return Response(s.HarmLabelSerializer(label).data, status=status.HTTP_201_CREATED)
        return self._run(call)

    @extend_schema(request=s.ComparisonSubmitSerializer,
                   responses={201: s.ComparisonSerializer, 404: None, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="submit-comparison", serializer_class=s.ComparisonSubmitSerializer)
    def submit_comparison(self, request, pk=None):
        pk = self._own_assignment_id(pk)
        data = s.ComparisonSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def call():
            comparison = queue.submit_comparison(request.user, pk, **data.validated_data)
            return Response(s.ComparisonSerializer(comparison).data, status=status.HTTP_201_CREATED)
        return self._run(call)

    @extend_schema(request=s.SkipSerializer, responses={200: s.AssignmentSerializer, 404: None, 409: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], serializer_class=s.SkipSerializer)
    def skip(self, request, pk=None):
        pk = self._own_assignment_id(pk)
        data = s.SkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._run(lambda: self._task(queue.skip(request.user, pk, data.validated_data.get("note", ""))))

    @extend_schema(request=None, responses={200: s.AssignmentSerializer, 409: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def undo(self, request):
        """Withdraw the last submission while its lease runs; the task (with the answer withdrawn) comes back."""
        def call():
            undone = queue.undo(request.user)
            response = self._task(undone.assignment)
            response.data = {**response.data, "answer": undone.answer}
            return response
        return self._run(call)


class SnapshotViewSet(_Base, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Frozen datasets: curators freeze them (annotation/services/snapshots.py) and download their exports."""

    queryset = DatasetSnapshot.objects.select_related("created_by")
    serializer_class = s.SnapshotSerializer
    permission_classes = [IsCurator]
    filterset_fields = {"name": ["exact"], "created_at": ["gte", "lt"]}
    search_fields = ["name", "description"]

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            snapshot = freeze_snapshot(v["name"], filters=v.get("filter") or {}, user=request.user,
                                       description=v.get("description", ""))
        except SnapshotError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(self.get_serializer(snapshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(FORMATS))],
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 400: OpenApiTypes.OBJECT, 404: None})
    @action(detail=True, methods=["get"], url_path=r"download/(?P<fmt>[a-z]+)")
    def download(self, request, pk=None, fmt=None):
        """The export of this snapshot in format `fmt`, as a zip (annotation/services/export.py)."""
        snapshot = self.get_object()
        if fmt not in FORMATS:
            raise Http404
        try:
            archive = export_archive(snapshot, fmt)
        except ExportError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return FileResponse(archive, as_attachment=True, filename=archive_name(snapshot, fmt),
                            content_type="application/zip")


class MeView(APIView):
    """The caller's own profile: see it, change the opt-in demographics, or erase them (DELETE)."""

    permission_classes = [IsAnnotator]
    serializer_class = s.ProfileSerializer

    @extend_schema(responses=s.ProfileSerializer)
    def get(self, request):
        return Response(s.ProfileSerializer(profile_for(request.user)).data)

    @extend_schema(request=s.ProfileSerializer, responses={200: s.ProfileSerializer, 400: OpenApiTypes.OBJECT})
    def patch(self, request):
        profile = profile_for(request.user)
        data = s.ProfileSerializer(profile, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        try:
            update_profile(profile, opt_in=v.get("demographics_opt_in"), demographics=v.get("demographics"),
                           country=v.get("country"))
        except ValueError as exc:
            return Response({"demographics": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(s.ProfileSerializer(profile).data)

    @extend_schema(responses={204: OpenApiResponse(description="Demographics and country erased; opt-in withdrawn.")})
    def delete(self, request):
        erase_profile_data(profile_for(request.user))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenThrottle(SimpleRateThrottle):
    """Password guessing through the token endpoint: a few tries a minute per client address."""

    scope = "api-token"
    rate = "10/minute"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ObtainTokenView(ObtainAuthToken):
    throttle_classes = [TokenThrottle]
