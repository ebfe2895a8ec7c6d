"""Kills, concurrent runs and bad input: nothing saved is lost, errors are one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pixelrnn_cli.results import read_run

EPOCHS = 24
TRAIN = [
    "train", "--task", "pixel", "--units", "3", "--limit", "60", "--batch-size", "20",
    "--epochs", str(EPOCHS), "--eval-every", "2", "--name", "killed",
]  # fmt: skip


def pixelrnn(*args: str) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "pixelrnn_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )


def kill_after(process: subprocess.Popen, epoch_lines: int, delay: float) -> bool:
    """SIGKILL once `epoch_lines` epoch summaries are out and `delay` passed.

    Returns False when the process ended on its own first.
    """
    seen = 0
    while seen < epoch_lines:
        line = process.stdout.readline()
        if not line:
            process.wait()
            return False
        seen += line.startswith("epoch ")
    time.sleep(delay)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stdout.close()
    return True


# (epoch summaries to wait for, then seconds): before the first epoch ends, in
# the middle of training, around validation and saving, and near the end.
KILL_POINTS = [
    (0, 2.0), (0, 4.5), (1, 0.0), (1, 0.05), (1, 0.15), (2, 0.02),
    (2, 0.1), (1, 0.3), (2, 0.2), (3, 0.01), (2, 0.05), (1, 0.08),
]  # fmt: skip


def test_sigkill_at_many_points_always_leaves_a_resumable_run(tmp_path):
    checkpoints = ["--checkpoints", str(tmp_path)]
    run_dir = tmp_path / "killed"
    kills = 0
    for epoch_lines, delay in KILL_POINTS:
        resume = ["--resume"] if (run_dir / "resume.h5").exists() else []
        if kill_after(pixelrnn(*TRAIN, *checkpoints, *resume), epoch_lines, delay):
            kills += 1
        if (run_dir / "run.h5").exists():
            record = read_run(run_dir / "run.h5")  # what the report reads
            assert len(record.history) == record.training["epochs_trained"]
            if record.training["status"] == "finished":
                break
    assert kills >= 10

    finish = pixelrnn(*TRAIN, *checkpoints, "--resume")
    output = finish.communicate(timeout=300)[0]
    assert finish.returncode == 0, output
    assert not list(run_dir.glob(".*.tmp*")), "temporary files left behind"

    record = read_run(run_dir / "run.h5")
    assert record.training["status"] == "finished"
    assert record.history.columns["epoch"] == [float(e) for e in range(1, EPOCHS + 1)]
    expected = [record.config.learning_rate(epoch) for epoch in range(EPOCHS)]
    np.testing.assert_allclose(record.history.array("learning_rate"), expected)
    assert (run_dir / "model.keras").is_file()
    assert "evaluation/test" in record.groups


def test_a_second_training_of_the_same_run_is_refused(tmp_path):
    checkpoints = ["--checkpoints", str(tmp_path)]
    first = pixelrnn(*TRAIN[:-2], "--epochs", "200", "--name", "busy", *checkpoints)
    try:
        while not first.stdout.readline().startswith("epoch "):
            assert first.poll() is None, "the first training ended early"
        second = pixelrnn(*TRAIN[:-2], "--name", "busy", *checkpoints, "--resume")
        output = second.communicate(timeout=120)[0]
        assert second.returncode == 1
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines == [
            f"error: run busy: another pixelrnn process is training in "
            f"{Path(tmp_path) / 'busy'}; wait for it to finish or stop it first"
        ]
    finally:
        first.kill()
        first.wait()
        first.stdout.close()


def test_ctrl_c_saves_and_prints_the_resume_command(tmp_path):
    checkpoints = ["--checkpoints", str(tmp_path)]
    process = pixelrnn(
        *TRAIN[:-2], "--epochs", "200", "--name", "stopped", *checkpoints
    )
    while not process.stdout.readline().startswith("epoch "):
        assert process.poll() is None
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 130
    assert "Traceback" not in output
    assert (
        f"resume with: pixelrnn train --name stopped --checkpoints {tmp_path} --resume"
        in output
    )
    record = read_run(tmp_path / "stopped" / "run.h5")
    assert record.training["status"] == "stopped"
    assert record.training["epochs_trained"] >= 1
