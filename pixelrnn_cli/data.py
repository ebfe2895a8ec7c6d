"""MNIST as binary pixel sequences.

A data file is an `.npz` in the layout of Keras's `mnist.npz`: `x_train` and
`x_test` of shape (N, 28, 28) and dtype uint8, `y_train` and `y_test` of shape
(N,) with labels 0..9. The package ships the real MNIST in that layout and uses
it when no other file is named.

The training images are split in order: all but the last 5,000 are for
training, the last 5,000 for validation; the test images are the test split.
A pixel is 1 where value / 255 > threshold, and an image is read row by row
from the top-left corner, giving a sequence of 784 pixels.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelrnn_cli.errors import PixelrnnError

log = logging.getLogger(__name__)

BUNDLED_MNIST = Path(__file__).parent / "data" / "mnist.npz"
IMAGE_SIDE = 28
SEQUENCE_LENGTH = IMAGE_SIDE * IMAGE_SIDE
VALIDATION_SIZE = 5_000
DEFAULT_THRESHOLD = 0.1
NUM_CLASSES = 10
SPLIT_NAMES = ("train", "validation", "test")
REQUIRED_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Split:
    """One split: binary images as rows of 784 pixels, and their labels."""

    name: str
    images: np.ndarray  # (N, 784) uint8 in {0, 1}
    labels: np.ndarray  # (N,) int64 in 0..9

    def __len__(self) -> int:
        return len(self.images)

    def sequences(self) -> np.ndarray:
        """The images as float32 sequences of shape (N, 784, 1)."""
        return as_sequences(self.images)


@dataclass(frozen=True)
class Splits:
    """The training, validation and test splits of one data file."""

    train: Split
    validation: Split
    test: Split
    source: str
    threshold: float

    def get(self, name: str) -> Split:
        if name not in SPLIT_NAMES:
            raise ValueError(f"unknown split {name!r}; expected one of {SPLIT_NAMES}")
        return getattr(self, name)


def as_sequences(images: np.ndarray) -> np.ndarray:
    """Turn (N, 784) pixels into the (N, 784, 1) float32 input of the models."""
    return images.reshape(len(images), SEQUENCE_LENGTH, 1).astype(np.float32)


def binarise(images: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """Binarise uint8 images of shape (N, 28, 28) into (N, 784) rows of 0 and 1.

    A pixel becomes 1 where value / 255 > threshold. Rows run left to right and
    top to bottom, so pixel (row, column) lands at index 28 * row + column.
    """
    check_threshold(threshold)
    flat = images.reshape(len(images), SEQUENCE_LENGTH)
    return (flat.astype(np.float32) / 255.0 > threshold).astype(np.uint8)


def check_threshold(threshold: float) -> None:
    if not 0.0 <= threshold < 1.0:
        raise PixelrnnError(
            f"threshold must be in [0, 1), got {threshold}: a pixel is 1 where "
            "value/255 is above it"
        )


def load_arrays(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """Read and check the four arrays of an MNIST-layout `.npz` file."""
    path = Path(path) if path is not None else BUNDLED_MNIST
    if not path.is_file():
        raise PixelrnnError(f"data file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in REQUIRED_KEYS if key not in archive.files]
            if missing:
                raise PixelrnnError(
                    f"data file {path} has no array {missing[0]!r}; an MNIST-layout "
                    f"file holds {', '.join(REQUIRED_KEYS)}"
                )
            arrays = {key: archive[key] for key in REQUIRED_KEYS}
    except PixelrnnError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise PixelrnnError(
            f"data file {path} is not a readable .npz archive ({error})"
        ) from None
    _check_arrays(arrays, path)
    return arrays


def _check_arrays(arrays: dict[str, np.ndarray], path: Path) -> None:
    for part in ("train", "test"):
        images, labels = arrays[f"x_{part}"], arrays[f"y_{part}"]
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
            raise PixelrnnError(
                f"data file {path}: x_{part} has shape {images.shape}, expected "
                f"(N, {IMAGE_SIDE}, {IMAGE_SIDE})"
            )
        if images.dtype != np.uint8:
            raise PixelrnnError(
                f"data file {path}: x_{part} has dtype {images.dtype}, expected uint8"
            )
        if labels.shape != (len(images),):
            raise PixelrnnError(
                f"data file {path}: y_{part} has shape {labels.shape}, expected "
                f"({len(images)},) to match x_{part}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise PixelrnnError(
                f"data file {path}: y_{part} has dtype {labels.dtype}, expected "
                "integer labels"
            )
        if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
            raise PixelrnnError(f"data file {path}: y_{part} holds labels outside 0..9")
        if len(images) == 0:
            raise PixelrnnError(f"data file {path}: x_{part} holds no images")
    if len(arrays["x_train"]) <= VALIDATION_SIZE:
        raise PixelrnnError(
            f"data file {path}: x_train holds {len(arrays['x_train'])} images; "
            f"more than {VALIDATION_SIZE} are needed to keep the last "
            f"{VALIDATION_SIZE} for validation"
        )


def load_splits(
    path: str | Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    limit: int | None = None,
) -> Splits:
    """Load a data file as binarised training, validation and test splits.

    Args:
        path: an MNIST-layout `.npz`; None for the bundled MNIST.
        threshold: a pixel is 1 where value / 255 is above it.
        limit: keep only the first `limit` images of each split (quick runs).
    """
    check_threshold(threshold)
    if limit is not None and limit < 1:
        raise PixelrnnError(f"limit must be at least 1, got {limit}")
    arrays = load_arrays(path)
    n_train = len(arrays["x_train"]) - VALIDATION_SIZE
    parts = {
        "train": (arrays["x_train"][:n_train], arrays["y_train"][:n_train]),
        "validation": (arrays["x_train"][n_train:], arrays["y_train"][n_train:]),
        "test": (arrays["x_test"], arrays["y_test"]),
    }
    splits = {}
    for name, (images, labels) in parts.items():
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        splits[name] = Split(name, binarise(images, threshold), labels.astype(np.int64))
    source = str(path) if path is not None else "bundled MNIST"
    log.info(
        "loaded %s: %d train, %d validation, %d test images",
        source,
        *(len(split) for split in splits.values()),
    )
    return Splits(**splits, source=source, threshold=threshold)
