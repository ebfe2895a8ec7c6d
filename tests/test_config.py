from __future__ import annotations

import pytest

from pixelrnn_cli.config import RunConfig, make_config, parse_duration
from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.study import RECIPES


def test_defaults_come_from_the_study_table():
    config = make_config("classify", "gru", 3, 32)
    assert (config.lr, config.decay_rate, config.decay_epochs) == (5e-3, 0.9, 7)
    assert (config.keep_prob, config.epochs) == (0.5, 80)
    assert config.name == "classify-gru-3x32"
    assert config.batch_size == 256 and config.eval_every == 2
    assert len(RECIPES) == 12


def test_overrides_win_and_none_keeps_the_default():
    config = make_config("pixel", "gru", 1, 128, lr=0.02, epochs=None)
    assert config.lr == 0.02 and config.epochs == 100
    assert config.name == "pixel-gru-1x128"


def test_staircase_learning_rate():
    config = make_config("classify", "lstm", 1, 32)  # 1e-3, times 0.87 every 10
    assert config.learning_rate(0) == pytest.approx(1e-3)
    assert config.learning_rate(9) == pytest.approx(1e-3)
    assert config.learning_rate(10) == pytest.approx(0.87e-3)
    assert config.learning_rate(25) == pytest.approx(1e-3 * 0.87**2)


def test_config_round_trips_through_json():
    config = make_config("pixel", "gru", 3, 32, limit=100, clipnorm=1.0)
    assert RunConfig.from_json(config.to_json()) == config


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cell": "rnn"}, "unknown cell 'rnn'"),
        ({"layers": 0}, "layers must be at least 1, got 0"),
        ({"units": -3}, "units must be at least 1, got -3"),
        ({"keep_prob": 0.0}, "keep-prob must be in (0, 1], got 0.0"),
        ({"keep_prob": 1.5}, "keep-prob must be in (0, 1], got 1.5"),
        ({"lr": -1.0}, "lr must be positive"),
        ({"batch_size": 0}, "batch-size must be at least 1"),
        ({"name": "../escape"}, "run name '../escape' must start"),
        ({"threshold": 1.0}, "threshold must be in [0, 1)"),
    ],
)
def test_impossible_settings_are_refused(overrides, message):
    shape = {"task": "classify", "cell": "gru", "layers": 1, "units": 8}
    shape.update({key: overrides.pop(key) for key in list(overrides) if key in shape})
    with pytest.raises(PixelrnnError) as raised:
        make_config(**shape, **overrides)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("20m", 1200),
        ("1h", 3600),
        ("1h30m", 5400),
        ("90s", 90),
        ("45", 45),
        ("0.5h", 1800),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "20x", "m20", "0m", ""])
def test_bad_durations_are_refused(text):
    with pytest.raises(PixelrnnError):
        parse_duration(text)
