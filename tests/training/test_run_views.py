"""The Training pages: only curators and admins queue, cancel, retry and see runs; charts escape their labels."""
import pytest
from django.contrib.auth.models import User

from annotation.services.roles import ANNOTATORS, CURATORS, ensure_groups
from training.charts import line_chart
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    groups = ensure_groups()
    curator = User.objects.create_user("cur", password="pw-for-tests-1", is_staff=True)
    curator.groups.add(groups[CURATORS])
    annotator = User.objects.create_user("ann", password="pw-for-tests-1")
    annotator.groups.add(groups[ANNOTATORS])
    return curator, annotator


def test_annotators_cannot_reach_runs(client, users):
    run = TrainingRun.objects.create(data_path="/data", base_model="/model")
    client.force_login(users[1])
    for url in ("/training/", "/training/new/", f"/training/{run.pk}/", f"/training/{run.pk}/progress/",
                "/training/compare/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/training/{run.pk}/cancel/").status_code == 403
    client.logout()
    assert client.get("/training/").status_code == 302  # anonymous: to the login page


def test_curator_queues_cancels_and_retries_from_the_page(client, users):
    client.force_login(users[0])
    bad = client.post("/training/new/", {"base_model": "/m", "method": "mpo", "queue_name": "gpu"})
    assert bad.status_code == 200 and "Choose a snapshot or give an exported data folder." in bad.content.decode()
    form = {"data_path": "/data/export", "base_model": "/models/smol", "method": "dpo", "queue_name": "gpu-a",
            "beta": 1.5, "l2_weight": 1, "native_loss": "simpo", "native_weight": 0.5, "learning_rate": 5e-7,
            "num_train_epochs": 2, "max_steps": -1, "per_device_train_batch_size": 4, "save_steps": 50, "lora_r": 8}
    response = client.post("/training/new/", form)
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/training/{run.pk}/"
    assert (run.status, run.method, run.queue_name, run.created_by) == ("queued", "dpo", "gpu-a", users[0])
    assert run.config["options"]["beta"] == 1.5 and run.config["options"]["lora_r"] == 8 and run.task_id

    client.post(f"/training/{run.pk}/cancel/")
    run.refresh_from_db()
    assert run.status == "cancelled"
    page = client.get(f"/training/{run.pk}/", follow=True).content.decode()
    assert "Retry (resume)" in page and "hx-trigger" not in page  # nothing to poll once it has ended
    client.post(f"/training/{run.pk}/retry/")
    run.refresh_from_db()
    assert run.status == "queued"
    again = client.post(f"/training/{run.pk}/retry/", follow=True).content.decode()
    assert "only failed or cancelled runs can be retried" in again


def test_chart_labels_are_escaped():
    svg = str(line_chart({"<script>alert(1)</script>": [(1, 0.5), (2, 0.25)]}, title="<b>t</b>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg
    assert svg.count("<path") == 1
