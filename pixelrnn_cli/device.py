"""Which device runs the models, and how their steps are compiled there.

On a GPU the LSTM and GRU layers run on cuDNN kernels, which XLA cannot use,
so steps are compiled without XLA and through Keras's own layers. On a CPU
training runs GRU pixel models through `fast_rnn` (the same function with a
hand-written backward pass) and every other model through Keras's own loop,
without XLA: on this kind of machine XLA made training steps 4 to 6 times
slower. Evaluation, a forward pass only, is compiled with XLA there, which
runs it 1.3-1.5 times faster (see docs/performance.md). Both choices can be forced.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger(__name__)


@functools.cache
def gpu_names() -> tuple[str, ...]:
    import tensorflow as tf

    return tuple(device.name for device in tf.config.list_physical_devices("GPU"))


def describe_device() -> str:
    names = gpu_names()
    return f"GPU ({len(names)} visible)" if names else "CPU"


def use_jit(requested: bool | None = None, *, inference: bool = False) -> bool:
    """XLA on or off: `requested` when given, else the measured best for here.

    `inference` marks a forward pass over whole 784-pixel sequences of one
    shape (evaluation): on a CPU XLA runs that 1.3-1.5x faster than
    TensorFlow's graph, while it makes training steps (the backward pass) 4-6x
    slower. On a GPU it stays off, keeping the cuDNN kernels.
    """
    if requested is not None:
        return requested
    return inference and not gpu_names()


def use_fast_rnn(model, requested: bool | None = None) -> bool:
    """Run the recurrent layers through `fast_rnn`: GRU pixel models on a CPU.

    Measured on a 2-core CPU (docs/performance.md), the GRU pass trains a GRU
    pixel model about 1.2x faster than Keras's layers in the same step. For a
    GRU classifier, whose gradient enters at the last step only, and for an
    LSTM, Keras's own loop is faster.
    """
    if requested is not None:
        return requested
    if gpu_names():
        return False
    from pixelrnn_cli import fast_rnn
    from pixelrnn_cli.models import model_task, recurrent_layers

    all_gru = all(
        layer.__class__.__name__ == "GRU" for layer in recurrent_layers(model)
    )
    return all_gru and model_task(model) == "pixel" and fast_rnn.supports(model)
