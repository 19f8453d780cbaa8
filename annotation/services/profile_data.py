"""An annotator's own profile data: what they see about themselves, opt-in demographics, and erasing them.

Demographics are opt-in (the database refuses demographics without the opt-in) and exports name annotators by
their pseudonym only (annotation/services/export.py), never by username or id.
"""
from django.db import transaction

from annotation.models import AnnotatorProfile

# What an annotator may tell about themselves; all optional, all free text (max 100 characters).
DEMOGRAPHIC_KEYS = ("age_band", "gender", "region", "education", "religion", "ethnicity")


def profile_for(user) -> AnnotatorProfile:
    profile, _ = AnnotatorProfile.objects.get_or_create(user=user)
    return profile


@transaction.atomic
def update_profile(profile: AnnotatorProfile, *, opt_in=None, demographics=None, country=None) -> AnnotatorProfile:
    """Opting out erases the demographics at once; demographics given without the opt-in are refused."""
    if opt_in is not None:
        profile.demographics_opt_in = opt_in
    if demographics is not None:
        unknown = set(demographics) - set(DEMOGRAPHIC_KEYS)
        if unknown:
            raise ValueError(f"unknown demographic keys {sorted(unknown)}")
        if demographics and not profile.demographics_opt_in:
            raise ValueError("opt in to share demographics first")
        # Empty answers are not kept: "not said" and "said nothing" are the same.
        profile.demographics = {k: v.strip() for k, v in demographics.items() if v and v.strip()}
    if not profile.demographics_opt_in:
        profile.demographics = {}
    if country is not None:
        profile.country = country.upper()
    profile.save(update_fields=["demographics_opt_in", "demographics", "country"])
    return profile


def erase_profile_data(profile: AnnotatorProfile) -> AnnotatorProfile:
    """Delete what the annotator told about themselves (demographics, country) and withdraw the opt-in.

    Their judgements stay (they are the dataset, exported under the pseudonym only).
    """
    profile.demographics_opt_in, profile.demographics, profile.country = False, {}, ""
    profile.save(update_fields=["demographics_opt_in", "demographics", "country"])
    return profile
