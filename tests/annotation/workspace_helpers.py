"""Small builders for the workspace tests: annotators with languages, prompts and candidate sets."""
from django.contrib.auth import get_user_model

from annotation.models import (
    AnnotatorLanguage,
    AnnotatorProfile,
    Candidate,
    CandidateSet,
    Language,
    Prompt,
)

PASSWORD = "pw-for-tests-only"  # noqa: S105


def annotator(username, codes=("en",)):
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    profile = AnnotatorProfile.objects.create(user=user)
    for code in codes:
        AnnotatorLanguage.objects.create(profile=profile, language=Language.objects.get(code=code))
    return user


def prompts(n, code="en", text="prompt {i}", **kwargs):
    lang = Language.objects.get(code=code)
    return Prompt.objects.bulk_create([Prompt(text=text.format(i=i), language=lang, **kwargs) for i in range(n)])


def candidate_set(prompt, texts=("answer one", "answer two"), **kwargs):
    cs = CandidateSet.objects.create(prompt=prompt, strategy="imported", **kwargs)
    Candidate.objects.bulk_create([Candidate(candidate_set=cs, position=i, text=t) for i, t in enumerate(texts)])
    return cs
