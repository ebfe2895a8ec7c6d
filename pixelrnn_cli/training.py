"""Training with the study's recipe, resumable at every epoch boundary.

Adam minimises the cross-entropy; the learning rate follows a staircase
(`RunConfig.learning_rate`); validation loss is measured every `eval_every`
epochs and training stops early once it has not improved for `patience`
epochs. The model with the best validation loss is kept as `model.keras`.

After every epoch the run folder is brought up to date, each file by an
atomic rename, in this order: `model.keras` (when validation improved), then
`resume.h5` (weights, optimizer state, random-number states, counters and
history: everything needed to continue exactly), then `run.h5`. A kill at any
moment therefore leaves the last complete epoch to resume from.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pixelrnn_cli.config import RunConfig
from pixelrnn_cli.data import Splits, as_sequences, load_splits
from pixelrnn_cli.errors import PixelrnnError, TrainingInterrupted
from pixelrnn_cli.evaluation import (
    evaluate_split,
    make_eval_step,
    model_forward,
)
from pixelrnn_cli.progress import Reporter
from pixelrnn_cli.results import (
    MODEL_FILE,
    RUN_FILE,
    STATE_FILE,
    TRAIN_LOCK,
    WRITE_LOCK,
    History,
    atomic_write,
    machine_description,
    store_evaluation,
    training_lock,
    update_run,
    write_training,
)
from pixelrnn_cli.runs import check_run_folder

log = logging.getLogger(__name__)

STATE_FORMAT = "pixelrnn-resume"
FINAL_SPLITS = ("train", "validation", "test")
# Settings that may change when a run is resumed; the others define the run.
RESUMABLE_CHANGES = ("epochs", "patience")
LOCKS = (TRAIN_LOCK, WRITE_LOCK)


@dataclass
class TrainingState:
    """The counters of a run between epochs."""

    epoch: int = 0  # epochs completed
    best_val_loss: float = math.inf
    best_epoch: int = 0
    wall_seconds: float = 0.0
    status: str = "running"  # running, stopped (resumable) or finished
    stop_reason: str = ""
    started: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    history: History = field(default_factory=History)
    shuffle_state: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingOutcome:
    run_dir: Path
    config: RunConfig
    state: TrainingState
    evaluation: dict[str, dict[str, float]]
    already_finished: bool = False


def train(
    config: RunConfig,
    checkpoints: Path,
    *,
    resume: bool = False,
    time_budget: float | None = None,
    jit: bool | None = None,
    reporter: Reporter | None = None,
    changes: dict[str, Any] | None = None,
) -> TrainingOutcome:
    """Train the run `config.name` in `checkpoints`, new or resumed.

    Args:
        config: the run's settings; when resuming, the saved settings win and
            only `RESUMABLE_CHANGES` given in `changes` are applied.
        time_budget: seconds; training stops after the epoch that crosses it.
        jit: compile the steps with XLA; None picks the best for the device.
        changes: settings the user gave explicitly (for the resume checks).
    """
    reporter = reporter or Reporter()
    run_dir = checkpoints / config.name
    check_run_folder(run_dir, resume)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with training_lock(run_dir):
            check_run_folder(run_dir, resume)  # again: another run may just have ended
            remove_stale_temporaries(run_dir)
            if resume:
                config = resumed_config(read_saved_config(run_dir), changes or {})
            trainer = Trainer(config, run_dir, jit=jit, reporter=reporter)
            if resume:
                trainer.restore()
            else:
                trainer.save_epoch(improved=False)
            return trainer.run(time_budget)
    except BaseException:
        if created:
            remove_if_empty(run_dir)
        raise


def remove_if_empty(run_dir: Path) -> None:
    """Remove a run folder that a failed start left with nothing but locks."""
    leftovers = [path for path in run_dir.iterdir() if path.name not in LOCKS]
    if not leftovers:
        for lock in LOCKS:
            (run_dir / lock).unlink(missing_ok=True)
        run_dir.rmdir()


def remove_stale_temporaries(run_dir: Path) -> None:
    """Drop temporary files that a killed process left before its rename."""
    for stale in run_dir.glob(".*.tmp*"):
        stale.unlink(missing_ok=True)


def resumed_config(saved: RunConfig, changes: dict[str, Any]) -> RunConfig:
    """The saved settings with the allowed changes; refuse any other change."""
    allowed = {}
    for key, value in changes.items():
        if value is None or getattr(saved, key) == value:
            continue
        if key not in RESUMABLE_CHANGES:
            raise PixelrnnError(
                f"--{key.replace('_', '-')} {value} differs from the run being "
                f"resumed ({getattr(saved, key)}); a resumed run keeps its settings "
                f"except {', '.join('--' + name for name in RESUMABLE_CHANGES)}"
            )
        allowed[key] = value
    return saved.replace(**allowed)


def read_saved_config(run_dir: Path) -> RunConfig:
    with open_state(run_dir / STATE_FILE) as handle:
        return RunConfig.from_json(handle.attrs["config"])


def open_state(path: Path) -> h5py.File:
    try:
        handle = h5py.File(path, "r")
    except OSError:
        raise PixelrnnError(f"{path} is not a readable HDF5 file (corrupt?)") from None
    if handle.attrs.get("format") != STATE_FORMAT:
        handle.close()
        raise PixelrnnError(f"{path} is not a pixelrnn resume state")
    return handle


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold back Ctrl-C while files are written, then deliver it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: received.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class Trainer:
    """One run's model, optimizer, data and counters."""

    def __init__(
        self,
        config: RunConfig,
        run_dir: Path,
        *,
        jit: bool | None,
        reporter: Reporter,
    ) -> None:
        import keras

        from pixelrnn_cli.device import describe_device, use_jit
        from pixelrnn_cli.models import build_model

        self.config = config
        self.run_dir = run_dir
        self.reporter = reporter
        self.jit = use_jit(jit)
        self.device = describe_device()
        self.splits: Splits = load_splits(config.data, config.threshold, config.limit)
        self.state = TrainingState()
        self.shuffler = np.random.default_rng(config.seed)

        keras.utils.set_random_seed(config.seed)
        self.model = build_model(
            config.task, config.cell, config.layers, config.units, config.keep_prob
        )
        self.optimizer = keras.optimizers.Adam(config.lr, clipnorm=config.clipnorm)
        self.optimizer.build(self.model.trainable_variables)
        self.train_step = make_train_step(
            self.model, self.optimizer, config.task, self.jit
        )
        self.jit_request = jit  # evaluation makes its own choice from it
        self.eval_step = make_eval_step(self.model, config.task, jit)

    # The epoch loop.

    def run(self, time_budget: float | None) -> TrainingOutcome:
        config, state = self.config, self.state
        if state.status == "finished":
            extended = state.stop_reason.startswith("all ") and (
                state.epoch < config.epochs
            )
            if not extended:
                log.info("run %s has finished: %s", config.name, state.stop_reason)
                return self.outcome({}, already_finished=True)
        started = time.monotonic()
        state.status, state.stop_reason = "running", ""
        self.reporter.summary(self.describe())
        while state.status == "running":
            epoch = state.epoch + 1
            try:
                record = self.train_epoch(epoch)
                budget_spent = time_budget is not None and (
                    time.monotonic() - started >= time_budget
                )
                improved = self.validate_if_due(epoch, record, force=budget_spent)
                with deferred_interrupts():
                    self.close_epoch(epoch, record, budget_spent)
                    self.save_epoch(improved)
                self.reporter.summary(epoch_summary(epoch, config.epochs, record))
            except KeyboardInterrupt:
                raise self.interrupted() from None
        try:
            evaluation = self.final_evaluation()
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                "interrupted during the final evaluation; training is complete and "
                "saved",
                f"pixelrnn evaluate {self.config.name} "
                f"--checkpoints {self.run_dir.parent}",
            ) from None
        return self.outcome(evaluation)

    def describe(self) -> str:
        """One line on what is about to be trained, where and how."""
        config, state = self.config, self.state
        start = f"resuming after epoch {state.epoch}" if state.epoch else "training"
        schedule = (
            f"lr {config.lr:g} x{config.decay_rate:g} every {config.decay_epochs}"
        )
        return (
            f"{start} {config.name} on {self.device}: {len(self.splits.train):,} "
            f"images, batch {config.batch_size}, {schedule} epochs, keep "
            f"{config.keep_prob:g}, up to {config.epochs} epochs"
        )

    def train_epoch(self, epoch: int) -> dict[str, float]:
        config, train_split = self.config, self.splits.train
        learning_rate = config.learning_rate(epoch - 1)
        self.optimizer.learning_rate.assign(learning_rate)
        order = self.shuffler.permutation(len(train_split))
        started = time.monotonic()
        loss_sum = correct_sum = 0.0
        seen = 0
        self.reporter.start(f"epoch {epoch}/{config.epochs}", len(order))
        for start in range(0, len(order), config.batch_size):
            batch = np.sort(order[start : start + config.batch_size])
            pixels = as_sequences(train_split.images[batch])  # (batch, 784, 1)
            loss, accuracy = self.train_step(pixels, train_split.labels[batch])
            loss_sum += float(loss) * len(batch)
            correct_sum += float(accuracy) * len(batch)
            seen += len(batch)
            self.reporter.advance(len(batch), loss=loss_sum / seen)
        self.reporter.finish()
        if not math.isfinite(loss_sum):
            log.warning("epoch %d: the training loss is not finite", epoch)
        return {
            "epoch": epoch,
            "train_loss": loss_sum / seen,
            "train_accuracy": correct_sum / seen,
            "val_loss": math.nan,
            "val_accuracy": math.nan,
            "learning_rate": learning_rate,
            "seconds": time.monotonic() - started,
        }

    def validate_if_due(self, epoch: int, record: dict, *, force: bool) -> bool:
        """Measure validation loss on schedule; True when it is the best yet."""
        config, state = self.config, self.state
        due = epoch % config.eval_every == 0 or epoch >= config.epochs or force
        if not due:
            return False
        started = time.monotonic()
        measured = evaluate_split(
            self.eval_step, config.task, self.splits.validation, reporter=self.reporter
        )
        record["seconds"] += time.monotonic() - started
        record["val_loss"], record["val_accuracy"] = (
            measured["loss"],
            measured["accuracy"],
        )
        if measured["loss"] < state.best_val_loss:
            state.best_val_loss, state.best_epoch = measured["loss"], epoch
            return True
        return False

    def close_epoch(self, epoch: int, record: dict, budget_spent: bool) -> None:
        config, state = self.config, self.state
        state.history.append(**record)
        state.epoch = epoch
        state.wall_seconds += record["seconds"]
        if epoch >= config.epochs:
            state.status, state.stop_reason = "finished", f"all {epoch} epochs run"
        elif not math.isnan(record["val_loss"]) and (
            epoch - state.best_epoch >= config.patience
        ):
            state.status = "finished"
            state.stop_reason = (
                f"early stop: no validation improvement for {epoch - state.best_epoch}"
                f" epochs (best at epoch {state.best_epoch})"
            )
        elif budget_spent:
            state.status = "stopped"
            state.stop_reason = f"time budget reached after epoch {epoch}"

    def interrupted(self) -> TrainingInterrupted:
        """Mark the saved run as stopped; what was saved stays as it was."""
        done = self.state.epoch  # advances only together with the saving
        reason = f"interrupted during epoch {done + 1}"
        if self.state.status == "running":
            mark_stopped(self.run_dir / RUN_FILE, reason)
        command = (
            f"pixelrnn train --name {self.config.name} "
            f"--checkpoints {self.run_dir.parent} --resume"
        )
        return TrainingInterrupted(
            f"{reason}; {done} complete epoch(s) are saved", command
        )

    # Files.

    def save_epoch(self, improved: bool) -> None:
        if improved:
            atomic_write(self.run_dir / MODEL_FILE, self.model.save, suffix=".keras")
        self.state.shuffle_state = self.shuffler.bit_generator.state
        atomic_write(self.run_dir / STATE_FILE, self.write_state)
        self.write_results()

    def write_results(self) -> None:
        state = self.state
        training = {
            "status": state.status,
            "stop_reason": state.stop_reason,
            "epochs_trained": state.epoch,
            "best_epoch": state.best_epoch,
            "best_val_loss": state.best_val_loss,
            "wall_seconds": state.wall_seconds,
            "device": self.device,
            "jit": self.jit,
            "started": state.started,
            "data_source": self.splits.source,
            "train_images": len(self.splits.train),
            "validation_images": len(self.splits.validation),
            "test_images": len(self.splits.test),
        }
        write_training(
            self.run_dir / RUN_FILE,
            self.config,
            state.history,
            training,
            machine_description(),
        )

    def write_state(self, path: Path) -> None:
        state = self.state
        with h5py.File(path, "w") as handle:
            handle.attrs["format"] = STATE_FORMAT
            handle.attrs["config"] = self.config.to_json()
            for key in ("epoch", "best_val_loss", "best_epoch", "wall_seconds"):
                handle.attrs[key] = getattr(state, key)
            for key in ("status", "stop_reason", "started"):
                handle.attrs[key] = getattr(state, key)
            handle.attrs["shuffle_state"] = json.dumps(state.shuffle_state)
            state.history.write(handle.create_group("history"))
            write_variables(handle.create_group("model"), self.model.variables)
            write_variables(handle.create_group("optimizer"), self.optimizer.variables)

    def restore(self) -> None:
        """Continue from `resume.h5`: weights, optimizer, random states, counters."""
        path = self.run_dir / STATE_FILE
        with open_state(path) as handle:
            try:
                state = self.state
                state.epoch = int(handle.attrs["epoch"])
                state.best_val_loss = float(handle.attrs["best_val_loss"])
                state.best_epoch = int(handle.attrs["best_epoch"])
                state.wall_seconds = float(handle.attrs["wall_seconds"])
                state.status = str(handle.attrs["status"])
                state.stop_reason = str(handle.attrs["stop_reason"])
                state.started = str(handle.attrs["started"])
                state.history = History.read(handle["history"])
                state.shuffle_state = json.loads(handle.attrs["shuffle_state"])
                read_variables(handle["model"], self.model.variables)
                read_variables(handle["optimizer"], self.optimizer.variables)
            except (KeyError, ValueError, TypeError) as error:
                raise PixelrnnError(f"{path} is damaged ({error})") from None
        self.shuffler.bit_generator.state = state.shuffle_state
        log.info("resuming %s after epoch %d", self.config.name, state.epoch)

    # The end.

    def final_evaluation(self) -> dict[str, dict[str, float]]:
        """Measure the best model on every split and store it in `run.h5`."""
        from pixelrnn_cli.runs import load_model

        model_file = self.run_dir / MODEL_FILE
        if not model_file.exists():
            return {}
        best = load_model(self.run_dir, self.config.task)
        step = make_eval_step(best, self.config.task, self.jit_request)
        results = {
            name: evaluate_split(
                step, self.config.task, self.splits.get(name), reporter=self.reporter
            )
            for name in FINAL_SPLITS
        }
        store_evaluation(self.run_dir / RUN_FILE, results)
        return results

    def outcome(
        self, evaluation: dict, *, already_finished: bool = False
    ) -> TrainingOutcome:
        return TrainingOutcome(
            self.run_dir, self.config, self.state, evaluation, already_finished
        )


def mark_stopped(run_file: Path, reason: str) -> None:
    """Record in `run.h5` that training stopped, changing nothing else."""

    def edit(handle: h5py.File) -> None:
        handle["training"].attrs.update({"status": "stopped", "stop_reason": reason})

    with deferred_interrupts():
        update_run(run_file, edit)


def write_variables(group: h5py.Group, variables: list) -> None:
    for index, variable in enumerate(variables):
        dataset = group.create_dataset(f"{index:04d}", data=np.asarray(variable))
        dataset.attrs["path"] = variable.path


def read_variables(group: h5py.Group, variables: list) -> None:
    if len(group) != len(variables):
        raise ValueError(
            f"{len(group)} saved variables for a model with {len(variables)}"
        )
    for index, variable in enumerate(variables):
        saved = group[f"{index:04d}"]
        if tuple(saved.shape) != tuple(variable.shape):
            raise ValueError(
                f"variable {variable.path} has shape {tuple(variable.shape)}, "
                f"saved {saved.shape}"
            )
        variable.assign(saved[()])


def make_train_step(model, optimizer, task: str, jit: bool, fast: bool | None = None):
    """A compiled step: one batch -> (mean loss, accuracy) after one Adam update.

    `fast` runs the recurrent layers through `fast_rnn` (None: where it pays).
    """
    import tensorflow as tf
    from keras import ops

    from pixelrnn_cli.device import use_fast_rnn
    from pixelrnn_cli.models import classifier_loss, pixel_loss

    forward = model_forward(model, use_fast_rnn(model, fast))

    # Traced per batch shape (full and last): static shapes run the loops faster.
    # No AutoGraph: the step has no tensor-dependent Python control flow.
    @tf.function(jit_compile=jit, autograph=False)
    def step(pixels, labels):
        with tf.GradientTape() as tape:
            outputs = forward(pixels, training=True)
            if task == "pixel":
                loss = pixel_loss(pixels, outputs)
            else:
                loss = classifier_loss(labels, outputs)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        if task == "pixel":
            targets = ops.reshape(pixels, ops.shape(outputs)) > 0.5
            correct = (outputs > 0) == targets
        else:
            predicted = ops.cast(ops.argmax(outputs, axis=-1), "int32")
            correct = predicted == ops.cast(labels, "int32")
        return loss, ops.mean(ops.cast(correct, "float32"))

    return step


def epoch_summary(epoch: int, epochs: int, record: dict[str, float]) -> str:
    text = (
        f"epoch {epoch}/{epochs}  train loss {record['train_loss']:.4f} "
        f"acc {100 * record['train_accuracy']:.2f}%"
    )
    if not math.isnan(record["val_loss"]):
        text += (
            f"  val loss {record['val_loss']:.4f} "
            f"acc {100 * record['val_accuracy']:.2f}%"
        )
    return text + f"  lr {record['learning_rate']:.3g}  {record['seconds']:.1f}s"
