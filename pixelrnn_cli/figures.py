"""Learning-curve figures for the report, drawn with matplotlib's Agg backend.

Training curves are dotted and validation curves solid, as in the study's
figures. Validation is measured only every few epochs, so its curve joins the
epochs where it was measured and skips the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pixelrnn_cli.results import History, atomic_write

log = logging.getLogger(__name__)

FIGURE_DPI = 100
LOSS_LABELS = {
    "classify": "cross-entropy (nats)",
    "pixel": "cross-entropy per pixel (nats)",
}
ACCURACY_LABELS = {"classify": "accuracy (%)", "pixel": "next-pixel accuracy (%)"}


def measured(history: History, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The epochs where `column` holds a number, and those numbers."""
    epochs, values = history.array("epoch"), history.array(column)
    kept = np.isfinite(values)
    return epochs[kept], values[kept]


def draw_run_curves(history: History, task: str, title: str, path: Path) -> None:
    """Loss and accuracy per epoch of one run, side by side, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    # Fixed margins: an automatic layout would double the drawing time.
    figure = Figure(figsize=(9.0, 3.6), dpi=FIGURE_DPI)
    figure.subplots_adjust(left=0.1, right=0.98, bottom=0.14, top=0.91, wspace=0.3)
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    for split, style in (("train", ":"), ("val", "-")):
        label = "training" if split == "train" else "validation"
        epochs, losses = measured(history, f"{split}_loss")
        loss_axes.plot(epochs, losses, style, marker=".", color="C0", label=label)
        epochs, accuracies = measured(history, f"{split}_accuracy")
        accuracy_axes.plot(
            epochs, 100 * accuracies, style, marker=".", color="C1", label=label
        )
    loss_axes.set(xlabel="epoch", ylabel=LOSS_LABELS[task], title=title)
    accuracy_axes.set(xlabel="epoch", ylabel=ACCURACY_LABELS[task])
    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend()
    save(figure, path)


def draw_overlay(
    curves: Sequence[tuple[str, History]], task: str, title: str, path: Path
) -> None:
    """The loss curves of several runs in one plot, one colour per run."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7.0, 4.5), dpi=FIGURE_DPI)
    figure.subplots_adjust(left=0.11, right=0.97, bottom=0.11, top=0.93)
    axes = figure.subplots()
    for index, (label, history) in enumerate(curves):
        color = f"C{index % 10}"
        epochs, losses = measured(history, "train_loss")
        axes.plot(epochs, losses, ":", color=color)
        epochs, losses = measured(history, "val_loss")
        axes.plot(epochs, losses, "-", marker=".", color=color, label=label)
    axes.set(xlabel="epoch", ylabel=LOSS_LABELS[task], title=title)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    axes.legend(title="dotted: training, solid: validation", fontsize="small")
    save(figure, path)


def save(figure, path: Path) -> None:
    # No software stamp in the file, so the same runs draw the same bytes.
    atomic_write(
        path,
        lambda temporary: figure.savefig(
            temporary, format="png", metadata={"Software": None}
        ),
        suffix=".png",
    )
    log.info("drew %s", path)
