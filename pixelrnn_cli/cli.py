"""The `pixelrnn` command line: thin commands over the library modules.

Each command parses its options, calls one library function and prints what it
returns. TensorFlow and Keras are imported inside the commands that need them,
so `pixelrnn --help` answers at once. Mistakes a user can make end in one red
line and a non-zero exit.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from pixelrnn_cli import __version__
from pixelrnn_cli.errors import PixelrnnError, TrainingInterrupted
from pixelrnn_cli.progress import Reporter

try:
    from typer._click.exceptions import ClickException
except ImportError:  # Typer releases that use the separate click package.
    from click.exceptions import ClickException  # type: ignore[no-redef]

console = Console()
error_console = Console(stderr=True)

DEFAULT_CHECKPOINTS = Path("checkpoints")
DEFAULT_PIXEL_MODEL = "pixel-gru-1x128"
DEFAULT_FIGURES = Path("docs/figures")


class OneLineErrors(TyperGroup):
    """Report usage mistakes and user errors in one line, never a traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except ClickException as error:
            if type(error).__name__ != "NoArgsIsHelpError":
                fail(error.format_message(), error.exit_code)
            sys.exit(error.exit_code)
        except TrainingInterrupted as error:
            error_console.print(f"[yellow]{error}[/]", soft_wrap=True)
            error_console.print(
                f"resume with: [bold]{error.resume_command}[/]", soft_wrap=True
            )
            sys.exit(130)
        except PixelrnnError as error:
            fail(str(error))
        except OSError as error:  # an unwritable folder, a full disk, ...
            where = f": {error.filename}" if error.filename else ""
            fail(f"{error.strerror or error}{where}")
        except (KeyboardInterrupt, typer.Abort):
            fail("interrupted", 130)
        if result == 130:  # Typer turns Ctrl-C into this exit code, silently.
            fail("interrupted", 130)
        if isinstance(result, int) and standalone_mode:
            sys.exit(result)
        return result


def fail(message: str, code: int = 1) -> None:
    first_line = message.strip().splitlines()[0] if message.strip() else "failed"
    error_console.print(
        f"[bold red]error:[/] {first_line}", highlight=False, soft_wrap=True
    )
    sys.exit(code)


app = typer.Typer(
    cls=OneLineErrors,
    help="Recurrent pixel models on MNIST: train, evaluate, sample, in-paint, report.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


class Task(StrEnum):
    classify = "classify"
    pixel = "pixel"


class Cell(StrEnum):
    lstm = "lstm"
    gru = "gru"


class Jit(StrEnum):
    auto = "auto"
    on = "on"
    off = "off"

    def requested(self) -> bool | None:
        return {"auto": None, "on": True, "off": False}[self.value]


def version_callback(value: bool) -> None:
    if value:
        console.print(f"pixelrnn {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    *,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show the library's log messages.")
    ] = False,
) -> None:
    """Recurrent pixel models on MNIST: train, evaluate, sample, in-paint, report."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=error_console, show_path=False)],
        force=True,
    )


class RichReporter(Reporter):
    """Progress bars and summary lines on the console."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.task_id: Any = None

    def start(self, description: str, total: int) -> None:
        self.finish()
        if not console.is_terminal:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self.progress.start()
        self.task_id = self.progress.add_task(description, total=total, info="")

    def advance(self, steps: int = 1, **info: float) -> None:
        if self.progress is not None:
            text = "  ".join(f"{key} {value:.4f}" for key, value in info.items())
            self.progress.update(self.task_id, advance=steps, info=text)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def summary(self, text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)


def reporter_for(quiet: bool) -> Reporter:
    return Reporter() if quiet else RichReporter()


def load_tensorflow() -> None:
    """Import TensorFlow and Keras with their start-up chatter silenced.

    TensorFlow's C++ layer writes to file descriptor 2 before any setting can
    quiet it (CUDA probes on machines without a GPU), so unless `--verbose`
    asked for logs, that descriptor points at /dev/null while it starts.
    """
    if "keras" in sys.modules or logging.getLogger().level <= logging.INFO:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def stop_gracefully_on_signals() -> None:
    """Make Ctrl-C and a polite kill stop training at a saved point.

    SIGTERM is treated like Ctrl-C, and SIGINT gets Python's handler back even
    where the shell started the process with it ignored (background jobs).
    """

    def handler(number: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


CheckpointsOption = Annotated[
    Path,
    typer.Option("--checkpoints", help="Folder that holds one sub-folder per run."),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or epoch lines.")
]
JitOption = Annotated[
    Jit,
    typer.Option(help="Compile steps with XLA: auto picks the faster for this device."),
]


@app.command()
def train(
    *,
    task: Annotated[
        Task | None, typer.Option(help="classify digits or predict the next pixel.")
    ] = None,
    cell: Annotated[
        Cell | None, typer.Option(help="Recurrent cell (default gru).")
    ] = None,
    layers: Annotated[
        int | None, typer.Option(help="Stacked recurrent layers (default 1).")
    ] = None,
    units: Annotated[
        int | None, typer.Option(help="Units per recurrent layer (default 128).")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Most epochs to train.")] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Images per step (default 256).")
    ] = None,
    lr: Annotated[float | None, typer.Option(help="Initial learning rate.")] = None,
    decay_rate: Annotated[
        float | None, typer.Option(help="Learning-rate factor per decay step.")
    ] = None,
    decay_epochs: Annotated[
        int | None, typer.Option(help="Epochs between learning-rate decays.")
    ] = None,
    keep_prob: Annotated[
        float | None,
        typer.Option(help="Probability of keeping each recurrent output (dropout)."),
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(help="Stop after this many epochs without validation gain."),
    ] = None,
    eval_every: Annotated[
        int | None, typer.Option(help="Epochs between validations (default 2).")
    ] = None,
    clipnorm: Annotated[
        float | None, typer.Option(help="Clip each gradient to this norm.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
    limit: Annotated[
        int | None,
        typer.Option(help="Use only the first N images of each split (quick runs)."),
    ] = None,
    time_budget: Annotated[
        str | None,
        typer.Option(
            help="Stop cleanly after the epoch that crosses this time, like 20m or 1h."
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="An MNIST-layout .npz file (default bundled MNIST)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(help="A pixel is 1 where value/255 is above this (default 0.1)."),
    ] = None,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    name: Annotated[
        str | None,
        typer.Option(help="Run name (default like classify-gru-3x32)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run of this name.")
    ] = False,
    jit: JitOption = Jit.auto,
    quiet: QuietOption = False,
) -> None:
    """Train a classifier or a pixel model with the study's recipe.

    Settings not given come from the study's table for the chosen cell, layers
    and units. The run is saved in CHECKPOINTS/NAME: model.keras (best
    validation loss), resume.h5 and run.h5.
    """
    from pixelrnn_cli.config import default_name, make_config, parse_duration
    from pixelrnn_cli.runs import check_run_folder

    budget = parse_duration(time_budget) if time_budget is not None else None
    model_options = {
        "task": task.value if task else None,
        "cell": cell.value if cell else None,
        "layers": layers,
        "units": units,
    }
    shape = {
        "task": model_options["task"] or "classify",
        "cell": model_options["cell"] or "gru",
        "layers": layers if layers is not None else 1,
        "units": units if units is not None else 128,
    }
    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "decay_rate": decay_rate,
        "decay_epochs": decay_epochs,
        "keep_prob": keep_prob,
        "patience": patience,
        "eval_every": eval_every,
        "clipnorm": clipnorm,
        "seed": seed,
        "limit": limit,
        "data": str(data) if data is not None else None,
        "threshold": threshold,
        "name": name or default_name(**shape),
    }
    config = make_config(**shape, **settings)
    check_run_folder(checkpoints / config.name, resume)
    load_tensorflow()
    from pixelrnn_cli.training import train as train_run

    stop_gracefully_on_signals()
    outcome = train_run(
        config,
        checkpoints,
        resume=resume,
        time_budget=budget,
        jit=jit.requested(),
        reporter=reporter_for(quiet),
        changes={**model_options, **settings, "name": None},
    )
    state = outcome.state
    if outcome.already_finished:
        console.print(f"run {config.name} has already finished: {state.stop_reason}")
        return
    console.print(
        f"[bold]{outcome.config.name}[/]: {state.stop_reason}; best validation loss "
        f"{state.best_val_loss:.4f} at epoch {state.best_epoch}; saved in "
        f"{outcome.run_dir}",
        soft_wrap=True,
    )
    if outcome.evaluation:
        console.print(evaluation_table(outcome.config.name, outcome.evaluation))
    if state.status == "stopped":
        console.print(
            f"continue with: pixelrnn train --name {outcome.config.name} "
            f"--checkpoints {checkpoints} --resume"
        )


@app.command()
def evaluate(
    runs: Annotated[
        list[str],
        typer.Argument(help="Run names under CHECKPOINTS, or run folders or files."),
    ],
    *,
    split: Annotated[
        str, typer.Option(help="Comma-separated splits: train, validation, test.")
    ] = "train,validation,test",
    limit: Annotated[
        int | None,
        typer.Option(help="Use the first N images of each split (default the run's)."),
    ] = None,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    jit: JitOption = Jit.auto,
    quiet: QuietOption = False,
) -> None:
    """Measure trained runs on the data splits and store the numbers in run.h5.

    Classifiers: loss and accuracy. Pixel models: cross-entropy per pixel
    (nats), nats per image, bits per pixel and next-pixel accuracy.
    """
    from pixelrnn_cli.runs import resolve_run

    split_names = parse_splits(split)
    run_dirs = [resolve_run(run, checkpoints) for run in runs]
    load_tensorflow()
    from pixelrnn_cli.evaluation import evaluate_run

    for run_dir in run_dirs:
        results = evaluate_run(
            run_dir,
            split_names,
            limit=limit,
            jit=jit.requested(),
            reporter=reporter_for(quiet),
        )
        console.print(evaluation_table(run_dir.name, results))


def parse_splits(text: str) -> list[str]:
    from pixelrnn_cli.data import SPLIT_NAMES

    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if name not in SPLIT_NAMES:
            raise PixelrnnError(
                f"unknown split {name!r}; expected some of {', '.join(SPLIT_NAMES)}"
            )
    if not names:
        raise PixelrnnError("--split names no split")
    return names


def evaluation_table(title: str, results: dict[str, dict[str, float]]) -> Table:
    pixel = any("cross_entropy" in measured for measured in results.values())
    table = Table(title=title)
    table.add_column("split")
    table.add_column("images", justify="right")
    if pixel:
        for heading in ("nats/pixel", "nats/image", "bits/pixel", "pixel accuracy"):
            table.add_column(heading, justify="right")
    else:
        table.add_column("loss", justify="right")
        table.add_column("accuracy", justify="right")
    for split_name, measured in results.items():
        row = [split_name, f"{measured['images']:,}"]
        if pixel:
            row += [
                f"{measured['cross_entropy']:.4f}",
                f"{measured['nats_per_image']:.2f}",
                f"{measured['bits_per_pixel']:.4f}",
                f"{100 * measured['accuracy']:.2f}%",
            ]
        else:
            row += [f"{measured['loss']:.4f}", f"{100 * measured['accuracy']:.2f}%"]
        table.add_row(*row)
    return table


@app.command()
def sample(
    model: Annotated[
        str,
        typer.Argument(help="A pixel-model run: its name under CHECKPOINTS, or path."),
    ] = DEFAULT_PIXEL_MODEL,
    *,
    images: Annotated[
        int, typer.Option(help="Continue the first N test images.")
    ] = 100,
    hide: Annotated[
        int, typer.Option(help="Hide the last N pixels of each image (1..783).")
    ] = 300,
    steps: Annotated[
        str, typer.Option(help="Comma-separated continuation lengths n.")
    ] = "1,10,28,300",
    samples: Annotated[
        int, typer.Option(help="Continuations drawn per image and n.")
    ] = 10,
    seed: Annotated[
        int, typer.Option(help="Seed of the draws; the same seed, the same samples.")
    ] = 0,
    beam: Annotated[
        int, typer.Option(help="Also search with a beam of this width (0: no beam).")
    ] = 0,
    figures: Annotated[
        Path, typer.Option(help="Folder for the PNG figures.")
    ] = DEFAULT_FIGURES,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    jit: JitOption = Jit.auto,
    quiet: QuietOption = False,
) -> None:
    """Continue half-hidden test images with a pixel model, pixel by pixel.

    The last HIDE pixels of the first IMAGES test images are hidden; for each
    n of STEPS the model continues the visible part by drawing SAMPLES
    continuations, by its most probable continuation (pixel = 1 where
    p > 0.5) and, with --beam, by a beam search. Prints the cross-entropy per
    generated pixel of each, of the ground truth, and the share of drawn
    pixels equal to the ground truth; stores them in the run's run.h5 and
    draws three images in FIGURES.
    """
    from pixelrnn_cli.runs import check_pixel_run, resolve_run
    from pixelrnn_cli.sampling import SampleSettings, parse_steps

    settings = SampleSettings(
        images=images,
        hide=hide,
        steps=parse_steps(steps),
        samples=samples,
        seed=seed,
        beam=beam,
    )
    run_dir = resolve_run(model, checkpoints)
    check_pixel_run(run_dir, "sampling")
    load_tensorflow()
    from pixelrnn_cli.sampling import sample_run

    result = sample_run(
        run_dir, settings, figures, jit=jit.requested(), reporter=reporter_for(quiet)
    )
    console.print(sampling_table(result))
    for path in result.figures:
        console.print(f"figure: {path}", soft_wrap=True, highlight=False)
    if result.run_file is not None:
        console.print(f"stored in {result.run_file} (group sampling)", soft_wrap=True)


def sampling_table(result: Any) -> Table:
    settings = result.settings
    table = Table(
        title=f"{result.run_name}: {settings.images} test images, last "
        f"{settings.hide} pixels hidden, {settings.samples} samples, seed "
        f"{settings.seed}",
        caption="nats per generated pixel under the model; agreement: drawn "
        "pixels equal to the original",
    )
    headings = ["n", "samples", "ground truth", "most probable"]
    keys = ["sample", "ground_truth", "greedy"]
    if settings.beam:
        headings.append(f"beam {settings.beam}")
        keys.append("beam")
    for heading in [*headings, "agreement"]:
        table.add_column(heading, justify="right")
    for n, measured in result.measures.items():
        row = [str(n)]
        row += [f"{measured[f'{key}_cross_entropy']:.4f}" for key in keys]
        row.append(f"{100 * measured['agreement']:.1f}%")
        table.add_row(*row)
    return table


@app.command()
def inpaint(
    model: Annotated[
        str,
        typer.Argument(help="A pixel-model run: its name under CHECKPOINTS, or path."),
    ] = DEFAULT_PIXEL_MODEL,
    *,
    mask: Annotated[
        str | None,
        typer.Option(help="Missing block HxW, at most 16 pixels (default 2x2)."),
    ] = None,
    images: Annotated[
        int | None,
        typer.Option(help="Images to in-paint (default 1000, or all of --dataset)."),
    ] = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            help="In-paint this .npy of shape (2, N, 784) instead: masked images "
            "(-1 where missing), then ground truth."
        ),
    ] = None,
    dataset_out: Annotated[
        Path | None,
        typer.Option(help="Where to write the generated data set (.npy)."),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the choice of images and block positions.")
    ] = 0,
    figures: Annotated[
        Path, typer.Option(help="Folder for the PNG figures (default docs/figures).")
    ] = DEFAULT_FIGURES,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    jit: JitOption = Jit.auto,
    quiet: QuietOption = False,
) -> None:
    """Fill missing pixels of test digits with their most probable values.

    Hides one HxW block per image, on or next to the strokes (seeded), or reads
    --dataset; scores every configuration of the missing pixels by the
    likelihood of the whole image under the model and keeps the most probable.
    Prints the cross-entropy per pixel of the true and the in-painted images,
    the share of missing pixels in-painted correctly and the mean posterior of
    the truth; stores them in run.h5 (group inpainting/HxW) and draws
    successful and failed in-paintings in FIGURES. A generated data set is
    saved as RUN/inpaint-HxW.npy unless --dataset-out names another file.
    """
    from pixelrnn_cli.inpainting import make_request
    from pixelrnn_cli.runs import check_pixel_run, resolve_run

    request = make_request(mask, images, dataset, dataset_out, seed, figures)
    run_dir = resolve_run(model, checkpoints)
    check_pixel_run(run_dir, "in-painting")
    load_tensorflow()
    from pixelrnn_cli.inpainting import inpaint_run

    outcome = inpaint_run(
        run_dir, request, jit=jit.requested(), reporter=reporter_for(quiet)
    )
    console.print(inpainting_table(outcome))
    console.print(f"data set: {outcome.dataset}", soft_wrap=True, highlight=False)
    for path in outcome.figures:
        console.print(f"figure: {path}", soft_wrap=True, highlight=False)
    if outcome.stored:
        console.print(
            f"stored in {run_dir / 'run.h5'} (group inpainting/{outcome.label})",
            soft_wrap=True,
        )


def inpainting_table(outcome: Any) -> Table:
    measured = outcome.measures
    table = Table(
        title=f"{outcome.run_name}: in-painting {outcome.label}, "
        f"{measured['images']:,} images",
        caption="nats per pixel of the whole image under the model; correct: "
        "missing pixels in-painted right; p(truth): mean posterior of the truth",
    )
    headings = ("", "missing", "ground truth", "in-painted", "correct", "p(truth)")
    for heading in headings:
        table.add_column(heading, justify="right")
    table.add_row(
        "this run",
        f"{measured['missing_per_image']:g}",
        f"{measured['ground_truth_cross_entropy']:.4f}",
        f"{measured['inpainted_cross_entropy']:.4f}",
        f"{100 * measured['correct_share']:.1f}%",
        f"{measured['posterior_ground_truth']:.3f}",
    )
    if outcome.reference is not None:
        reference = outcome.reference
        table.add_row(
            "study",
            "",
            f"{reference.ground_truth:.4f}",
            f"{reference.inpainted:.4f}",
            "",
            "",
        )
    return table


@app.command()
def report(
    *,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    output: Annotated[
        Path,
        typer.Option(help="Markdown file to write; figures go to figures/ beside it."),
    ] = Path("docs/results.md"),
    figures: Annotated[
        bool,
        typer.Option(
            "--figures/--no-figures",
            help="Draw the learning curves (--no-figures is quicker).",
        ),
    ] = True,
    quiet: QuietOption = False,
) -> None:
    """Write the study's result tables from every run in CHECKPOINTS.

    Reads each run.h5 (at any depth) and writes Markdown with the study's
    numbers beside ours: classifiers, pixel models, continuations and
    in-painting, then one section per run. A configuration without a run is
    marked missing; unreadable run files are skipped and listed.
    """
    from pixelrnn_cli.report import write_report
    from pixelrnn_cli.study import REFERENCE_CONFIGS

    result = write_report(
        checkpoints, output, figures=figures, reporter=reporter_for(quiet)
    )
    console.print(
        f"wrote {result.output} and {len(result.figures)} figure(s) in "
        f"{result.output.parent / 'figures'}",
        soft_wrap=True,
    )
    console.print(
        f"{len(result.runs)} run(s) found; {len(result.missing)} of "
        f"{len(REFERENCE_CONFIGS)} study configurations missing; "
        f"{len(result.skipped)} file(s) skipped",
        highlight=False,
    )
    for skipped in result.skipped:
        console.print(
            f"[yellow]skipped[/] {checkpoints / skipped.path}: {skipped.reason}",
            soft_wrap=True,
        )


def main() -> None:
    app(prog_name="pixelrnn")
