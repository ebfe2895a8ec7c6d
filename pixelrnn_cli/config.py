"""The settings of a training run, in one dataclass saved with every result."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, fields
from typing import Any

from pixelrnn_cli.data import DEFAULT_THRESHOLD, check_threshold
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.study import recipe_for

TASKS = ("classify", "pixel")
CELLS = ("lstm", "gru")
DEFAULT_BATCH_SIZE = 256
DEFAULT_PATIENCE = 10
DEFAULT_EVAL_EVERY = 2


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run.

    The learning rate at epoch e (counted from 0) is
    `lr * decay_rate ** (e // decay_epochs)`. Dropout keeps each output of a
    recurrent layer with probability `keep_prob`. Validation loss is measured
    every `eval_every` epochs; training stops when it has not improved for
    `patience` epochs, and the best weights are kept.
    """

    task: str
    cell: str
    layers: int
    units: int
    name: str
    epochs: int
    lr: float
    decay_rate: float
    decay_epochs: int
    keep_prob: float
    batch_size: int = DEFAULT_BATCH_SIZE
    patience: int = DEFAULT_PATIENCE
    eval_every: int = DEFAULT_EVAL_EVERY
    clipnorm: float | None = None
    seed: int = 0
    limit: int | None = None
    data: str | None = None
    threshold: float = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        check_config(self)

    @property
    def shape(self) -> str:
        return f"{self.layers}x{self.units}"

    def learning_rate(self, epoch: int) -> float:
        """The staircase learning rate of epoch `epoch` (counted from 0)."""
        return self.lr * self.decay_rate ** (epoch // self.decay_epochs)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        values: dict[str, Any] = json.loads(text)
        known = {field.name for field in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)


def default_name(task: str, cell: str, layers: int, units: int) -> str:
    """The run name used when none is given, like `classify-gru-3x32`."""
    return f"{task}-{cell}-{layers}x{units}"


def make_config(
    task: str,
    cell: str,
    layers: int,
    units: int,
    **overrides: Any,
) -> RunConfig:
    """A run's settings: the study's recipe for the model, then any overrides.

    An override of None means "not given" and keeps the default.
    """
    check_model_shape(task, cell, layers, units)
    recipe = recipe_for(task, cell, layers, units)
    values: dict[str, Any] = {
        "task": task,
        "cell": cell,
        "layers": layers,
        "units": units,
        "name": default_name(task, cell, layers, units),
        "epochs": recipe.epochs,
        "lr": recipe.lr,
        "decay_rate": recipe.decay_rate,
        "decay_epochs": recipe.decay_epochs,
        "keep_prob": recipe.keep_prob,
    }
    known = {field.name for field in fields(RunConfig)}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"unknown run setting {key!r}")
        if value is not None:
            values[key] = value
    return RunConfig(**values)


def check_model_shape(task: str, cell: str, layers: int, units: int) -> None:
    if task not in TASKS:
        raise PixelrnnError(f"unknown task {task!r}; expected one of {TASKS}")
    if cell not in CELLS:
        raise PixelrnnError(f"unknown cell {cell!r}; expected one of {CELLS}")
    if layers < 1:
        raise PixelrnnError(f"layers must be at least 1, got {layers}")
    if units < 1:
        raise PixelrnnError(f"units must be at least 1, got {units}")


_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_config(config: RunConfig) -> None:
    """Refuse settings that cannot describe a training run."""
    check_model_shape(config.task, config.cell, config.layers, config.units)
    if not _NAME_PATTERN.match(config.name):
        raise PixelrnnError(
            f"run name {config.name!r} must start with a letter or digit and hold "
            "only letters, digits, '.', '_' and '-'"
        )
    positive = {
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "decay_epochs": config.decay_epochs,
        "eval_every": config.eval_every,
        "patience": config.patience,
    }
    for key, value in positive.items():
        if value < 1:
            option = key.replace("_", "-")
            raise PixelrnnError(f"{option} must be at least 1, got {value}")
    if not config.lr > 0:
        raise PixelrnnError(f"lr must be positive, got {config.lr}")
    if not 0 < config.decay_rate <= 1:
        raise PixelrnnError(f"decay-rate must be in (0, 1], got {config.decay_rate}")
    if not 0 < config.keep_prob <= 1:
        raise PixelrnnError(f"keep-prob must be in (0, 1], got {config.keep_prob}")
    if config.clipnorm is not None and not config.clipnorm > 0:
        raise PixelrnnError(f"clipnorm must be positive, got {config.clipnorm}")
    if config.limit is not None and config.limit < 1:
        raise PixelrnnError(f"limit must be at least 1, got {config.limit}")
    if config.seed < 0:
        raise PixelrnnError(f"seed must be 0 or more, got {config.seed}")
    check_threshold(config.threshold)


_DURATION_PATTERN = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration like `20m`, `1h`, `1h30m`, `90s` or `45` (seconds)."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
    else:
        parts = _DURATION_PATTERN.findall(text)
        if not parts or "".join(number + unit for number, unit in parts) != text:
            raise PixelrnnError(
                f"cannot read the duration {text!r}; write it like 20m, 1h30m or 90s"
            )
        seconds = sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise PixelrnnError(f"a time budget must be positive, got {text!r}")
    return seconds
