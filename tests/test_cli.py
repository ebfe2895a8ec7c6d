from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from pixelrnn_cli import __version__
from pixelrnn_cli.cli import app
from pixelrnn_cli.results import read_run

runner = CliRunner()

NO_TENSORFLOW = """
import sys
from pixelrnn_cli.cli import main
sys.argv = ["pixelrnn", *{args!r}]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = [name for name in ("tensorflow", "keras") if name in sys.modules]
print("HEAVY", heavy, "CODE", code)
"""


@pytest.mark.parametrize(
    "args", [["--help"], ["-h"], ["--version"], ["train", "--help"]]
)
def test_help_and_version_do_not_import_tensorflow(args):
    result = subprocess.run(
        [sys.executable, "-c", NO_TENSORFLOW.format(args=args)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "HEAVY [] CODE 0" in result.stdout, result.stdout + result.stderr


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"pixelrnn {__version__}"


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("train", "evaluate"):
        assert command in result.stdout


TINY = ["--units", "3", "--limit", "100", "--epochs", "2", "--batch-size", "50", "-q"]


@pytest.mark.parametrize("task, cell", [("pixel", "gru"), ("classify", "lstm")])
def test_train_then_evaluate(tmp_path, task, cell):
    checkpoints = tmp_path / "runs"
    result = runner.invoke(
        app,
        [
            "train",
            "--task",
            task,
            "--cell",
            cell,
            *TINY,
            "--checkpoints",
            str(checkpoints),
        ],
    )
    assert result.exit_code == 0, result.output
    name = f"{task}-{cell}-1x3"
    run_file = checkpoints / name / "run.h5"
    assert (checkpoints / name / "model.keras").is_file()
    assert "all 2 epochs run" in result.stdout

    record = read_run(run_file)
    assert record.config.task == task and record.config.units == 3
    assert record.history.columns["epoch"] == [1.0, 2.0]
    trained_test = record.groups["evaluation/test"]

    result = runner.invoke(
        app,
        ["evaluate", name, "--split", "test", "--checkpoints", str(checkpoints), "-q"],
    )
    assert result.exit_code == 0, result.output
    measured = read_run(run_file).groups["evaluation/test"]
    assert measured["loss"] == pytest.approx(trained_test["loss"], rel=1e-6)
    assert f"{measured['loss']:.4f}" in result.stdout
    if task == "pixel":
        assert measured["bits_per_pixel"] == pytest.approx(
            measured["cross_entropy"] / np.log(2)
        )
        assert "nats/image" in result.stdout
    else:
        assert 0.0 <= measured["accuracy"] <= 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--cell", "rnn"], "'rnn' is not one of"),
        (["train", "--layers", "0"], "layers must be at least 1, got 0"),
        (["train", "--units", "0"], "units must be at least 1, got 0"),
        (["train", "--keep-prob", "1.5"], "keep-prob must be in (0, 1], got 1.5"),
        (["train", "--time-budget", "soon"], "cannot read the duration 'soon'"),
        (["train", "--data", "missing.npz"], "data file not found: missing.npz"),
        (["evaluate", "nothing-here"], "no run named 'nothing-here'"),
        (["evaluate", "x", "--split", "dev"], "unknown split 'dev'"),
    ],
)
def test_user_mistakes_end_in_one_line(tmp_path, args, message):
    result = runner.invoke(app, [*args, "--checkpoints", str(tmp_path)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert message in lines[0]
    assert "Traceback" not in result.output


def test_a_classifier_is_evaluated_with_loss_and_accuracy(classifier_run):
    result = runner.invoke(
        app, ["evaluate", str(classifier_run), "--split", "validation", "-q"]
    )
    assert result.exit_code == 0, result.output
    stored = read_run(classifier_run / "run.h5").groups["evaluation/validation"]
    assert f"{100 * stored['accuracy']:.2f}%" in result.stdout
