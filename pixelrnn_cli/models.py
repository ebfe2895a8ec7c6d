"""The two Keras functional models: a digit classifier and a next-pixel model.

Both read an image as a sequence of 784 binary pixels, shape (batch, 784, 1).
Each pixel enters through an affine map to the unit size, then passes through
the stacked LSTM or GRU layers, each followed by dropout on its outputs.

- The classifier takes the last step of the top layer through an affine layer
  of 100 units with ReLU and an affine layer to 10 classes with softmax.
- The pixel model shifts the sequence right by one, feeding `START_VALUE`
  before the first pixel, so its output at step t is the logit of
  p(x_t = 1 | x_1 .. x_{t-1}): 784 logits that define the likelihood of the
  whole image.

The recurrent layers keep Keras's default activations, `recurrent_dropout=0`
and `reset_after=True`, so that on a GPU they run on the cuDNN kernels.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from pixelrnn_cli.data import NUM_CLASSES, SEQUENCE_LENGTH

# The input before the first pixel: a value no pixel takes.
START_VALUE = -1.0
HIDDEN_UNITS = 100


@keras.saving.register_keras_serializable(package="pixelrnn")
class ShiftRight(layers.Layer):
    """Shift a sequence one step right along time, filling the first step.

    (batch, T, 1) -> (batch, T, 1): output[:, 0] = fill, output[:, t] =
    input[:, t - 1].
    """

    def __init__(self, fill: float = START_VALUE, **kwargs) -> None:
        super().__init__(**kwargs)
        self.fill = fill

    def call(self, inputs):
        start = ops.full_like(inputs[:, :1], self.fill)
        return ops.concatenate([start, inputs[:, :-1]], axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "fill": self.fill}


def model_name(task: str, cell: str, layers_count: int, units: int) -> str:
    return f"{task}_{cell}_{layers_count}x{units}"


def build_model(
    task: str,
    cell: str,
    num_layers: int,
    units: int,
    keep_prob: float = 1.0,
) -> keras.Model:
    """Build the classifier (`task="classify"`) or the pixel model (`"pixel"`)."""
    if task not in ("classify", "pixel"):
        raise ValueError(f"task must be 'classify' or 'pixel', got {task!r}")
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
    recurrent_layer = layers.LSTM if cell == "lstm" else layers.GRU
    dropout_rate = 1.0 - keep_prob

    pixels = keras.Input(shape=(SEQUENCE_LENGTH, 1), name="pixels")
    x = ShiftRight(name="shift_right")(pixels) if task == "pixel" else pixels
    x = layers.Dense(units, name="input_map")(x)  # (batch, 784, units)
    for index in range(1, num_layers + 1):
        last_step_only = task == "classify" and index == num_layers
        x = recurrent_layer(
            units, return_sequences=not last_step_only, name=f"recurrent_{index}"
        )(x)  # (batch, 784, units), or (batch, units) for the classifier's top
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name=f"dropout_{index}")(x)

    if task == "classify":
        x = layers.Dense(HIDDEN_UNITS, activation="relu", name="hidden")(x)
        x = layers.Dense(NUM_CLASSES, name="class_logits")(x)
        outputs = layers.Softmax(name="class_probabilities")(x)  # (batch, 10)
    else:
        x = layers.Dense(1, name="pixel_logit")(x)  # (batch, 784, 1)
        outputs = layers.Reshape((SEQUENCE_LENGTH,), name="pixel_logits")(x)
    return keras.Model(pixels, outputs, name=model_name(task, cell, num_layers, units))


def model_task(model: keras.Model) -> str:
    """'classify' or 'pixel', read from the model's output shape."""
    shape = tuple(model.output_shape)
    if shape == (None, NUM_CLASSES):
        return "classify"
    if shape == (None, SEQUENCE_LENGTH):
        return "pixel"
    raise ValueError(f"not a pixelrnn model: output shape {shape}")


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's LSTM / GRU layers, bottom first."""
    return [
        layer for layer in model.layers if isinstance(layer, (layers.LSTM, layers.GRU))
    ]


def pixel_loss(pixels, logits):
    """Binary cross-entropy per pixel, averaged over all 784 predictions.

    pixels: (batch, 784, 1) or (batch, 784); logits: (batch, 784).
    """
    targets = ops.reshape(pixels, ops.shape(logits))
    per_pixel = ops.binary_crossentropy(targets, logits, from_logits=True)
    return ops.mean(per_pixel)


def classifier_loss(labels, probabilities):
    """Cross-entropy of the true class, averaged over the batch."""
    per_image = ops.sparse_categorical_crossentropy(labels, probabilities)
    return ops.mean(per_image)
