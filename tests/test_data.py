from __future__ import annotations

import numpy as np
import pytest

from pixelrnn_cli.data import (
    BUNDLED_MNIST,
    SEQUENCE_LENGTH,
    VALIDATION_SIZE,
    as_sequences,
    binarise,
    load_arrays,
    load_splits,
)
from pixelrnn_cli.errors import PixelrnnError


@pytest.fixture(scope="module")
def splits():
    return load_splits()


@pytest.fixture(scope="module")
def raw():
    return load_arrays()


def test_bundled_file_is_genuine_mnist(raw):
    train = raw["x_train"].astype(np.float64) / 255.0
    assert raw["x_train"].shape == (60_000, 28, 28)
    assert raw["x_test"].shape == (10_000, 28, 28)
    assert train.mean() == pytest.approx(0.1307, abs=1e-4)
    assert train.std() == pytest.approx(0.3081, abs=1e-4)
    assert np.bincount(raw["y_train"])[:3].tolist() == [5923, 6742, 5958]
    assert np.bincount(raw["y_test"])[:3].tolist() == [980, 1135, 1032]


def test_split_sizes(splits):
    assert len(splits.train) == 55_000
    assert len(splits.validation) == VALIDATION_SIZE == 5_000
    assert len(splits.test) == 10_000


def test_validation_is_the_last_5000_training_images(splits, raw):
    expected = binarise(raw["x_train"][-5_000:])
    assert np.array_equal(splits.validation.images, expected)
    assert np.array_equal(splits.validation.labels, raw["y_train"][-5_000:])
    assert np.array_equal(splits.train.images, binarise(raw["x_train"][:55_000]))
    assert np.array_equal(splits.test.labels, raw["y_test"])


def test_threshold_puts_25_at_zero_and_26_at_one():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 0, 0], image[0, 0, 1], image[0, 5, 5] = 25, 26, 255
    pixels = binarise(image)
    assert pixels[0, 0] == 0
    assert pixels[0, 1] == 1
    assert pixels[0, 5 * 28 + 5] == 1
    assert pixels.sum() == 2
    assert binarise(image, threshold=0.5).sum() == 1


def test_sequence_order_is_row_major():
    image = np.zeros((1, 28, 28), np.uint8)
    image[0, 3, 17] = 200  # row 3, column 17
    sequence = as_sequences(binarise(image))
    assert sequence.shape == (1, SEQUENCE_LENGTH, 1)
    assert sequence.dtype == np.float32
    assert np.flatnonzero(sequence[0, :, 0]).tolist() == [3 * 28 + 17]


def test_limit_keeps_the_first_images_of_each_split(splits):
    small = load_splits(limit=7)
    assert [len(small.get(name)) for name in ("train", "validation", "test")] == [7] * 3
    assert np.array_equal(small.validation.images, splits.validation.images[:7])


def write_npz(path, **arrays):
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path


def good_arrays(n_train: int = 5_010, n_test: int = 4) -> dict[str, np.ndarray]:
    return {
        "x_train": np.zeros((n_train, 28, 28), np.uint8),
        "y_train": np.zeros(n_train, np.uint8),
        "x_test": np.zeros((n_test, 28, 28), np.uint8),
        "y_test": np.zeros(n_test, np.uint8),
    }


def test_a_small_file_of_the_right_layout_loads(tmp_path):
    path = write_npz(tmp_path / "small.npz", **good_arrays())
    splits = load_splits(path)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (
        10,
        5000,
        4,
    )


def malformed_files(tmp_path):
    arrays = good_arrays()
    cases = {}
    cases["missing"] = (tmp_path / "absent.npz", "not found")
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    cases["not npz"] = (text, "not a readable .npz")
    cases["lacks key"] = (
        write_npz(
            tmp_path / "nokey.npz", **{k: v for k, v in arrays.items() if k != "y_test"}
        ),
        "no array 'y_test'",
    )
    cases["wrong image shape"] = (
        write_npz(
            tmp_path / "shape.npz",
            **{**arrays, "x_test": np.zeros((4, 32, 32), np.uint8)},
        ),
        "x_test has shape (4, 32, 32), expected (N, 28, 28)",
    )
    cases["wrong dtype"] = (
        write_npz(
            tmp_path / "dtype.npz",
            **{**arrays, "x_train": arrays["x_train"].astype(np.float32)},
        ),
        "x_train has dtype float32, expected uint8",
    )
    cases["label count"] = (
        write_npz(
            tmp_path / "labels.npz", **{**arrays, "y_test": np.zeros(3, np.uint8)}
        ),
        "y_test has shape (3,), expected (4,)",
    )
    cases["label values"] = (
        write_npz(
            tmp_path / "values.npz", **{**arrays, "y_test": np.full(4, 12, np.uint8)}
        ),
        "labels outside 0..9",
    )
    cases["too few"] = (
        write_npz(tmp_path / "few.npz", **good_arrays(n_train=100)),
        "more than 5000 are needed",
    )
    return cases


@pytest.mark.parametrize(
    "case",
    [
        "missing",
        "not npz",
        "lacks key",
        "wrong image shape",
        "wrong dtype",
        "label count",
        "label values",
        "too few",
    ],
)
def test_malformed_data_files_are_refused(tmp_path, case):
    path, message = malformed_files(tmp_path)[case]
    with pytest.raises(PixelrnnError, match=None) as raised:
        load_splits(path)
    assert message in str(raised.value)


def test_bad_threshold_is_refused():
    with pytest.raises(PixelrnnError, match="threshold must be in"):
        load_splits(BUNDLED_MNIST, threshold=1.5)
