"""Tests of the step-wise sampler, its numbers, run.h5 group and CLI command."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from pixelrnn_cli.cli import app
from pixelrnn_cli.data import load_splits
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.sampling import (
    FIGURE_RULES,
    Continuations,
    SampleSettings,
    parse_steps,
    pick_images,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return load_splits(limit=8).test.images  # (8, 784)


def full_model_logits(model, images: np.ndarray) -> np.ndarray:
    """The full model's 784 logits per image, (N, 784), from a compiled call."""
    import tensorflow as tf

    call = tf.function(lambda pixels: model(pixels, training=False))
    return call(images[..., None].astype(np.float32)).numpy()


def full_model_losses(model, images: np.ndarray) -> np.ndarray:
    """-log p of every pixel of whole images under the full model, (N, 784)."""
    logits = full_model_logits(model, images)
    return np.logaddexp(0.0, np.where(images == 1, -logits, logits))


def constant_model(probability: float, cell: str = "gru"):
    """A pixel model that gives every pixel the same probability of being 1."""
    from pixelrnn_cli.models import build_model

    model = build_model("pixel", cell, 1, 3)
    for weight in model.weights:
        weight.assign(np.zeros(weight.shape, np.float32))
    bias = model.get_layer("pixel_logit").bias
    bias.assign([math.log(probability / (1 - probability))])
    return model


@pytest.mark.parametrize(("cell", "layers"), [("gru", 1), ("lstm", 2), ("gru", 3)])
def test_stepwise_probabilities_match_the_full_model(cell, layers, test_images):
    from pixelrnn_cli.models import build_model
    from pixelrnn_cli.sampling import StepwiseModel

    model = build_model("pixel", cell, layers, 6, keep_prob=0.75)
    stepwise = StepwiseModel(model)
    full = full_model_logits(model, test_images)  # (8, 784)
    stepped = stepwise.sequence_logits(test_images)
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    assert stepped.shape == (8, 784)
    assert np.abs(sigmoid(stepped) - sigmoid(full)).max() < 1e-5
    # Shared weights, not copies: a change to the model shows in the step form.
    model.get_layer("pixel_logit").bias.assign([3.0])
    moved = stepwise.sequence_logits(test_images[:2])
    assert np.allclose(moved, full_model_logits(model, test_images[:2]), atol=1e-5)


def test_certain_model_draws_only_ones(test_images):
    from pixelrnn_cli.sampling import continue_images

    settings = SampleSettings(images=4, hide=30, steps=(1, 7, 30), samples=3, beam=2)
    result = continue_images(constant_model(1 - 1e-9), test_images[:4], settings)
    for n in settings.steps:
        assert result.samples[n].shape == (4, 3, n)
        assert (result.samples[n] == 1).all()
        assert (result.beam[n] == 1).all()
        assert result.sample_losses[n].max() < 1e-6
    assert (result.greedy == 1).all()
    truth = test_images[:4, -30:]
    measured = {n: result.measure(n) for n in settings.steps}
    for n in settings.steps:
        assert measured[n]["agreement"] == pytest.approx(truth[:, :n].mean())
        assert measured[n]["greedy_cross_entropy"] < 1e-6


def test_draws_follow_the_model_probability(test_images):
    from pixelrnn_cli.sampling import continue_images

    settings = SampleSettings(images=5, hide=10, steps=(10,), samples=400, seed=7)
    result = continue_images(constant_model(0.3), test_images[:5], settings)
    share = result.samples[10].mean()
    assert share == pytest.approx(0.3, abs=0.02)  # 20,000 draws: 6 sd
    measured = result.measure(10)
    exact = -(share * math.log(0.3) + (1 - share) * math.log(0.7))
    assert measured["sample_cross_entropy"] == pytest.approx(exact, abs=1e-5)
    assert (result.greedy == 0).all()  # p = 0.3 is never above 0.5
    assert measured["greedy_cross_entropy"] == pytest.approx(-math.log(0.7), 1e-5)


def test_ground_truth_cross_entropy_equals_the_full_model(pixel_run, test_images):
    from pixelrnn_cli.runs import load_model
    from pixelrnn_cli.sampling import continue_images

    model = load_model(pixel_run, task="pixel")
    settings = SampleSettings(images=6, hide=300, steps=(1, 10, 300), samples=2)
    result = continue_images(model, test_images[:6], settings)
    losses = full_model_losses(model, test_images[:6])  # (6, 784)
    for n in settings.steps:
        direct = losses[:, 484 : 484 + n].mean()
        assert result.measure(n)["ground_truth_cross_entropy"] == pytest.approx(
            direct, abs=1e-5
        )


def test_beam_finds_the_most_likely_continuation(pixel_run, test_images):
    from pixelrnn_cli.runs import load_model
    from pixelrnn_cli.sampling import continue_images

    model = load_model(pixel_run, task="pixel")
    n, visible = 4, 784 - 50
    settings = SampleSettings(images=3, hide=50, steps=(n,), samples=1, beam=16)
    result = continue_images(model, test_images[:3], settings)
    # With 16 beams the search over 4 pixels is exhaustive: compare brute force.
    for image in range(3):
        candidates = np.repeat(test_images[image : image + 1], 16, axis=0)
        candidates[:, visible : visible + n] = list(itertools.product((0, 1), repeat=n))
        losses = full_model_losses(model, candidates)[:, visible : visible + n]
        best = int(np.argmin(losses.sum(axis=1)))
        assert (result.beam[n][image] == candidates[best, visible : visible + n]).all()
        assert result.beam_losses[n][image].mean() == pytest.approx(
            losses[best].mean(), abs=1e-5
        )
    measured = result.measure(n)
    assert measured["beam_cross_entropy"] <= measured["greedy_cross_entropy"] + 1e-7


def test_same_seed_same_samples(pixel_run, test_images):
    from pixelrnn_cli.runs import load_model
    from pixelrnn_cli.sampling import continue_images

    model = load_model(pixel_run, task="pixel")
    settings = SampleSettings(images=4, hide=40, steps=(5, 40), samples=3, seed=11)
    first = continue_images(model, test_images[:4], settings)
    again = continue_images(model, test_images[:4], settings)
    fewer = continue_images(
        model, test_images[:2], SampleSettings(**{**vars(settings), "images": 2})
    )
    other = continue_images(
        model, test_images[:4], SampleSettings(**{**vars(settings), "seed": 12})
    )
    for n in settings.steps:
        assert np.array_equal(first.samples[n], again.samples[n])
        assert np.array_equal(first.sample_losses[n], again.sample_losses[n])
        assert np.array_equal(first.samples[n][:2], fewer.samples[n])
    assert not np.array_equal(first.samples[40], other.samples[40])
    assert np.array_equal(first.greedy, other.greedy)  # greedy draws nothing


def test_pick_images_follows_the_stated_rules():
    truth = np.zeros((4, 3), np.uint8)
    samples = np.array(
        [
            [[1, 1, 1], [1, 1, 1]],  # agrees least
            [[0, 0, 0], [0, 0, 0]],  # agrees most
            [[0, 1, 0], [1, 0, 1]],  # differs most between samples
            [[0, 0, 1], [0, 0, 1]],
        ],
        np.uint8,
    )
    result = Continuations(
        images=np.zeros((4, 784), np.uint8),
        truth=truth,
        truth_losses=np.zeros((4, 3)),
        greedy=np.zeros((4, 3), np.uint8),
        greedy_losses=np.zeros((4, 3)),
        samples={3: samples},
        sample_losses={3: np.zeros((4, 2, 3))},
    )
    assert pick_images(result, 3) == {"best": 1, "worst": 0, "varied": 2}


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"hide": 0}, "--hide must be between 1 and 783"),
        ({"hide": 784}, "--hide must be between 1 and 783"),
        ({"hide": 20, "steps": (1, 28)}, "--steps 28 is outside 1..20"),
        ({"images": 0}, "--images must be at least 1"),
        ({"samples": 0}, "--samples must be at least 1"),
        ({"beam": -1}, "--beam must be 0"),
    ],
)
def test_settings_refuse_bad_values(settings, message):
    with pytest.raises(PixelrnnError, match=message):
        SampleSettings(**settings)


def test_parse_steps():
    assert parse_steps("300, 1,10,28,10") == (1, 10, 28, 300)
    with pytest.raises(PixelrnnError, match="cannot read --steps"):
        parse_steps("1,ten")


def test_sample_command_prints_stores_and_draws(checkpoints, tmp_path):
    from pixelrnn_cli.results import read_run
    from pixelrnn_cli.runs import load_model
    from pixelrnn_cli.sampling import continue_images

    figures = tmp_path / "figures"
    arguments = ["sample", "pixel-gru-1x4", "--checkpoints", str(checkpoints)]
    arguments += ["--images", "5", "--hide", "30", "--steps", "1,5,28"]
    arguments += ["--samples", "3", "--seed", "4", "--beam", "2", "--quiet"]
    outcome = runner.invoke(app, [*arguments, "--figures", str(figures)])
    assert outcome.exit_code == 0, outcome.output
    assert "ground truth" in outcome.output and "beam 2" in outcome.output

    groups = read_run(checkpoints / "pixel-gru-1x4" / "run.h5").groups
    stored = groups["sampling"]
    assert (stored["images"], stored["hide"], stored["samples"]) == (5, 30, 3)
    assert (stored["seed"], stored["beam"]) == (4, 2)
    assert json.loads(stored["steps"]) == [1, 5, 28]
    written = [figures / f"sample-pixel-gru-1x4-{rule}.png" for rule in FIGURE_RULES]
    assert json.loads(stored["figures"]) == [str(path) for path in written]
    assert all(path.read_bytes()[:4] == b"\x89PNG" for path in written)

    # The stored numbers are those of the library call with the same settings.
    model = load_model(checkpoints / "pixel-gru-1x4", task="pixel")
    settings = SampleSettings(images=5, hide=30, steps=(1, 5, 28), samples=3, seed=4)
    direct = continue_images(model, load_splits(limit=5).test.images, settings)
    for n in (1, 5, 28):
        group = groups[f"sampling/n_{n}"]
        assert np.array_equal(group["samples"], direct.samples[n])
        for key in ("sample_cross_entropy", "ground_truth_cross_entropy"):
            assert group[key] == pytest.approx(direct.measure(n)[key], abs=1e-7)
        assert group["beam_cross_entropy"] <= group["greedy_cross_entropy"] + 1e-7
        assert f"{direct.measure(n)['sample_cross_entropy']:.4f}" in outcome.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["classify-lstm-1x4"], "is a classifier; sampling needs a pixel model"),
        (["no-such-run"], "no run named 'no-such-run'"),
        (["pixel-gru-1x4", "--hide", "200"], "--steps 300 is outside 1..200"),
        (["pixel-gru-1x4", "--hide", "784"], "--hide must be between 1 and 783"),
        (["pixel-gru-1x4", "--steps", "a"], "cannot read --steps 'a'"),
        (["pixel-gru-1x4", "--images", "10001"], "more than the 10000 test images"),
    ],
)
def test_sample_command_errors_in_one_line(checkpoints, tmp_path, arguments, message):
    base = ["sample", "--checkpoints", str(checkpoints), "--figures", str(tmp_path)]
    outcome = runner.invoke(app, [*base, *arguments, "--quiet"])
    assert outcome.exit_code == 1
    assert message in outcome.output
    assert "Traceback" not in outcome.output
    assert len(outcome.output.strip().splitlines()) == 1
