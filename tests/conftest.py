"""Shared fixtures: tiny runs trained once per test session.

The models are a few units wide and see a few hundred images, so the whole
suite stays quick on a CPU; tests that change a run work on a copy of it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TINY = {"limit": 200, "epochs": 2, "batch_size": 50}


def train_tiny(checkpoints: Path, task: str, cell: str, layers: int, units: int):
    from pixelrnn_cli.config import make_config
    from pixelrnn_cli.training import train

    config = make_config(task, cell, layers, units, **TINY)
    return train(config, checkpoints)


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory) -> Path:
    """A checkpoints folder with a tiny GRU pixel model and a tiny LSTM classifier."""
    checkpoints = tmp_path_factory.mktemp("trained") / "checkpoints"
    train_tiny(checkpoints, "pixel", "gru", 1, 4)
    train_tiny(checkpoints, "classify", "lstm", 1, 4)
    return checkpoints


@pytest.fixture
def checkpoints(trained_runs: Path, tmp_path: Path) -> Path:
    """A private copy of the trained runs, free to change."""
    copy = tmp_path / "checkpoints"
    shutil.copytree(trained_runs, copy)
    return copy


@pytest.fixture
def pixel_run(checkpoints: Path) -> Path:
    return checkpoints / "pixel-gru-1x4"


@pytest.fixture
def classifier_run(checkpoints: Path) -> Path:
    return checkpoints / "classify-lstm-1x4"
