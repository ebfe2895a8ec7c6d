"""Kills, concurrent runs and bad input: nothing saved is lost, errors are one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pixelrnn_cli.report import find_runs
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
            found, skipped = find_runs(tmp_path)  # as the report reads them
            assert not skipped and [run.label for run in found] == ["killed"]
            record = read_run(run_dir / "run.h5")
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


# Bad input across all five commands. Each case gets the checkpoints folder
# (holding the tiny runs pixel-gru-1x4 and classify-lstm-1x4) and a scratch
# folder, and returns the command line and a piece of the expected message.


def damaged_runs(checkpoints: Path, scratch: Path) -> None:
    """Add runs with a truncated model, a corrupt and a foreign run.h5."""
    import shutil

    import h5py

    source = checkpoints / "pixel-gru-1x4"
    for name in ("truncated", "corrupt", "foreign"):
        shutil.copytree(source, scratch / name)
    model = scratch / "truncated" / "model.keras"
    model.write_bytes(model.read_bytes()[:2000])
    (scratch / "corrupt" / "run.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    (scratch / "corrupt" / "model.keras").unlink()
    (scratch / "foreign" / "run.h5").unlink()
    with h5py.File(scratch / "foreign" / "run.h5", "w") as handle:
        handle.attrs["made_by"] = "someone else"
    (scratch / "foreign" / "model.keras").unlink()
    (scratch / "empty").mkdir()
    (scratch / "notes.txt").write_text("not a data file")
    arrays = {
        "x_train": np.zeros((5100, 28, 28), np.uint8),
        "y_train": np.zeros(5100, np.uint8),
        "x_test": np.zeros((3, 32, 32), np.uint8),
        "y_test": np.zeros(3, np.uint8),
    }
    np.savez(scratch / "wrong-shape.npz", **arrays)
    np.save(scratch / "wrong-layout.npy", np.zeros((3, 5, 784), np.int8))


BAD_INPUTS = {
    "train unknown cell": (["train", "--cell", "rnn"], "'rnn' is not one of"),
    "train no layers": (["train", "--layers", "0"], "layers must be at least 1"),
    "train keep prob": (["train", "--keep-prob", "0"], "keep-prob must be in (0, 1]"),
    "train batch size": (
        ["train", "--batch-size", "0"],
        "batch-size must be at least 1",
    ),
    "train budget": (["train", "--time-budget", "1 day"], "cannot read the duration"),
    "train missing data": (["train", "--data", "{s}/none.npz"], "data file not found"),
    "train text as data": (["train", "--data", "{s}/notes.txt"], "not a readable .npz"),
    "train data shape": (
        ["train", "--data", "{s}/wrong-shape.npz"],
        "x_test has shape (3, 32, 32)",
    ),
    "train existing run": (
        ["train", "--task", "pixel", "--units", "4"],
        "already exists",
    ),
    "train nothing to resume": (
        ["train", "--name", "new", "--resume"],
        "nothing to resume",
    ),
    "train unwritable folder": (
        ["train", "--units", "2", "--checkpoints", "{s}/notes.txt/runs"],
        "Not a directory",
    ),
    "evaluate no run": (["evaluate", "nobody"], "no run named 'nobody'"),
    "evaluate bad split": (
        ["evaluate", "pixel-gru-1x4", "--split", "dev"],
        "unknown split",
    ),
    "evaluate truncated model": (
        ["evaluate", "{s}/truncated"],
        "not a Keras model file",
    ),
    "evaluate corrupt run file": (["evaluate", "{s}/corrupt"], "not a readable HDF5"),
    "evaluate foreign run file": (
        ["evaluate", "{s}/foreign"],
        "not a pixelrnn run file",
    ),
    "evaluate empty folder": (["evaluate", "{s}/empty"], "holds neither"),
    "evaluate a data file": (["evaluate", "{s}/notes.txt"], "neither model.keras"),
    "sample classifier": (["sample", "classify-lstm-1x4"], "is a classifier"),
    "sample no run": (["sample", "nobody"], "no run named"),
    "sample hide": (["sample", "pixel-gru-1x4", "--hide", "0"], "--hide must be"),
    "sample steps beyond hidden": (
        ["sample", "pixel-gru-1x4", "--hide", "20", "--steps", "30"],
        "outside 1..20",
    ),
    "sample steps text": (["sample", "pixel-gru-1x4", "--steps", "ten"], "--steps"),
    "sample truncated model": (
        ["sample", "{s}/truncated", "--images", "2", "--steps", "1"],
        "not a Keras model file",
    ),
    "sample unwritable figures": (
        [
            "sample",
            "pixel-gru-1x4",
            "--images",
            "2",
            "--steps",
            "1",
            "--samples",
            "1",
            "--figures",
            "{s}/notes.txt/figures",
        ],
        "Not a directory",
    ),  # fmt: skip
    "inpaint classifier": (["inpaint", "classify-lstm-1x4"], "is a classifier"),
    "inpaint mask too big": (["inpaint", "pixel-gru-1x4", "--mask", "5x5"], "16"),
    "inpaint mask text": (["inpaint", "pixel-gru-1x4", "--mask", "big"], "--mask"),
    "inpaint wrong layout": (
        ["inpaint", "pixel-gru-1x4", "--dataset", "{s}/wrong-layout.npy"],
        "(2, N, 784)",
    ),
    "inpaint missing dataset": (
        ["inpaint", "pixel-gru-1x4", "--dataset", "{s}/none.npy"],
        "not found",
    ),
    "report no folder": (["report", "--checkpoints", "{s}/nowhere"], "nowhere"),
    "report unwritable output": (
        ["report", "--output", "{s}/notes.txt/results.md"],
        "Not a directory",
    ),
}


def snapshot(*folders: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_ends_in_one_line_and_changes_nothing(case, checkpoints, tmp_path):
    from typer.testing import CliRunner

    from pixelrnn_cli.cli import app

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    damaged_runs(checkpoints, scratch)
    args, message = BAD_INPUTS[case]
    args = [arg.replace("{s}", str(scratch)) for arg in args]
    if "--checkpoints" not in args:
        args += ["--checkpoints", str(checkpoints)]
    before = snapshot(checkpoints, scratch)

    result = CliRunner().invoke(app, args)

    assert result.exit_code not in (0, None), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert snapshot(checkpoints, scratch) == before


def stored_numbers(run_file: Path, prefix: str) -> dict:
    groups = read_run(run_file).groups
    numbers = {}
    for name, values in groups.items():
        if name.startswith(prefix):
            for key, value in values.items():
                if key not in ("created", "seconds", "images_per_second", "figures"):
                    numbers[(name, key)] = np.asarray(value).tolist()
    return numbers


SEEDED = {
    "sampling": ["sample", "--images", "3", "--steps", "1,6", "--samples", "4"],
    "inpainting": ["inpaint", "--images", "6", "--mask", "1x2"],
}


@pytest.mark.parametrize("prefix", sorted(SEEDED))
def test_the_same_seed_gives_identical_numbers(pixel_run, tmp_path, prefix):
    from typer.testing import CliRunner

    from pixelrnn_cli.cli import app

    command, *options = [*SEEDED[prefix], "--seed", "7"]
    runs = []
    for attempt in range(2):
        result = CliRunner().invoke(
            app,
            [
                command,
                str(pixel_run),
                *options,
                "-q",
                "--figures",
                str(tmp_path / f"f{attempt}"),
            ],
        )
        assert result.exit_code == 0, result.output
        runs.append(stored_numbers(pixel_run / "run.h5", prefix))
    assert runs[0] and runs[0] == runs[1]
