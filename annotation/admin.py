"""Admin for curators. Issue 5 (curation) builds on this; every text shown here is escaped by Django's admin."""
from django.contrib import admin

from annotation import models


@admin.register(models.Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "direction")
    search_fields = ("code", "name")


@admin.register(models.HarmCategory)
class HarmCategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "order")


class AnnotatorLanguageInline(admin.TabularInline):
    model = models.AnnotatorLanguage
    extra = 0


@admin.register(models.AnnotatorProfile)
class AnnotatorProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "country", "qualification", "demographics_opt_in")
    list_filter = ("qualification", "country", "languages")
    inlines = [AnnotatorLanguageInline]


@admin.register(models.Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("id", "language", "short_text", "source", "external_id", "created_at")
    list_filter = ("language", "source")
    search_fields = ("text", "external_id")
    raw_id_fields = ("english", "author")

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:100]


@admin.register(models.HarmLabel)
class HarmLabelAdmin(admin.ModelAdmin):
    list_display = ("id", "prompt", "annotator", "origin", "harmful", "harm_scope", "created_at")
    list_filter = ("origin", "harmful", "harm_scope", "categories", "prompt__language")
    raw_id_fields = ("prompt", "annotator")


class CandidateInline(admin.StackedInline):
    model = models.Candidate
    extra = 0


@admin.register(models.CandidateSet)
class CandidateSetAdmin(admin.ModelAdmin):
    list_display = ("id", "prompt", "strategy", "generator", "diversity", "created_at")
    list_filter = ("strategy", "source", "prompt__language")
    raw_id_fields = ("prompt",)
    inlines = [CandidateInline]


@admin.register(models.Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ("id", "candidate_set", "annotator", "origin", "none_acceptable", "created_at")
    list_filter = ("origin", "none_acceptable", "candidate_set__prompt__language")
    raw_id_fields = ("candidate_set", "annotator", "best", "worst")


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "annotator", "kind", "status", "is_gold", "leased_at", "expires_at")
    list_filter = ("kind", "status", "is_gold")
    raw_id_fields = ("annotator", "prompt", "candidate_set")


@admin.register(models.DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ("name", "created_by", "created_at", "content_hash")
    readonly_fields = ("row_counts", "content_hash", "files", "created_by", "created_at")
    filter_horizontal = ()
    raw_id_fields = ("prompts", "harm_labels", "comparisons")
