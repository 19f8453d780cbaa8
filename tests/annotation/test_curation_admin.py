"""Issue 5: the curators' admin as a curator uses it (Django's test client): escaping, filters, search, bulk actions,
snapshot freezing, read-only judgements, the audit log and permissions."""
import pytest
from django.urls import reverse

from annotation.models import (
    AnnotatorProfile, AuditLogEntry, Candidate, CandidateSet, Comparison, CuratorDecision, DatasetSnapshot,
    HarmLabel, Language, Prompt,
)
from annotation.services import review
from annotation.services.roles import ANNOTATORS, ensure_groups

from .curation_world import XSS, XSS_ESCAPED, label, make_user, world  # noqa: F401 (fixture)


@pytest.fixture
def xss_world(world):
    """The world plus adversarial red-teaming text in every free-text field a curator sees."""
    sw = Language.objects.get(code="sw")
    evil = Prompt.objects.create(text=f"Tafadhali {XSS}", language=sw, source="evil-src")
    label(evil, world["a1"], "global", ["hate-speech"], explanation=f"because {XSS}")
    label(evil, world["a2"], "local", ["hate-speech"], explanation=XSS)
    cs = CandidateSet.objects.create(prompt=evil, strategy="independent", generator=XSS)
    c0 = Candidate.objects.create(candidate_set=cs, position=0, text=f"answer {XSS}")
    Candidate.objects.create(candidate_set=cs, position=1, text="another answer")
    Comparison.objects.create(candidate_set=cs, annotator=world["a1"], best=c0, rationale=XSS)
    review.decide([evil], CuratorDecision.Decision.MORE, world["curator"], note=XSS)
    from annotation.services.snapshots import freeze_snapshot

    snap = freeze_snapshot("evil-snap", filters={"sources": ["evil-src"]}, user=world["curator"], description=XSS)
    return {**world, "evil": evil, "evil_set": cs, "snap": snap}


@pytest.fixture
def curator_client(client, world):
    client.force_login(world["curator"])
    return client


def _get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_every_admin_page_escapes_red_teaming_text(curator_client, xss_world):
    w = xss_world
    evil_label = HarmLabel.objects.filter(prompt=w["evil"]).first()
    pages = [
        reverse("admin:annotation_prompt_changelist"),
        reverse("admin:annotation_prompt_change", args=[w["evil"].pk]),
        reverse("admin:annotation_harmlabel_changelist"),
        reverse("admin:annotation_harmlabel_change", args=[evil_label.pk]),
        reverse("admin:annotation_candidateset_changelist"),
        reverse("admin:annotation_candidateset_change", args=[w["evil_set"].pk]),
        reverse("admin:annotation_comparison_changelist"),
        reverse("admin:annotation_comparison_change", args=[Comparison.objects.get(rationale=XSS).pk]),
        reverse("admin:annotation_curatordecision_changelist"),
        reverse("admin:annotation_auditlogentry_changelist"),
        reverse("admin:annotation_auditlogentry_change", args=[AuditLogEntry.objects.first().pk]),
        reverse("admin:annotation_datasetsnapshot_changelist"),
        reverse("admin:annotation_datasetsnapshot_change", args=[w["snap"].pk]),
        reverse("admin:annotation_datasetsnapshot_add"),
        reverse("admin:annotation_agreement_report"),
        reverse("admin:annotation_annotatorprofile_changelist"),
        reverse("admin:annotation_assignment_changelist"),
        reverse("admin:training_trainingrun_changelist"),
        reverse("admin:index"),
    ]
    for url in pages:
        html = _get(curator_client, url)
        assert XSS not in html, url
        assert "onerror=alert(1)>" not in html, url
    # The text is shown, escaped, where a curator needs it.
    for url in pages[:8] + [pages[12]]:
        assert XSS_ESCAPED in _get(curator_client, url), url
    # Search results too.
    html = _get(curator_client, reverse("admin:annotation_prompt_changelist"), q="onerror")
    assert XSS not in html and XSS_ESCAPED in html


def test_prompt_change_page_shows_the_split(curator_client, world):
    html = _get(curator_client, reverse("admin:annotation_prompt_change", args=[world["p1"].pk]))
    assert "Split of the judgements" in html
    assert "<td>KE</td>" in html and "<td>EG</td>" in html  # opted-in annotators only
    assert "1 judgement from annotators who did not opt in" in html


def _results(client, admin_name, **params):
    response = client.get(reverse(f"admin:annotation_{admin_name}_changelist"), params)
    assert response.status_code == 200, params
    return set(response.context["cl"].result_list)


def test_filters(curator_client, world):
    w, c = world, curator_client
    assert _results(c, "prompt", agreement="split") == {w["p3"]}
    assert _results(c, "prompt", agreement="majority") == {w["p1"], w["p2"]}
    assert _results(c, "prompt", agreement="single") == {w["p4"]}
    assert _results(c, "prompt", judgements="3") == {w["p1"], w["p2"]}
    assert _results(c, "prompt", judgements="0") == {w["p4"]}
    assert _results(c, "prompt", review="queue") == {w["p1"], w["p2"], w["p3"]}
    assert _results(c, "prompt", flagged="yes") == {w["p4"]}
    assert _results(c, "prompt", gold="yes") == {w["p3"]}
    assert _results(c, "prompt", language__id__exact=Language.objects.get(code="sw").pk) == {w["p1"], w["p2"]}
    assert _results(c, "prompt", labels__harm_scope__exact="local") == {w["p1"], w["p3"], w["p4"]}
    assert _results(c, "prompt", labels__annotator__id__exact=w["a3"].pk) == {w["p1"], w["p2"]}
    assert _results(c, "prompt", source__exact="other-src") == {w["p3"], w["p4"]}
    hate = HarmLabel.categories.field.related_model.objects.get(slug="hate-speech")
    assert _results(c, "prompt", labels__categories__id__exact=hate.pk) == {w["p1"]}
    assert _results(c, "candidateset", agreement="unanimous") == {w["s2"]}
    assert _results(c, "candidateset", review="queue") == {w["s1"]}
    assert len(_results(c, "harmlabel", annotator__id__exact=w["a1"].pk)) == 3
    assert len(_results(c, "harmlabel", source="test-src", harm_scope__exact="global")) == 3
    profiles = {p.user for p in _results(c, "annotatorprofile", gold_score="high")}
    assert profiles == {w["a1"]}
    html = _get(c, reverse("admin:annotation_annotatorprofile_changelist"))
    assert "100% (n=2)" in html and "25% (n=4)" in html  # a1's gold accuracy, a3's agreement with the majority
    for params in ({"created_at__gte": "2000-01-01T00:00:00+00:00"}, {"review": "accept"}, {"flagged": "no"}):
        _results(c, "prompt", **params)


def test_search_in_all_languages(curator_client, world):
    zh, ar = Language.objects.get(code="zh"), Language.objects.get(code="ar")
    en_prompt = Prompt.objects.create(text="How to make a bomb", language=Language.objects.get(code="en"))
    zh_prompt = Prompt.objects.create(text="如何制作炸弹", language=zh, english=en_prompt)
    ar_prompt = Prompt.objects.create(text="كيف أصنع قنبلة", language=ar, english=en_prompt)
    # A prompt is found with its English pivot (the pivot through its translations, and back).
    assert _results(curator_client, "prompt", q="炸弹") == {zh_prompt, en_prompt}
    assert _results(curator_client, "prompt", q="قنبلة") == {ar_prompt, en_prompt}
    assert _results(curator_client, "prompt", q="bomb") == {en_prompt, zh_prompt, ar_prompt}
    assert _results(curator_client, "prompt", q="Jinsi ya") == {world["p1"]}


def _action(client, admin_name, action, ids):
    return client.post(reverse(f"admin:annotation_{admin_name}_changelist"),
                       {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


def test_bulk_actions_record_decisions_beside_judgements(curator_client, world):
    w = world
    labels_before = HarmLabel.objects.count()
    _action(curator_client, "prompt", "accept", [w["p1"].pk, w["p3"].pk])
    _action(curator_client, "prompt", "exclude_items", [w["p2"].pk])
    _action(curator_client, "candidateset", "send_back", [w["s1"].pk])
    assert set(CuratorDecision.objects.values_list("decision", "prompt", "candidate_set")) == {
        ("accept", w["p1"].pk, None), ("accept", w["p3"].pk, None), ("exclude", w["p2"].pk, None),
        ("more", None, w["s1"].pk)}
    assert HarmLabel.objects.count() == labels_before
    assert AuditLogEntry.objects.filter(action__startswith="decision:", user=w["curator"]).count() == 4
    assert _results(curator_client, "prompt", review="queue") == set()


def test_regenerate_action_queues_generation(curator_client, world):
    # issue 4's generation queues a background task (django-tasks' database backend), audited.
    response = _action(curator_client, "candidateset", "regenerate", [world["s2"].pk])
    assert "Queued re-generation for 1 candidate set" in response.content.decode()
    response = _action(curator_client, "prompt", "generate_candidates", [world["p4"].pk])
    assert "Queued candidate generation for 1 prompt" in response.content.decode()
    assert set(AuditLogEntry.objects.values_list("action", flat=True)) >= {"regenerate_candidates",
                                                                          "generate_candidates"}
    # Without it, the admin says what is missing instead of failing.
    from annotation.admin import _generation_function

    function, why = _generation_function("no_such_function")
    assert function is None and "annotation.services.generation.no_such_function is missing" in why


def test_freeze_snapshot_from_the_admin_then_read_only(curator_client, world):
    w, c = world, curator_client
    sw = Language.objects.get(code="sw")
    response = c.post(reverse("admin:annotation_datasetsnapshot_add"), {
        "name": "sw-first", "description": "Swahili, curated", "languages": ["sw"], "curation": "not-excluded",
        "prompt_ids": ""}, follow=True)
    assert response.status_code == 200
    snap = DatasetSnapshot.objects.get(name="sw-first")
    assert snap.created_by == w["curator"] and snap.filter == {"languages": [sw.code], "curation": "not-excluded"}
    assert snap.row_counts["prompts"] == 2 and len(snap.content_hash) == 64
    assert AuditLogEntry.objects.filter(action="freeze_snapshot", object_id=str(snap.pk)).exists()
    # A name can never be reused; an empty selection is refused.
    again = c.post(reverse("admin:annotation_datasetsnapshot_add"), {"name": "sw-first", "curation": "any"})
    assert again.status_code == 200 and DatasetSnapshot.objects.count() == 1
    empty = c.post(reverse("admin:annotation_datasetsnapshot_add"), {"name": "nothing", "curation": "any",
                                                                       "prompt_ids": "999999"})
    assert b"selects no prompts" in empty.content
    # Afterwards: viewed only; change and delete are refused.
    change_url = reverse("admin:annotation_datasetsnapshot_change", args=[snap.pk])
    assert b'name="_save"' not in c.get(change_url).content
    assert c.post(change_url, {"name": "changed", "description": "x"}).status_code == 403
    delete_url = reverse("admin:annotation_datasetsnapshot_delete", args=[snap.pk])
    assert c.post(delete_url, {"post": "yes"}).status_code == 403
    snap.refresh_from_db()
    assert snap.name == "sw-first"
    # The prompt action hands a selection to the freeze form.
    response = _action(c, "prompt", "freeze_selected", [w["p1"].pk, w["p3"].pk])
    assert f'value="{w["p1"].pk},{w["p3"].pk}"' in response.content.decode()


def test_judgements_are_read_only_in_the_admin(curator_client, world):
    lab = HarmLabel.objects.filter(annotator=world["a1"]).first()
    url = reverse("admin:annotation_harmlabel_change", args=[lab.pk])
    html = _get(curator_client, url)
    assert 'name="_save"' not in html
    assert curator_client.post(url, {"harm_scope": "local"}).status_code == 403
    assert curator_client.get(reverse("admin:annotation_harmlabel_add")).status_code == 403
    assert curator_client.post(reverse("admin:annotation_harmlabel_delete", args=[lab.pk]),
                               {"post": "yes"}).status_code == 403
    comp = Comparison.objects.first()
    assert curator_client.post(reverse("admin:annotation_comparison_change", args=[comp.pk]), {}).status_code == 403
    decision = review.decide([world["p1"]], "accept", world["curator"])[0]
    assert curator_client.post(reverse("admin:annotation_curatordecision_change", args=[decision.pk]),
                               {"decision": "exclude"}).status_code == 403
    lab.refresh_from_db()
    assert lab.harm_scope == "global"


def test_admin_changes_are_audited_with_old_and_new_values(curator_client, world):
    profile = AnnotatorProfile.objects.get(user=world["a3"])
    url = reverse("admin:annotation_annotatorprofile_change", args=[profile.pk])
    form = {"user": world["a3"].pk, "country": "PH", "qualification": "suspended", "demographics": "{}",
            "ui_language": "", "language_skills-TOTAL_FORMS": "0", "language_skills-INITIAL_FORMS": "0",
            "language_skills-MIN_NUM_FORMS": "0", "language_skills-MAX_NUM_FORMS": "1000"}
    response = curator_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditLogEntry.objects.get(action="admin:change", model="annotation.annotatorprofile")
    assert entry.user == world["curator"] and entry.object_id == str(profile.pk)
    assert entry.old == {"qualification": "qualified"} and entry.new == {"qualification": "suspended"}


def test_annotators_cannot_reach_the_admin(client, world):
    client.force_login(world["a1"])
    for name in ("admin:index", "admin:annotation_harmlabel_changelist", "admin:annotation_comparison_changelist",
                 "admin:annotation_agreement_report"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"], name
    other = HarmLabel.objects.filter(annotator=world["a2"]).first()
    response = client.get(reverse("admin:annotation_harmlabel_change", args=[other.pk]))
    assert response.status_code == 302
    # Staff without the Curators group's permissions see nothing either.
    groups = ensure_groups()
    staff = make_user("staff-no-perms", groups[ANNOTATORS], staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:annotation_harmlabel_changelist")).status_code == 403
    assert client.get(reverse("admin:annotation_agreement_report")).status_code == 403
    assert _action_status(client, world) == 403


def _action_status(client, world):
    return client.post(reverse("admin:annotation_prompt_changelist"),
                       {"action": "accept", "_selected_action": [str(world["p1"].pk)]}).status_code


def test_user_admin_is_audited_without_passwords(client, db):
    boss = make_user("boss", staff=True, superuser=True)
    client.force_login(boss)
    password = "Xk3!9dlskdjf-long"
    response = client.post(reverse("admin:auth_user_add"), {"username": "newbie", "password1": password,
                                                            "password2": password, "usable_password": "true"})
    assert response.status_code == 302
    entry = AuditLogEntry.objects.get(action="admin:add", model="auth.user")
    assert entry.user == boss and entry.new["username"] == "newbie"
    assert "password" not in entry.new and password not in str(entry.new)
