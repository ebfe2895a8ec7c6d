"""The report: tables that carry exactly the numbers stored in each run.h5."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from pixelrnn_cli import report
from pixelrnn_cli.cli import app
from pixelrnn_cli.results import RUN_FILE, read_run, write_group
from pixelrnn_cli.study import (
    CLASSIFIER_RESULTS,
    CONTINUATION_RESULTS,
    INPAINTING_RESULTS,
    PIXEL_RESULTS,
    REFERENCE_CONFIGS,
)

DASH = "—"
# Two runs of the study's configurations, small enough to train in seconds.
STUDY_SHAPED = (("classify", "lstm", 1, 32), ("pixel", "gru", 1, 32))


@pytest.fixture(scope="module")
def study_runs(trained_runs: Path, tmp_path_factory) -> Path:
    """The shared tiny runs, an LSTM 1x32 classifier and a GRU 1x32 pixel model."""
    from pixelrnn_cli.config import make_config
    from pixelrnn_cli.training import train

    checkpoints = tmp_path_factory.mktemp("report") / "checkpoints"
    shutil.copytree(trained_runs, checkpoints)
    for task, cell, layers, units in STUDY_SHAPED:
        config = make_config(
            task, cell, layers, units, limit=60, epochs=1, batch_size=60
        )
        train(config, checkpoints)
    return checkpoints


@pytest.fixture
def runs(study_runs: Path, tmp_path: Path) -> Path:
    """A private copy of `study_runs`, free to change."""
    copy = tmp_path / "checkpoints"
    shutil.copytree(study_runs, copy)
    return copy


def section(markdown: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    lines = markdown.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (
            index
            for index in range(start, len(lines))
            if lines[index].startswith("#")
            and len(lines[index].split(" ")[0]) <= len(level)
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def row(text: str, first: str) -> list[str]:
    """The cells of the one table row in `text` whose first cell is `first`."""
    found = [line for line in text.splitlines() if line.startswith(f"| {first} |")]
    assert len(found) == 1, f"{len(found)} rows start with {first!r}"
    return [cell.strip() for cell in found[0].strip().strip("|").split("|")]


def four(value: float) -> str:
    return f"{value:.4f}"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def write(runs: Path, tmp_path: Path, figures: bool = False) -> report.ReportResult:
    return report.write_report(runs, tmp_path / "docs" / "results.md", figures=figures)


def test_classifier_tables_carry_the_numbers_of_run_h5(runs, tmp_path):
    record = read_run(runs / "classify-lstm-1x32" / RUN_FILE)
    train, test = record.groups["evaluation/train"], record.groups["evaluation/test"]
    study = CLASSIFIER_RESULTS[("classify", "lstm", 1, 32)]

    markdown = write(runs, tmp_path).markdown

    assert row(section(markdown, "### LSTM"), "1x32") == [
        "1x32",
        "`classify-lstm-1x32` (first 60 images)",
        four(train["loss"]),
        "0.8758",
        four(test["loss"]),
        "0.8100",
        percent(train["accuracy"]),
        f"{study.train_accuracy:.2f}",
        percent(test["accuracy"]),
        "70.21",
    ]
    other = read_run(runs / "classify-lstm-1x4" / RUN_FILE).groups
    assert row(section(markdown, "### Other classifiers"), "LSTM 1x4") == [
        "LSTM 1x4",
        "`classify-lstm-1x4` (first 200 images)",
        four(other["evaluation/train"]["loss"]),
        four(other["evaluation/test"]["loss"]),
        percent(other["evaluation/train"]["accuracy"]),
        percent(other["evaluation/test"]["accuracy"]),
    ]


def test_pixel_table_carries_the_numbers_of_run_h5(runs, tmp_path):
    groups = read_run(runs / "pixel-gru-1x32" / RUN_FILE).groups
    study = PIXEL_RESULTS[("pixel", "gru", 1, 32)]

    markdown = write(runs, tmp_path).markdown

    assert row(section(markdown, "## Pixel models"), "GRU 1x32") == [
        "GRU 1x32",
        "`pixel-gru-1x32` (first 60 images)",
        four(groups["evaluation/train"]["cross_entropy"]),
        four(study.train),
        four(groups["evaluation/validation"]["cross_entropy"]),
        four(study.validation),
        four(groups["evaluation/test"]["cross_entropy"]),
        four(study.test),
        f"{groups['evaluation/test']['nats_per_image']:.2f}",
    ]


def test_configurations_without_a_run_are_missing_not_filled_in(runs, tmp_path):
    result = write(runs, tmp_path)

    assert result.missing == [
        config for config in REFERENCE_CONFIGS if config not in STUDY_SHAPED
    ]
    gru = section(result.markdown, "### GRU")
    for layers, units in ((1, 32), (1, 64), (1, 128), (3, 32)):
        study = CLASSIFIER_RESULTS[("classify", "gru", layers, units)]
        assert row(gru, f"{layers}x{units}") == [
            f"{layers}x{units}",
            "missing",
            DASH,
            four(study.train_loss),
            DASH,
            four(study.test_loss),
            DASH,
            f"{study.train_accuracy:.2f}",
            DASH,
            f"{study.test_accuracy:.2f}",
        ]
    pixels = section(result.markdown, "## Pixel models")
    assert row(pixels, "GRU 3x32")[1:3] == ["missing", DASH]
    # No run of GRU 1x128 exists, so the study's in-painting rows stand alone.
    inpainting = section(result.markdown, "## In-painting")
    lines = [
        line for line in inpainting.splitlines() if line.startswith("| GRU 1x128 |")
    ]
    reference = INPAINTING_RESULTS[("pixel", "gru", 1, 128)]
    assert lines == [
        f"| GRU 1x128 | {mask} | missing | {DASH} | {DASH} | "
        f"{four(reference[mask].ground_truth)} | {DASH} | "
        f"{four(reference[mask].inpainted)} | {DASH} | {DASH} |"
        for mask in ("1x1", "2x2")
    ]


def test_the_same_runs_give_the_same_markdown(runs, tmp_path):
    first = write(runs, tmp_path, figures=True)
    written = (tmp_path / "docs" / "results.md").read_bytes()
    second = write(runs, tmp_path, figures=True)

    assert (tmp_path / "docs" / "results.md").read_bytes() == written
    assert second.markdown == first.markdown
    figures = tmp_path / "docs" / "figures"
    assert sorted(path.name for path in figures.iterdir()) == [
        "overlay-classify-lstm.png",
        "overlay-pixel-gru.png",
        "run-classify-lstm-1x32.png",
        "run-classify-lstm-1x4.png",
        "run-pixel-gru-1x32.png",
        "run-pixel-gru-1x4.png",
    ]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in first.figures)
    assert "![learning curves of pixel-gru-1x32](figures/run-pixel-gru-1x32.png)" in (
        first.markdown
    )


def add_sampling(run_file: Path, figure: Path) -> dict[int, dict[str, float]]:
    """Store a `sampling` result as `pixelrnn sample` does; returns the numbers."""
    steps = {1: 0.11, 5: 0.23, 10: 0.35, 28: 0.47, 300: 0.59}
    write_group(
        run_file,
        "sampling",
        {
            "images": 4,
            "hide": 300,
            "samples": 3,
            "seed": 5,
            "steps": json.dumps(sorted(steps)),
            "beam": 0,
            "figures": json.dumps([str(figure)]),
            "created": "2026-01-02T03:04:05+00:00",
        },
    )
    numbers = {}
    for n, base in steps.items():
        numbers[n] = {
            "sample_cross_entropy": base + 0.000012,
            "ground_truth_cross_entropy": base + 0.1,
            "greedy_cross_entropy": base / 3,
            "agreement": 0.5 + base / 2,
        }
        write_group(run_file, f"sampling/n_{n}", numbers[n])
    return numbers


def test_continuation_table_carries_the_sampling_numbers(runs, tmp_path):
    figure = tmp_path / "elsewhere" / "samples.png"
    figure.parent.mkdir()
    figure.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    numbers = add_sampling(runs / "pixel-gru-1x32" / RUN_FILE, figure)
    study = CONTINUATION_RESULTS[("pixel", "gru", 1, 32)]

    markdown = write(runs, tmp_path).markdown

    text = section(markdown, "### GRU 1x32")
    assert text.splitlines()[1] == (
        "Run: `pixel-gru-1x32` (first 60 images), 4 test images, last 300 pixels "
        "hidden, 3 samples per image, seed 5."
    )
    for n, measured in numbers.items():
        in_study = n in study.samples
        assert row(text, str(n)) == [
            str(n),
            four(measured["sample_cross_entropy"]),
            four(study.samples[n]) if in_study else DASH,
            four(measured["ground_truth_cross_entropy"]),
            four(study.ground_truth[n]) if in_study else DASH,
            four(measured["greedy_cross_entropy"]),
            percent(measured["agreement"]),
        ]
    copied = tmp_path / "docs" / "figures" / "pixel-gru-1x32-sampling-samples.png"
    assert copied.read_bytes() == figure.read_bytes()
    assert "](figures/pixel-gru-1x32-sampling-samples.png)" in text
    missing = section(markdown, "### GRU 1x64")
    assert missing.splitlines()[1] == "Run: missing"
    assert row(missing, "10")[1:] == [DASH, "0.2243", DASH, "0.4034", DASH, DASH]


def test_inpainting_table_carries_the_inpainting_numbers(runs, tmp_path):
    run_file = runs / "pixel-gru-1x32" / RUN_FILE
    measured = {
        "images": 1000,
        "seed": 0,
        "missing_per_image": 4,
        "ground_truth_cross_entropy": 0.0812345,
        "inpainted_cross_entropy": 0.0823456,
        "correct_share": 0.8125,
        "posterior_ground_truth": 0.4321,
        "figures": json.dumps(["missing-file.png"]),
        "dataset": "masks.npy",
        "created": "2026-01-02T03:04:05+00:00",
    }
    write_group(run_file, "inpainting/2x2", measured)

    markdown = write(runs, tmp_path).markdown

    text = section(markdown, "## In-painting")
    assert row(text, "GRU 1x32") == [
        "GRU 1x32",
        "2x2",
        "`pixel-gru-1x32` (first 60 images)",
        "1,000",
        four(measured["ground_truth_cross_entropy"]),
        DASH,
        four(measured["inpainted_cross_entropy"]),
        DASH,
        "81.25",
        "0.4321",
    ]
    assert "`missing-file.png` (file not found)" in text


def test_of_several_runs_the_lowest_validation_loss_is_shown(runs, tmp_path):
    shutil.copytree(runs / "pixel-gru-1x32", runs / "pixel-gru-1x32-again")
    again = runs / "pixel-gru-1x32-again" / RUN_FILE
    record = read_run(again)
    write_group(
        again,
        "training",
        {**record.training, "best_val_loss": record.training["best_val_loss"] / 2},
    )
    test = {**record.groups["evaluation/test"], "cross_entropy": 0.0424242}
    write_group(again, "evaluation/test", test)

    markdown = write(runs, tmp_path).markdown

    cells = row(section(markdown, "## Pixel models"), "GRU 1x32")
    assert cells[1] == "`pixel-gru-1x32-again` (first 60 images)"
    assert cells[6] == "0.0424"
    first = section(markdown, "### `pixel-gru-1x32`")
    assert (
        row(first, "in the tables")[1] == "no: the tables show `pixel-gru-1x32-again`"
    )
    chosen = section(markdown, "### `pixel-gru-1x32-again`")
    assert row(chosen, "in the tables")[1] == "GRU 1x32: pixel models"


def test_each_run_has_its_facts(runs, tmp_path):
    record = read_run(runs / "classify-lstm-1x32" / RUN_FILE)
    training, attrs = record.training, record.attrs

    markdown = write(runs, tmp_path).markdown

    text = section(markdown, "### `classify-lstm-1x32`")
    assert row(text, "status")[1] == f"{training['status']}: {training['stop_reason']}"
    assert row(text, "status")[1] == "finished: all 1 epochs run"
    assert row(text, "epochs trained")[1] == (
        f"1 of 1; best validation loss {training['best_val_loss']:.4f} at epoch 1"
    )
    assert row(text, "wall time")[1] == f"{training['wall_seconds']:.1f} s"
    assert row(text, "started")[1] == training["started"]
    assert row(text, "machine")[1].startswith(f"{attrs['machine']} (")
    assert row(text, "recipe")[1].startswith("lr 0.001 times 0.87 every 10 epochs")


def test_unreadable_run_files_are_skipped_and_listed(runs, tmp_path):
    (runs / "broken").mkdir()
    (runs / "broken" / RUN_FILE).write_bytes(b"not an HDF5 file")
    (runs / "foreign").mkdir()
    with h5py.File(runs / "foreign" / RUN_FILE, "w") as handle:
        handle.create_dataset("x", data=np.arange(3))

    result = write(runs, tmp_path)

    assert [item.path.as_posix() for item in result.skipped] == [
        "broken/run.h5",
        "foreign/run.h5",
    ]
    assert "not a readable HDF5 file" in result.skipped[0].reason
    assert "not a pixelrnn run file" in result.skipped[1].reason
    assert "- `broken/run.h5`: " in result.markdown
    assert len(result.runs) == 4


def test_durations_read_plainly():
    assert report.duration(12.34) == "12.3 s"
    assert report.duration(754.6) == "12 min 35 s"
    assert report.duration(3 * 3600 + 62) == "3 h 01 min 02 s"
    assert report.duration(None) == DASH


def test_report_command(runs, tmp_path):
    (runs / "broken").mkdir()
    (runs / "broken" / RUN_FILE).write_bytes(b"not an HDF5 file")
    output = tmp_path / "out" / "results.md"

    result = CliRunner().invoke(
        app,
        ["report", "--checkpoints", str(runs), "--output", str(output), "--no-figures"],
    )

    assert result.exit_code == 0, result.output
    assert f"wrote {output}" in " ".join(result.output.split())
    assert (
        "4 run(s) found; 10 of 12 study configurations missing; 1 file(s) skipped"
        in (" ".join(result.output.split()))
    )
    assert "skipped" in result.output and "broken" in result.output
    assert output.read_text(encoding="utf-8").startswith("# Results\n")
    assert not (output.parent / "figures").exists()


def test_report_command_refuses_a_missing_folder(tmp_path):
    result = CliRunner().invoke(
        app, ["report", "--checkpoints", str(tmp_path / "nowhere")]
    )

    assert result.exit_code == 1
    assert "checkpoints folder" in result.output and "not found" in result.output
