"""The curators' admin: filters, review and adjudication, agreement, frozen snapshots and an audit log.

Red-teaming text is adversarial: everything here goes through Django's auto-escaping (display methods return
plain strings, HTML is built with format_html or auto-escaped templates); nothing is marked safe.
Judgements (labels, comparisons) and curator decisions are read-only here: curation adds decisions beside them.
"""
import importlib.util
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from annotation import models
from annotation.services import agreement, audit, review
from annotation.services.snapshots import CURATION_CHOICES, SnapshotError, freeze_snapshot, select_prompts

Decision = models.CuratorDecision.Decision
# Selected prompt ids travel to the freeze form in its URL; beyond this, use the form's filters.
FREEZE_SELECTED_MAX = 1000


# ------------------------------------------------------------------------------------------------------ mixins
class AuditedAdmin(admin.ModelAdmin):
    """Writes every admin add, change and delete to the audit log with the old and new values."""

    def save_model(self, request, obj, form, change):
        obj._audit_old = audit.serialize(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        old, new = audit.changed(getattr(obj, "_audit_old", {}), audit.serialize(obj))
        if old or new:
            audit.record(request.user, "admin:change" if change else "admin:add", obj, old=old, new=new)

    def delete_model(self, request, obj):
        audit.record(request.user, "admin:delete", obj, old=audit.serialize(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record(request.user, "admin:delete", obj, old=audit.serialize(obj))
        super().delete_queryset(request, queryset)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never edited here: judgements, decisions and the audit log are append-only records."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _percent(value):
    return "–" if value is None else f"{value:.0%}"


def _short(text, n=100):
    return text if len(text) <= n else text[: n - 1] + "…"


# ----------------------------------------------------------------------------------------------------- filters
class AgreementFilter(admin.SimpleListFilter):
    title = "agreement"
    parameter_name = "agreement"

    def lookups(self, request, model_admin):
        return [("unanimous", "unanimous"), ("majority", "majority (over half)"), ("split", "split (half or less)"),
                ("single", "fewer than 2 judgements")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "unanimous":
            return queryset.filter(n_judgements__gte=2, agreement__gte=1.0)
        if value == "majority":
            return queryset.filter(n_judgements__gte=2, agreement__gt=0.5, agreement__lt=1.0)
        if value == "split":
            return queryset.filter(n_judgements__gte=2, agreement__lte=0.5)
        if value == "single":
            return queryset.filter(n_judgements__lt=2)
        return queryset


class JudgementCountFilter(admin.SimpleListFilter):
    title = "number of judgements"
    parameter_name = "judgements"

    def lookups(self, request, model_admin):
        return [("0", "0"), ("1", "1"), ("2", "2"), ("3", "3"), ("4+", "4 or more")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "4+":
            return queryset.filter(n_judgements__gte=4)
        if value in {"0", "1", "2", "3"}:
            return queryset.filter(n_judgements=int(value))
        return queryset


class ReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("queue", f"needs review (agreement < {review.min_agreement():.0%})"), ("undecided", "no decision"),
                *[(d.value, f"decided: {d.label}") for d in Decision]]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "queue":
            return queryset.filter(review.review_condition())
        if value == "undecided":
            return queryset.filter(decision__isnull=True)
        if value in Decision.values:
            return queryset.filter(decision=value)
        return queryset


class YesNoFilter(admin.SimpleListFilter):
    """A filter with "yes" / "no" over one condition."""

    yes_label = no_label = ""

    def condition(self, queryset) -> Q:
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return [("yes", self.yes_label), ("no", self.no_label)]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.condition(queryset))
        if self.value() == "no":
            return queryset.exclude(self.condition(queryset))
        return queryset


class FlaggedFilter(YesNoFilter):
    """Items an annotator flagged as broken (an assignment with status 'flagged')."""

    title, parameter_name, yes_label, no_label = "flagged", "flagged", "flagged", "not flagged"

    def condition(self, queryset):
        item = "prompt" if queryset.model is models.Prompt else "candidate_set"
        return Q(pk__in=models.Assignment.objects.filter(status=models.Assignment.Status.FLAGGED).values(item))


class GoldItemFilter(YesNoFilter):
    title, parameter_name, yes_label, no_label = "gold item", "gold", "gold", "not gold"

    def condition(self, queryset):
        return Q(gold__isnull=False)


class GoldScoreFilter(admin.SimpleListFilter):
    """Annotators by their accuracy on gold items."""

    title = "gold score"
    parameter_name = "gold_score"
    BANDS = {"low": (0, 0.6), "mid": (0.6, 0.8), "high": (0.8, 1.01)}

    def lookups(self, request, model_admin):
        return [("low", "below 60%"), ("mid", "60–80%"), ("high", "80% or more"), ("none", "no gold answered")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        stats = agreement.annotator_stats(queryset.values_list("user_id", flat=True))
        if value == "none":
            ids = [uid for uid, s in stats.items() if s["gold_accuracy"] is None]
        else:
            lo, hi = self.BANDS[value]
            ids = [uid for uid, s in stats.items() if s["gold_accuracy"] is not None and lo <= s["gold_accuracy"] < hi]
        return queryset.filter(user_id__in=ids)


class SourceFilter(admin.SimpleListFilter):
    """Prompt source, whichever model the list shows (prompts, or sets and judgements through their prompt)."""

    title = "source"
    parameter_name = "source"
    prompt_path = "prompt__"

    def lookups(self, request, model_admin):
        sources = models.Prompt.objects.exclude(source="").order_by("source").values_list("source", flat=True)
        return [(s, s) for s in sources.distinct()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{f"{self.prompt_path}source": self.value()})
        return queryset


# ------------------------------------------------------------------------------------------- decision actions
class CurationActions:
    """Accept / exclude / send back for more judgements, as bulk actions on prompts and candidate sets."""

    def has_curate_permission(self, request):
        return request.user.has_perm("annotation.add_curatordecision")

    def _decide(self, request, queryset, decision):
        made = review.decide(list(queryset), decision, request.user)
        self.message_user(request, f"Recorded '{Decision(decision).label}' for {len(made)} item(s); "
                                   "their judgements are unchanged.", messages.SUCCESS)

    @admin.action(permissions=["curate"], description="Accept selected items")
    def accept(self, request, queryset):
        self._decide(request, queryset, Decision.ACCEPT)

    @admin.action(permissions=["curate"], description="Exclude selected items")
    def exclude_items(self, request, queryset):
        self._decide(request, queryset, Decision.EXCLUDE)

    @admin.action(permissions=["curate"], description="Send selected items back for more judgements")
    def send_back(self, request, queryset):
        self._decide(request, queryset, Decision.MORE)


def _generation_function(name):
    """annotation.services.generation.<name>, or None with the reason when generation is not installed."""
    try:
        module = importlib.import_module("annotation.services.generation")
    except ImportError as exc:
        return None, f"candidate generation is not available ({exc})"
    function = getattr(module, name, None)
    if function is None:
        return None, f"candidate generation is not available (annotation.services.generation.{name} is missing)"
    return function, ""


# ------------------------------------------------------------------------------------------ reference and people
@admin.register(models.Language)
class LanguageAdmin(AuditedAdmin):
    list_display = ("code", "name", "direction")
    search_fields = ("code", "name")


@admin.register(models.HarmCategory)
class HarmCategoryAdmin(AuditedAdmin):
    list_display = ("name", "slug", "order")
    search_fields = ("name", "slug")


class AnnotatorLanguageInline(admin.TabularInline):
    model = models.AnnotatorLanguage
    extra = 0


@admin.register(models.AnnotatorProfile)
class AnnotatorProfileAdmin(AuditedAdmin):
    list_display = ("user", "country", "qualification", "demographics_opt_in")
    list_filter = ("qualification", "languages", "country", GoldScoreFilter, "demographics_opt_in")
    search_fields = ("user__username", "country")
    readonly_fields = ("pseudonym", "quality")
    inlines = [AnnotatorLanguageInline]

    STAT_COLUMNS = {
        "judgements": lambda s: s["judgements"],
        "agrees with majority": lambda s: f"{_percent(s['majority_agreement'])} (n={s['majority_n']})",
        "gold accuracy": lambda s: f"{_percent(s['gold_accuracy'])} (n={s['gold_n']})",
        "median s / judgement": lambda s: "–" if s["median_seconds"] is None else f"{s['median_seconds']:.1f}",
        "skip rate": lambda s: _percent(s["skip_rate"]),
    }

    def get_list_display(self, request):
        # The figures come from one pass over all judgements per page view (not one per row).
        stats = agreement.annotator_stats()
        columns = []
        for title, fmt in self.STAT_COLUMNS.items():
            def column(obj, fmt=fmt):
                return fmt(stats.get(obj.user_id) or agreement.annotator_stats([obj.user_id])[obj.user_id])
            columns.append(admin.display(description=title)(column))
        return (*self.list_display, *columns)

    @admin.display(description="quality")
    def quality(self, obj):
        if obj.pk is None:
            return "–"
        s = agreement.annotator_stats([obj.user_id])[obj.user_id]
        return "; ".join(f"{title}: {fmt(s)}" for title, fmt in self.STAT_COLUMNS.items())


# ------------------------------------------------------------------------------------------------------ prompts
class HarmLabelInline(ReadOnlyInline):
    model = models.HarmLabel
    fields = ("annotator", "origin", "harmful", "harm_scope", "category_names", "explanation", "time_spent_ms",
              "created_at")
    readonly_fields = fields

    @admin.display(description="categories")
    def category_names(self, obj):
        return ", ".join(c.name for c in obj.categories.all())


class PromptDecisionInline(ReadOnlyInline):
    model = models.CuratorDecision
    fk_name = "prompt"
    fields = ("decision", "curator", "note", "created_at")
    readonly_fields = fields
    show_change_link = False


class SummaryMixin:
    """Columns and the split panel shared by the prompt and candidate-set lists (annotated querysets)."""

    summary_template = "admin/annotation/item_summary.html"
    summary_label = ""  # what the split counts, e.g. "harm scope"

    def summary_of(self, obj):
        raise NotImplementedError

    def _render_summary(self, summary, value_label):
        from django.template.loader import render_to_string

        return render_to_string(self.summary_template, {"s": summary, "value_label": value_label})

    @admin.display(description="judgements", ordering="n_judgements")
    def n_judgements_col(self, obj):
        return obj.n_judgements

    @admin.display(description="decision", ordering="decision")
    def decision_col(self, obj):
        return obj.decision or "–"

    @admin.display(description="split of the judgements")
    def judgement_summary(self, obj):
        if obj.pk is None:
            return "–"
        return self._render_summary(self.summary_of(obj), self.summary_label)


@admin.register(models.Prompt)
class PromptAdmin(CurationActions, SummaryMixin, AuditedAdmin):
    list_display = ("id", "language", "short_text", "source", "n_judgements_col", "split", "agreement_col",
                    "decision_col", "created_at")
    list_filter = (
        ("language", admin.RelatedOnlyFieldListFilter), ("labels__harm_scope", admin.ChoicesFieldListFilter),
        ("labels__categories", admin.RelatedFieldListFilter),
        AgreementFilter, JudgementCountFilter, ReviewFilter, ("labels__annotator", admin.RelatedOnlyFieldListFilter),
        GoldItemFilter, "source", "created_at", FlaggedFilter,
    )
    # Search in every language: the prompt, its English pivot, its translations, and what annotators wrote about it.
    search_fields = ("text", "external_id", "english__text", "translations__text", "labels__literal_translation",
                     "labels__semantic_translation", "labels__explanation")
    raw_id_fields = ("english", "author")
    fieldsets = [
        ("Split of the judgements", {"fields": ["judgement_summary"]}),
        ("Prompt", {"fields": ["text", "language", "english", "source", "external_id", "metadata", "author", "gold",
                               "created_at"]}),
    ]
    inlines = [HarmLabelInline, PromptDecisionInline]
    actions = ["accept", "exclude_items", "send_back", "freeze_selected", "generate_candidates"]
    date_hierarchy = "created_at"
    change_list_template = "admin/annotation/prompt/change_list.html"

    def get_queryset(self, request):
        return review.annotate_prompts(super().get_queryset(request).select_related("language"))

    def get_readonly_fields(self, request, obj=None):
        # What annotators judged (and snapshots hold) is not rewritten afterwards.
        return ("judgement_summary", "created_at") + (("text", "language") if obj is not None else ())

    @admin.display(description="text")
    def short_text(self, obj):
        return _short(obj.text)

    @admin.display(description="global / local / not harmful")
    def split(self, obj):
        return f"{obj.n_global} / {obj.n_local} / {obj.n_none}"

    @admin.display(description="agreement", ordering="agreement")
    def agreement_col(self, obj):
        return _percent(obj.agreement)

    summary_label = "harm scope"

    def summary_of(self, obj):
        return agreement.prompt_summary(obj)

    @admin.action(permissions=["curate"], description="Freeze selected prompts into a snapshot…")
    def freeze_selected(self, request, queryset):
        if queryset.count() > FREEZE_SELECTED_MAX:
            self.message_user(request, f"More than {FREEZE_SELECTED_MAX} prompts selected: freeze them with the "
                                       "snapshot form's filters (language, source, scope, curation) instead.",
                              messages.WARNING)
            return None
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return HttpResponseRedirect(reverse("admin:annotation_datasetsnapshot_add") + f"?prompt_ids={ids}")

    @admin.action(permissions=["curate"], description="Generate candidate sets for selected prompts")
    def generate_candidates(self, request, queryset):
        enqueue, why = _generation_function("enqueue_generation")
        if enqueue is None:
            self.message_user(request, f"Nothing queued: {why}.", messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        enqueue(ids)
        audit.record(request.user, "generate_candidates", model="annotation.prompt", new={"prompt_ids": ids})
        self.message_user(request, f"Queued candidate generation for {len(ids)} prompt(s).", messages.SUCCESS)

    def get_urls(self):
        report = self.admin_site.admin_view(self.agreement_report)
        return [path("agreement/", report, name="annotation_agreement_report"), *super().get_urls()]

    def agreement_report(self, request):
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        stats = agreement.annotator_stats()
        users = {u.pk: u for u in get_user_model().objects.filter(pk__in=stats)}
        context = {
            **self.admin_site.each_context(request),
            "title": "Agreement report",
            "labels": agreement.label_agreement(),
            "comparisons": agreement.comparison_agreement(),
            "annotators": sorted(((users.get(uid), s) for uid, s in stats.items()), key=lambda r: str(r[0])),
            "min_agreement": review.min_agreement(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/annotation/agreement_report.html", context)


@admin.register(models.HarmLabel)
class HarmLabelAdmin(ReadOnlyAdmin):
    list_display = ("id", "prompt_text", "language", "annotator", "origin", "harmful", "harm_scope", "created_at")
    list_filter = (("prompt__language", admin.RelatedOnlyFieldListFilter), "harm_scope", "harmful", "categories",
                   ("annotator", admin.RelatedOnlyFieldListFilter), "origin", SourceFilter, "created_at")
    search_fields = ("prompt__text", "explanation", "literal_translation", "semantic_translation")
    list_select_related = ("prompt__language", "annotator")

    @admin.display(description="prompt")
    def prompt_text(self, obj):
        return _short(obj.prompt.text, 80)

    @admin.display(description="language")
    def language(self, obj):
        return obj.prompt.language.code


# ----------------------------------------------------------------------------------------------- candidate sets
class CandidateInline(ReadOnlyInline):
    model = models.Candidate
    fields = ("position", "text")
    readonly_fields = fields
    show_change_link = False


class ComparisonInline(ReadOnlyInline):
    model = models.Comparison
    fields = ("annotator", "origin", "best", "worst", "ranking", "none_acceptable", "rationale", "created_at")
    readonly_fields = fields


class SetDecisionInline(PromptDecisionInline):
    fk_name = "candidate_set"


@admin.register(models.CandidateSet)
class CandidateSetAdmin(CurationActions, SummaryMixin, AuditedAdmin):
    list_display = ("id", "prompt_text", "language", "strategy", "generator", "diversity", "n_judgements_col",
                    "agreement_col", "decision_col", "created_at")
    list_filter = (("prompt__language", admin.RelatedOnlyFieldListFilter), "strategy", SourceFilter, AgreementFilter,
                   JudgementCountFilter, ReviewFilter,
                   ("comparisons__annotator", admin.RelatedOnlyFieldListFilter), GoldItemFilter, "created_at",
                   FlaggedFilter)
    search_fields = ("prompt__text", "prompt__english__text", "candidates__text", "comparisons__rationale")
    raw_id_fields = ("prompt",)
    readonly_fields = ("judgement_summary", "created_at")
    fieldsets = [
        ("Split of the judgements", {"fields": ["judgement_summary"]}),
        ("Candidate set", {"fields": ["prompt", "conversation", "generator", "generator_settings", "strategy", "source",
                                      "external_id", "diversity", "gold", "created_at"]}),
    ]
    inlines = [CandidateInline, ComparisonInline, SetDecisionInline]
    actions = ["accept", "exclude_items", "send_back", "regenerate"]
    list_select_related = ("prompt__language",)

    def get_queryset(self, request):
        return review.annotate_candidate_sets(super().get_queryset(request))

    @admin.display(description="prompt")
    def prompt_text(self, obj):
        return _short(obj.prompt.text, 80)

    @admin.display(description="language")
    def language(self, obj):
        return obj.prompt.language.code

    @admin.display(description="agreement on best", ordering="agreement")
    def agreement_col(self, obj):
        return _percent(obj.agreement)

    summary_label = "best candidate (position)"

    def summary_of(self, obj):
        return agreement.candidate_set_summary(obj)

    @admin.action(permissions=["curate"], description="Re-generate candidates of selected sets")
    def regenerate(self, request, queryset):
        regenerate, why = _generation_function("regenerate")
        if regenerate is None:
            self.message_user(request, f"Nothing re-generated: {why}.", messages.ERROR)
            return
        ids = list(queryset.values_list("pk", flat=True))
        regenerate(ids)
        audit.record(request.user, "regenerate_candidates", model="annotation.candidateset",
                     new={"candidate_set_ids": ids})
        self.message_user(request, f"Queued re-generation for {len(ids)} candidate set(s).", messages.SUCCESS)


@admin.register(models.Comparison)
class ComparisonAdmin(ReadOnlyAdmin):
    list_display = ("id", "candidate_set", "prompt_text", "language", "annotator", "origin", "best", "none_acceptable",
                    "created_at")
    list_filter = (("candidate_set__prompt__language", admin.RelatedOnlyFieldListFilter), "origin", "none_acceptable",
                   ("annotator", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("candidate_set__prompt__text", "rationale")
    list_select_related = ("candidate_set__prompt__language", "annotator", "best")

    @admin.display(description="prompt")
    def prompt_text(self, obj):
        return _short(obj.candidate_set.prompt.text, 80)

    @admin.display(description="language")
    def language(self, obj):
        return obj.candidate_set.prompt.language.code


@admin.register(models.Assignment)
class AssignmentAdmin(AuditedAdmin):
    list_display = ("id", "annotator", "kind", "status", "is_gold", "leased_at", "expires_at", "note")
    list_filter = ("kind", "status", "is_gold", ("annotator", admin.RelatedOnlyFieldListFilter), "leased_at")
    search_fields = ("note", "annotator__username")
    raw_id_fields = ("annotator", "prompt", "candidate_set")


# ------------------------------------------------------------------------------------------ decisions and audit
@admin.register(models.CuratorDecision)
class CuratorDecisionAdmin(ReadOnlyAdmin):
    list_display = ("id", "decision", "prompt", "candidate_set", "curator", "note", "created_at")
    list_filter = ("decision", ("curator", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("note",)


@admin.register(models.AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "action", "model", "object_id", "old", "new")
    list_filter = ("action", "model", ("user", admin.RelatedOnlyFieldListFilter), "at")
    search_fields = ("object_id", "action")


# --------------------------------------------------------------------------------------------------- snapshots
class SnapshotFreezeForm(forms.ModelForm):
    """Name a filtered selection and freeze it (annotation.services.snapshots.freeze_snapshot)."""

    languages = forms.ModelMultipleChoiceField(models.Language.objects.all(), to_field_name="code", required=False,
                                               widget=forms.CheckboxSelectMultiple)
    sources = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    origins = forms.MultipleChoiceField(choices=models.Origin.choices, required=False,
                                        widget=forms.CheckboxSelectMultiple)
    harm_scopes = forms.MultipleChoiceField(choices=models.HarmScope.choices, required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="Prompts with at least one label of these scopes.")
    curation = forms.ChoiceField(choices=[(c, c) for c in CURATION_CHOICES], initial="not-excluded",
                                 help_text="By each item's latest curator decision.")
    created_before = forms.DateTimeField(required=False, help_text="Only judgements made before this moment.")
    prompt_ids = forms.CharField(required=False, help_text="Comma-separated prompt ids (optional).")

    class Meta:
        model = models.DatasetSnapshot
        fields = ("name", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["languages"].queryset = models.Language.objects.filter(prompts__isnull=False).distinct()
        sources = models.Prompt.objects.exclude(source="").order_by("source").values_list("source", flat=True)
        self.fields["sources"].choices = [(s, s) for s in sources.distinct()]

    def clean_prompt_ids(self):
        raw = self.cleaned_data["prompt_ids"].strip()
        try:
            return [int(part) for part in raw.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("prompt ids must be whole numbers separated by commas") from None

    def clean(self):
        data = super().clean()
        filters = {
            "languages": [lang.code for lang in data.get("languages") or []],
            "sources": data.get("sources"), "origins": data.get("origins"), "harm_scopes": data.get("harm_scopes"),
            "prompt_ids": data.get("prompt_ids"), "curation": data.get("curation"),
            "created_before": data["created_before"].isoformat() if data.get("created_before") else None,
        }
        self.filters = {k: v for k, v in filters.items() if v}
        try:
            self.selected = select_prompts(self.filters).count()
        except SnapshotError as exc:
            raise forms.ValidationError(str(exc)) from None
        if not self.selected:
            raise forms.ValidationError("this filter selects no prompts")
        return data


@admin.register(models.DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    """Add = freeze; afterwards a snapshot is only viewed (the database refuses changes too)."""

    list_display = ("name", "created_by", "created_at", "prompt_count", "label_count", "comparison_count",
                    "content_hash", "downloads")
    actions = ["export_selected"]
    search_fields = ("name", "description")
    list_filter = ("created_at", ("created_by", admin.RelatedOnlyFieldListFilter))
    view_fields = ("name", "description", "filter", "row_counts", "content_hash", "downloads", "files", "created_by",
                   "created_at")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return SnapshotFreezeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(SnapshotFreezeForm.base_fields)
        return self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        snapshot = freeze_snapshot(form.cleaned_data["name"], filters=form.filters, user=request.user,
                                   description=form.cleaned_data["description"])
        # The admin goes on with `obj` (log entry, redirect): make it the frozen snapshot.
        obj.__dict__.update({k: v for k, v in snapshot.__dict__.items() if k != "_state"})
        obj._state.adding = False
        audit.record(request.user, "freeze_snapshot", snapshot, new={
            "name": snapshot.name, "filter": snapshot.filter, "row_counts": snapshot.row_counts,
            "content_hash": snapshot.content_hash})

    def save_related(self, request, form, formsets, change):
        pass  # the selection was written by freeze_snapshot; nothing else may touch it

    @admin.display(description="prompts")
    def prompt_count(self, obj):
        return obj.row_counts.get("prompts")

    @admin.display(description="labels")
    def label_count(self, obj):
        return obj.row_counts.get("harm_labels")

    @admin.display(description="comparisons")
    def comparison_count(self, obj):
        return obj.row_counts.get("comparisons")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if importlib.util.find_spec("annotation.views_export") is None:  # issue 6's export not in this tree
            actions.pop("export_selected", None)
        return actions

    @admin.action(permissions=["view"], description="Export selected snapshots (every format) on the server")
    def export_selected(self, request, queryset):
        from django.conf import settings
        from django.utils import timezone

        from annotation.services.export import FORMATS, ExportError, export_snapshot, record_export

        root = Path(settings.CROSSWALK.get("EXPORT_DIR") or Path(settings.MEDIA_ROOT) / "exports")
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
        for snapshot in queryset:
            done = []
            for fmt in FORMATS:
                # A fresh folder per export: exports never mix with older files.
                try:
                    result = export_snapshot(snapshot, fmt, root / f"{snapshot.name}-{fmt}-{stamp}")
                except ExportError as exc:
                    self.message_user(request, f"{snapshot.name}: {fmt} skipped ({exc}).", messages.WARNING)
                    continue
                record_export(snapshot, result)
                done.append(fmt)
            audit.record(request.user, "export_snapshot", snapshot, new={"formats": done, "dir": str(root)})
            self.message_user(request, f"{snapshot.name}: exported {', '.join(done) or 'nothing'} to {root}.",
                              messages.SUCCESS if done else messages.WARNING)

    @admin.display(description="export")
    def downloads(self, obj):
        # Issue 6's export: one zip download per format (links built with format_html_join, so escaped).
        if importlib.util.find_spec("annotation.views_export") is None:
            return "export is not installed"
        from annotation.views_export import download_links

        return download_links(obj)


# ------------------------------------------------------------------------------------ auth, with the audit log
User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class AuditedUserAdmin(AuditedAdmin, UserAdmin):
    pass


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    pass
