"""Loss and accuracy of a trained model on a data split.

For a classifier: mean cross-entropy of the true class and accuracy. For a
pixel model: cross-entropy per pixel in nats (the mean of the 784 binary
cross-entropies), the same summed over an image (nats per image), in bits per
pixel, and the share of pixels whose more probable value is the true one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from pixelrnn_cli import models
from pixelrnn_cli.data import (
    DEFAULT_THRESHOLD,
    SEQUENCE_LENGTH,
    Split,
    as_sequences,
    load_splits,
)
from pixelrnn_cli.progress import Reporter

log = logging.getLogger(__name__)

EVAL_BATCH_SIZE = 500


def model_forward(model, fast: bool) -> Callable:
    """`model`'s forward pass: Keras's own, or `fast_rnn`'s on a CPU."""
    if not fast:
        return model
    from pixelrnn_cli import fast_rnn

    return lambda pixels, training: fast_rnn.forward(model, pixels, training)


def make_eval_step(
    model, task: str, jit: bool | None = None, fast: bool | None = None
) -> Callable:
    """A compiled function: a batch -> (summed loss, summed correct predictions).

    `jit` and `fast` force XLA and `fast_rnn`; None picks for the device (on a
    CPU: XLA through Keras's layers, which compiles best).
    """
    import tensorflow as tf
    from keras import ops

    from pixelrnn_cli.device import use_fast_rnn, use_jit

    jit = use_jit(jit, inference=True)
    if fast is None:
        fast = not jit and use_fast_rnn(model)
    forward = model_forward(model, fast)

    # Traced per batch shape (full and last): static shapes run the loops faster.
    # No AutoGraph: the step has no tensor-dependent Python control flow.
    @tf.function(jit_compile=jit, autograph=False)
    def step(pixels, labels):
        outputs = forward(pixels, training=False)
        if task == "classify":
            losses = ops.sparse_categorical_crossentropy(labels, outputs)
            predicted = ops.cast(ops.argmax(outputs, axis=-1), "int32")
            correct = ops.cast(predicted == ops.cast(labels, "int32"), "float32")
        else:
            targets = ops.reshape(pixels, ops.shape(outputs))
            losses = ops.binary_crossentropy(targets, outputs, from_logits=True)
            correct = ops.cast((outputs > 0) == (targets > 0.5), "float32")
        return ops.sum(losses), ops.sum(correct)

    return step


def evaluate_split(
    step: Callable,
    task: str,
    split: Split,
    batch_size: int = EVAL_BATCH_SIZE,
    reporter: Reporter | None = None,
) -> dict[str, float]:
    """Measure the model behind `step` (from `make_eval_step`) on one split."""
    reporter = reporter or Reporter()
    total_loss = total_correct = 0.0
    reporter.start(f"evaluating on {split.name}", len(split))
    for start in range(0, len(split), batch_size):
        stop = min(start + batch_size, len(split))
        pixels = as_sequences(split.images[start:stop])
        loss, correct = step(pixels, split.labels[start:stop])
        total_loss += float(loss)
        total_correct += float(correct)
        reporter.advance(stop - start)
    reporter.finish()
    return measures(task, total_loss, total_correct, len(split))


def measures(task: str, loss_sum: float, correct_sum: float, images: int) -> dict:
    if task == "classify":
        return {
            "loss": loss_sum / images,
            "accuracy": correct_sum / images,
            "images": images,
        }
    cross_entropy = loss_sum / (images * SEQUENCE_LENGTH)
    return {
        "loss": cross_entropy,
        "cross_entropy": cross_entropy,
        "nats_per_image": cross_entropy * SEQUENCE_LENGTH,
        "bits_per_pixel": cross_entropy / math.log(2.0),
        "accuracy": correct_sum / (images * SEQUENCE_LENGTH),
        "images": images,
    }


def evaluate_run(
    run_dir: Path,
    split_names: Sequence[str],
    *,
    limit: int | None = None,
    jit: bool | None = None,
    reporter: Reporter | None = None,
) -> dict[str, dict[str, float]]:
    """Measure a run's best model on the named splits and store it in `run.h5`.

    The data file, threshold and limit are the run's own, so the numbers match
    its training; `limit` replaces the run's limit when given.
    """
    from pixelrnn_cli.results import RUN_FILE, store_evaluation
    from pixelrnn_cli.runs import load_model, read_run_of

    record = read_run_of(run_dir)
    model = load_model(run_dir)
    task = models.model_task(model)
    config = record.config if record else None
    splits = load_splits(
        config.data if config else None,
        config.threshold if config else DEFAULT_THRESHOLD,
        limit if limit is not None else (config.limit if config else None),
    )
    step = make_eval_step(model, task, jit)
    results = {
        name: evaluate_split(step, task, splits.get(name), reporter=reporter)
        for name in split_names
    }
    if record is not None:
        store_evaluation(run_dir / RUN_FILE, results)
    return results
