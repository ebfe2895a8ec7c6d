"""Which device runs the models, and how their steps are compiled there.

On a GPU the LSTM and GRU layers run on cuDNN kernels, which XLA cannot use,
so steps are compiled without XLA and through Keras's own layers. On a CPU
the GRU layers run through `fast_rnn` (the same function with a hand-written
backward pass), LSTMs through Keras's own loop, and XLA stays off: on this
kind of machine it made the 784-step loop 4 to 6 times slower than
TensorFlow's own graph (see docs/performance.md). Both can be forced for
comparison.
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


def use_jit(requested: bool | None = None) -> bool:
    """XLA on or off: `requested` when given, else the measured best for here."""
    if requested is not None:
        return requested
    return False


def use_fast_rnn(model, requested: bool | None = None) -> bool:
    """Run the recurrent layers through `fast_rnn`: GRU models on a CPU.

    Measured on a 2-core CPU (docs/performance.md), the GRU pass is about 1.2x
    faster than Keras's layers in the same step, while for an LSTM Keras's own
    loop is faster.
    """
    if requested is not None:
        return requested
    if gpu_names():
        return False
    from pixelrnn_cli import fast_rnn
    from pixelrnn_cli.models import recurrent_layers

    all_gru = all(
        layer.__class__.__name__ == "GRU" for layer in recurrent_layers(model)
    )
    return all_gru and fast_rnn.supports(model)
