"""Continuing half-hidden digits with a trained pixel model.

The last `hide` pixels of each test image are hidden and the model continues
the visible part for n pixels, for each n of `steps`, in three ways:

- samples: each pixel drawn from p(x_t | x_<t) and fed back (`samples` per
  image);
- the most probable continuation as the study defines it: pixel = 1 where
  p > 0.5, step by step (greedy);
- with `beam` = K > 0, a beam search that keeps the K most likely partial
  continuations per image; where it ends below the greedy continuation (beam
  search does not promise to beat it) the greedy one is kept.

All of this runs on `StepwiseModel`: the trained model's own layers called one
pixel at a time with the recurrent state carried between calls, so a new pixel
costs one network step and all images times samples share one batch. The
visible pixels are read once per image and the state is copied to its samples.

Images are the first `images` of the test split, binarised like the run's
training data. Per n, averaged over images: the cross-entropy per generated
pixel of the samples under the model (mean over samples), of the ground-truth
pixels, of the greedy and beam continuations, and the share of drawn pixels
equal to the ground truth. The draws come from NumPy generators seeded with
(seed, n), image by image, so the same seed gives the same samples.

Figures: three images, picked with the largest n: the one whose samples agree
most with the ground truth ("best"), the one whose samples agree least
("worst"), and the one whose samples differ most from each other, by the
per-pixel variance across samples ("varied"). Each shows, per n of 10, 28 and
300 (those that were run), the original, the masked image (hidden pixels
grey), the most probable continuation, the beam's and 5 samples.

The generation loops are compiled `tf.function`s that run `CHUNK_STEPS`
pixels per call, so a progress bar can advance between calls.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from pixelrnn_cli.data import DEFAULT_THRESHOLD, IMAGE_SIDE, SEQUENCE_LENGTH
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.progress import Reporter
from pixelrnn_cli.runs import check_pixel_run

log = logging.getLogger(__name__)

CHUNK_STEPS = 25  # network steps per compiled call, between progress updates
FIGURE_STEPS = (10, 28, 300)
FIGURE_SAMPLES = 5
FIGURE_RULES = {
    "best": "samples agree most with the original",
    "worst": "samples agree least with the original",
    "varied": "samples differ most from each other",
}
DEAD_BEAM = -1e9  # the score of beam slots not yet filled by a real continuation


@dataclass(frozen=True)
class SampleSettings:
    """What to continue and how; checked on creation.

    Args:
        images: the first this many test images are continued.
        hide: the last this many pixels of each image are hidden.
        steps: the continuation lengths n, each at most `hide`.
        samples: continuations drawn per image and n.
        seed: the seed of the draws.
        beam: beam width K of the beam search; 0 for none.
    """

    images: int = 100
    hide: int = 300
    steps: tuple[int, ...] = (1, 10, 28, 300)
    samples: int = 10
    seed: int = 0
    beam: int = 0

    def __post_init__(self) -> None:
        if self.images < 1:
            raise PixelrnnError(f"--images must be at least 1, got {self.images}")
        if not 1 <= self.hide <= SEQUENCE_LENGTH - 1:
            raise PixelrnnError(
                f"--hide must be between 1 and {SEQUENCE_LENGTH - 1} pixels, got "
                f"{self.hide}"
            )
        if not self.steps:
            raise PixelrnnError("--steps names no continuation length")
        for n in self.steps:
            if not 1 <= n <= self.hide:
                raise PixelrnnError(
                    f"--steps {n} is outside 1..{self.hide}: a continuation can "
                    f"fill at most the {self.hide} hidden pixels (--hide)"
                )
        if self.samples < 1:
            raise PixelrnnError(f"--samples must be at least 1, got {self.samples}")
        if self.seed < 0:
            raise PixelrnnError(f"--seed must be 0 or more, got {self.seed}")
        if self.beam < 0:
            raise PixelrnnError(f"--beam must be 0 (none) or more, got {self.beam}")

    @property
    def visible(self) -> int:
        return SEQUENCE_LENGTH - self.hide


def parse_steps(text: str) -> tuple[int, ...]:
    """Continuation lengths from text like `1,10,28,300`, sorted, repeats dropped."""
    try:
        steps = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise PixelrnnError(
            f"cannot read --steps {text!r}; expected whole numbers separated by "
            "commas, like 1,10,28,300"
        ) from None
    return tuple(sorted(steps))


class StepwiseModel:
    """The pixel model run one pixel at a time, carrying its recurrent state.

    It calls the trained model's own layers (`input_map`, the cell of each
    recurrent layer, `pixel_logit`), so it shares their weights. Dropout is
    left out, as at inference. States are a list per recurrent layer of the
    cell's state tensors ([h] for a GRU, [h, c] for an LSTM), each (batch, units).
    """

    def __init__(self, model: Any, jit: bool = False) -> None:
        import tensorflow as tf

        from pixelrnn_cli.models import recurrent_layers

        self.input_map = model.get_layer("input_map")
        self.cells = [layer.cell for layer in recurrent_layers(model)]
        self.pixel_logit = model.get_layer("pixel_logit")
        options = {"jit_compile": jit, "reduce_retracing": True}
        self.read = tf.function(self._read, **options)
        self.draw = tf.function(self._draw, **options)
        self.expand_beams = tf.function(self._expand_beams, **options)

    def initial_states(self, batch: int) -> list:
        """Zero states for `batch` sequences, as before the start value."""
        return [cell.get_initial_state(batch_size=batch) for cell in self.cells]

    def step(self, pixels, states):
        """Feed one pixel per sequence, (batch,); return the next logits, (batch,)."""
        x = self.input_map(pixels[:, None])  # (batch, units)
        new_states = []
        for cell, state in zip(self.cells, states, strict=True):
            x, state = cell(x, state, training=False)  # (batch, units)
            new_states.append(state)
        return self.pixel_logit(x)[:, 0], new_states  # (batch,)

    def _read(self, inputs, states):
        """Feed known pixels (batch, T): the logits after each, (batch, T)."""
        import tensorflow as tf

        logits = tf.TensorArray(tf.float32, size=tf.shape(inputs)[1])
        for t in tf.range(tf.shape(inputs)[1]):
            logit, states = self.step(inputs[:, t], states)
            logits = logits.write(t, logit)
        return tf.transpose(logits.stack()), states

    def _draw(self, logits, states, uniforms):
        """Draw T pixels per sequence, each fed back: pixel = 1 where u < p.

        logits: (batch,) of the next pixel; uniforms: (T, batch) in [0, 1), or
        all 0.5 for the most probable continuation. Returns the pixels and
        their negative log-probabilities, both (batch, T), then the logits and
        states after the last one.
        """
        import tensorflow as tf

        steps = tf.shape(uniforms)[0]
        pixels = tf.TensorArray(tf.float32, size=steps)
        losses = tf.TensorArray(tf.float32, size=steps)
        for t in tf.range(steps):
            pixel = tf.cast(uniforms[t] < tf.sigmoid(logits), tf.float32)  # (batch,)
            loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=pixel, logits=logits)
            pixels = pixels.write(t, pixel)
            losses = losses.write(t, loss)
            logits, states = self.step(pixel, states)
        return (
            tf.transpose(pixels.stack()),
            tf.transpose(losses.stack()),
            logits,
            states,
        )

    def _expand_beams(self, scores, logits, states, steps):
        """Advance a beam search `steps` pixels.

        scores: (images, K) total log-likelihoods; logits and states hold the
        images' K beams one after another, (images * K,). Each beam grows by
        a 0 and a 1 and the K most likely of the 2K survive. Returns the
        parent beam and the new pixel of each survivor, (steps, images, K),
        then the scores, logits and states after the last step.
        """
        import tensorflow as tf

        images, width = tf.shape(scores)[0], tf.shape(scores)[1]
        first_row = tf.range(images)[:, None] * width  # (images, 1)
        parents = tf.TensorArray(tf.int32, size=steps)
        bits = tf.TensorArray(tf.int32, size=steps)
        for t in tf.range(steps):
            both = tf.stack(
                [tf.math.log_sigmoid(-logits), tf.math.log_sigmoid(logits)], axis=-1
            )  # (images * K, 2): log p(0), log p(1)
            candidates = scores[:, :, None] + tf.reshape(both, (images, width, 2))
            new_scores, chosen = tf.math.top_k(
                tf.reshape(candidates, (images, 2 * width)), k=width
            )  # (images, K), best first
            parent, bit = chosen // 2, chosen % 2
            rows = tf.reshape(first_row + parent, (-1,))  # (images * K,)
            pixels = tf.cast(tf.reshape(bit, (-1,)), "float32")  # (images * K,)
            new_logits, new_states = self.step(pixels, gather_states(states, rows))
            # The loop needs the static shapes it started with; gather loses them.
            scores = tf.ensure_shape(new_scores, scores.shape)
            logits = tf.ensure_shape(new_logits, logits.shape)
            states = tf.nest.map_structure(
                lambda new, old: tf.ensure_shape(new, old.shape), new_states, states
            )
            parents = parents.write(t, parent)
            bits = bits.write(t, bit)
        return parents.stack(), bits.stack(), scores, logits, states

    def sequence_logits(self, images: np.ndarray) -> np.ndarray:
        """The 784 logits of whole images (N, 784), fed from the start value."""
        inputs = with_start(images[:, :-1])
        logits, _ = self.read(inputs, self.initial_states(len(images)))
        return logits.numpy()


def with_start(pixels: np.ndarray) -> np.ndarray:
    """Pixels (N, T) as model inputs (N, T + 1): the start value, then them."""
    from pixelrnn_cli.models import START_VALUE

    start = np.full((len(pixels), 1), START_VALUE, np.float32)
    return np.concatenate([start, pixels.astype(np.float32)], axis=1)


@dataclass
class Continuations:
    """What the model made of the hidden part, per image.

    Pixels are uint8 0/1 and losses are -log p of each generated pixel given
    the ones before it, in nats. `samples[n]` is (images, samples, n),
    `greedy` and `truth_losses` cover the longest n, (images, max n), and
    `beam[n]` is (images, n).
    """

    images: np.ndarray  # (images, 784) the whole ground-truth images
    truth: np.ndarray  # (images, hide) their hidden part
    truth_losses: np.ndarray
    greedy: np.ndarray
    greedy_losses: np.ndarray
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    sample_losses: dict[int, np.ndarray] = field(default_factory=dict)
    beam: dict[int, np.ndarray] = field(default_factory=dict)
    beam_losses: dict[int, np.ndarray] = field(default_factory=dict)
    beam_improved: dict[int, np.ndarray] = field(default_factory=dict)

    def measure(self, n: int) -> dict[str, float]:
        """The numbers for length n, each averaged over images."""
        measured = {
            "sample_cross_entropy": float(self.sample_losses[n].mean()),
            "ground_truth_cross_entropy": float(self.truth_losses[:, :n].mean()),
            "greedy_cross_entropy": float(self.greedy_losses[:, :n].mean()),
            "agreement": float((self.samples[n] == self.truth[:, None, :n]).mean()),
            "greedy_agreement": float((self.greedy[:, :n] == self.truth[:, :n]).mean()),
        }
        if n in self.beam:
            measured["beam_cross_entropy"] = float(self.beam_losses[n].mean())
            measured["beam_improved"] = float(self.beam_improved[n].mean())
        return measured

    def per_image(self, n: int) -> dict[str, np.ndarray]:
        """The per-image numbers and the continuations of length n, for run.h5."""
        arrays = {
            "samples": self.samples[n],
            "greedy": self.greedy[:, :n],
            "image_sample_cross_entropy": self.sample_losses[n].mean(axis=(1, 2)),
            "image_ground_truth_cross_entropy": self.truth_losses[:, :n].mean(axis=1),
            "image_greedy_cross_entropy": self.greedy_losses[:, :n].mean(axis=1),
            "image_agreement": (self.samples[n] == self.truth[:, None, :n]).mean(
                axis=(1, 2)
            ),
        }
        if n in self.beam:
            arrays["beam"] = self.beam[n]
            arrays["image_beam_cross_entropy"] = self.beam_losses[n].mean(axis=1)
        return arrays


def uniforms_for(settings: SampleSettings, images: int, n: int) -> np.ndarray:
    """The uniform draws for length n, (n, images * samples).

    Image i always gets the same draws for a seed, however many images run.
    """
    generator = np.random.default_rng([settings.seed, n])
    draws = generator.random((images, settings.samples, n), dtype=np.float32)
    return draws.reshape(images * settings.samples, n).T.copy()


def chunks(total: int, reporter: Reporter) -> Iterator[tuple[int, int]]:
    """(start, stop) pieces of `total` steps, reporting each one done."""
    for start in range(0, total, CHUNK_STEPS):
        stop = min(start + CHUNK_STEPS, total)
        yield start, stop
        reporter.advance(stop - start)


def gather_states(states, rows):
    """The states of the sequences at `rows`, in that order."""
    import tensorflow as tf

    return tf.nest.map_structure(lambda state: tf.gather(state, rows), states)


def repeat_states(states, times: int):
    """Copy each sequence's state `times` times, copies side by side."""
    import tensorflow as tf

    return tf.nest.map_structure(lambda s: tf.repeat(s, times, axis=0), states)


def draw_all(
    stepwise: StepwiseModel, logits, states, uniforms: np.ndarray, reporter: Reporter
) -> tuple[np.ndarray, np.ndarray]:
    """Run `StepwiseModel.draw` over all of `uniforms` (T, batch) in chunks."""
    pixels, losses = [], []
    for start, stop in chunks(len(uniforms), reporter):
        drawn, loss, logits, states = stepwise.draw(
            logits, states, uniforms[start:stop]
        )
        pixels.append(drawn.numpy())
        losses.append(loss.numpy())
    return (
        np.concatenate(pixels, axis=1).astype(np.uint8),
        np.concatenate(losses, axis=1),
    )


def score(
    stepwise: StepwiseModel,
    logits,
    states,
    continuation: np.ndarray,
    reporter: Reporter,
) -> np.ndarray:
    """-log p of each pixel of known continuations (images, n) after the prefix."""
    import tensorflow as tf

    all_logits = [logits.numpy()[:, None]]
    inputs = continuation[:, :-1].astype(np.float32)
    for start, stop in chunks(inputs.shape[1], reporter):
        read, states = stepwise.read(inputs[:, start:stop], states)
        all_logits.append(read.numpy())
    losses = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=continuation.astype(np.float32), logits=np.concatenate(all_logits, 1)
    )
    return losses.numpy()  # (images, n)


def beam_search(
    stepwise: StepwiseModel, logits, states, width: int, n: int, reporter: Reporter
) -> np.ndarray:
    """The most likely continuation of n pixels the beam found, (images, n)."""
    import tensorflow as tf

    images = int(logits.shape[0])
    scores = np.full((images, width), DEAD_BEAM, np.float32)
    scores[:, 0] = 0.0  # one real beam to start from, so no beam is a copy
    logits, states = tf.repeat(logits, width, axis=0), repeat_states(states, width)
    parents, bits = [], []
    for start, stop in chunks(n, reporter):
        parent, bit, scores, logits, states = stepwise.expand_beams(
            scores, logits, states, tf.constant(stop - start)
        )
        parents.append(parent.numpy())
        bits.append(bit.numpy())
    return backtrack(np.concatenate(parents), np.concatenate(bits))


def backtrack(parents: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Follow the best final beam back: parents, bits (n, images, K) -> (images, n)."""
    steps, images, _ = bits.shape
    rows = np.arange(images)
    beam = np.zeros(images, np.int64)  # top_k sorts, so beam 0 is the best
    pixels = np.zeros((images, steps), np.uint8)
    for t in range(steps - 1, -1, -1):
        pixels[:, t] = bits[t, rows, beam]
        beam = parents[t, rows, beam]
    return pixels


def read_prefix(
    stepwise: StepwiseModel, images: np.ndarray, visible: int, reporter: Reporter
):
    """Feed the start value and the first `visible` pixels of images (N, 784).

    Returns the logits of the first hidden pixel, (N,), and the states.
    """
    states = stepwise.initial_states(len(images))
    inputs = with_start(images[:, :visible])  # (images, visible + 1)
    for start, stop in chunks(inputs.shape[1], reporter):
        logits, states = stepwise.read(inputs[:, start:stop], states)
    return logits[:, -1], states


def draw_samples(
    stepwise: StepwiseModel, logits, states, uniforms: np.ndarray, reporter: Reporter
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `samples` continuations of n pixels per image, all in one batch.

    logits (N,) and states are those after each image's visible pixels;
    uniforms are (n, N * samples). Returns pixels and losses (N, samples, n).
    """
    count, (n, batch) = int(logits.shape[0]), uniforms.shape
    samples = batch // count
    tiled = np.repeat(logits.numpy(), samples), repeat_states(states, samples)
    pixels, losses = draw_all(stepwise, *tiled, uniforms, reporter)
    return pixels.reshape(count, samples, n), losses.reshape(count, samples, n)


def continue_images(
    model: Any,
    images: np.ndarray,
    settings: SampleSettings,
    *,
    jit: bool | None = None,
    reporter: Reporter | None = None,
) -> Continuations:
    """Hide the last `settings.hide` pixels of images (N, 784) and continue them."""
    from pixelrnn_cli.device import use_jit

    reporter = reporter or Reporter()
    stepwise = StepwiseModel(model, use_jit(jit))
    count, visible, longest = len(images), settings.visible, max(settings.steps)
    total = visible + 1 + 2 * longest - 1 + sum(settings.steps)
    if settings.beam:
        total += 2 * sum(settings.steps) - len(settings.steps)
    reporter.start("continuing images", total)

    logits, states = read_prefix(stepwise, images, visible, reporter)
    truth = images[:, visible:]
    # With every uniform at 0.5 a draw is the study's most probable pixel, p > 0.5.
    halves = np.full((longest, count), 0.5, np.float32)
    greedy, greedy_losses = draw_all(stepwise, logits, states, halves, reporter)
    result = Continuations(
        images=images,
        truth=truth,
        truth_losses=score(stepwise, logits, states, truth[:, :longest], reporter),
        greedy=greedy,
        greedy_losses=greedy_losses,
    )
    for n in settings.steps:
        uniforms = uniforms_for(settings, count, n)
        result.samples[n], result.sample_losses[n] = draw_samples(
            stepwise, logits, states, uniforms, reporter
        )
        if settings.beam:
            found = beam_search(stepwise, logits, states, settings.beam, n, reporter)
            found_losses = score(stepwise, logits, states, found, reporter)
            keep_beam(result, n, found, found_losses)
    reporter.finish()
    return result


def keep_beam(
    result: Continuations, n: int, found: np.ndarray, found_losses: np.ndarray
) -> None:
    """Store the beam's continuation, or the greedy one where that is likelier."""
    greedy, greedy_losses = result.greedy[:, :n], result.greedy_losses[:, :n]
    keep_greedy = greedy_losses.sum(axis=1) < found_losses.sum(axis=1)  # (images,)
    result.beam[n] = np.where(keep_greedy[:, None], greedy, found)
    result.beam_losses[n] = np.where(keep_greedy[:, None], greedy_losses, found_losses)
    result.beam_improved[n] = ~keep_greedy & np.any(found != greedy, axis=1)


def pick_images(result: Continuations, n: int) -> dict[str, int]:
    """The images shown in the figures, by the rules in `FIGURE_RULES`.

    Each rule takes the best image not already taken, while there are enough.
    """
    samples = result.samples[n]  # (images, samples, n)
    agreement = (samples == result.truth[:, None, :n]).mean(axis=(1, 2))
    ones = samples.mean(axis=1)  # (images, n)
    spread = (ones * (1 - ones)).mean(axis=1)
    order = {
        "best": np.argsort(-agreement, kind="stable"),
        "worst": np.argsort(agreement, kind="stable"),
        "varied": np.argsort(-spread, kind="stable"),
    }
    picked: dict[str, int] = {}
    for rule, ranking in order.items():
        free = [int(i) for i in ranking if int(i) not in picked.values()]
        picked[rule] = free[0] if free else int(ranking[0])
    return picked


@dataclass
class SamplingReport:
    """What `sample_run` found and wrote."""

    run_name: str
    settings: SampleSettings
    measures: dict[int, dict[str, float]]
    figures: list[Path]
    picked: dict[str, int]
    run_file: Path | None  # None when the run has no run.h5 to store into
    seconds: float


def sample_run(
    run_dir: Path,
    settings: SampleSettings,
    figures_dir: Path,
    *,
    jit: bool | None = None,
    reporter: Reporter | None = None,
) -> SamplingReport:
    """Continue test images with a run's pixel model; store numbers and figures.

    The data file and threshold are the run's own. The numbers and settings
    go to the `sampling` group of the run's `run.h5`, the figures to
    `figures_dir/sample-<run name>-<rule>.png`.
    """
    from pixelrnn_cli.data import load_splits
    from pixelrnn_cli.results import RUN_FILE
    from pixelrnn_cli.runs import load_model, read_run_of

    began = time.monotonic()
    check_pixel_run(run_dir, "sampling")
    record = read_run_of(run_dir)
    config = record.config if record else None
    splits = load_splits(
        config.data if config else None,
        config.threshold if config else DEFAULT_THRESHOLD,
        settings.images,
    )
    test = splits.test
    if len(test) < settings.images:
        raise PixelrnnError(
            f"--images {settings.images} is more than the {len(test)} test images"
        )
    model = load_model(run_dir, task="pixel")
    result = continue_images(model, test.images, settings, jit=jit, reporter=reporter)
    measures = {n: result.measure(n) for n in settings.steps}

    longest = max(settings.steps)
    picked = pick_images(result, longest)
    shown = [n for n in FIGURE_STEPS if n in settings.steps] or list(settings.steps)
    figures = []
    for rule, index in picked.items():
        path = figures_dir / f"sample-{run_dir.name}-{rule}.png"
        title = f"{run_dir.name}, test image {index}: {FIGURE_RULES[rule]}"
        draw_continuations(result, index, shown, settings, title, path)
        figures.append(path)
    seconds = time.monotonic() - began

    run_file = run_dir / RUN_FILE if record is not None else None
    if run_file is not None:
        about = {
            "figures": json.dumps([str(path) for path in figures]),
            "figure_images": json.dumps(picked),
            "data": splits.source,
            "threshold": splits.threshold,
            "seconds": seconds,
        }
        store(run_file, settings, result, measures, about)
    else:
        log.warning("%s has no %s: the numbers are not stored", run_dir, RUN_FILE)
    return SamplingReport(
        run_dir.name, settings, measures, figures, picked, run_file, seconds
    )


def store(
    run_file: Path,
    settings: SampleSettings,
    result: Continuations,
    measures: dict[int, dict[str, float]],
    about: dict[str, Any],
) -> None:
    """Write the `sampling` group and one `sampling/n_<n>` group per length.

    `about` adds attributes to `sampling`: the figures written, the data.
    """
    from pixelrnn_cli.results import write_groups

    attrs = {
        "images": settings.images,
        "hide": settings.hide,
        "samples": settings.samples,
        "seed": settings.seed,
        "steps": json.dumps(list(settings.steps)),
        "beam": settings.beam,
        "split": "test",
        "image_rule": f"the first {settings.images} test images",
        **about,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    groups = {"sampling": (attrs, {"test_indices": np.arange(settings.images)})}
    for n, measured in measures.items():
        groups[f"sampling/n_{n}"] = ({"n": n, **measured}, result.per_image(n))
    write_groups(run_file, groups)


def draw_continuations(
    result: Continuations,
    index: int,
    steps: Sequence[int],
    settings: SampleSettings,
    title: str,
    path: Path,
) -> None:
    """Draw one image's continuations as a PNG, a row per n.

    Each row: the original, the masked image, the most probable continuation,
    the beam's (with a beam) and the first `FIGURE_SAMPLES` samples.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from pixelrnn_cli.results import atomic_write

    image = result.images[index]

    def completed(continuation: np.ndarray) -> np.ndarray:
        picture = np.where(np.arange(SEQUENCE_LENGTH) < settings.visible, image, 0.5)
        picture[settings.visible : settings.visible + len(continuation)] = continuation
        return picture  # (784,), grey where still hidden

    shown_samples = min(FIGURE_SAMPLES, settings.samples)
    headings = ["original", "masked", "most probable"]
    headings += [f"beam {settings.beam}"] if settings.beam else []
    headings += [f"sample {k + 1}" for k in range(shown_samples)]
    figure = Figure(
        figsize=(1.3 * len(headings), 1.45 * len(steps) + 0.5),
        dpi=100,
        layout="constrained",
    )
    figure.suptitle(title, fontsize="medium")
    grid = figure.subplots(len(steps), len(headings), squeeze=False)
    for row, n in enumerate(steps):
        panels = [image, completed(image[:0]), completed(result.greedy[index, :n])]
        if settings.beam:
            panels.append(completed(result.beam[n][index]))
        samples = result.samples[n][index]  # (samples, n)
        panels += [completed(samples[k]) for k in range(shown_samples)]
        for column, (axes, picture) in enumerate(zip(grid[row], panels, strict=True)):
            axes.imshow(
                picture.reshape(IMAGE_SIDE, IMAGE_SIDE),
                cmap="gray",
                vmin=0.0,
                vmax=1.0,
                interpolation="nearest",
            )
            axes.set_xticks([])
            axes.set_yticks([])
            if row == 0:
                axes.set_title(headings[column], fontsize="small")
            if column == 0:
                axes.set_ylabel(f"n = {n}", fontsize="small")

    def write(temporary: Path) -> None:
        # No software stamp in the file, so the same samples draw the same bytes.
        figure.savefig(temporary, format="png", metadata={"Software": None})

    atomic_write(path, write, suffix=".png")
