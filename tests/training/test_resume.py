"""Crash and resume: SIGKILL a training process after its first checkpoint, run again, check it resumes."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from training.ml.data import dataset_from_rows
from training.ml.run import last_checkpoint

ROOT = Path(__file__).resolve().parents[2]


def cli(data, model, out, max_steps):
    return [sys.executable, "-m", "training.ml.cli", "--data", str(data), "--model", str(model),
            "--output-dir", str(out), "--max-steps", str(max_steps), "--save-steps", "3", "--batch-size", "2",
            "--learning-rate", "1e-3", "--cpu", "--eval-fraction", "0"]


def test_killed_run_resumes_from_its_last_checkpoint(tmp_path, rows, tiny_model_dir):
    data = tmp_path / "data"
    dataset_from_rows(rows).save_to_disk(str(data))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TQDM_DISABLE": "1"}
    # far more steps than it will live for: killed as soon as checkpoint-3 is complete
    proc = subprocess.Popen(cli(data, tiny_model_dir, out, 100000), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 120
    while last_checkpoint(out) is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert last_checkpoint(out) is not None, "no complete checkpoint before the kill"
    assert not (out / "final").exists()

    # whichever complete checkpoint is last (the kill may land in a later save), the run goes on from there
    last = int(last_checkpoint(out).rsplit("-", 1)[1])
    result = subprocess.run(cli(data, tiny_model_dir, out, last + 2), cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith('{"')]  # ours, not the Trainer's prints
    steps = [x["step"] for x in lines if "loss" in x]
    assert steps == [last + 1, last + 2]  # not from step 1
    assert lines[-1]["resumed_from"].endswith(f"checkpoint-{last}")
    assert (out / "final" / "config.json").exists()
