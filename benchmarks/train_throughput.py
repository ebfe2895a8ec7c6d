"""Training throughput of pixelrnn's step against plain Keras, side by side.

For the GRU 1x128 pixel model and the LSTM 1x128 classifier (or the models
named by `--configs`; 784 steps, batch 256 by default) this times, in one
process and on the same batches:

- `keras fit`: the same model compiled with default settings and trained with
  `model.fit`, the way a Keras user would;
- `pixelrnn`: pixelrnn's own training step as `pixelrnn train` builds it for
  this device (on a CPU: no XLA, `fast_rnn` for GRU pixel models);
- optional variants (`--variants`): pixelrnn's step forced through
  `fast_rnn` (`fast`) or through Keras's own layers (`keras-layers`), or
  compiled with XLA (`xla`, `fast-xla`);

and measures a large float32 matrix product as the machine's practical peak.
Throughput is images per second, median of `--repeats` timings of `--batches`
steps each, the variants timed in turns so that the machine's noise hits
all of them alike. Model FLOP/s counts the model's arithmetic as defined (6 FLOPs per
multiply-add of the forward pass: forward plus a backward twice as large),
whatever the implementation skips, so it compares with the peak fairly.

    python benchmarks/train_throughput.py
    python benchmarks/train_throughput.py --batch-size 512 --variants keras-layers
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from pixelrnn_cli.models import build_model, classifier_loss, pixel_loss  # noqa: E402
from pixelrnn_cli.training import make_train_step  # noqa: E402

CONFIGS = {
    "gru-pixel": ("pixel", "gru", 1, 128),
    "lstm-classify": ("classify", "lstm", 1, 128),
    "gru-classify": ("classify", "gru", 1, 128),
    # Narrow models, where per-step overhead weighs more than arithmetic.
    "gru-pixel-32": ("pixel", "gru", 1, 32),
    "gru-classify-32": ("classify", "gru", 1, 32),
    "gru-classify-64": ("classify", "gru", 1, 64),
    "gru-classify-3x32": ("classify", "gru", 3, 32),
    "lstm-classify-32": ("classify", "lstm", 1, 32),
}
DEFAULT_CONFIGS = ("gru-pixel", "lstm-classify")
VARIANTS = {
    # name: (fast_rnn, jit); None lets pixelrnn choose for the device.
    "pixelrnn": (None, None),
    "fast": (True, False),
    "keras-layers": (False, False),
    "xla": (False, True),
    "fast-xla": (True, True),
}


def matmul_peak(size: int, repeats: int, dtype: str = "float32") -> float:
    """GFLOP/s of a (size x size) matrix product."""
    a = tf.cast(tf.random.normal((size, size)), dtype)
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        product(a).numpy()
        seconds.append(time.perf_counter() - start)
    return 2 * size**3 / statistics.median(seconds) / 1e9


def model_flops(task: str, cell: str, layers: int, units: int) -> float:
    """Training FLOPs per image: 6 x the forward pass's multiply-adds."""
    gates = 3 if cell == "gru" else 4
    per_step = units  # the input map
    per_step += layers * 2 * units * gates * units  # input and recurrent kernels
    per_step += units if task == "pixel" else 0  # one logit per step
    head = 0 if task == "pixel" else units * 100 + 100 * 10
    return 6.0 * (784 * per_step + head)


def batches_for(task: str, batch_size: int, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    pixels = (rng.random((count * batch_size, 784, 1)) > 0.8).astype("float32")
    labels = rng.integers(0, 10, count * batch_size)
    return pixels, labels


def fit_runner(config, batch_size: int, batches: int):
    """A function that trains the Keras way on `batches` batches, warmed up."""
    task, cell, layers, units = config
    model = build_model(task, cell, layers, units, keep_prob=0.75)
    loss = pixel_loss if task == "pixel" else classifier_loss
    model.compile(optimizer="adam", loss=loss)
    pixels, labels = batches_for(task, batch_size, batches)
    targets = pixels if task == "pixel" else labels
    fit = {"batch_size": batch_size, "epochs": 1, "verbose": 0, "shuffle": False}
    model.fit(pixels, targets, **fit)  # traces and warms up
    return lambda: model.fit(pixels, targets, **fit)


def step_runner(config, variant: str, batch_size: int, batches: int):
    """A function that runs pixelrnn's step (as `variant`) on the batches."""
    task, cell, layers, units = config
    fast, jit = VARIANTS[variant]
    model = build_model(task, cell, layers, units, keep_prob=0.75)
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    step = make_train_step(model, optimizer, task, jit=bool(jit), fast=fast)
    pixels, labels = batches_for(task, batch_size, batches)
    chunks = [
        (pixels[i : i + batch_size], labels[i : i + batch_size])
        for i in range(0, len(pixels), batch_size)
    ]

    def run() -> None:
        for chunk in chunks:
            loss, _ = step(*chunk)
        float(loss)

    run()  # traces and warms up
    return run


def throughputs(runners: dict, images: int, repeats: int) -> dict[str, float]:
    """Images per second of each runner, timed in turns so noise hits all alike."""
    seconds: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return {name: images / statistics.median(times) for name, times in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--batches", type=int, default=2, help="steps per timing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS), help=f"of {', '.join(CONFIGS)}"
    )
    parser.add_argument("--variants", default="", help="also: keras-layers,xla,...")
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--intra-threads", type=int, default=0, help="0: default")
    parser.add_argument("--inter-threads", type=int, default=0, help="0: default")
    parser.add_argument(
        "--bfloat16", action="store_true", help="also time a bfloat16 product"
    )
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_threads)

    threads = tf.config.threading
    print(
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"{os.cpu_count()} CPUs, threads intra-op "
        f"{threads.get_intra_op_parallelism_threads() or 'default'} inter-op "
        f"{threads.get_inter_op_parallelism_threads() or 'default'}, "
        f"batch {args.batch_size}, median of {args.repeats} x {args.batches} steps"
    )
    peak = matmul_peak(args.matmul_size, max(args.repeats, 5))
    print(f"matrix product {args.matmul_size}^3 float32: {peak:.1f} GFLOP/s")
    if args.bfloat16:
        half = matmul_peak(args.matmul_size, max(args.repeats, 5), "bfloat16")
        print(f"matrix product {args.matmul_size}^3 bfloat16: {half:.1f} GFLOP/s")
    variants = ["pixelrnn", *[v for v in args.variants.split(",") if v]]
    for name in args.configs.split(","):
        config = CONFIGS[name]
        flops = model_flops(*config)
        runners = {"keras fit": fit_runner(config, args.batch_size, args.batches)}
        for variant in variants:
            runners[variant] = step_runner(
                config, variant, args.batch_size, args.batches
            )
        rates = throughputs(runners, args.batch_size * args.batches, args.repeats)
        print(f"\n{name} ({flops / 1e6:.0f} MFLOP per image)")
        for variant, rate in rates.items():
            print(
                f"  {variant:<14} {rate:8.1f} images/s  "
                f"{rate / rates['keras fit']:4.2f}x  {rate * flops / 1e9:6.1f} GFLOP/s"
                f"  {rate * flops / 1e9 / peak:5.1%} of peak"
            )


if __name__ == "__main__":
    main()
