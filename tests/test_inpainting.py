"""In-painting: generated data sets, the posterior scorer and the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pixelrnn_cli import inpainting
from pixelrnn_cli.cli import app
from pixelrnn_cli.data import load_splits
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.inpainting import BlockShape, InpaintingDataset
from pixelrnn_cli.results import read_run

runner = CliRunner()


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return load_splits(limit=300).test.images  # (300, 784)


def random_pixel_model(cell: str, layers: int, units: int, seed: int = 0):
    """A tiny pixel model with large random weights, so posteriors are far from flat."""
    from pixelrnn_cli.models import build_model

    model = build_model("pixel", cell, layers, units)
    rng = np.random.default_rng(seed)
    model.set_weights(
        [
            rng.normal(0.0, 1.5, weight.shape).astype("float32")
            for weight in model.get_weights()
        ]
    )
    return model


def brute_force_log_likelihood(model, image: np.ndarray, positions) -> np.ndarray:
    """Every configuration of `positions` scored by the full model from scratch."""
    bits = inpainting.configuration_bits(len(positions))  # (2^k, k)
    filled = np.repeat(image[None].astype(np.float32), len(bits), axis=0)
    filled[:, positions] = bits
    logits = model.predict_on_batch(filled[..., None]).astype(np.float64)  # (2^k, 784)
    return (filled * logits - np.logaddexp(0.0, logits)).sum(axis=1)


def softmax(values: np.ndarray) -> np.ndarray:
    weights = np.exp(values - values.max())
    return weights / weights.sum()


# Missing positions per image: single pixels, the first and last pixel, three
# pixels across two rows, and an image with nothing missing.
MISSING_SETS = ([300], [0, 400, 783], [150, 151, 178], [783], [], [430, 431, 458])


@pytest.mark.parametrize("cell, layers", [("gru", 1), ("lstm", 2)])
def test_posterior_equals_brute_force_through_the_full_model(test_images, cell, layers):
    model = random_pixel_model(cell, layers, units=3)
    truth = test_images[: len(MISSING_SETS)]
    masked = truth.astype(np.int8)
    for image, positions in enumerate(MISSING_SETS):
        masked[image, positions] = inpainting.MISSING
    dataset = InpaintingDataset(masked, truth)

    # Batches of 5 rows split some images' configurations across batches.
    scores = inpainting.score_configurations(model, dataset, batch_rows=5)

    assert list(np.diff(scores.offsets)) == [2 ** len(p) for p in MISSING_SETS]
    for image, positions in enumerate(MISSING_SETS):
        expected = brute_force_log_likelihood(model, truth[image], positions)
        np.testing.assert_allclose(scores.of_image(image), expected, atol=1e-3)
        np.testing.assert_allclose(
            scores.posterior(image), softmax(expected), rtol=0, atol=1e-5
        )
    assert scores.posterior(4).tolist() == [1.0]
    # The weights make the posteriors peaked: the test is not one of flat vectors.
    assert max(scores.posterior(1)) > 0.3


def test_the_inpainting_is_never_less_likely_than_the_ground_truth(test_images):
    model = random_pixel_model("gru", 1, units=3, seed=1)
    dataset = inpainting.make_dataset(test_images, BlockShape(2, 2), 40, seed=3)
    scores = inpainting.score_configurations(model, dataset)
    summary = inpainting.summarise(dataset, scores)

    assert (
        summary.inpainted_log_likelihood >= summary.ground_truth_log_likelihood
    ).all()
    assert (summary.posterior_inpainted >= summary.posterior_ground_truth).all()
    measured = summary.measures()
    assert measured["inpainted_cross_entropy"] <= measured["ground_truth_cross_entropy"]
    # The in-painting keeps every known pixel and fills exactly the missing ones.
    known = ~dataset.missing
    assert (summary.inpainted[known] == dataset.truth[known]).all()
    agree = (summary.inpainted == dataset.truth) & dataset.missing
    assert (agree.sum(axis=1) == summary.correct_pixels).all()
    assert measured["correct_share"] == summary.correct_pixels.sum() / (40 * 4)
    # The image whose truth scores highest among its configurations is exact.
    for image in range(len(dataset)):
        truth_is_best = summary.posterior_ground_truth[image] == max(
            scores.posterior(image)
        )
        assert truth_is_best == (summary.correct_pixels[image] == 4)


def touches_a_stroke(truth: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> bool:
    image = truth.reshape(28, 28)
    for row, column in zip(rows, columns, strict=True):
        around = image[max(0, row - 1) : row + 2, max(0, column - 1) : column + 2]
        if around.any():
            return True
    return False


@pytest.mark.parametrize("mask", ["1x1", "2x2", "3x5", "1x16", "4x4"])
def test_generated_blocks_have_the_asked_size_and_lie_by_the_strokes(test_images, mask):
    block = inpainting.parse_mask(mask)
    dataset = inpainting.make_dataset(test_images, block, 200, seed=7)

    assert dataset.as_array().shape == (2, 200, 784)
    assert (dataset.truth == test_images[dataset.test_indices]).all()
    assert len(set(dataset.test_indices.tolist())) == 200
    assert (dataset.missing.sum(axis=1) == block.size).all()
    known = ~dataset.missing
    assert (dataset.masked[known] == dataset.truth[known]).all()
    for image in range(200):
        rows, columns = np.divmod(np.flatnonzero(dataset.missing[image]), 28)
        # One whole block of height x width inside the 28 x 28 image.
        assert rows.max() - rows.min() + 1 == block.height
        assert columns.max() - columns.min() + 1 == block.width
        assert 0 <= rows.min() and rows.max() < 28
        assert 0 <= columns.min() and columns.max() < 28
        assert touches_a_stroke(dataset.truth[image], rows, columns)


def test_generation_is_fixed_by_the_seed(test_images):
    block = BlockShape(2, 2)
    first = inpainting.make_dataset(test_images, block, 100, seed=5)
    again = inpainting.make_dataset(test_images, block, 100, seed=5)
    other = inpainting.make_dataset(test_images, block, 100, seed=6)
    assert (first.as_array() == again.as_array()).all()
    assert not (first.masked == other.masked).all()


def test_blocks_are_drawn_among_all_allowed_positions(test_images):
    # A lone stroke pixel at (10, 10): a 2x2 block may start at rows/columns 8..11.
    image = np.zeros((1, 784), np.uint8)
    image[0, 10 * 28 + 10] = 1
    allowed = inpainting.allowed_positions(image, BlockShape(2, 2))[0]
    assert sorted(map(tuple, np.argwhere(allowed).tolist())) == [
        (row, column) for row in range(8, 12) for column in range(8, 12)
    ]
    many = np.repeat(image, 300, axis=0)
    dataset = inpainting.make_dataset(many, BlockShape(2, 2), 300, seed=0)
    corners = {tuple(np.divmod(np.flatnonzero(row)[0], 28)) for row in dataset.missing}
    assert corners == {(row, column) for row in range(8, 12) for column in range(8, 12)}


def test_a_saved_data_set_reads_back_equal(test_images, tmp_path):
    dataset = inpainting.make_dataset(test_images, BlockShape(1, 1), 30, seed=0)
    path = tmp_path / "set.npy"
    inpainting.save_dataset(dataset, path)
    array = np.load(path)
    assert array.shape == (2, 30, 784) and array.dtype == np.int8
    assert (array[0] == -1).sum() == 30
    back = inpainting.read_dataset(path)
    assert (back.masked == dataset.masked).all() and (back.truth == dataset.truth).all()


def good_array(images: int = 4) -> np.ndarray:
    truth = np.zeros((images, 784), np.int8)
    truth[:, 300:320] = 1
    masked = truth.copy()
    masked[:, 310] = -1
    return np.stack([masked, truth])


def with_changes(change) -> np.ndarray:
    array = good_array()
    change(array)
    return array


WRONG_LAYOUTS = {
    "transposed": (good_array().transpose(1, 2, 0), "shape (4, 784, 2)"),
    "square images": (good_array().reshape(2, 4, 28, 28), "shape (2, 4, 28, 28)"),
    "three parts": (np.concatenate([good_array(), good_array()[:1]]), "(3, 4, 784)"),
    "short rows": (good_array()[:, :, :783], "shape (2, 4, 783)"),
    "no images": (good_array()[:, :0], "holds no images"),
    "grey truth": (
        with_changes(lambda a: a.__setitem__((1, 0, 5), 2)),
        "other than 0/1",
    ),
    "bad mask value": (
        with_changes(lambda a: a.__setitem__((0, 0, 5), -2)),
        "other than 0, 1 and -1",
    ),
    "masked disagrees": (
        with_changes(lambda a: a.__setitem__((0, 2, 7), 1)),
        "image 2 shows pixel 7 as 1 but its ground truth is 0",
    ),
    "too many missing": (
        with_changes(lambda a: a.__setitem__((0, 1, slice(0, 17)), -1)),
        "image 1 has 18 missing pixels; at most 16",
    ),
    "nothing missing": (good_array()[[1, 1]], "no pixel is missing"),
    "strings": (np.full((2, 4, 784), "0"), "dtype <U1"),
}


@pytest.mark.parametrize("case", list(WRONG_LAYOUTS))
def test_a_file_in_the_wrong_layout_is_refused(tmp_path, case):
    array, message = WRONG_LAYOUTS[case]
    path = tmp_path / "wrong.npy"
    np.save(path, array)
    with pytest.raises(PixelrnnError) as caught:
        inpainting.read_dataset(path)
    assert message in str(caught.value)


def test_files_that_are_no_array_are_refused(tmp_path):
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    text = tmp_path / "notes.npy"
    text.write_text("not an array\n")
    archive = tmp_path / "set.npz"
    np.savez(archive, data=good_array())
    for path in (pickled, text):
        with pytest.raises(PixelrnnError, match="is not a readable .npy file"):
            inpainting.read_dataset(path)
    with pytest.raises(PixelrnnError, match="holds several arrays"):
        inpainting.read_dataset(archive)
    with pytest.raises(PixelrnnError, match="dataset file not found"):
        inpainting.read_dataset(tmp_path / "absent.npy")


@pytest.mark.parametrize(
    "text, block",
    [
        ("1x1", (1, 1)),
        ("2x2", (2, 2)),
        ("4X4", (4, 4)),
        ("1x16", (1, 16)),
        ("3x5", (3, 5)),
    ],
)
def test_masks_are_read_as_rows_by_columns(text, block):
    assert inpainting.parse_mask(text) == BlockShape(*block)


@pytest.mark.parametrize("text", ["5x5", "0x2", "2", "2x2x2", "big", "17x1"])
def test_masks_too_large_or_malformed_are_refused(text):
    with pytest.raises(PixelrnnError, match="--mask must be HxW of at most 16 pixels"):
        inpainting.parse_mask(text)


def test_inpaint_command_prints_and_stores_the_numbers(pixel_run, tmp_path):
    figures = tmp_path / "figures"
    args = ["inpaint", str(pixel_run), "--images", "12", "--figures", str(figures)]
    result = runner.invoke(app, [*args, "--mask", "2x2", "--seed", "4", "-q"])
    assert result.exit_code == 0, result.output

    stored = read_run(pixel_run / "run.h5").groups["inpainting/2x2"]
    for key in ("ground_truth_cross_entropy", "inpainted_cross_entropy"):
        assert f"{stored[key]:.4f}" in result.stdout
    assert f"{100 * stored['correct_share']:.1f}%" in result.stdout
    assert stored["images"] == 12 and stored["seed"] == 4
    assert stored["missing_per_image"] == 4
    truth_ll = stored["image_ground_truth_log_likelihood"]  # (12,)
    inpainted_ll = stored["image_inpainted_log_likelihood"]
    assert stored["ground_truth_cross_entropy"] == pytest.approx(-truth_ll.mean() / 784)
    assert stored["inpainted_cross_entropy"] == pytest.approx(
        -inpainted_ll.mean() / 784
    )
    assert stored["posterior_ground_truth"] == pytest.approx(
        stored["image_posterior_ground_truth"].mean()
    )
    assert (inpainted_ll >= truth_ll).all()
    assert stored["correct_share"] == stored["image_correct_pixels"].sum() / 48
    assert stored["dataset"] == str(pixel_run / "inpaint-2x2.npy")
    assert np.load(pixel_run / "inpaint-2x2.npy").shape == (2, 12, 784)
    drawn = json.loads(stored["figures"])
    assert drawn and all(path.startswith(str(figures)) for path in drawn)
    assert all((figures / path.split("/")[-1]).is_file() for path in drawn)

    # The same images read back from the file give the same numbers.
    again = runner.invoke(
        app, [*args, "--dataset", str(pixel_run / "inpaint-2x2.npy"), "-q"]
    )
    assert again.exit_code == 0, again.output
    from_file = read_run(pixel_run / "run.h5").groups["inpainting/file"]
    for key in ("ground_truth_cross_entropy", "inpainted_cross_entropy"):
        assert from_file[key] == pytest.approx(stored[key], abs=1e-9)
    assert from_file["seed"] is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--mask", "5x5"], "--mask must be HxW of at most 16 pixels"),
        (["--mask", "two"], "--mask must be HxW"),
        (["--images", "0"], "--images must be at least 1, got 0"),
        (["--seed", "-1"], "--seed must be 0 or more, got -1"),
        (["--images", "20000"], "more images than the test split holds (10000)"),
        (["--dataset", "absent.npy"], "dataset file not found: absent.npy"),
        (["--dataset", "x.npy", "--mask", "1x1"], "not both"),
    ],
)
def test_bad_option_values_end_in_one_line(pixel_run, args, message):
    result = runner.invoke(app, ["inpaint", str(pixel_run), *args, "-q"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert message in lines[0]


def test_a_wrong_dataset_file_is_refused_by_the_command(pixel_run, tmp_path):
    path = tmp_path / "flat.npy"
    np.save(path, np.zeros((10, 784)))
    result = runner.invoke(app, ["inpaint", str(pixel_run), "--dataset", str(path)])
    assert result.exit_code == 1
    assert "expected a .npy array of shape (2, N, 784)" in result.output
    assert "Traceback" not in result.output


def test_a_classifier_or_an_unknown_run_is_refused(classifier_run, checkpoints):
    result = runner.invoke(app, ["inpaint", str(classifier_run)])
    assert result.exit_code == 1
    assert "is a classifier; in-painting needs a pixel model" in result.output
    result = runner.invoke(app, ["inpaint", "--checkpoints", str(checkpoints)])
    assert result.exit_code == 1
    assert "no run named 'pixel-gru-1x128'" in result.output
