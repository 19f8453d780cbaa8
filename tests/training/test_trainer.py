"""MPOTrainer on a tiny random model: precomputed = live reference, native term, SimPO, DPO, LoRA."""
import math

import pytest
import torch

from training.ml.baselines import dpo_trainer
from training.ml.data import prepare
from training.ml.trainer import MPOConfig, MPOTrainer

from .conftest import make_model


def config(tmp_path, **kw):
    base = dict(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=4, logging_steps=1,
                learning_rate=1e-3, report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0)
    return MPOConfig(**{**base, **kw})


def losses(trainer):
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


def test_precomputed_reference_equals_live_reference(tmp_path, rows, tokenizer):
    ds = prepare(rows, tokenizer).dataset
    runs = {}
    for precompute in (True, False):
        trainer = MPOTrainer(model=make_model(len(tokenizer)), args=config(tmp_path / str(precompute), max_steps=3,
                             precompute_ref=precompute), train_dataset=ds, processing_class=tokenizer)
        assert (trainer.ref_model is None) == precompute
        trainer.train()
        runs[precompute] = trainer.state.log_history
    for live, pre in zip(runs[False], runs[True]):
        for key in ("loss", "l1", "l2", "native", "gap/english_ref"):
            if key in live:
                assert pre[key] == pytest.approx(live[key], rel=1e-4, abs=1e-7), key
    assert runs[True][0]["l2"] == pytest.approx(0.0, abs=1e-10)  # policy == reference at step 0


def test_native_term_trains_local_rows(tmp_path, rows, tokenizer):
    native_only = prepare(rows[2:], tokenizer).dataset  # r3 local harm, r4 no English pair
    trainer = MPOTrainer(model=make_model(len(tokenizer)), args=config(tmp_path, max_steps=1),
                         train_dataset=native_only, processing_class=tokenizer)
    trainer.train()
    log = trainer.state.log_history[0]
    assert "l1" not in log and log["native"] == pytest.approx(math.log(2), abs=1e-4)  # DPO starts at log 2
    assert log["loss"] == pytest.approx(log["native"], rel=1e-5)
    weighted = MPOTrainer(model=make_model(len(tokenizer)), args=config(tmp_path / "w", max_steps=1,
                          native_weight=0.5, native_loss="simpo"), train_dataset=native_only,
                          processing_class=tokenizer)
    weighted.train()
    log = weighted.state.log_history[0]
    assert log["loss"] == pytest.approx(0.5 * log["native"], rel=1e-5)


def test_simpo_baseline_runs_a_step(tmp_path, rows, tokenizer):
    ds = prepare(rows, tokenizer).dataset
    trainer = MPOTrainer(model=make_model(len(tokenizer)), args=config(tmp_path, method="simpo", max_steps=1),
                         train_dataset=ds, processing_class=tokenizer)
    assert trainer.ref_model is None
    trainer.train()
    # gaps ~0 at random init: -log sigmoid(-gamma) = log(1 + e^0.5)
    assert losses(trainer)[0] == pytest.approx(math.log1p(math.exp(0.5)), abs=0.05)


def test_dpo_baseline_through_trl_runs_a_step(tmp_path, rows, tokenizer):
    ds = prepare(rows, tokenizer).dataset
    trainer = dpo_trainer(make_model(len(tokenizer)), tokenizer, ds, config(tmp_path, max_steps=2))
    trainer.train()
    assert losses(trainer)[0] == pytest.approx(math.log(2), abs=1e-4)


def test_mpo_with_lora_adapter(tmp_path, rows, tokenizer):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(make_model(len(tokenizer)), LoraConfig(r=4, target_modules="all-linear"))
    ds = prepare(rows, tokenizer).dataset
    trainer = MPOTrainer(model=model, args=config(tmp_path, precompute_ref=False, max_steps=2),
                         train_dataset=ds, processing_class=tokenizer)
    assert trainer.ref_model is None  # the reference is the base with adapters off
    trainer.train()
    assert all(torch.isfinite(torch.tensor(losses(trainer))))


def test_config_rejects_bad_options(tmp_path):
    with pytest.raises(ValueError, match="pooling"):
        config(tmp_path, pooling="max")
    with pytest.raises(ValueError, match="padding"):
        config(tmp_path, pooling="mean")  # precompute needs a padding-free pooling
    assert config(tmp_path, pooling="mean", precompute_ref=False).pooling == "mean"
