from __future__ import annotations

import numpy as np
import pytest

from pixelrnn_cli.models import START_VALUE, build_model, model_task, pixel_loss


def lstm_parameters(inputs: int, units: int) -> int:
    return 4 * (inputs * units + units * units + units)


def gru_parameters(inputs: int, units: int) -> int:
    # reset_after=True keeps separate input and recurrent biases.
    return 3 * (inputs * units + units * units) + 2 * 3 * units


def test_classifier_lstm_1x32_parameter_count():
    model = build_model("classify", "lstm", 1, 32, keep_prob=0.75)
    expected = (
        (1 * 32 + 32)  # input map
        + lstm_parameters(32, 32)
        + (32 * 100 + 100)  # hidden ReLU layer
        + (100 * 10 + 10)  # class logits
    )
    assert expected == 12_694
    assert model.count_params() == expected


def test_pixel_gru_3x32_parameter_count():
    model = build_model("pixel", "gru", 3, 32, keep_prob=0.75)
    expected = (1 * 32 + 32) + 3 * gru_parameters(32, 32) + (32 + 1)
    assert expected == 19_105
    assert model.count_params() == expected


def test_output_shapes_and_kinds():
    classifier = build_model("classify", "gru", 2, 4)
    pixel = build_model("pixel", "lstm", 1, 4)
    assert model_task(classifier) == "classify"
    assert model_task(pixel) == "pixel"
    x = np.zeros((3, 784, 1), np.float32)
    probabilities = classifier.predict_on_batch(x)
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert pixel.predict_on_batch(x).shape == (3, 784)


def test_pixel_model_is_causal():
    """Output t depends on pixels before t only, and output 0 on none."""
    model = build_model("pixel", "gru", 2, 4)
    rng = np.random.default_rng(0)
    x = (rng.random((1, 784, 1)) > 0.5).astype(np.float32)
    changed = x.copy()
    changed[0, 300, 0] = 1.0 - changed[0, 300, 0]
    before, after = model.predict_on_batch(np.concatenate([x, changed]))
    np.testing.assert_array_equal(before[:301], after[:301])
    assert np.abs(before[301:] - after[301:]).max() > 0


def test_start_value_is_fed_before_the_first_pixel():
    model = build_model("pixel", "gru", 1, 4)
    shifted = model.get_layer("shift_right")(
        np.arange(4, dtype=np.float32).reshape(1, 4, 1)
    )
    assert np.asarray(shifted)[0, :, 0].tolist() == [START_VALUE, 0.0, 1.0, 2.0]


def test_pixel_loss_is_the_mean_over_784_predictions():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 784)).astype(np.float32)
    pixels = (rng.random((2, 784, 1)) > 0.7).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    t = pixels[..., 0]
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean()
    assert float(pixel_loss(pixels, logits)) == pytest.approx(expected, rel=1e-5)


def test_a_pixel_model_predicting_one_half_has_loss_ln2():
    model = build_model("pixel", "gru", 1, 4)
    for weight in model.get_layer("pixel_logit").weights:
        weight.assign(np.zeros(weight.shape))
    x = np.ones((2, 784, 1), np.float32)
    assert float(pixel_loss(x, model.predict_on_batch(x))) == pytest.approx(
        np.log(2.0), rel=1e-6
    )


def test_dropout_layers_follow_the_keep_probability():
    model = build_model("pixel", "gru", 3, 4, keep_prob=0.75)
    rates = [layer.rate for layer in model.layers if "dropout" in layer.name]
    assert rates == [0.25, 0.25, 0.25]
    assert not [
        layer
        for layer in build_model("pixel", "gru", 1, 4).layers
        if "dropout" in layer.name
    ]
