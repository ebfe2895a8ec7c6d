"""The reference study: its training recipe and the results it reported.

These two tables are the only place where the study's numbers are written
down. Training reads its defaults from `RECIPES`; the report prints `RESULTS`
beside the user's own runs.
"""

from __future__ import annotations

from dataclasses import dataclass

# A model configuration: (task, cell, layers, units).
Config = tuple[str, str, int, int]


@dataclass(frozen=True)
class Recipe:
    """Training settings: Adam at `lr`, times `decay_rate` every `decay_epochs`."""

    lr: float
    decay_rate: float
    decay_epochs: int
    keep_prob: float
    epochs: int


RECIPES: dict[Config, Recipe] = {
    ("classify", "lstm", 1, 32): Recipe(1e-3, 0.87, 10, 0.75, 100),
    ("classify", "lstm", 1, 64): Recipe(3e-3, 0.9, 10, 0.75, 100),
    ("classify", "lstm", 1, 128): Recipe(7.5e-4, 0.9, 10, 0.75, 100),
    ("classify", "lstm", 3, 32): Recipe(2e-3, 0.9, 7, 0.75, 100),
    ("classify", "gru", 1, 32): Recipe(5e-3, 0.87, 10, 0.75, 100),
    ("classify", "gru", 1, 64): Recipe(5e-3, 0.9, 10, 0.5, 100),
    ("classify", "gru", 1, 128): Recipe(1e-3, 0.9, 10, 0.75, 100),
    ("classify", "gru", 3, 32): Recipe(5e-3, 0.9, 7, 0.5, 80),
    ("pixel", "gru", 1, 32): Recipe(1e-2, 0.9, 5, 0.75, 100),
    ("pixel", "gru", 1, 64): Recipe(1e-2, 0.9, 5, 0.75, 100),
    ("pixel", "gru", 1, 128): Recipe(1e-2, 0.9, 5, 0.75, 100),
    ("pixel", "gru", 3, 32): Recipe(1e-2, 0.9, 5, 0.75, 100),
}

# Configurations outside the study get the study's most common settings.
FALLBACK_RECIPES: dict[str, Recipe] = {
    "classify": Recipe(1e-3, 0.9, 10, 0.75, 100),
    "pixel": Recipe(1e-2, 0.9, 5, 0.75, 100),
}

REFERENCE_CONFIGS: tuple[Config, ...] = tuple(RECIPES)
SHAPES: tuple[tuple[int, int], ...] = ((1, 32), (1, 64), (1, 128), (3, 32))
CONTINUATION_STEPS: tuple[int, ...] = (1, 10, 28, 300)


def recipe_for(task: str, cell: str, layers: int, units: int) -> Recipe:
    """The study's settings for a configuration, or the fallback for its task."""
    return RECIPES.get((task, cell, layers, units), FALLBACK_RECIPES[task])


@dataclass(frozen=True)
class ClassifierResult:
    train_loss: float
    test_loss: float
    train_accuracy: float  # percent
    test_accuracy: float  # percent


@dataclass(frozen=True)
class PixelResult:
    """Cross-entropy per pixel (nats) on each split."""

    train: float
    validation: float
    test: float


@dataclass(frozen=True)
class ContinuationResult:
    """Cross-entropy per pixel of drawn samples and of the ground truth, per n."""

    samples: dict[int, float]
    ground_truth: dict[int, float]


@dataclass(frozen=True)
class InpaintingResult:
    """Cross-entropy per pixel of ground-truth and in-painted images."""

    ground_truth: float
    inpainted: float


CLASSIFIER_RESULTS: dict[Config, ClassifierResult] = {
    ("classify", "lstm", 1, 32): ClassifierResult(0.8758, 0.81, 68.21, 70.21),
    ("classify", "lstm", 1, 64): ClassifierResult(0.4937, 0.4796, 82.53, 82.65),
    ("classify", "lstm", 1, 128): ClassifierResult(0.2325, 0.2202, 93.05, 93.53),
    ("classify", "lstm", 3, 32): ClassifierResult(0.5208, 0.4738, 81.23, 82.21),
    ("classify", "gru", 1, 32): ClassifierResult(0.0607, 0.0872, 98.24, 97.47),
    ("classify", "gru", 1, 64): ClassifierResult(0.1121, 0.1235, 96.89, 96.47),
    ("classify", "gru", 1, 128): ClassifierResult(0.0459, 0.0782, 98.66, 98.00),
    ("classify", "gru", 3, 32): ClassifierResult(0.0231, 0.0709, 99.39, 98.52),
}

PIXEL_RESULTS: dict[Config, PixelResult] = {
    ("pixel", "gru", 1, 32): PixelResult(0.1067, 0.1038, 0.1037),
    ("pixel", "gru", 1, 64): PixelResult(0.0985, 0.0961, 0.0963),
    ("pixel", "gru", 1, 128): PixelResult(0.0829, 0.0816, 0.0819),
    ("pixel", "gru", 3, 32): PixelResult(0.0983, 0.0932, 0.0906),
}


def _continuation(samples: list[float], truth: list[float]) -> ContinuationResult:
    return ContinuationResult(
        dict(zip(CONTINUATION_STEPS, samples, strict=True)),
        dict(zip(CONTINUATION_STEPS, truth, strict=True)),
    )


CONTINUATION_RESULTS: dict[Config, ContinuationResult] = {
    ("pixel", "gru", 1, 32): _continuation(
        [0.1557, 0.2178, 0.1281, 0.1047], [0.1228, 0.3628, 0.2040, 0.5615]
    ),
    ("pixel", "gru", 1, 64): _continuation(
        [0.1693, 0.2243, 0.1252, 0.0860], [0.1590, 0.4034, 0.2280, 0.5426]
    ),
    ("pixel", "gru", 1, 128): _continuation(
        [0.1517, 0.1956, 0.1040, 0.0627], [0.2354, 0.2796, 0.1569, 0.3534]
    ),
    ("pixel", "gru", 3, 32): _continuation(
        [0.1354, 0.2004, 0.1182, 0.0821], [0.0964, 0.3011, 0.1803, 0.5048]
    ),
}

# The study in-painted with its GRU 1x128 pixel model only.
INPAINTING_RESULTS: dict[Config, dict[str, InpaintingResult]] = {
    ("pixel", "gru", 1, 128): {
        "1x1": InpaintingResult(0.0831, 0.0833),
        "2x2": InpaintingResult(0.0818, 0.0821),
    },
}
