"""In-painting: filling missing pixels from the likelihood of the whole image.

A data set is an array of shape (2, N, 784): the masked images first, with
missing pixels marked -1, then the ground truth (0 and 1). Generated sets hide
one HxW block (at most 16 pixels) per image, placed by this rule:

- the block lies wholly inside the 28x28 image;
- at least one of its pixels is a stroke pixel (value 1) or one of the eight
  neighbours of a stroke pixel;
- images are drawn without replacement from the test split among those that
  admit such a block (and kept in test-set order), then each block position
  is drawn uniformly among the allowed ones; one
  `numpy.random.default_rng(seed)` makes both draws.

The missing pixels have known pixels after them, so the posterior of a
configuration c of the k missing pixels is proportional to the likelihood of
the whole 784-pixel sequence it completes: p(c | known) = softmax over the 2^k
configurations of log p(x_1 .. x_784). The in-painting is the most probable
configuration. Configuration c gives the j-th missing pixel (in reading
order) the value of bit j of c.

Scoring splits each image at its first missing pixel s. The pixel model's
state after reading x_1 .. x_{s-1} is the same for every configuration, so
that prefix runs once per image (through the model's own recurrent cells,
wrapped to return their state); only the suffix from s on runs once per
configuration, from the saved state, through the model's own layers, in
batches of images x configurations. The prefix pass is a loop of its own, so
with one missing pixel and few images it costs more on a CPU than it saves
(docs/inpainting.md has the measurements).
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pixelrnn_cli.data import IMAGE_SIDE, SEQUENCE_LENGTH, load_splits
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.progress import Reporter

log = logging.getLogger(__name__)

MISSING = -1
MAX_MISSING = 16
DEFAULT_IMAGES = 1_000
DEFAULT_MASK = "2x2"
FILE_LABEL = "file"
FIGURE_EXAMPLES = 6
# Sequences x steps x units held at once by one batch: about 1 GiB of float32.
BATCH_ELEMENTS = 2**28
MAX_BATCH_ROWS = 8_192
# A batch pads every sequence to its longest; once a batch holds MIN_BATCH_ROWS
# sequences it stops before one whose split lies SPLIT_SPREAD steps past its first.
MIN_BATCH_ROWS = 256
SPLIT_SPREAD = IMAGE_SIDE


@dataclass(frozen=True)
class BlockShape:
    """A missing block of `height` rows and `width` columns."""

    height: int
    width: int

    @property
    def label(self) -> str:
        return f"{self.height}x{self.width}"

    @property
    def size(self) -> int:
        return self.height * self.width


def parse_mask(text: str) -> BlockShape:
    """Read a block like `2x2` (rows x columns, at most 16 pixels)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    expected = f"HxW of at most {MAX_MISSING} pixels, like 1x1 or 2x2"
    if match is None:
        raise PixelrnnError(f"--mask must be {expected}; got {text!r}")
    block = BlockShape(int(match.group(1)), int(match.group(2)))
    if block.height < 1 or block.width < 1 or block.size > MAX_MISSING:
        raise PixelrnnError(
            f"--mask must be {expected}; got {text!r} ({block.size} pixels)"
        )
    return block


@dataclass(frozen=True)
class InpaintingDataset:
    """Masked images and their ground truth, one row of 784 pixels per image."""

    masked: np.ndarray  # (N, 784) int8: 0, 1, or -1 where missing
    truth: np.ndarray  # (N, 784) uint8 in {0, 1}
    test_indices: np.ndarray | None = None  # (N,) rows of the test split

    def __len__(self) -> int:
        return len(self.masked)

    @property
    def missing(self) -> np.ndarray:
        return self.masked == MISSING  # (N, 784) bool

    def as_array(self) -> np.ndarray:
        """The (2, N, 784) int8 layout of the `.npy` files."""
        return np.stack([self.masked, self.truth.astype(np.int8)])

    def head(self, count: int) -> InpaintingDataset:
        indices = None if self.test_indices is None else self.test_indices[:count]
        return InpaintingDataset(self.masked[:count], self.truth[:count], indices)


def allowed_positions(images: np.ndarray, block: BlockShape) -> np.ndarray:
    """Where a block may go by the placement rule, per image.

    Args:
        images: (N, 784) binary images.

    Returns:
        (N, 29 - height, 29 - width) bool: True where the block whose top-left
        pixel is (row, column) holds or touches a stroke pixel.
    """
    strokes = images.reshape(-1, IMAGE_SIDE, IMAGE_SIDE) > 0  # (N, 28, 28)
    padded = np.pad(strokes, ((0, 0), (1, 1), (1, 1)))
    near = np.zeros_like(strokes)
    for row_shift in range(3):
        for column_shift in range(3):
            near |= padded[
                :,
                row_shift : row_shift + IMAGE_SIDE,
                column_shift : column_shift + IMAGE_SIDE,
            ]
    windows = np.lib.stride_tricks.sliding_window_view(
        near, (block.height, block.width), axis=(1, 2)
    )  # (N, 29 - height, 29 - width, height, width)
    return windows.any(axis=(-2, -1))


def make_dataset(
    images: np.ndarray, block: BlockShape, count: int, seed: int
) -> InpaintingDataset:
    """Hide one block in each of `count` images drawn from `images` (seeded).

    Args:
        images: (N, 784) binary test images.
    """
    allowed = allowed_positions(images, block)  # (N, rows, columns)
    usable = np.flatnonzero(allowed.any(axis=(1, 2)))
    if count > len(usable):
        raise PixelrnnError(
            f"--images {count} asks for more images than the test split offers for "
            f"a {block.label} block ({len(usable)} of {len(images)} images have a "
            "stroke to place it by)"
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(usable, size=count, replace=False))  # (count,)
    flat = allowed[chosen].reshape(count, -1)  # (count, rows * columns)
    draws = rng.integers(0, flat.sum(axis=1))  # (count,)
    picked = np.argmax(np.cumsum(flat, axis=1) > draws[:, None], axis=1)
    top, left = np.divmod(picked, allowed.shape[2])
    rows = top[:, None, None] + np.arange(block.height)[None, :, None]
    columns = left[:, None, None] + np.arange(block.width)[None, None, :]
    hidden = (rows * IMAGE_SIDE + columns).reshape(count, -1)  # (count, size)

    truth = images[chosen].astype(np.uint8)
    masked = truth.astype(np.int8)
    np.put_along_axis(masked, hidden, MISSING, axis=1)
    return InpaintingDataset(masked, truth, chosen)


def save_dataset(dataset: InpaintingDataset, path: Path) -> None:
    from pixelrnn_cli.results import atomic_write

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as handle:
            np.save(handle, dataset.as_array(), allow_pickle=False)

    atomic_write(path, write)
    log.info("wrote the in-painting data set to %s", path)


def read_dataset(path: Path) -> InpaintingDataset:
    """Read and check a (2, N, 784) data set: masked images, then ground truth."""
    layout = (
        "expected a .npy array of shape (2, N, 784): masked images (0, 1, -1 where "
        "missing), then ground truth (0, 1)"
    )
    if not path.is_file():
        raise PixelrnnError(f"dataset file not found: {path}")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        reason = str(error).splitlines()[0][:100] if str(error) else "unreadable"
        raise PixelrnnError(f"{path} is not a readable .npy file ({reason})") from None
    if not isinstance(array, np.ndarray):
        raise PixelrnnError(f"{path} holds several arrays (an .npz?); {layout}")
    if array.ndim != 3 or array.shape[0] != 2 or array.shape[2] != SEQUENCE_LENGTH:
        raise PixelrnnError(f"{path} holds an array of shape {array.shape}; {layout}")
    if array.shape[1] == 0:
        raise PixelrnnError(f"{path} holds no images; {layout}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise PixelrnnError(f"{path} holds dtype {array.dtype}; {layout}")
    masked, truth = array[0], array[1]
    if not np.isin(truth, (0, 1)).all():
        raise PixelrnnError(f"{path}: the ground truth holds values other than 0/1")
    if not np.isin(masked, (0, 1, MISSING)).all():
        raise PixelrnnError(
            f"{path}: the masked images hold values other than 0, 1 and -1"
        )
    missing = masked == MISSING
    clash = ~missing & (masked != truth)
    if clash.any():
        image, pixel = np.argwhere(clash)[0]
        raise PixelrnnError(
            f"{path}: image {image} shows pixel {pixel} as {int(masked[image, pixel])} "
            f"but its ground truth is {int(truth[image, pixel])}"
        )
    counts = missing.sum(axis=1)
    if counts.max() > MAX_MISSING:
        image = int(np.argmax(counts))
        raise PixelrnnError(
            f"{path}: image {image} has {counts[image]} missing pixels; at most "
            f"{MAX_MISSING} per image can be scored (2^{MAX_MISSING} configurations)"
        )
    if counts.sum() == 0:
        raise PixelrnnError(f"{path}: no pixel is missing (marked -1) in any image")
    return InpaintingDataset(masked.astype(np.int8), truth.astype(np.uint8))


@dataclass
class ConfigurationScores:
    """The log-likelihood of every configuration of every image.

    Image i owns rows `offsets[i]` to `offsets[i + 1]` of `log_likelihood`,
    one per configuration, in the order of `configuration_bits`.
    """

    log_likelihood: np.ndarray  # (total configurations,) float64, nats
    offsets: np.ndarray  # (N + 1,) int64
    positions: list[np.ndarray]  # per image: (k,) sequence positions, ascending

    def of_image(self, image: int) -> np.ndarray:
        return self.log_likelihood[self.offsets[image] : self.offsets[image + 1]]

    def posterior(self, image: int) -> np.ndarray:
        """p(configuration | known pixels) of one image: (2^k,)."""
        scores = self.of_image(image)
        weights = np.exp(scores - scores.max())
        return weights / weights.sum()


def configuration_bits(count: int) -> np.ndarray:
    """(2^count, count) uint8: row c holds bit j of c in column j."""
    configurations = np.arange(2**count)[:, None]
    return ((configurations >> np.arange(count)[None, :]) & 1).astype(np.uint8)


def batch_rows_for(model) -> int:
    """Sequences per batch that keep one batch's activations near 1 GiB."""
    units = max(layer.units for layer in _recurrent(model))
    rows = BATCH_ELEMENTS // (SEQUENCE_LENGTH * units)
    return int(min(MAX_BATCH_ROWS, max(64, rows)))


def _recurrent(model) -> list:
    from pixelrnn_cli.models import recurrent_layers

    return recurrent_layers(model)


class CompletionScorer:
    """Whole-image log-likelihoods of many completions under one pixel model.

    Uses the model's own layers: `shift_right`, `input_map`, the recurrent
    layers and `pixel_logit` (dropout is inactive at inference). The prefix
    pass wraps each recurrent layer's cell in an RNN that returns its state,
    so no weights are copied.
    """

    def __init__(self, model, jit: bool | None = None) -> None:
        import keras
        import tensorflow as tf

        from pixelrnn_cli.device import use_jit

        self.shift_right = model.get_layer("shift_right")
        self.input_map = model.get_layer("input_map")
        self.recurrent = _recurrent(model)
        self.pixel_logit = model.get_layer("pixel_logit")
        self.batch_rows = batch_rows_for(model)
        self.state_readers = [
            keras.layers.RNN(layer.cell, return_sequences=True, return_state=True)
            for layer in self.recurrent
        ]
        # Fixed signatures with free batch and time sizes: one trace serves all.
        sequence = tf.TensorSpec((None, None, 1), tf.float32)
        steps = tf.TensorSpec((None, None), tf.float32)
        states = [
            [tf.TensorSpec((None, size), tf.float32) for size in _state_sizes(layer)]
            for layer in self.recurrent
        ]
        self.read_prefix = tf.function(
            self._read_prefix,
            jit_compile=use_jit(jit),
            input_signature=(sequence, tf.TensorSpec((None, None), tf.bool)),
        )
        self.score_suffix = tf.function(
            self._score_suffix,
            jit_compile=use_jit(jit),
            input_signature=(sequence, steps, steps, states),
        )

    def score(
        self,
        dataset: InpaintingDataset,
        *,
        batch_rows: int | None = None,
        reporter: Reporter | None = None,
    ) -> ConfigurationScores:
        """Score every configuration of every image (see `score_configurations`)."""
        return _score(
            self, dataset, batch_rows or self.batch_rows, reporter or Reporter()
        )

    def _read_prefix(self, pixels, reach):
        """Run the prefixes, keeping each image's state at its split step.

        Args:
            pixels: (batch, T, 1) the images' first T pixels.
            reach: (batch, T) bool, True up to and including the split step.

        Returns:
            logits (batch, T) and, per recurrent layer, its state tensors.
        """
        x = self.input_map(self.shift_right(pixels))  # (batch, T, units)
        states = []
        for reader in self.state_readers:
            x, *state = reader(x, mask=reach)  # masked steps keep the state
            states.append(state)
        logits = self.pixel_logit(x)[..., 0]  # (batch, T)
        return logits, states

    def _score_suffix(self, pixels, targets, valid, states):
        """Log-likelihood of each suffix, continuing from the given states.

        Args:
            pixels: (rows, L, 1) inputs x_s .. x_{s+L-1} of each row.
            targets: (rows, L) the pixels they predict, x_{s+1} .. x_{s+L}.
            valid: (rows, L) 1.0 where the step lies inside the image.
            states: per recurrent layer, its state tensors (rows, units).
        """
        from keras import ops

        x = self.input_map(pixels)  # (rows, L, units)
        for layer, state in zip(self.recurrent, states, strict=True):
            x = layer(x, initial_state=state)  # (rows, L, units)
        logits = self.pixel_logit(x)[..., 0]  # (rows, L)
        log_probs = -ops.binary_crossentropy(targets, logits, from_logits=True)
        log_probs = ops.cast(log_probs, "float64") * ops.cast(valid, "float64")
        return ops.sum(log_probs, axis=1)  # (rows,)


def _state_sizes(layer) -> list[int]:
    """The sizes of a recurrent layer's state tensors: [h] or, for an LSTM, [h, c]."""
    size = layer.cell.state_size
    return list(size) if isinstance(size, (list, tuple)) else [size]


def score_configurations(
    model,
    dataset: InpaintingDataset,
    *,
    jit: bool | None = None,
    batch_rows: int | None = None,
    reporter: Reporter | None = None,
) -> ConfigurationScores:
    """Score every configuration of the missing pixels of every image.

    Args:
        model: a pixel model from `build_model("pixel", ...)`.
        batch_rows: sequences per batch (default from the model's width).
    """
    scorer = CompletionScorer(model, jit)
    return scorer.score(dataset, batch_rows=batch_rows, reporter=reporter)


def _score(
    scorer: CompletionScorer,
    dataset: InpaintingDataset,
    batch_rows: int,
    reporter: Reporter,
) -> ConfigurationScores:
    """Read the prefixes, then score every row (image x configuration)."""
    missing = dataset.missing  # (N, 784)
    counts = missing.sum(axis=1)  # (N,)
    positions = [np.flatnonzero(row) for row in missing]
    # The split is the first missing pixel; an image without one splits at the end.
    splits = np.array(
        [found[0] if len(found) else SEQUENCE_LENGTH - 1 for found in positions]
    )
    offsets = np.concatenate([[0], np.cumsum(2**counts)]).astype(np.int64)
    # Images in order of their split, so a batch's sequences have similar lengths.
    order = np.argsort(splits, kind="stable")
    known = np.where(missing, 0, dataset.masked).astype(np.float32)  # (N, 784)

    prefix_log_likelihood, split_logits, states = _read_prefixes(
        scorer, known, splits, order, batch_rows, reporter
    )
    log_likelihood = np.zeros(offsets[-1])
    row_image = np.repeat(order, 2 ** counts[order])  # (total,) in split order
    row_config = np.concatenate([np.arange(2 ** counts[image]) for image in order])
    slots = np.full((len(dataset), MAX_MISSING), -1)
    for image, found in enumerate(positions):
        slots[image, : len(found)] = found
    completed_rows = np.cumsum(2 ** counts[order])

    reporter.start(f"in-painting {len(dataset)} images", len(dataset))
    done = 0
    for batch in _batches(splits[row_image], batch_rows):
        images, configs = row_image[batch], row_config[batch]
        filled = known[images]  # (rows, 784)
        pixels_set = np.arange(MAX_MISSING)[None, :] < counts[images][:, None]
        bits = (configs[:, None] >> np.arange(MAX_MISSING)[None, :]) & 1
        row_index, slot = np.nonzero(pixels_set)
        filled[row_index, slots[images][row_index, slot]] = bits[row_index, slot]

        split = splits[images]  # (rows,)
        target = filled[np.arange(len(images)), split]
        logit = split_logits[images]
        split_term = target * logit - np.logaddexp(0.0, logit)
        suffix = _score_suffixes(
            scorer,
            filled,
            split,
            [[layer_state[images] for layer_state in layer] for layer in states],
        )
        log_likelihood[offsets[images] + configs] = (
            prefix_log_likelihood[images] + split_term + suffix
        )
        finished = int(np.searchsorted(completed_rows, batch.stop, "right"))
        reporter.advance(finished - done)
        done = finished
    reporter.finish()
    return ConfigurationScores(log_likelihood, offsets, positions)


def _batches(splits: np.ndarray, batch_rows: int) -> list[slice]:
    """Cut rows sorted by split into batches of similar sequence lengths."""
    batches, start = [], 0
    while start < len(splits):
        stop = min(start + batch_rows, len(splits))
        near = int(np.searchsorted(splits, splits[start] + SPLIT_SPREAD, "right"))
        stop = min(stop, max(near, start + MIN_BATCH_ROWS))
        batches.append(slice(start, stop))
        start = stop
    return batches


def _read_prefixes(scorer, known, splits, order, batch_rows, reporter):
    """Read each image's known prefix once.

    Returns, per image, the log-likelihood of the pixels before its split, the
    logit of the split pixel, and the recurrent states after reading up to it.
    """
    count = len(known)
    prefix_log_likelihood = np.zeros(count)
    split_logits = np.zeros(count)
    states: list[list[np.ndarray]] | None = None
    reporter.start("reading the known prefixes", count)
    for batch in _batches(splits[order], batch_rows):
        images = order[batch]
        length = int(splits[images].max()) + 1
        steps = np.arange(length)[None, :]
        reach = steps <= splits[images][:, None]  # (batch, length)
        pixels = known[images, :length]  # (batch, length)
        logits, batch_states = scorer.read_prefix(pixels[..., None], reach)
        logits = np.asarray(logits, dtype=np.float64)  # (batch, length)
        terms = pixels * logits - np.logaddexp(0.0, logits)
        prefix_log_likelihood[images] = np.where(
            steps < splits[images][:, None], terms, 0.0
        ).sum(axis=1)
        split_logits[images] = logits[np.arange(len(images)), splits[images]]
        if states is None:
            states = [
                [np.zeros((count, tensor.shape[-1]), np.float32) for tensor in layer]
                for layer in batch_states
            ]
        for kept, layer in zip(states, batch_states, strict=True):
            for array, tensor in zip(kept, layer, strict=True):
                array[images] = np.asarray(tensor)
        reporter.advance(len(images))
    reporter.finish()
    return prefix_log_likelihood, split_logits, states


def _score_suffixes(scorer, filled, split, states) -> np.ndarray:
    """Log-likelihood of pixels split+1 .. 783 of each row, from its state."""
    lengths = SEQUENCE_LENGTH - 1 - split  # (rows,)
    longest = int(lengths.max())
    if longest == 0:
        return np.zeros(len(filled))
    steps = np.arange(longest)[None, :]
    index = np.minimum(split[:, None] + steps, SEQUENCE_LENGTH - 1)  # (rows, L)
    pixels = np.take_along_axis(filled, index, axis=1)
    targets = np.take_along_axis(
        filled, np.minimum(index + 1, SEQUENCE_LENGTH - 1), axis=1
    )
    valid = (steps < lengths[:, None]).astype(np.float32)
    scores = scorer.score_suffix(pixels[..., None], targets, valid, states)
    return np.asarray(scores, dtype=np.float64)


@dataclass
class InpaintingSummary:
    """Per-image outcome of in-painting a data set."""

    inpainted: np.ndarray  # (N, 784) uint8
    ground_truth_log_likelihood: np.ndarray  # (N,) nats
    inpainted_log_likelihood: np.ndarray  # (N,)
    posterior_ground_truth: np.ndarray  # (N,)
    posterior_inpainted: np.ndarray  # (N,)
    correct_pixels: np.ndarray  # (N,) missing pixels in-painted correctly
    missing_pixels: np.ndarray  # (N,)

    def measures(self) -> dict[str, float]:
        return {
            "ground_truth_cross_entropy": float(
                -self.ground_truth_log_likelihood.mean() / SEQUENCE_LENGTH
            ),
            "inpainted_cross_entropy": float(
                -self.inpainted_log_likelihood.mean() / SEQUENCE_LENGTH
            ),
            "correct_share": float(
                self.correct_pixels.sum() / max(1, self.missing_pixels.sum())
            ),
            "posterior_ground_truth": float(self.posterior_ground_truth.mean()),
        }


def summarise(
    dataset: InpaintingDataset, scores: ConfigurationScores
) -> InpaintingSummary:
    """The most probable in-painting of each image and how it compares."""
    count = len(dataset)
    inpainted = np.where(dataset.missing, 0, dataset.masked).astype(np.uint8)
    truth_ll, best_ll = np.zeros(count), np.zeros(count)
    truth_posterior, best_posterior = np.zeros(count), np.zeros(count)
    correct = np.zeros(count, np.int64)
    for image in range(count):
        where = scores.positions[image]
        truth_bits = dataset.truth[image, where].astype(np.int64)
        truth_config = int((truth_bits << np.arange(len(where))).sum())
        posterior = scores.posterior(image)
        best = int(np.argmax(posterior))
        best_bits = (best >> np.arange(len(where))) & 1
        inpainted[image, where] = best_bits
        truth_ll[image] = scores.of_image(image)[truth_config]
        best_ll[image] = scores.of_image(image)[best]
        truth_posterior[image] = posterior[truth_config]
        best_posterior[image] = posterior[best]
        correct[image] = int((best_bits == truth_bits).sum())
    missing = dataset.missing.sum(axis=1)
    return InpaintingSummary(
        inpainted, truth_ll, best_ll, truth_posterior, best_posterior, correct, missing
    )


def pick_examples(
    dataset: InpaintingDataset, summary: InpaintingSummary, count: int
) -> dict[str, np.ndarray]:
    """The images the figures show, by a fixed rule.

    Successes (in-painting equal to the truth): those whose true missing pixels
    hold a stroke pixel first, then by posterior of the truth, highest first.
    Failures: by posterior of the wrong in-painting, highest first (the most
    confident mistakes).
    """
    exact = summary.correct_pixels == summary.missing_pixels
    inked = (dataset.truth * dataset.missing).sum(axis=1) > 0
    successes = np.flatnonzero(exact)
    successes = successes[
        np.lexsort((-summary.posterior_ground_truth[successes], ~inked[successes]))
    ]
    failures = np.flatnonzero(~exact)
    failures = failures[
        np.argsort(-summary.posterior_inpainted[failures], kind="stable")
    ]
    return {"success": successes[:count], "failure": failures[:count]}


def draw_figure(
    path: Path,
    title: str,
    dataset: InpaintingDataset,
    summary: InpaintingSummary,
    images: np.ndarray,
) -> None:
    """One row per image: original, masked (missing in red), in-painted."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from pixelrnn_cli.results import atomic_write

    figure = Figure(figsize=(4.8, 1.7 * len(images) + 0.4))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(images), 3, squeeze=False)
    headings = ("original", "masked", "in-painted")
    for row, image in enumerate(images):
        truth = dataset.truth[image].reshape(IMAGE_SIDE, IMAGE_SIDE)
        missing = dataset.missing[image].reshape(IMAGE_SIDE, IMAGE_SIDE)
        masked = np.repeat(truth[..., None] * 1.0, 3, axis=-1)  # (28, 28, 3)
        masked[missing] = (0.9, 0.1, 0.1)
        inpainted = summary.inpainted[image].reshape(IMAGE_SIDE, IMAGE_SIDE)
        for column, picture in enumerate((truth, masked, inpainted)):
            axis = axes[row, column]
            axis.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(headings[column], fontsize=9)
        for pixel_row, pixel_column in np.argwhere(missing):
            axes[row, 2].add_patch(
                Rectangle(
                    (pixel_column - 0.5, pixel_row - 0.5),
                    1,
                    1,
                    fill=False,
                    edgecolor=(0.9, 0.1, 0.1),
                    linewidth=0.8,
                )
            )
        axes[row, 0].set_ylabel(
            f"posterior {summary.posterior_inpainted[image]:.2f}", fontsize=8
        )
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    atomic_write(path, lambda temporary: figure.savefig(temporary, format="png"))


@dataclass(frozen=True)
class InpaintingRequest:
    """What to in-paint, checked before any model is loaded."""

    block: BlockShape | None  # None when a dataset file is given
    images: int | None
    dataset: Path | None
    dataset_out: Path | None
    seed: int
    figures: Path

    @property
    def label(self) -> str:
        return self.block.label if self.block is not None else FILE_LABEL


def make_request(
    mask: str | None = None,
    images: int | None = None,
    dataset: Path | None = None,
    dataset_out: Path | None = None,
    seed: int = 0,
    figures: Path = Path("docs/figures"),
) -> InpaintingRequest:
    """Check the options of `pixelrnn inpaint`; needs no TensorFlow."""
    if mask is not None and dataset is not None:
        raise PixelrnnError(
            "give --mask to generate a data set or --dataset to read one, not both"
        )
    if dataset is not None and dataset_out is not None:
        raise PixelrnnError(
            "--dataset-out names where a generated data set goes; with --dataset "
            "nothing is generated"
        )
    if images is not None and images < 1:
        raise PixelrnnError(f"--images must be at least 1, got {images}")
    if seed < 0:
        raise PixelrnnError(f"--seed must be 0 or more, got {seed}")
    if figures.exists() and not figures.is_dir():
        raise PixelrnnError(f"--figures {figures} is a file; give a folder")
    block = None
    if dataset is not None:
        held = len(read_dataset(dataset))
        if images is not None and images > held:
            raise PixelrnnError(
                f"--images {images} asks for more images than {dataset} holds ({held})"
            )
    else:
        block = parse_mask(mask if mask is not None else DEFAULT_MASK)
    return InpaintingRequest(block, images, dataset, dataset_out, seed, figures)


@dataclass
class InpaintingOutcome:
    """What `inpaint_run` measured and where it put things."""

    run_name: str
    label: str
    measures: dict[str, Any]
    figures: list[str]
    dataset: str
    stored: bool
    reference: Any = None  # the study's `InpaintingResult` for this model and mask
    summary: InpaintingSummary | None = field(default=None, repr=False)


def inpaint_run(
    run_dir: Path,
    request: InpaintingRequest,
    *,
    jit: bool | None = None,
    reporter: Reporter | None = None,
) -> InpaintingOutcome:
    """In-paint a data set with a run's pixel model and store the numbers.

    A generated data set is written to `request.dataset_out`, by default
    `<run>/inpaint-<mask>.npy`; the numbers go to the group
    `inpainting/<mask>` of the run's `run.h5` (`inpainting/file` for a given
    data set), the figures to `request.figures`.
    """
    from pixelrnn_cli.results import RUN_FILE, write_group
    from pixelrnn_cli.runs import load_model, read_run_of
    from pixelrnn_cli.study import INPAINTING_RESULTS

    record = read_run_of(run_dir)
    model = load_model(run_dir, task="pixel")
    dataset, dataset_path = _dataset_for(run_dir, request, record)

    started = time.perf_counter()
    scores = score_configurations(model, dataset, jit=jit, reporter=reporter)
    seconds = time.perf_counter() - started
    log.info(
        "scored %d configurations of %d images in %.1f s",
        scores.offsets[-1],
        len(dataset),
        seconds,
    )
    summary = summarise(dataset, scores)
    figures = _draw_figures(run_dir.name, request, dataset, summary)

    missing = summary.missing_pixels
    measures: dict[str, Any] = {
        "images": len(dataset),
        "seed": request.seed if request.block is not None else None,
        "missing_per_image": (
            int(missing[0]) if (missing == missing[0]).all() else float(missing.mean())
        ),
        **summary.measures(),
        "figures": figures,
        "dataset": str(dataset_path),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "configurations": int(scores.offsets[-1]),
        "seconds": seconds,
        "images_per_second": len(dataset) / seconds if seconds > 0 else math.inf,
    }
    # Per-image datasets, prefixed so that no name clashes with an attribute.
    arrays = {
        "image_ground_truth_log_likelihood": summary.ground_truth_log_likelihood,
        "image_inpainted_log_likelihood": summary.inpainted_log_likelihood,
        "image_posterior_ground_truth": summary.posterior_ground_truth,
        "image_correct_pixels": summary.correct_pixels,
    }
    if dataset.test_indices is not None:
        arrays["test_indices"] = dataset.test_indices
    if record is not None:
        write_group(
            run_dir / RUN_FILE, f"inpainting/{request.label}", measures, **arrays
        )
    reference = None
    if record is not None:
        config = record.config
        key = (config.task, config.cell, config.layers, config.units)
        reference = INPAINTING_RESULTS.get(key, {}).get(request.label)
    return InpaintingOutcome(
        run_dir.name,
        request.label,
        measures,
        figures,
        str(dataset_path),
        record is not None,
        reference,
        summary,
    )


def _dataset_for(run_dir: Path, request: InpaintingRequest, record):
    """The data set of a request and its path: read, or generated and saved."""
    if request.dataset is not None:
        dataset = read_dataset(request.dataset)
        if request.images is not None:
            dataset = dataset.head(request.images)
        return dataset, request.dataset
    config = record.config if record is not None else None
    splits = (
        load_splits(config.data, config.threshold)
        if config is not None
        else load_splits()
    )
    count = request.images if request.images is not None else DEFAULT_IMAGES
    if count > len(splits.test):
        raise PixelrnnError(
            f"--images {count} asks for more images than the test split holds "
            f"({len(splits.test)})"
        )
    dataset = make_dataset(splits.test.images, request.block, count, request.seed)
    path = request.dataset_out or run_dir / f"inpaint-{request.label}.npy"
    save_dataset(dataset, path)
    return dataset, path


def _draw_figures(
    run_name: str,
    request: InpaintingRequest,
    dataset: InpaintingDataset,
    summary: InpaintingSummary,
) -> list[str]:
    words = {"success": "successful", "failure": "failed"}
    paths = []
    for kind, images in pick_examples(dataset, summary, FIGURE_EXAMPLES).items():
        if len(images) == 0:
            continue
        path = request.figures / f"inpaint-{run_name}-{request.label}-{kind}.png"
        title = f"{run_name}, {request.label}: {words[kind]} in-paintings"
        draw_figure(path, title, dataset, summary, images)
        paths.append(str(path))
    return paths
