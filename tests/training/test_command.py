"""manage.py train_mpo / evaluate_run end to end on a tiny model, the run record, resume, the page."""
import pytest
from django.core.management import CommandError, call_command

from training.ml.data import dataset_from_rows
from training.models import TrainingRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(tmp_path, rows):
    """An mpo export as parquet: three copies of the sample rows (two languages, anchored and native)."""
    folder = tmp_path / "export"
    folder.mkdir()
    many = [dict(r, id=f"{r['id']}-{k}") for k in range(3) for r in rows]
    dataset_from_rows(many).to_parquet(str(folder / "train.parquet"))
    return folder


def train(data, model, out, capsys=None, **extra):
    opts = dict(data=str(data), model=str(model), output_dir=str(out), max_steps=2, save_steps=1,
                learning_rate=1e-3, cpu=True, per_device_train_batch_size=4)
    call_command("train_mpo", **{**opts, **extra})


def test_train_mpo_records_run_metrics_artefacts_and_evaluation(tmp_path, data_dir, tiny_model_dir, capsys):
    train(data_dir, tiny_model_dir, tmp_path / "out")
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED and run.method == "mpo"
    assert run.config["options"]["max_steps"] == 2 and run.config["trainer"]["beta"] == 1.0
    assert run.config["rows"] == {"train": 10, "eval": 2, "total": 12} and run.config["skipped"] == {}
    steps = list(run.metrics.values_list("step", flat=True))
    assert steps[:2] == [1, 2]
    assert {"loss", "l1", "l2", "gap/target"} <= set(run.metrics.get(step=1).values)
    assert {"loss", "train_runtime"} <= set(run.metrics.get(step=2).values)  # summary merged, not replacing
    assert (tmp_path / "out" / "final" / "config.json").exists() and run.artefacts["model"].endswith("final")
    assert set(run.evaluation["before"]) == {"all", "sw", "zh"}
    assert run.evaluation["after"]["all"]["english_l2"] >= 0
    out = capsys.readouterr().out
    assert "step 1" in out and "gap/target=" in out and "English gap" in out

    call_command("evaluate_run", run.pk)
    assert "target gap before" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["dpo", "simpo"])
def test_baselines_from_the_command(tmp_path, data_dir, tiny_model_dir, method):
    train(data_dir, tiny_model_dir, tmp_path / method, method=method)
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.SUCCEEDED and run.metrics.exists()


def test_resume_continues_from_the_last_checkpoint(tmp_path, data_dir, tiny_model_dir):
    train(data_dir, tiny_model_dir, tmp_path / "out")
    run = TrainingRun.objects.get()
    run.config["options"]["max_steps"] = 4  # as if the first process had died at step 2 of 4
    run.save()
    call_command("train_mpo", resume=run.pk)
    run.refresh_from_db()
    assert run.config["resumed_from"].endswith("checkpoint-2")
    assert list(run.metrics.values_list("step", flat=True))[:4] == [1, 2, 3, 4]


def test_bad_data_gives_a_clear_error_and_a_failed_run(tmp_path, rows, tiny_model_dir):
    folder = tmp_path / "bad"
    folder.mkdir()
    dataset_from_rows(rows).remove_columns("en_prompt").to_parquet(str(folder / "x.parquet"))
    with pytest.raises(CommandError, match="missing column"):
        train(folder, tiny_model_dir, tmp_path / "out")
    run = TrainingRun.objects.get()
    assert run.status == TrainingRun.Status.FAILED and "en_prompt" in run.error


def test_unknown_snapshot_is_a_clear_error(tmp_path, tiny_model_dir):
    with pytest.raises(CommandError, match="no snapshot named 'nope'"):
        call_command("train_mpo", snapshot="nope", model=str(tiny_model_dir), output_dir=str(tmp_path / "o"))


@pytest.mark.urls("tests.training.urls")
def test_evaluation_page_shows_gaps_per_language(client, django_user_model):
    run = TrainingRun.objects.create(data_path="/x", base_model="/m", status="succeeded", evaluation={
        "before": {"sw": {"n": 3, "target_gap": -0.5, "english_gap": 0.25}},
        "after": {"sw": {"n": 3, "target_gap": 0.125, "english_gap": 0.25, "english_gap_drift": 0.0}},
        "evaluated_on": "held_out"})
    staff = django_user_model.objects.create_superuser("boss", password="pw")
    client.force_login(staff)
    page = client.get(f"/training/{run.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "-0.500" in html and "+0.125" in html and "sw" in html
    assert client.get("/training/").status_code == 200
    plain = django_user_model.objects.create_user("ann", password="pw")
    client.force_login(plain)
    assert client.get(f"/training/{run.pk}/").status_code == 403


def test_web_side_imports_no_torch():
    """The annotation server must start without the GPU stack: views, services and commands load torch lazily."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import os, sys, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
            "django.setup(); import training.views, training.urls, training.services.runs, training.services.reports, "
            "training.management.commands.train_mpo, training.management.commands.evaluate_run, training.ml; "
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
