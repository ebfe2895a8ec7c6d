"""The reference runs shipped in `checkpoints/`: complete, and what they claim.

Each run's stored numbers are checked against its own `model.keras` on a few
test images, so a model and a results file that do not belong together, or a
run committed while still training, fail here. The README's table of shipped
runs is checked against the run files too.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from pixelrnn_cli.config import make_config
from pixelrnn_cli.results import read_run
from pixelrnn_cli.study import REFERENCE_CONFIGS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "checkpoints"
SHIPPED_RUNS = sorted(path.parent for path in SHIPPED.glob("*/run.h5"))
CHECK_IMAGES = 100

pytestmark = pytest.mark.skipif(not SHIPPED_RUNS, reason="no shipped runs")


@pytest.fixture(scope="module")
def test_split():
    from pixelrnn_cli.data import load_splits

    return load_splits().test


def run_ids(runs: list[Path]) -> list[str]:
    return [run.name for run in runs]


@pytest.mark.parametrize("run_dir", SHIPPED_RUNS, ids=run_ids(SHIPPED_RUNS))
def test_shipped_run_is_complete_and_follows_the_recipe(run_dir: Path) -> None:
    record = read_run(run_dir / "run.h5")
    config = record.config
    assert config.name == run_dir.name
    shape = (config.task, config.cell, config.layers, config.units)
    assert shape in REFERENCE_CONFIGS
    assert config == make_config(*shape)  # the study's recipe, nothing changed
    assert record.training["status"] in ("stopped", "finished")
    assert record.training["data_source"] == "bundled MNIST"
    assert len(record.history) == record.training["epochs_trained"]
    for split in ("train", "validation", "test"):
        assert f"evaluation/{split}" in record.groups
    assert (run_dir / "model.keras").is_file()
    assert (run_dir / "resume.h5").is_file()
    if config.task == "pixel":
        for group in ("sampling/n_300", "inpainting/1x1", "inpainting/2x2"):
            assert group in record.groups
        for group in ("sampling", "inpainting/1x1", "inpainting/2x2"):
            figures = re.findall(r'"([^"]+\.png)"', record.groups[group]["figures"])
            assert figures and all((ROOT / figure).is_file() for figure in figures)


def test_every_reference_configuration_is_shipped() -> None:
    shipped = {run.name for run in SHIPPED_RUNS}
    expected = {make_config(*shape).name for shape in REFERENCE_CONFIGS}
    assert shipped == expected


def predict(model, images: np.ndarray) -> np.ndarray:
    """The model's outputs for `images` in one batch, through a traced graph."""
    from pixelrnn_cli.data import as_sequences

    return model.predict(as_sequences(images), batch_size=len(images), verbose=0)


def pixel_losses(model, images: np.ndarray) -> np.ndarray:
    """Cross-entropy (nats) of every pixel of `images` under a pixel model."""
    logits = predict(model, images).astype(np.float64)
    # log(1 + e^-z) for a 1, log(1 + e^z) for a 0, written stably.
    signed = np.where(images == 1, logits, -logits)
    return np.logaddexp(0.0, -signed)


PIXEL_RUNS = [run for run in SHIPPED_RUNS if run.name.startswith("pixel-")]
CLASSIFIER_RUNS = [run for run in SHIPPED_RUNS if run.name.startswith("classify-")]


@pytest.mark.parametrize("run_dir", PIXEL_RUNS, ids=run_ids(PIXEL_RUNS))
def test_pixel_model_gives_its_stored_numbers(run_dir: Path, test_split) -> None:
    from pixelrnn_cli.runs import load_model

    record = read_run(run_dir / "run.h5")
    model = load_model(run_dir, "pixel")

    sampling = record.groups["sampling/n_300"]
    images = test_split.images[record.groups["sampling"]["test_indices"]]
    hidden = record.groups["sampling"]["hide"]
    truth = pixel_losses(model, images)[:, -hidden:].mean(axis=1)
    np.testing.assert_allclose(
        truth, sampling["image_ground_truth_cross_entropy"], rtol=1e-4, atol=1e-6
    )

    inpainting = record.groups["inpainting/2x2"]
    dataset = np.load(run_dir / "inpaint-2x2.npy")
    originals = dataset[1, :CHECK_IMAGES].astype(np.uint8)
    np.testing.assert_array_equal(
        originals, test_split.images[inpainting["test_indices"][:CHECK_IMAGES]]
    )
    log_likelihood = -pixel_losses(model, originals).sum(axis=1)
    np.testing.assert_allclose(
        log_likelihood,
        inpainting["image_ground_truth_log_likelihood"][:CHECK_IMAGES],
        rtol=1e-4,
    )


@pytest.mark.parametrize("run_dir", CLASSIFIER_RUNS, ids=run_ids(CLASSIFIER_RUNS))
def test_classifier_accuracy_matches_its_stored_one(run_dir: Path, test_split) -> None:
    from pixelrnn_cli.runs import load_model

    record = read_run(run_dir / "run.h5")
    model = load_model(run_dir, "classify")
    images = test_split.images[: 4 * CHECK_IMAGES]
    probabilities = predict(model, images)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = np.mean(probabilities.argmax(axis=1) == test_split.labels[: len(images)])
    # 400 images estimate the stored accuracy on 10,000 within a few points;
    # a model that does not belong to its results file is far off.
    assert abs(accuracy - record.groups["evaluation/test"]["accuracy"]) < 0.08


def readme_rows() -> dict[str, list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The shipped reference runs", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = re.match(r"\| `([a-z0-9x-]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_readme_table_states_the_shipped_numbers() -> None:
    rows = readme_rows()
    assert set(rows) == {run.name for run in SHIPPED_RUNS}
    for run_dir in SHIPPED_RUNS:
        record = read_run(run_dir / "run.h5")
        epochs, minutes, ours = rows[run_dir.name][:3]
        trained = record.training["epochs_trained"]
        assert epochs == f"{trained} of {record.config.epochs}"
        assert minutes == f"{record.training['wall_seconds'] / 60:.0f} min"
        test = record.groups["evaluation/test"]
        if record.config.task == "pixel":
            assert ours == f"{test['cross_entropy']:.4f} nats/pixel"
        else:
            assert ours == f"{100 * test['accuracy']:.2f} %"
