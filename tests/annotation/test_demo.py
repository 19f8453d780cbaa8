import pytest
from django.core.management import call_command

from annotation.models import CandidateSet, Comparison, HarmLabel, Prompt
from annotation.services.demo import DEMO_ANNOTATORS, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_load_demo_is_idempotent_and_every_user_can_log_in(client, capsys):
    call_command("load_demo", rows=10)
    counts = (Prompt.objects.count(), CandidateSet.objects.count(), Comparison.objects.count(), HarmLabel.objects.count())
    call_command("load_demo", rows=10)
    assert (Prompt.objects.count(), CandidateSet.objects.count(), Comparison.objects.count(),
            HarmLabel.objects.count()) == counts
    assert counts[0] > 50 and counts[1] > 20 and counts[3] == 10
    assert DEMO_PASSWORD in capsys.readouterr().out
    assert Prompt.objects.filter(language__code="ar").exists() and Prompt.objects.filter(language__code="tl").exists()
    for username in ["admin", "curator", *DEMO_ANNOTATORS]:
        assert client.login(username=username, password=DEMO_PASSWORD), username
        assert client.get("/").status_code == 200
        client.logout()
