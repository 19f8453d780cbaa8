"""A small demo world from ../shared/data: a few languages, prompts, candidate sets and one user per role."""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from annotation.models import AnnotatorLanguage, AnnotatorProfile, Language
from annotation.services.comparison_import import import_comparison_rows
from annotation.services.prompt_import import import_prompt_rows
from annotation.services.readers import read_rows
from annotation.services.roles import ANNOTATORS, CURATORS, ensure_groups

DEMO_PASSWORD = "crosswalk-demo"  # noqa: S105 (printed on the console on purpose: demo data only)
DEMO_LANGUAGES = ["en", "ar", "zh", "sw", "tl"]
DEMO_ANNOTATORS = {  # username -> (languages, country)
    "annotator_en": (["en"], "GB"),
    "annotator_ar": (["ar", "en"], "EG"),
    "annotator_zh": (["zh", "en"], "SG"),
    "annotator_sw": (["sw", "en"], "KE"),
    "annotator_tl": (["tl", "en"], "PH"),
}


def _user(username, *, staff=False, superuser=False, group=None):
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username, defaults={"is_staff": staff, "is_superuser": superuser})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    if group:
        user.groups.add(group)
    return user


@transaction.atomic
def load_demo(data_dir=None, rows=40) -> list[str]:
    """Load (or top up: it is idempotent) the demo world; returns the console lines to show."""
    data = settings.SHARED_DATA_DIR if data_dir is None else data_dir
    lines = []
    multijail = read_rows(data / "MultiJail.csv").head(rows).select(["id", "source", "tags", "en", "zh", "ar", "sw"])
    lines.append("MultiJail: " + import_prompt_rows(multijail, "MultiJail").summary())
    aya = read_rows(data / "aya_redteaming_tgl_local_sample10.csv")
    lines.append("Aya (Filipino, local harm): " + import_prompt_rows(aya, "aya_redteaming_tgl_local_sample10").summary())
    mpo = read_rows(data / "mpo_gemma2_en_to_6langs.json").head(rows * 3)
    lines.append("MPO pairs: " + import_comparison_rows(mpo, "mpo_gemma2_en_to_6langs").summary())
    hh = read_rows(data / "hh-rlhf_harmless-base_test.jsonl.gz").head(rows)
    lines.append("hh-rlhf pairs: " + import_comparison_rows(hh, "hh-rlhf_harmless-base_test", language="en",
                                                             skip_invalid=True).summary())

    groups = ensure_groups()
    _user("admin", staff=True, superuser=True)
    _user("curator", staff=True, group=groups[CURATORS])
    for username, (codes, country) in DEMO_ANNOTATORS.items():
        user = _user(username, group=groups[ANNOTATORS])
        profile, _ = AnnotatorProfile.objects.get_or_create(user=user, defaults={"country": country})
        for i, code in enumerate(codes):
            AnnotatorLanguage.objects.get_or_create(
                profile=profile, language=Language.objects.get(code=code),
                defaults={"proficiency": "native" if i == 0 else "fluent"})
    lines.append(f"Users (password for all: {DEMO_PASSWORD}): admin (admin), curator (curator), "
                 + ", ".join(f"{u} ({'/'.join(c)})" for u, (c, _) in DEMO_ANNOTATORS.items()))
    return lines
