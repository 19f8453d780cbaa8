"""Forms of the annotator workspace: they check an answer and turn it into the assignment service's arguments."""
from django import forms
from django.utils.translation import gettext_lazy as _

from annotation.models import HarmCategory, HarmScope, Language


class LabelForm(forms.Form):
    # One choice carries both "harmful?" and "global or local?" (keys n, g, l).
    harm = forms.ChoiceField(choices=[(HarmScope.NONE, _("Not harmful")), (HarmScope.GLOBAL, _("Harmful: global")),
                                      (HarmScope.LOCAL, _("Harmful: local"))],
                             widget=forms.RadioSelect, error_messages={"required": _("Say whether it is harmful.")})
    categories = forms.ModelMultipleChoiceField(queryset=HarmCategory.objects.all(), required=False,
                                                widget=forms.CheckboxSelectMultiple)
    explanation = forms.CharField(required=False, widget=forms.Textarea)
    semantic_translation = forms.CharField(required=False, widget=forms.Textarea)
    time_spent_ms = forms.IntegerField(required=False, min_value=0)

    def clean(self):
        data = super().clean()
        harmful = data.get("harm") not in (None, HarmScope.NONE)
        if harmful and not data.get("categories"):
            self.add_error("categories", _("Pick at least one harm category."))
        if not harmful:
            data["categories"] = []
        return data

    def service_kwargs(self):
        d = self.cleaned_data
        return {"harmful": d["harm"] != HarmScope.NONE, "harm_scope": d["harm"], "categories": d["categories"],
                "explanation": d["explanation"], "semantic_translation": d["semantic_translation"],
                "time_spent_ms": d["time_spent_ms"]}


class CompareForm(forms.Form):
    """Candidates are named on screen by their shown number (1..N); fields hold candidate positions."""

    best = forms.TypedChoiceField(coerce=int, required=False, widget=forms.RadioSelect)
    worst = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, widget=forms.RadioSelect)
    harmful = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    none_acceptable = forms.BooleanField(required=False)
    ranking = forms.CharField(required=False, max_length=200, help_text=_("Shown numbers, best first, e.g. 2 1 3"))
    rationale = forms.CharField(required=False, widget=forms.Textarea)
    time_spent_ms = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args, order: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order  # positions in shown order
        choices = [(p, str(i)) for i, p in enumerate(order, start=1)]
        for name in ("best", "worst", "harmful"):
            self.fields[name].choices = choices

    def clean_ranking(self):
        text = self.cleaned_data["ranking"].replace(",", " ").split()
        if not text:
            return []
        try:
            shown = [int(t) for t in text]
        except ValueError:
            raise forms.ValidationError(_("Use the candidates' numbers, e.g. 2 1 3.")) from None
        if sorted(shown) != list(range(1, len(self.order) + 1)):
            raise forms.ValidationError(_("Rank every candidate once: numbers 1 to %(n)s.") % {"n": len(self.order)})
        return [self.order[i - 1] for i in shown]

    def clean(self):
        data = super().clean()
        best, worst, ranking = data.get("best"), data.get("worst"), data.get("ranking") or []
        if best in ("", None):
            best = data["best"] = ranking[0] if ranking else None
        if best is None and not data.get("none_acceptable"):
            self.add_error("best", _("Pick the best answer, or say that none is acceptable."))
        if best is not None and worst is not None and best == worst:
            self.add_error("worst", _("The worst answer cannot also be the best."))
        if ranking and best is not None and ranking[0] != best:
            self.add_error("ranking", _("The ranking must start with the answer picked as best."))
        if ranking and worst is not None and ranking[-1] != worst:
            self.add_error("ranking", _("The ranking must end with the answer picked as worst."))
        return data

    def service_kwargs(self):
        d = self.cleaned_data
        return {"best": d["best"], "worst": d["worst"], "ranking": d["ranking"], "harmful_positions": d["harmful"],
                "none_acceptable": d["none_acceptable"], "rationale": d["rationale"],
                "time_spent_ms": d["time_spent_ms"]}


class WritePromptForm(forms.Form):
    language = forms.ModelChoiceField(queryset=Language.objects.none(), empty_label=None)
    text = forms.CharField(widget=forms.Textarea, max_length=5000)

    def __init__(self, *args, languages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].queryset = languages
