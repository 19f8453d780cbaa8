"""Many annotators at once against PostgreSQL: no item beyond k, no lost or duplicate submission.

Each thread has its own database connection, as each web worker does. SQLite has no row locks (it serialises
writers on the whole file and answers "database is locked" under this load), so these run on PostgreSQL only.
"""
import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from annotation.models import Assignment, Comparison, HarmLabel
from annotation.services import assignment as svc
from annotation.services.assignment import LeaseError
from tests.annotation.workspace_helpers import annotator, candidate_set, prompts

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql",
                       reason="needs PostgreSQL row locks (set DATABASE_URL); SQLite serialises all writers"),
]
K = 3


def run_threads(n, target):
    barrier, errors = threading.Barrier(n), []

    def wrapped(i):
        try:
            barrier.wait()
            target(i)
        except Exception as exc:  # reported below, with the thread that raised it
            errors.append((i, repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


def test_many_annotators_fill_every_item_exactly_k_times(settings):
    settings.CROSSWALK = {**settings.CROSSWALK, "JUDGEMENTS_PER_ITEM": K, "GOLD_RATE": 0.0}
    items = prompts(30)
    for p in items[:15]:
        candidate_set(p, texts=("a", "b", "c"))
    users = [annotator(f"u{i}") for i in range(20)]
    skipped = Counter()

    def work(i):
        rng, user = random.Random(i), users[i]
        while True:
            a = svc.next_task(user)
            if a is None:
                # Nothing for this annotator now. Items leased by others may still come back (a skip), so only
                # stop when no lease is out; a person would simply come back later.
                if not Assignment.objects.filter(status="leased").exists():
                    return
                time.sleep(0.02)
                continue
            if rng.random() < 0.1:
                svc.skip(user, a.pk)
                skipped[i] += 1
            elif a.kind == "label":
                svc.submit_label(user, a.pk, harmful=False, harm_scope="none")
            else:
                svc.submit_comparison(user, a.pk, best=rng.randrange(3))

    assert run_threads(len(users), work) == []
    per_prompt = Counter(HarmLabel.objects.values_list("prompt_id", flat=True))
    per_set = Counter(Comparison.objects.values_list("candidate_set_id", flat=True))
    assert set(per_prompt.values()) == {K} and len(per_prompt) == 30
    assert set(per_set.values()) == {K} and len(per_set) == 15
    submitted = Assignment.objects.filter(status="submitted")
    assert submitted.count() == 45 * K  # one assignment per judgement, none lost
    assert Assignment.objects.filter(status="leased").count() == 0
    assert sum(skipped.values()) == Assignment.objects.filter(status="skipped").count()


def test_one_lease_submitted_from_many_threads_is_saved_once(settings):
    prompts(1)
    user = annotator("u")
    a = svc.next_task(user, "label")
    outcomes = Counter()

    def submit(_i):
        try:
            svc.submit_label(user, a.pk, harmful=True, harm_scope="global")
            outcomes["saved"] += 1
        except LeaseError as e:
            outcomes[e.code] += 1

    assert run_threads(8, submit) == []
    assert outcomes == {"saved": 1, "finished": 7}
    assert HarmLabel.objects.count() == 1
