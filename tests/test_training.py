from __future__ import annotations

import math

import h5py
import numpy as np
import pytest

from pixelrnn_cli.config import make_config
from pixelrnn_cli.errors import PixelrnnError, TrainingInterrupted
from pixelrnn_cli.progress import Reporter
from pixelrnn_cli.results import read_run, training_lock
from pixelrnn_cli.training import train

QUICK = {"limit": 120, "batch_size": 40, "eval_every": 2}


def quick_config(epochs: int = 4, **changes):
    return make_config("pixel", "gru", 1, 3, epochs=epochs, **{**QUICK, **changes})


class InterruptAt(Reporter):
    """Raise Ctrl-C at the first batch of epoch `epoch`."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.current = ""

    def start(self, description: str, total: int) -> None:
        self.current = description

    def advance(self, steps: int = 1, **info: float) -> None:
        if self.current.startswith(f"epoch {self.epoch}/"):
            raise KeyboardInterrupt


def history_of(run_dir):
    return read_run(run_dir / "run.h5").history


def test_learning_rate_follows_the_staircase(tmp_path):
    config = quick_config(epochs=5, lr=0.01, decay_rate=0.5, decay_epochs=2)
    outcome = train(config, tmp_path)
    rates = history_of(outcome.run_dir).array("learning_rate")
    expected = [0.01 * 0.5 ** (epoch // 2) for epoch in range(5)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert [config.learning_rate(epoch) for epoch in range(5)] == pytest.approx(
        expected
    )


def test_validation_every_two_epochs_and_at_the_end(tmp_path):
    outcome = train(quick_config(epochs=5), tmp_path)
    history = history_of(outcome.run_dir)
    evaluated = [
        int(e)
        for e, v in zip(history.array("epoch"), history.array("val_loss"), strict=True)
        if not math.isnan(v)
    ]
    assert evaluated == [2, 4, 5]
    assert outcome.state.stop_reason == "all 5 epochs run"
    assert outcome.state.best_val_loss == pytest.approx(
        np.nanmin(history.array("val_loss"))
    )


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    straight = train(quick_config(), tmp_path / "straight")

    stopped = train(quick_config(), tmp_path / "split", time_budget=1e-9)
    assert stopped.state.status == "stopped" and stopped.state.epoch == 1
    with pytest.raises(TrainingInterrupted) as raised:
        train(quick_config(), tmp_path / "split", resume=True, reporter=InterruptAt(3))
    assert "--resume" in raised.value.resume_command
    assert history_of(stopped.run_dir).columns["epoch"] == [1.0, 2.0]
    resumed = train(quick_config(), tmp_path / "split", resume=True)

    assert resumed.state.epoch == straight.state.epoch == 4
    one, other = history_of(straight.run_dir), history_of(resumed.run_dir)
    assert one.columns["epoch"] == other.columns["epoch"]
    assert one.columns["learning_rate"] == other.columns["learning_rate"]
    np.testing.assert_allclose(
        one.array("train_loss"), other.array("train_loss"), rtol=1e-5
    )
    # The time budget adds a validation at epoch 1; the scheduled ones agree.
    np.testing.assert_allclose(
        one.array("val_loss")[[1, 3]], other.array("val_loss")[[1, 3]], rtol=1e-5
    )


def test_run_folder_holds_the_model_state_and_results(tmp_path):
    outcome = train(quick_config(epochs=2), tmp_path)
    run_dir = outcome.run_dir
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "model.keras",
        "resume.h5",
        "run.h5",
    ]
    record = read_run(run_dir / "run.h5")
    assert record.config == outcome.config
    assert record.attrs["task"] == "pixel" and record.attrs["units"] == 3
    assert record.training["status"] == "finished"
    assert record.training["epochs_trained"] == 2
    assert len(record.history) == 2
    for split in ("train", "validation", "test"):
        group = record.groups[f"evaluation/{split}"]
        assert group["images"] == 120
        assert group["nats_per_image"] == pytest.approx(784 * group["cross_entropy"])
    with h5py.File(run_dir / "resume.h5") as state:
        assert state.attrs["epoch"] == 2
        assert len(state["optimizer"]) > 2


def test_an_existing_run_needs_resume(tmp_path):
    train(quick_config(epochs=1), tmp_path)
    with pytest.raises(PixelrnnError, match="already exists.*--resume"):
        train(quick_config(epochs=1), tmp_path)


def test_resume_refuses_changed_settings_but_takes_more_epochs(tmp_path):
    train(quick_config(epochs=1), tmp_path)
    with pytest.raises(PixelrnnError, match="--lr 0.5 differs"):
        train(quick_config(epochs=1), tmp_path, resume=True, changes={"lr": 0.5})
    longer = train(quick_config(epochs=1), tmp_path, resume=True, changes={"epochs": 3})
    assert longer.state.epoch == 3 and longer.config.epochs == 3


def test_nothing_to_resume(tmp_path):
    with pytest.raises(PixelrnnError, match="nothing to resume"):
        train(quick_config(), tmp_path, resume=True)


def test_a_second_trainer_on_the_same_run_is_refused(tmp_path):
    run_dir = tmp_path / quick_config().name
    with training_lock(run_dir):
        with pytest.raises(PixelrnnError, match="another pixelrnn process"):
            train(quick_config(), tmp_path)


def test_early_stopping_after_patience_epochs_without_gain(tmp_path, monkeypatch):
    from pixelrnn_cli import training

    losses = iter([1.0, 0.5, 0.6, 0.7, 0.8, 0.9])

    def fake_evaluate(step, task, split, reporter=None, **kwargs):
        return {"loss": next(losses), "accuracy": 0.5}

    monkeypatch.setattr(training, "evaluate_split", fake_evaluate)
    monkeypatch.setattr(training.Trainer, "final_evaluation", lambda self: {})
    config = quick_config(epochs=10, eval_every=1, patience=3)
    outcome = train(config, tmp_path)
    assert outcome.state.best_epoch == 2
    assert outcome.state.epoch == 5
    assert outcome.state.stop_reason.startswith("early stop")
