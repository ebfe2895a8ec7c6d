from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from pixelrnn_cli import fast_rnn
from pixelrnn_cli.models import build_model, classifier_loss, pixel_loss

CASES = [
    ("pixel", "gru", 1),
    ("pixel", "gru", 3),
    ("pixel", "lstm", 2),
    ("classify", "lstm", 1),
    ("classify", "gru", 2),
]


def perturbed_model(task: str, cell: str, layers: int, seed: int):
    """A small model whose weights are far from their initial values."""
    model = build_model(task, cell, layers, 5)
    rng = np.random.default_rng(seed)
    for variable in model.trainable_variables:
        noise = rng.normal(0.0, 0.4, variable.shape).astype("float32")
        variable.assign(variable.numpy() + noise)
    return model


@pytest.mark.parametrize("task, cell, layers", CASES)
def test_outputs_and_gradients_match_keras(task, cell, layers):
    model = perturbed_model(task, cell, layers, seed=layers)
    rng = np.random.default_rng(0)
    pixels = tf.constant((rng.random((4, 784, 1)) > 0.7).astype("float32"))
    labels = tf.constant(rng.integers(0, 10, 4))

    def loss_of(outputs):
        if task == "pixel":
            return pixel_loss(pixels, outputs)
        return classifier_loss(labels, outputs)

    @tf.function
    def both():
        with tf.GradientTape(persistent=True) as tape:
            keras_out = model(pixels, training=False)
            fast_out = fast_rnn.forward(model, pixels, training=False)
            keras_loss, fast_loss = loss_of(keras_out), loss_of(fast_out)
        variables = model.trainable_variables
        return (
            keras_out,
            fast_out,
            tape.gradient(keras_loss, variables),
            tape.gradient(fast_loss, variables),
        )

    keras_out, fast_out, keras_grads, fast_grads = both()
    np.testing.assert_allclose(fast_out, keras_out, atol=2e-6)
    for variable, expected, got in zip(
        model.trainable_variables, keras_grads, fast_grads, strict=True
    ):
        scale = float(tf.reduce_max(tf.abs(expected))) + 1e-8
        np.testing.assert_allclose(
            got / scale, expected / scale, atol=2e-5, err_msg=variable.path
        )


def test_dropout_uses_the_models_seed_generators():
    model = build_model("pixel", "gru", 2, 4, keep_prob=0.5)
    pixels = tf.ones((2, 784, 1))
    generators = [
        layer.seed_generator for layer in model.layers if "dropout" in layer.name
    ]
    before = [generator.state.numpy().copy() for generator in generators]
    first = fast_rnn.forward(model, pixels, training=True)
    second = fast_rnn.forward(model, pixels, training=True)
    assert all(
        not np.array_equal(old, generator.state.numpy())
        for old, generator in zip(before, generators, strict=True)
    )
    assert not np.allclose(first, second)
    np.testing.assert_allclose(
        fast_rnn.forward(model, pixels, training=False), model(pixels), atol=2e-6
    )


def test_only_default_keras_cells_are_taken():
    assert fast_rnn.supports(build_model("pixel", "gru", 1, 4))
    model = build_model("pixel", "gru", 1, 4)
    model.get_layer("recurrent_1").cell.reset_after = False
    assert not fast_rnn.supports(model)
