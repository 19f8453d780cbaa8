"""API shapes. Annotators' shapes never carry gold answers nor other people's judgements."""
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from annotation.api.filters import to_utc
from annotation.models import (
    AnnotatorProfile,
    Assignment,
    Candidate,
    CandidateSet,
    Comparison,
    DatasetSnapshot,
    HarmCategory,
    HarmLabel,
    HarmScope,
    Language,
    Origin,
    Prompt,
)
from annotation.services import assignment as queue
from annotation.services.profile_data import DEMOGRAPHIC_KEYS
from annotation.services.snapshots import CURATION_CHOICES

MAX_INT = 2**63 - 1  # the database's bigint: larger ids can only be wrong


def json_safe(value):
    """PostgreSQL refuses NUL characters in text and JSON: refuse them here with a clear message, not a 500."""
    if "\\u0000" in json.dumps(value):
        raise serializers.ValidationError("NUL characters are not allowed.")
    return value


class LanguageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Language
        fields = ["id", "code", "name", "direction"]


class HarmCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = HarmCategory
        fields = ["id", "slug", "name"]


class GoldLabelSerializer(serializers.Serializer):
    harmful = serializers.BooleanField(required=False)
    harm_scope = serializers.ChoiceField(choices=HarmScope.choices, required=False)


class PromptSerializer(serializers.ModelSerializer):
    """For curators (the prompts endpoint is theirs): includes the gold answer."""

    language = serializers.SlugRelatedField(slug_field="code", queryset=Language.objects.all())
    metadata = serializers.JSONField(required=False, validators=[json_safe])
    gold = GoldLabelSerializer(required=False, allow_null=True)

    class Meta:
        model = Prompt
        fields = ["id", "text", "language", "english", "source", "external_id", "metadata", "author", "gold",
                  "created_at"]
        read_only_fields = ["author", "created_at"]

    def validate_metadata(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("metadata must be a JSON object.")
        return value

    def validate(self, attrs):
        # The (source, external_id) uniqueness only holds for non-empty ids, a condition DRF cannot check itself.
        ext, source = attrs.get("external_id", ""), attrs.get("source", "")
        if ext and Prompt.objects.filter(source=source, external_id=ext).exists():
            raise serializers.ValidationError({"external_id": "a prompt with this source and external id exists."})
        return attrs


class CandidateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Candidate
        fields = ["position", "text"]


class CandidateSetSerializer(serializers.ModelSerializer):
    candidates = CandidateSerializer(many=True, read_only=True)

    class Meta:
        model = CandidateSet
        fields = ["id", "prompt", "conversation", "generator", "generator_settings", "strategy", "source",
                  "external_id", "diversity", "gold", "candidates", "created_at"]


class HarmLabelSerializer(serializers.ModelSerializer):
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    annotator = serializers.CharField(source="annotator.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = HarmLabel
        fields = ["id", "prompt", "annotator", "origin", "harmful", "harm_scope", "categories", "explanation",
                  "literal_translation", "semantic_translation", "time_spent_ms", "created_at"]


class ComparisonSerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True, default=None, allow_null=True)
    best = serializers.IntegerField(source="best.position", read_only=True, default=None, allow_null=True)
    worst = serializers.IntegerField(source="worst.position", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Comparison
        fields = ["id", "candidate_set", "annotator", "origin", "best", "worst", "ranking", "harmful_positions",
                  "none_acceptable", "rationale", "shown_order", "time_spent_ms", "created_at"]


# ---- the annotator's queue -------------------------------------------------------------------------------------

class TaskPromptSerializer(serializers.ModelSerializer):
    """A prompt as an annotator sees it in a task: no gold, no labels."""

    language = serializers.CharField(source="language.code")
    direction = serializers.CharField(source="language.direction")

    class Meta:
        model = Prompt
        fields = ["id", "text", "language", "direction"]


class AssignmentSerializer(serializers.ModelSerializer):
    """A task: the item to judge, candidates in this annotator's shown order. `is_gold` is deliberately absent."""

    prompt = serializers.SerializerMethodField()
    candidate_set = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "kind", "status", "leased_at", "expires_at", "finished_at", "note", "prompt",
                  "candidate_set"]

    def _prompt(self, prompt):
        return TaskPromptSerializer(prompt).data

    def get_prompt(self, a) -> dict | None:
        if a.kind == Assignment.Kind.LABEL:
            return self._prompt(a.prompt)
        return None

    def get_candidate_set(self, a) -> dict | None:
        if a.kind != Assignment.Kind.COMPARE:
            return None
        cs = a.candidate_set
        by_position = {c.position: c.text for c in cs.candidates.all()}
        return {"id": cs.pk, "prompt": self._prompt(cs.prompt), "conversation": cs.conversation,
                "candidates": [{"position": p, "text": by_position[p]} for p in queue.shown_order(a)]}


class CuratorAssignmentSerializer(AssignmentSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)

    class Meta(AssignmentSerializer.Meta):
        fields = AssignmentSerializer.Meta.fields + ["annotator", "is_gold"]


class NextTaskSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Assignment.Kind.choices, required=False, allow_null=True)


class _SubmitSerializer(serializers.Serializer):
    time_spent_ms = serializers.IntegerField(min_value=0, max_value=MAX_INT, required=False, allow_null=True)
    renew = serializers.BooleanField(default=False, help_text="Renew an expired lease if the item still has room.")


class LabelSubmitSerializer(_SubmitSerializer):
    harm_scope = serializers.ChoiceField(choices=HarmScope.choices, help_text="'none' means not harmful.")
    categories = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=HarmCategory.objects.all(),
                                              required=False)
    explanation = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    literal_translation = serializers.CharField(required=False, allow_blank=True, max_length=10_000)
    semantic_translation = serializers.CharField(required=False, allow_blank=True, max_length=10_000)



class ComparisonSubmitSerializer(_SubmitSerializer):
    best = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    worst = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    ranking = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=32767), required=False,
                                    max_length=100)
    harmful_positions = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=32767),
                                              required=False, max_length=100)
    none_acceptable = serializers.BooleanField(default=False)
    rationale = serializers.CharField(required=False, allow_blank=True, max_length=10_000)

    def validate(self, attrs):
        if attrs.get("best") is None and not attrs.get("none_acceptable"):
            raise serializers.ValidationError("pick the best candidate or mark none as acceptable.")
        if attrs.get("worst") is not None and attrs.get("worst") == attrs.get("best"):
            raise serializers.ValidationError("the worst candidate cannot also be the best.")
        return attrs


class SkipSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


# ---- snapshots and exports -------------------------------------------------------------------------------------

class SnapshotFilterSerializer(serializers.Serializer):
    """The filter keys of annotation/services/snapshots.py, typed."""

    languages = serializers.ListField(child=serializers.CharField(max_length=35), required=False)
    sources = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    origins = serializers.ListField(child=serializers.ChoiceField(choices=Origin.choices), required=False)
    harm_scopes = serializers.ListField(child=serializers.ChoiceField(choices=HarmScope.choices), required=False)
    prompt_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_INT), required=False)
    created_before = serializers.DateTimeField(required=False)
    curation = serializers.ChoiceField(choices=CURATION_CHOICES, required=False)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if "created_before" in value:  # kept in the snapshot's JSON filter, so as text, in UTC (see filters.py)
            try:
                value["created_before"] = to_utc(value["created_before"]).isoformat()
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"created_before": exc.messages}) from exc
        return value


class SnapshotSerializer(serializers.ModelSerializer):
    filter = SnapshotFilterSerializer(required=False)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)

    class Meta:
        model = DatasetSnapshot
        fields = ["id", "name", "description", "filter", "row_counts", "content_hash", "files", "created_by",
                  "created_at"]
        read_only_fields = ["row_counts", "content_hash", "files", "created_at"]


# ---- the annotator's own profile -------------------------------------------------------------------------------

class ProfileSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    languages = serializers.SerializerMethodField()
    demographics = serializers.DictField(child=serializers.CharField(max_length=100, allow_blank=True),
                                         required=False, help_text=f"Keys: {', '.join(DEMOGRAPHIC_KEYS)}.")

    class Meta:
        model = AnnotatorProfile
        fields = ["username", "pseudonym", "languages", "country", "demographics_opt_in", "demographics",
                  "ui_language"]
        read_only_fields = ["pseudonym", "ui_language"]

    def get_languages(self, profile) -> list[dict]:
        return [{"language": s.language.code, "proficiency": s.proficiency}
                for s in profile.language_skills.select_related("language")]

    def validate_country(self, value):
        if value and not (len(value) == 2 and value.isascii() and value.isalpha()):
            raise serializers.ValidationError("an ISO 3166-1 alpha-2 code, e.g. 'KE', or empty.")
        return value.upper()

    def validate_demographics(self, value):
        unknown = set(value) - set(DEMOGRAPHIC_KEYS)
        if unknown:
            raise serializers.ValidationError(f"unknown keys {sorted(unknown)}; known: {list(DEMOGRAPHIC_KEYS)}.")
        return value


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, JSONL, JSON or Parquet (optionally .gz) in a shape import_prompts "
                                           "reads; size limited.")
    source = serializers.SlugField(max_length=200, required=False,
                                   help_text="Source name; defaults to the file name without extensions.")
