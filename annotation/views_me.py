"""The annotator's own profile page: what Crosswalk keeps about them, the demographics opt-in, and erasing it."""
from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from annotation.permissions import annotator_required
from annotation.services.profile_data import DEMOGRAPHIC_KEYS, erase_profile_data, profile_for, update_profile


class DemographicsForm(forms.Form):
    opt_in = forms.BooleanField(required=False, label=gettext_lazy(
        "I agree to share these answers with my judgements (exports name me only by a pseudonym)"))
    country = forms.RegexField(regex=r"^[A-Za-z]{2}$", required=False, max_length=2,
                               label=gettext_lazy("Country (two letters, e.g. KE)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in DEMOGRAPHIC_KEYS:
            self.fields[key] = forms.CharField(required=False, max_length=100, label=key.replace("_", " "))


@annotator_required
def my_profile(request):
    profile = profile_for(request.user)
    if request.method == "POST" and "erase" in request.POST:
        erase_profile_data(profile)
        messages.success(request, _("Your demographics and country were deleted."))
        return redirect("my_profile")
    if request.method == "POST":
        form = DemographicsForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            answers = {k: d[k] for k in DEMOGRAPHIC_KEYS if d.get(k)}
            update_profile(profile, opt_in=d["opt_in"], demographics=answers if d["opt_in"] else {},
                           country=d["country"])
            messages.success(request, _("Saved."))
            return redirect("my_profile")
    else:
        form = DemographicsForm(initial={"opt_in": profile.demographics_opt_in, "country": profile.country,
                                         **profile.demographics})
    return render(request, "annotation/me/profile.html", {"profile": profile, "form": form,
                                                          "skills": profile.language_skills.select_related("language")})
