"""Which device runs the models, and whether to compile their steps with XLA.

On a GPU the LSTM and GRU layers run on cuDNN kernels, which XLA cannot use,
so steps are compiled without XLA there. On a CPU, XLA compiles the 784-step
recurrent loop into a while-loop that is several times slower than
TensorFlow's own graph (see docs/performance.md), so it stays off there too
unless asked for.
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
