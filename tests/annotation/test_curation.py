"""Issue 5: agreement from the database, the review flow, per-item summaries and frozen snapshots."""
import pytest
from django.db import transaction
from django.db.models import ProtectedError

from annotation.models import AuditLogEntry, CuratorDecision, DatasetSnapshot, HarmLabel
from annotation.services import agreement, review
from annotation.services.immutability import FrozenSnapshotError
from annotation.services.snapshots import freeze_snapshot, verify_snapshot

from .curation_world import label, world  # noqa: F401 (fixture)


def test_label_agreement_hand_worked(world):
    result = agreement.label_agreement()
    overall = result["overall"]
    # harmful/not units: p1 [T,T,T], p2 [F,F,T], p3 [T,T]: n_T=6, n_F=2, n=8; disagreeing pairs (p2) = 2;
    # expected = 64 - 36 - 4 = 24; alpha = 1 - 7 * 2 / 24 = 10/24.
    assert overall["harmful_alpha"] == pytest.approx(10 / 24)
    # global/local over harmful labels: p1 [g,g,l], p2 [g] (unpairable), p3 [g,l]: n_g=3, n_l=2, n=5;
    # disagreeing = 2 + 2 = 4; expected = 25 - 9 - 4 = 12; alpha = 1 - 4 * 4 / 12 = -1/3.
    assert overall["scope_alpha"] == pytest.approx(-1 / 3)
    # categories, per category over harmful labels: violence p1 [T,T,F], p3 [F,F] -> 1 - 4*2/12 = 1/3; hate the same.
    assert overall["categories_alpha_by_category"] == pytest.approx(
        {"violence-threats-incitement": 1 / 3, "hate-speech": 1 / 3})
    assert overall["categories_alpha"] == pytest.approx(1 / 3)
    assert overall["items"] == 3 and overall["labels"] == 8  # the imported label does not count
    # Swahili only: p1 [T,T,T], p2 [F,F,T]: n=6, expected = 36 - 16 - 4 = 16; alpha = 1 - 5 * 2 / 16.
    assert result["by_language"]["sw"]["harmful_alpha"] == pytest.approx(1 - 10 / 16)
    assert set(result["by_language"]) == {"sw", "en"}


def test_comparison_agreement_hand_worked(world):
    overall = agreement.comparison_agreement()["overall"]
    # best: s1 [0,0,1], s2 [0,0,0]: n_0=5, n_1=1, n=6; disagreeing 2; expected 36-25-1=10; alpha = 1 - 5*2/10 = 0.
    assert overall["best_alpha"] == pytest.approx(0.0)
    assert overall["best_percent"] == pytest.approx(4 / 6)
    # pairwise: s1 (0,1) [0,0,1], (0,2) [0,0,0], (1,2) [1,2,1]; s2 (0,1) [0,0,0]:
    # n_0=8, n_1=3, n_2=1, n=12; disagreeing 4; expected 144-64-9-1=70; alpha = 1 - 11*4/70.
    assert overall["pairwise_alpha"] == pytest.approx(1 - 44 / 70)
    assert overall["pairwise_percent"] == pytest.approx(8 / 12)


def test_annotator_stats_hand_worked(world):
    stats = agreement.annotator_stats()
    a1, a2, a3 = (stats[world[k].pk] for k in ("a1", "a2", "a3"))
    # Agreement with the majority of the others (ties skipped): a1 is outvoted on p3 ([l]) and agrees on s2.
    assert (a1["majority_agreement"], a1["majority_n"]) == (0.5, 2)
    # a3 is outvoted on p1, p2, s1, agrees on s2.
    assert (a3["majority_agreement"], a3["majority_n"]) == (0.25, 4)
    # Gold: p3 is global (a1 right, a2 wrong); s1's best is 0 (a1, a2 right, a3 wrong).
    assert (a1["gold_accuracy"], a1["gold_n"]) == (1.0, 2)
    assert (a2["gold_accuracy"], a2["gold_n"]) == (0.5, 2)
    assert (a3["gold_accuracy"], a3["gold_n"]) == (0.0, 1)
    # a1's times: 1, 2, 3 s (labels), 4, 5 s (comparisons): median 3 s.
    assert a1["median_seconds"] == 3.0
    # a1 finished 3 assignments, skipped 1 (the leased one does not count); a2 flagged its only one.
    assert a1["skip_rate"] == pytest.approx(1 / 3)
    assert a2["skip_rate"] == 0.0
    assert a3["skip_rate"] is None


def test_prompt_summary_shows_split_and_opted_in_country_and_language(world):
    s = agreement.prompt_summary(world["p1"])
    assert s["split"] == {"global": 2, "local": 1} and s["majority"] == "global"
    assert s["agreement"] == pytest.approx(2 / 3)
    assert s["by_country"] == {"KE": {"global": 1}, "EG": {"global": 1}}  # a3 did not opt in
    assert s["by_language"] == {"sw": {"global": 1}, "ar": {"global": 1}}
    assert s["not_shared"] == 1
    assert s["categories"] == {"Violence, Threats & Incitement": 2, "Hate Speech": 2}
    sets = agreement.candidate_set_summary(world["s1"])
    assert sets["split"] == {0: 2, 1: 1} and sets["worst"] == {2: 1, 1: 1}


def test_review_flow_keeps_every_judgement(world):
    p1, p2, p3, a3, curator = world["p1"], world["p2"], world["p3"], world["a3"], world["curator"]
    # p1 2/3, p2 2/3, p3 1/2 are below 75%; p4 has no annotated labels.
    assert set(review.review_queue_prompts()) == {p1, p2, p3}
    assert list(review.review_queue_candidate_sets()) == [world["s1"]]
    labels_before = list(HarmLabel.objects.order_by("pk").values())

    review.decide([p1], CuratorDecision.Decision.ACCEPT, curator, note="majority is right")
    review.decide([p2], CuratorDecision.Decision.MORE, curator)
    assert set(review.review_queue_prompts()) == {p3}
    # A new judgement on a sent-back item puts it back in the queue for a decision.
    a4 = type(curator).objects.create_user("ann4")
    label(p2, a4, "global")
    assert set(review.review_queue_prompts()) == {p2, p3}
    # A later decision is a new record; the old one stays.
    review.decide([p2], CuratorDecision.Decision.EXCLUDE, curator)
    assert list(p2.decisions.values_list("decision", flat=True)) == ["exclude", "more"]
    assert review.annotate_prompts().get(pk=p2.pk).decision == "exclude"
    # Judgements are untouched (plus the one new label).
    assert list(HarmLabel.objects.exclude(annotator=a4).order_by("pk").values()) == labels_before
    # Audited with old and new values.
    entry = AuditLogEntry.objects.filter(action="decision:exclude").get()
    assert (entry.user, entry.model, entry.object_id) == (curator, "annotation.prompt", str(p2.pk))
    assert entry.old == {"decision": "more"} and entry.new["decision"] == "exclude"
    assert a3.harm_labels.count() == 2


def test_snapshot_respects_curation_and_never_changes(world):
    p1, p2, a3, curator = world["p1"], world["p2"], world["a3"], world["curator"]
    review.decide([p2], CuratorDecision.Decision.EXCLUDE, curator)
    review.decide([world["s1"]], CuratorDecision.Decision.EXCLUDE, curator)
    snap = freeze_snapshot("sw-v1", filters={"languages": ["sw"], "curation": "not-excluded"}, user=curator)
    assert list(snap.prompts.all()) == [p1]
    assert snap.row_counts["harm_labels"] == 3 and snap.row_counts["comparisons"] == 0  # s1 excluded
    accepted = freeze_snapshot("accepted-only", filters={"curation": "accepted"}, user=curator)
    assert accepted.row_counts["prompts"] == 0

    # New judgements do not alter it.
    a4 = type(curator).objects.create_user("ann4")
    label(p1, a4, "local")
    snap.refresh_from_db()
    assert snap.harm_labels.count() == 3 and verify_snapshot(snap)

    # Its selection and recorded values are refused at the model level, whatever the code path.
    # (each in its own savepoint: the refused write rolls back its transaction)
    with pytest.raises(FrozenSnapshotError), transaction.atomic():
        snap.prompts.add(p2)
    with pytest.raises(FrozenSnapshotError), transaction.atomic():
        snap.harm_labels.clear()
    with pytest.raises(FrozenSnapshotError), transaction.atomic():
        p2.snapshots.add(snap)
    snap.name = "renamed"
    with pytest.raises(FrozenSnapshotError):
        snap.save()
    snap = DatasetSnapshot.objects.get(pk=snap.pk)
    snap.row_counts = {"prompts": 99}
    with pytest.raises(FrozenSnapshotError):
        snap.save()
    # Export may record the files it wrote.
    snap = DatasetSnapshot.objects.get(pk=snap.pk)
    snap.files = {"jsonl": "/tmp/x.jsonl"}
    snap.save()
    # Rows it holds cannot be deleted (that would shrink it silently).
    with pytest.raises(ProtectedError), transaction.atomic():
        a3.harm_labels.get(prompt=p1).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        p1.delete()
    assert verify_snapshot(DatasetSnapshot.objects.get(pk=snap.pk))
