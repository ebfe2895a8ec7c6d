"""Speed of the in-painting scorer against scoring every configuration from scratch.

Both score every configuration of the missing pixels of the same test images
with the same pixel model (random weights, so no checkpoint is needed) and the
same batch size:

- scorer: `pixelrnn_cli.inpainting.score_configurations`, which reads each
  image's known prefix once and runs only the rest of the sequence per
  configuration;
- from scratch: the full model over all 784 pixels of every completed image.

Prints the median wall time of several repeats of each (after one warm-up run
that traces the graphs, which both build once), their ratio, images per
second, and the largest difference between the two posteriors.

    python benchmarks/inpaint_speed.py --units 128 --images 100 --mask 2x2
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from timing import median_seconds  # noqa: E402


class FromScratch:
    """Every configuration of every image through the full model, in image order."""

    def __init__(self, model) -> None:
        import tensorflow as tf
        from keras import ops

        @tf.function(input_signature=(tf.TensorSpec((None, 784, 1), tf.float32),))
        def score(pixels):
            logits = model(pixels, training=False)  # (rows, 784)
            targets = ops.reshape(pixels, ops.shape(logits))
            log_probs = -ops.binary_crossentropy(targets, logits, from_logits=True)
            return ops.sum(ops.cast(log_probs, "float64"), axis=1)  # (rows,)

        self.score_batch = score

    def score(self, dataset, batch_rows: int) -> np.ndarray:
        from pixelrnn_cli.inpainting import configuration_bits

        known = np.where(dataset.missing, 0, dataset.masked).astype(np.float32)
        completions = []
        for image, row in enumerate(dataset.missing):
            where = np.flatnonzero(row)
            filled = np.repeat(known[image][None], 2 ** len(where), axis=0)
            filled[:, where] = configuration_bits(len(where))
            completions.append(filled)
        filled = np.concatenate(completions)  # (total configurations, 784)
        scores = [
            np.asarray(self.score_batch(filled[start : start + batch_rows, :, None]))
            for start in range(0, len(filled), batch_rows)
        ]
        return np.concatenate(scores)


def segment_softmax(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    result = np.empty_like(values)
    for start, stop in zip(offsets[:-1], offsets[1:], strict=True):
        weights = np.exp(values[start:stop] - values[start:stop].max())
        result[start:stop] = weights / weights.sum()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="gru", choices=("gru", "lstm"))
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--mask", default="2x2")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()

    import keras

    from pixelrnn_cli import inpainting
    from pixelrnn_cli.data import load_splits
    from pixelrnn_cli.device import describe_device
    from pixelrnn_cli.models import build_model

    keras.utils.set_random_seed(options.seed)
    model = build_model("pixel", options.cell, options.layers, options.units)
    test = load_splits().test
    block = inpainting.parse_mask(options.mask)
    dataset = inpainting.make_dataset(test.images, block, options.images, options.seed)
    scorer = inpainting.CompletionScorer(model)
    from_scratch = FromScratch(model)
    batch_rows = scorer.batch_rows

    scorer_seconds, scores = median_seconds(
        lambda: scorer.score(dataset, batch_rows=batch_rows), options.repeats
    )
    scratch_seconds, scratch = median_seconds(
        lambda: from_scratch.score(dataset, batch_rows), options.repeats
    )
    difference = np.abs(
        segment_softmax(scores.log_likelihood, scores.offsets)
        - segment_softmax(scratch, scores.offsets)
    ).max()

    print(
        f"{options.cell.upper()} {options.layers}x{options.units}, "
        f"{options.images} images, mask {block.label} "
        f"({2**block.size} configurations each), batch {batch_rows} sequences, "
        f"{describe_device()}, median of {options.repeats}"
    )
    for name, seconds in (
        ("scorer", scorer_seconds),
        ("from scratch", scratch_seconds),
    ):
        print(
            f"  {name:>12}: {seconds:8.2f} s  {options.images / seconds:8.1f} images/s"
        )
    print(f"  ratio (from scratch / scorer): {scratch_seconds / scorer_seconds:.2f}")
    print(f"  largest posterior difference: {difference:.2e}")


if __name__ == "__main__":
    main()
