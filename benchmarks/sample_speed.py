"""Time the step-wise sampler against rerunning the full model for every pixel.

Both continue the same test images with the same pixel model (random weights:
speed does not depend on training) and the same uniform draws, so they draw
the same pixels; the script checks that on the pixels the naive approach ran.

- step-wise: `pixelrnn_cli.sampling` reads the visible pixels once per image,
  copies the state to the samples and then costs one network step per pixel,
  all images times samples in one batch;
- naive: for every new pixel, the full model runs over the whole 784-pixel
  sequence of every image and sample, and its output at that pixel is used.

The naive approach is slow, so it runs only `--naive-pixels` of the
continuation and its time for all `--pixels` is extrapolated from that (its
cost per pixel does not depend on which pixel). Times are medians of
`--repeats` runs after one untimed run that compiles.

    python benchmarks/sample_speed.py --units 128
    python benchmarks/sample_speed.py --units 32 --naive-pixels 10 --repeats 5
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from timing import median_seconds

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="gru", choices=("gru", "lstm"))
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--hide", type=int, default=300)
    parser.add_argument("--pixels", type=int, default=300, help="continuation length")
    parser.add_argument("--naive-pixels", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jit", action="store_true", help="compile with XLA")
    return parser.parse_args()


def main() -> None:
    arguments = parse_arguments()
    import keras
    import tensorflow as tf

    from pixelrnn_cli.data import load_splits
    from pixelrnn_cli.models import build_model
    from pixelrnn_cli.progress import Reporter
    from pixelrnn_cli.sampling import StepwiseModel, draw_samples, read_prefix

    keras.utils.set_random_seed(0)
    model = build_model("pixel", arguments.cell, arguments.layers, arguments.units)
    images = load_splits(limit=arguments.images).test.images  # (images, 784)
    visible = 784 - arguments.hide
    batch = arguments.images * arguments.samples
    generator = np.random.default_rng(0)
    uniforms = generator.random((arguments.pixels, batch), dtype=np.float32)
    quiet = Reporter()

    stepwise = StepwiseModel(model, jit=arguments.jit)

    def step_wise():
        logits, states = read_prefix(stepwise, images, visible, quiet)
        pixels, _ = draw_samples(stepwise, logits, states, uniforms, quiet)
        return pixels  # (images, samples, pixels)

    full_model = tf.function(
        lambda pixels: model(pixels, training=False), jit_compile=arguments.jit
    )
    start = np.repeat(images, arguments.samples, axis=0).astype(np.float32)
    start[:, visible:] = 0.0

    def naive():
        sequences = start.copy()  # (images * samples, 784)
        for t in range(arguments.naive_pixels):
            logits = full_model(sequences[..., None]).numpy()[:, visible + t]
            probability = 1.0 / (1.0 + np.exp(-logits))
            sequences[:, visible + t] = uniforms[t] < probability
        return sequences[:, visible : visible + arguments.naive_pixels]

    step_seconds, drawn = median_seconds(step_wise, arguments.repeats)
    naive_seconds, naive_drawn = median_seconds(naive, arguments.repeats)
    naive_total = naive_seconds / arguments.naive_pixels * arguments.pixels
    same = np.array_equal(
        drawn.reshape(batch, -1)[:, : arguments.naive_pixels],
        naive_drawn.astype(np.uint8),
    )

    shape = f"{arguments.cell.upper()} {arguments.layers}x{arguments.units}"
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(
        f"{shape} (random weights) on {device}, {arguments.images} images x "
        f"{arguments.samples} samples, {visible} visible pixels, continuations of "
        f"{arguments.pixels} pixels, XLA {'on' if arguments.jit else 'off'}, "
        f"medians of {arguments.repeats}"
    )
    print(
        f"step-wise: {step_seconds:.2f} s for all ({batch / step_seconds:.1f} "
        f"continuations of {arguments.pixels} pixels per second)"
    )
    print(
        f"naive:     {naive_seconds:.2f} s for {arguments.naive_pixels} pixels, "
        f"extrapolated {naive_total:.1f} s for {arguments.pixels} "
        f"({batch / naive_total:.2f} continuations per second)"
    )
    print(f"speed-up:  {naive_total / step_seconds:.0f}x")
    print(
        f"the first {arguments.naive_pixels} drawn pixels of every sequence are "
        + ("the same in both" if same else "NOT the same: check the sampler")
    )


if __name__ == "__main__":
    main()
