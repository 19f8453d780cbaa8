"""Crosswalk's data: people, prompts, judgements, candidate sets, assignments and frozen datasets.

Judgements are append-only records of one person (or one imported source) about one item; curation
never edits them, it adds decisions beside them. Integrity rules live in the database as constraints,
so no code path (admin, API, bulk import) can break them.
"""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

models.CharField.register_lookup(Length)
models.TextField.register_lookup(Length)


class Language(models.Model):
    class Direction(models.TextChoices):
        LTR = "ltr", "left to right"
        RTL = "rtl", "right to left"

    code = models.CharField(max_length=35, unique=True, help_text="BCP-47 tag, e.g. 'en', 'ar', 'zh-Hant'.")
    name = models.CharField(max_length=100)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.LTR)

    class Meta:
        ordering = ["code"]
        constraints = [models.CheckConstraint(condition=Q(code__length__gt=0), name="language_code_not_empty")]

    def __str__(self):
        return f"{self.name} ({self.code})"


class HarmCategory(models.Model):
    """Aya Red-teaming's harm categories (seeded by a migration); curators may add more."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200, unique=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "harm categories"

    def __str__(self):
        return self.name


class AnnotatorProfile(models.Model):
    class Qualification(models.TextChoices):
        PENDING = "pending", "pending"
        QUALIFIED = "qualified", "qualified"
        SUSPENDED = "suspended", "suspended"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    # Exports name annotators by this, never by username or id.
    pseudonym = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    languages = models.ManyToManyField(Language, through="AnnotatorLanguage", related_name="annotators")
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    demographics_opt_in = models.BooleanField(default=False)
    # Only kept (and only exported) when demographics_opt_in is true: age band, gender, etc.
    demographics = models.JSONField(default=dict, blank=True)
    qualification = models.CharField(max_length=20, choices=Qualification.choices, default=Qualification.QUALIFIED)
    ui_language = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(demographics_opt_in=True) | Q(demographics={}),
                name="demographics_only_when_opted_in",
            )
        ]

    def __str__(self):
        return f"profile of {self.user}"


class AnnotatorLanguage(models.Model):
    class Proficiency(models.TextChoices):
        NATIVE = "native", "native"
        FLUENT = "fluent", "fluent"
        WORKING = "working", "working"

    profile = models.ForeignKey(AnnotatorProfile, on_delete=models.CASCADE, related_name="language_skills")
    language = models.ForeignKey(Language, on_delete=models.PROTECT)
    proficiency = models.CharField(max_length=10, choices=Proficiency.choices, default=Proficiency.NATIVE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["profile", "language"], name="one_proficiency_per_language")]


class Origin(models.TextChoices):
    ANNOTATED = "annotated", "annotated in Crosswalk"
    IMPORTED = "imported", "imported from a file"


class Prompt(models.Model):
    text = models.TextField()
    language = models.ForeignKey(Language, on_delete=models.PROTECT, related_name="prompts")
    # The English (pivot) prompt this one parallels; null for English prompts and native-only ones.
    english = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="translations"
    )
    source = models.CharField(max_length=200, blank=True, help_text="Dataset or import this prompt came from.")
    external_id = models.CharField(max_length=200, blank=True, help_text="Id in the source; makes re-import idempotent.")
    metadata = models.JSONField(default=dict, blank=True, help_text="Source columns kept as they were (tags, category).")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="authored_prompts"
    )
    # A gold item: the known answer used to score annotators (annotation/services/assignment.py).
    gold = models.JSONField(
        null=True, blank=True,
        help_text='Known answer for gold items: {"harmful": true|false, "harm_scope": "global"|"local"|"none"} '
                  '(harm_scope optional). A label is correct when it matches every key given.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(text__length__gt=0), name="prompt_text_not_empty"),
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="prompt_unique_external_id"
            ),
            models.CheckConstraint(condition=~Q(english=models.F("id")), name="prompt_not_its_own_english"),
        ]
        indexes = [models.Index(fields=["language", "id"])]

    def __str__(self):
        return f"[{self.language_id}] {self.text[:60]}"


class HarmScope(models.TextChoices):
    GLOBAL = "global", "global harm"
    LOCAL = "local", "local harm"
    NONE = "none", "not harmful"


class HarmLabel(models.Model):
    """One annotator's judgement of one prompt (or the label an imported source carried)."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="labels")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="harm_labels"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ANNOTATED)
    harmful = models.BooleanField()
    harm_scope = models.CharField(max_length=6, choices=HarmScope.choices)
    categories = models.ManyToManyField(HarmCategory, blank=True, related_name="labels")
    explanation = models.TextField(blank=True)
    literal_translation = models.TextField(blank=True)
    semantic_translation = models.TextField(blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "annotator"], condition=Q(annotator__isnull=False), name="one_label_per_annotator"
            ),
            models.UniqueConstraint(
                fields=["prompt"], condition=Q(annotator__isnull=True), name="one_imported_label_per_prompt"
            ),
            # Harmful <=> it has a scope; "not harmful" has none.
            models.CheckConstraint(
                condition=(Q(harmful=True) & ~Q(harm_scope="none")) | (Q(harmful=False) & Q(harm_scope="none")),
                name="harm_scope_matches_harmful",
            ),
            models.CheckConstraint(
                condition=Q(annotator__isnull=False) | Q(origin="imported"), name="annotated_label_has_annotator"
            ),
        ]

    def __str__(self):
        return f"label {self.pk} on prompt {self.prompt_id}"


class SamplingStrategy(models.TextChoices):
    NEGATIVELY_CORRELATED = "negatively-correlated", "negatively correlated (one call, N different answers)"
    INDEPENDENT = "independent", "independent samples"
    IMPORTED = "imported", "imported pair"


class CandidateSet(models.Model):
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="candidate_sets")
    # The conversation before the prompt's turn: [{"role": "user"|"assistant", "content": str}, ...].
    conversation = models.JSONField(default=list, blank=True)
    generator = models.CharField(max_length=300, blank=True, help_text="Backend and model that wrote the candidates.")
    generator_settings = models.JSONField(default=dict, blank=True)
    strategy = models.CharField(max_length=30, choices=SamplingStrategy.choices)
    source = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    diversity = models.FloatField(null=True, blank=True, help_text="Mean pairwise distance between candidates.")
    gold = models.JSONField(
        null=True, blank=True,
        help_text='Known answer for gold items: {"best": position}, a Candidate.position of this set. '
                  'A comparison is correct when its best is that candidate.',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="candidate_set_unique_external_id"
            ),
        ]

    def __str__(self):
        return f"set {self.pk} for prompt {self.prompt_id}"


class Candidate(models.Model):
    candidate_set = models.ForeignKey(CandidateSet, on_delete=models.CASCADE, related_name="candidates")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    # Backend, model, strategy, settings, seed, time and the raw output it was parsed from.
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["candidate_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["candidate_set", "position"], name="candidate_unique_position"),
            models.CheckConstraint(condition=Q(text__length__gt=0), name="candidate_text_not_empty"),
        ]

    def __str__(self):
        return f"candidate {self.position} of set {self.candidate_set_id}"


class Comparison(models.Model):
    """One annotator's judgement of one candidate set (or an imported chosen/rejected pair)."""

    candidate_set = models.ForeignKey(CandidateSet, on_delete=models.CASCADE, related_name="comparisons")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="comparisons"
    )
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.ANNOTATED)
    best = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    worst = models.ForeignKey(Candidate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Optional full ranking, best first, as candidate positions.
    ranking = models.JSONField(default=list, blank=True)
    harmful_positions = models.JSONField(default=list, blank=True)
    none_acceptable = models.BooleanField(default=False)
    rationale = models.TextField(blank=True)
    # The order the candidates were shown in, as positions (shuffled per annotator).
    shown_order = models.JSONField(default=list, blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate_set", "annotator"],
                condition=Q(annotator__isnull=False),
                name="one_comparison_per_annotator",
            ),
            models.CheckConstraint(
                condition=Q(best__isnull=False) | Q(none_acceptable=True), name="comparison_has_best_or_none"
            ),
            models.CheckConstraint(
                condition=Q(worst__isnull=True) | ~Q(worst=models.F("best")), name="comparison_best_is_not_worst"
            ),
            models.CheckConstraint(
                condition=Q(annotator__isnull=False) | Q(origin="imported"), name="annotated_comparison_has_annotator"
            ),
        ]

    def __str__(self):
        return f"comparison {self.pk} of set {self.candidate_set_id}"


class Assignment(models.Model):
    """A lease of one item (a prompt to label, or a set to compare) to one annotator."""

    class Kind(models.TextChoices):
        LABEL = "label", "harm label"
        COMPARE = "compare", "comparison"

    class Status(models.TextChoices):
        LEASED = "leased", "leased"
        SUBMITTED = "submitted", "submitted"
        SKIPPED = "skipped", "skipped"
        EXPIRED = "expired", "expired"
        FLAGGED = "flagged", "flagged as broken"

    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments")
    candidate_set = models.ForeignKey(
        CandidateSet, null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LEASED)
    is_gold = models.BooleanField(default=False)
    leased_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, help_text="Why it was skipped or flagged.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="label", prompt__isnull=False, candidate_set__isnull=True))
                | (Q(kind="compare", prompt__isnull=True, candidate_set__isnull=False)),
                name="assignment_item_matches_kind",
            ),
            # An annotator never gets the same item twice.
            models.UniqueConstraint(
                fields=["annotator", "prompt"], condition=Q(prompt__isnull=False), name="assignment_once_per_prompt"
            ),
            models.UniqueConstraint(
                fields=["annotator", "candidate_set"],
                condition=Q(candidate_set__isnull=False),
                name="assignment_once_per_set",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]


class DatasetSnapshot(models.Model):
    """A named, frozen selection: what export and training read. Never changes after it is made."""

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    filter = models.JSONField(default=dict, blank=True, help_text="The filter that selected the rows.")
    prompts = models.ManyToManyField(Prompt, blank=True, related_name="snapshots")
    harm_labels = models.ManyToManyField(HarmLabel, blank=True, related_name="snapshots")
    comparisons = models.ManyToManyField(Comparison, blank=True, related_name="snapshots")
    row_counts = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    files = models.JSONField(default=dict, blank=True, help_text="Exported files by format.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.name


class CuratorDecision(models.Model):
    """A curator's decision about one item (a prompt or a candidate set), recorded beside its judgements.

    Decisions are appended, never edited: the latest one per item is the item's current curation state.
    """

    class Decision(models.TextChoices):
        ACCEPT = "accept", "accept"
        EXCLUDE = "exclude", "exclude"
        MORE = "more", "send back for more judgements"

    prompt = models.ForeignKey(Prompt, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions")
    candidate_set = models.ForeignKey(
        CandidateSet, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    curator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="curator_decisions")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(prompt__isnull=False, candidate_set__isnull=True)
                | Q(prompt__isnull=True, candidate_set__isnull=False),
                name="decision_on_exactly_one_item",
            ),
        ]

    def __str__(self):
        item = f"prompt {self.prompt_id}" if self.prompt_id else f"set {self.candidate_set_id}"
        return f"{self.decision} {item}"


class AuditLogEntry(models.Model):
    """Who changed what, with the old and new values (Django's admin LogEntry keeps no values)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=50)
    model = models.CharField(max_length=100, help_text="app_label.model")
    object_id = models.CharField(max_length=64, blank=True)
    old = models.JSONField(default=dict, blank=True)
    new = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit log entries"
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self):
        return f"{self.user} {self.action} {self.model} {self.object_id}"
