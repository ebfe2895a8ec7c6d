"""The results report: every run in a checkpoints folder, beside the study.

`write_report` reads each `run.h5` under the folder and writes one Markdown
file with the study's tables (classifiers, pixel models, continuations,
in-painting), the same numbers the study reported beside ours, a section per
run, and learning-curve figures in `figures/` beside the Markdown.

Rules the tables follow:

- A run belongs to a reference configuration by its (task, cell, layers,
  units). A configuration without a run is shown as missing; nothing is ever
  filled in for it.
- Where several runs share a configuration, a table shows the one that holds
  the table's numbers and has the lowest best validation loss (then the first
  by folder name); the section per run lists all of them.
- Runs outside the study's configurations get "other runs" tables.
- The Markdown depends only on the runs: everything is sorted, numbers have
  fixed formats and the only dates are those stored in the runs, so the same
  runs give the same bytes.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.progress import Reporter
from pixelrnn_cli.results import RUN_FILE, RunRecord, atomic_write, read_run
from pixelrnn_cli.study import (
    CLASSIFIER_RESULTS,
    CONTINUATION_RESULTS,
    CONTINUATION_STEPS,
    INPAINTING_RESULTS,
    PIXEL_RESULTS,
    REFERENCE_CONFIGS,
    SHAPES,
    Config,
    ContinuationResult,
)

log = logging.getLogger(__name__)

DEFAULT_OUTPUT = Path("docs/results.md")
FIGURES_FOLDER = "figures"
DASH = "—"
SPLITS = ("train", "validation", "test")
TASK_WORDS = {"classify": "classifier", "pixel": "pixel model"}
_STEP_GROUP = re.compile(r"^sampling/n_(\d+)$")
_MASK_GROUP = re.compile(r"^inpainting/([^/]+)$")


@dataclass(frozen=True, eq=False)
class Run:
    """One run file found under the checkpoints folder."""

    label: str  # the run's folder, relative to the checkpoints folder
    record: RunRecord

    @property
    def key(self) -> Config:
        config = self.record.config
        return (config.task, config.cell, config.layers, config.units)

    @property
    def is_reference(self) -> bool:
        return self.key in REFERENCE_CONFIGS

    @property
    def stem(self) -> str:
        """The label as a file-name part."""
        return self.label.replace("/", "--")

    def group(self, name: str) -> dict[str, Any] | None:
        return self.record.groups.get(name)

    def steps(self) -> list[int]:
        """The continuation lengths n with a `sampling/n_<n>` group."""
        found = (_STEP_GROUP.match(name) for name in self.record.groups)
        return sorted(int(match.group(1)) for match in found if match)

    def masks(self) -> list[str]:
        """The masks with an `inpainting/<mask>` group."""
        found = (_MASK_GROUP.match(name) for name in self.record.groups)
        return sorted(match.group(1) for match in found if match)

    def best_val_loss(self) -> float:
        value = number(self.record.training, "best_val_loss")
        return value if value is not None and math.isfinite(value) else math.inf


@dataclass(frozen=True)
class Skipped:
    """A `run.h5` that could not be read, and why."""

    path: Path
    reason: str


@dataclass
class ReportResult:
    """What `write_report` wrote and what it found."""

    output: Path
    markdown: str
    runs: list[Run]
    skipped: list[Skipped]
    missing: list[Config]  # reference configurations without any run
    figures: list[Path] = field(default_factory=list)


def write_report(
    checkpoints: Path,
    output: Path = DEFAULT_OUTPUT,
    *,
    figures: bool = True,
    reporter: Reporter | None = None,
) -> ReportResult:
    """Write the Markdown report of the runs under `checkpoints` to `output`.

    Args:
        checkpoints: folder searched (at any depth) for `run.h5` files.
        output: the Markdown file; figures go to `figures/` beside it.
        figures: draw the learning curves; figures written by `sample` and
            `inpaint` are linked either way.
    """
    if not checkpoints.is_dir():
        raise PixelrnnError(
            f"checkpoints folder {checkpoints} not found; give the folder that "
            "holds the runs with --checkpoints"
        )
    if output.is_dir():
        raise PixelrnnError(
            f"--output {output} is a folder; give a Markdown file like "
            f"{output / 'results.md'}"
        )
    runs, skipped = find_runs(checkpoints)
    figure_folder = output.parent / FIGURES_FOLDER
    curves = draw_curves(runs, figure_folder, reporter) if figures else {}
    placer = FigurePlacer(output.parent, figure_folder)
    source = Path(os.path.relpath(checkpoints, output.parent)).as_posix()
    markdown = render(runs, skipped, source, curves, placer)
    atomic_write(output, lambda path: path.write_text(markdown, encoding="utf-8"))
    keys = {run.key for run in runs}
    missing = [config for config in REFERENCE_CONFIGS if config not in keys]
    drawn = sorted({*curves.values(), *placer.placed})
    log.info("wrote %s with %d runs", output, len(runs))
    return ReportResult(output, markdown, runs, skipped, missing, drawn)


def find_runs(checkpoints: Path) -> tuple[list[Run], list[Skipped]]:
    """Every readable run file under `checkpoints`, and those that were not."""
    runs, skipped = [], []
    for path in sorted(checkpoints.rglob(RUN_FILE)):
        label = path.parent.relative_to(checkpoints).as_posix()
        try:
            record = read_run(path)
        except (PixelrnnError, OSError) as error:
            # Logged quietly: the caller lists the skipped files itself.
            log.info("skipped %s: %s", path, error)
            skipped.append(Skipped(path.relative_to(checkpoints), str(error)))
            continue
        runs.append(Run(record.name if label == "." else label, record))
    return sorted(runs, key=lambda run: run.label), skipped


# Which run a table shows.


def choose(
    runs: Sequence[Run], key: Config, holds: Callable[[Run], bool]
) -> Run | None:
    """The run of configuration `key` a table shows, or None when there is none.

    Runs that hold the table's numbers come first, then the lowest best
    validation loss, then the folder name.
    """
    candidates = [run for run in runs if run.key == key]
    if not candidates:
        return None
    return min(
        candidates, key=lambda run: (not holds(run), run.best_val_loss(), run.label)
    )


def evaluated(run: Run) -> bool:
    return any(run.group(f"evaluation/{split}") for split in SPLITS)


def sampled(run: Run) -> bool:
    return bool(run.steps())


def holding(group: str) -> Callable[[Run], bool]:
    """A test for runs that hold the group `group`."""
    return lambda run: run.group(group) is not None


def overlays(runs: Sequence[Run]) -> dict[tuple[str, str], list[Run]]:
    """The runs drawn together per (task, cell): the tables' runs and others."""
    shown = [choose(runs, key, evaluated) for key in REFERENCE_CONFIGS]
    members: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        if run in shown or not run.is_reference:
            members.setdefault(run.key[:2], []).append(run)
    return dict(sorted(members.items()))


# Figures.


def curve_path(folder: Path, run: Run) -> Path:
    return folder / f"run-{run.stem}.png"


def overlay_path(folder: Path, task: str, cell: str) -> Path:
    return folder / f"overlay-{task}-{cell}.png"


def draw_curves(
    runs: Sequence[Run], folder: Path, reporter: Reporter | None
) -> dict[str, Path]:
    """Draw one figure per run and one per (task, cell); keys name what each is."""
    from pixelrnn_cli.figures import draw_overlay, draw_run_curves

    reporter = reporter or Reporter()
    with_history = [run for run in runs if len(run.record.history)]
    groups = {
        key: [run for run in members if run in with_history]
        for key, members in overlays(runs).items()
    }
    groups = {key: members for key, members in groups.items() if members}
    drawn: dict[str, Path] = {}
    reporter.start("drawing figures", len(with_history) + len(groups))
    for run in with_history:
        path = curve_path(folder, run)
        draw_run_curves(
            run.record.history, run.key[0], f"{run.label} ({model_name(run.key)})", path
        )
        drawn[f"run:{run.label}"] = path
        reporter.advance()
    for (task, cell), members in groups.items():
        path = overlay_path(folder, task, cell)
        curves = [(run.label, run.record.history) for run in members]
        title = f"{TASK_WORDS[task]}s, {cell.upper()}: loss per epoch"
        draw_overlay(curves, task, title, path)
        drawn[f"overlay:{task}-{cell}"] = path
        reporter.advance()
    reporter.finish()
    return drawn


class FigurePlacer:
    """Links figures from the Markdown, copying outside ones into its folder."""

    def __init__(self, report_folder: Path, figure_folder: Path) -> None:
        self.report_folder = report_folder
        self.figure_folder = figure_folder
        self.placed: list[Path] = []

    def link(self, path: Path, text: str) -> str:
        target = Path(os.path.relpath(path, self.report_folder)).as_posix()
        return f"![{text}]({target})"

    def place(self, written: str, run: Run, group: str) -> str:
        """A Markdown image for a figure path stored in `group` of `run`."""
        source = self.locate(written, run)
        if source is None:
            log.warning("figure %s of %s not found", written, run.label)
            return f"`{written}` (file not found)"
        inside = self.figure_folder.resolve() in source.resolve().parents
        target = source
        if not inside:
            name = f"{run.stem}-{group.replace('/', '-')}-{source.name}"
            target = self.figure_folder / name
            if not target.exists() or target.read_bytes() != source.read_bytes():
                self.figure_folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        self.placed.append(target)
        return self.link(target, f"{run.label} {group}: {source.stem}")

    @staticmethod
    def locate(written: str, run: Run) -> Path | None:
        """The figure file: as written (absolute or from here), else by the run."""
        path = Path(written)
        run_folder = run.record.path.parent
        for candidate in (path, run_folder / path, run_folder / path.name):
            if candidate.is_file():
                return candidate
        return None


# Formatting.


def number(values: dict[str, Any] | None, key: str) -> float | None:
    """A stored attribute as a float, or None where it is absent."""
    if values is None:
        return None
    value = values.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def fixed(value: float | None, digits: int = 4) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def percent(fraction: float | None) -> str:
    """A stored fraction (0..1) as a percent with two decimals."""
    return DASH if fraction is None else f"{100 * fraction:.2f}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min {rest:02d} s"
    return f"{minutes} min {rest:02d} s"


def model_name(key: Config) -> str:
    _, cell, layers, units = key
    return f"{cell.upper()} {layers}x{units}"


def escape(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int) -> str:
    """A Markdown table; the first `left` columns are text, the others numbers."""
    align = ["---" if index < left else "---:" for index in range(len(headers))]
    lines = [headers, align, *rows]
    return "\n".join("| " + " | ".join(map(escape, line)) + " |" for line in lines)


def run_cell(run: Run) -> str:
    """The run's folder, with what sets it apart from a full run of the study."""
    config = run.record.config
    notes = []
    if config.limit is not None:
        notes.append(f"first {config.limit} images")
    if config.data is not None:
        notes.append(f"data {Path(config.data).name}")
    status = run.record.training.get("status")
    if status != "finished":
        notes.append(str(status))
    return f"`{run.label}`" + (f" ({', '.join(notes)})" if notes else "")


def missing_cell(runs: Sequence[Run], key: Config, lacking: str) -> str:
    """ "missing" without a run of `key`, else which runs lack the numbers."""
    labels = [f"`{run.label}`" for run in runs if run.key == key]
    return f"{lacking}: {', '.join(labels)}" if labels else "missing"


# The document.


def render(
    runs: Sequence[Run],
    skipped: Sequence[Skipped],
    source: str,
    curves: dict[str, Path],
    placer: FigurePlacer,
) -> str:
    """The whole Markdown report as one string."""
    parts = [
        introduction(runs, skipped, source),
        classifier_section(runs, curves, placer),
        pixel_section(runs, curves, placer),
        continuation_section(runs, placer),
        inpainting_section(runs, placer),
        runs_section(runs, curves, placer),
    ]
    return "\n\n".join(part for part in parts if part).rstrip() + "\n"


def introduction(runs: Sequence[Run], skipped: Sequence[Skipped], source: str) -> str:
    keys = {run.key for run in runs}
    present = sum(config in keys for config in REFERENCE_CONFIGS)
    lines = [
        "# Results",
        "",
        f"Written by `pixelrnn report` from the {len(runs)} run(s) in `{source}`, "
        f"which cover {present} of the study's {len(REFERENCE_CONFIGS)} model "
        "configurations. Each table puts our numbers beside the numbers the "
        "study reported. A configuration without a run is marked missing. Where "
        "several runs share a configuration, a table shows the one that holds "
        "its numbers with the lowest best validation loss; [Runs](#runs) lists "
        "them all.",
        "",
        "Losses and cross-entropies are in nats (per pixel for pixel models), "
        "accuracies in percent. Our train, validation and test numbers are those "
        "of `pixelrnn evaluate` on the kept model (dropout off); the learning "
        "curves show the training loss averaged over each epoch with dropout on.",
    ]
    if skipped:
        lines += ["", "Skipped files (not readable as pixelrnn runs):", ""]
        lines += [f"- `{item.path.as_posix()}`: {item.reason}" for item in skipped]
    return "\n".join(lines)


def overlay_links(
    task: str, runs: Sequence[Run], curves: dict[str, Path], placer: FigurePlacer
) -> str:
    cells = sorted({run.key[1] for run in runs if run.key[0] == task})
    links = []
    for cell in cells:
        path = curves.get(f"overlay:{task}-{cell}")
        if path is not None:
            text = f"{cell.upper()} {TASK_WORDS[task]}s: loss per epoch"
            links.append(placer.link(path, text))
    if not links:
        return ""
    lead = "Learning curves (dotted: training, solid: validation):"
    return "\n\n".join([lead, *links])


def classifier_section(
    runs: Sequence[Run], curves: dict[str, Path], placer: FigurePlacer
) -> str:
    headers = [
        "model",
        "run",
        "train loss",
        "study",
        "test loss",
        "study",
        "train accuracy (%)",
        "study",
        "test accuracy (%)",
        "study",
    ]
    parts = ["## Classifiers"]
    for cell in ("lstm", "gru"):
        rows = []
        for layers, units in SHAPES:
            key = ("classify", cell, layers, units)
            study = CLASSIFIER_RESULTS[key]
            run = choose(runs, key, evaluated)
            ours = classifier_numbers(run)
            rows.append(
                [
                    f"{layers}x{units}",
                    run_cell(run)
                    if run and evaluated(run)
                    else missing_cell(runs, key, "not evaluated"),
                    ours[0],
                    fixed(study.train_loss),
                    ours[1],
                    fixed(study.test_loss),
                    ours[2],
                    f"{study.train_accuracy:.2f}",
                    ours[3],
                    f"{study.test_accuracy:.2f}",
                ]
            )
        parts += [f"### {cell.upper()}", table(headers, rows, left=2)]
    others = [run for run in runs if run.key[0] == "classify" and not run.is_reference]
    if others:
        rows = [
            [model_name(run.key), run_cell(run), *classifier_numbers(run)]
            for run in others
        ]
        parts += [
            "### Other classifiers",
            table(["model", "run", *headers[2::2]], rows, left=2),
        ]
    parts.append(overlay_links("classify", runs, curves, placer))
    return "\n\n".join(part for part in parts if part)


def classifier_numbers(run: Run | None) -> list[str]:
    """Train loss, test loss, train accuracy and test accuracy as text."""
    train = run.group("evaluation/train") if run else None
    test = run.group("evaluation/test") if run else None
    return [
        fixed(number(train, "loss")),
        fixed(number(test, "loss")),
        percent(number(train, "accuracy")),
        percent(number(test, "accuracy")),
    ]


def pixel_section(
    runs: Sequence[Run], curves: dict[str, Path], placer: FigurePlacer
) -> str:
    headers = [
        "model",
        "run",
        "train",
        "study",
        "validation",
        "study",
        "test",
        "study",
        "test nats/image",
    ]
    rows = []
    for layers, units in SHAPES:
        key = ("pixel", "gru", layers, units)
        study = PIXEL_RESULTS[key]
        run = choose(runs, key, evaluated)
        ours = pixel_numbers(run)
        rows.append(
            [
                model_name(key),
                run_cell(run)
                if run and evaluated(run)
                else missing_cell(runs, key, "not evaluated"),
                ours[0],
                fixed(study.train),
                ours[1],
                fixed(study.validation),
                ours[2],
                fixed(study.test),
                ours[3],
            ]
        )
    parts = [
        "## Pixel models",
        "Cross-entropy per pixel (nats) of the next-pixel models; the study gives "
        "per-pixel numbers only.",
        table(headers, rows, left=2),
    ]
    others = [run for run in runs if run.key[0] == "pixel" and not run.is_reference]
    if others:
        rows = [
            [model_name(run.key), run_cell(run), *pixel_numbers(run)] for run in others
        ]
        other_headers = ["model", "run", "train", "validation", "test", headers[-1]]
        parts += ["### Other pixel models", table(other_headers, rows, left=2)]
    parts.append(overlay_links("pixel", runs, curves, placer))
    return "\n\n".join(part for part in parts if part)


def pixel_numbers(run: Run | None) -> list[str]:
    """Train, validation and test cross-entropy per pixel, and test nats/image."""
    groups = [run.group(f"evaluation/{split}") if run else None for split in SPLITS]
    return [fixed(number(group, "cross_entropy")) for group in groups] + [
        fixed(number(groups[2], "nats_per_image"), 2)
    ]


def continuation_section(runs: Sequence[Run], placer: FigurePlacer) -> str:
    parts = [
        "## Continuations",
        "Test images with their last pixels hidden, continued n pixels by the "
        "model. Cross-entropy per continued pixel (nats), averaged over images: "
        "of the drawn samples, of the ground truth and of the most probable "
        "continuation (p > 0.5 at each step); agreement is the share of drawn "
        "pixels equal to the ground truth.",
    ]
    for layers, units in SHAPES:
        key = ("pixel", "gru", layers, units)
        run = choose(runs, key, sampled)
        parts.append(f"### {model_name(key)}")
        if run is None or not sampled(run):
            parts.append("Run: " + missing_cell(runs, key, "not sampled"))
            parts.append(continuation_table(None, CONTINUATION_RESULTS[key]))
        else:
            parts += sampling_block(run, CONTINUATION_RESULTS[key], placer)
    others = [
        run for run in runs if sampled(run) and run.key not in CONTINUATION_RESULTS
    ]
    if others:
        parts.append("### Other runs")
        for run in others:
            parts.append(f"#### {model_name(run.key)}")
            parts += sampling_block(run, None, placer)
    return "\n\n".join(parts)


def sampling_block(
    run: Run, study: ContinuationResult | None, placer: FigurePlacer
) -> list[str]:
    settings = run.group("sampling") or {}
    described = [f"Run: {run_cell(run)}"]
    for key, text in (
        ("images", "{} test images"),
        ("hide", "last {} pixels hidden"),
        ("samples", "{} samples per image"),
        ("seed", "seed {}"),
    ):
        if settings.get(key) is not None:
            described.append(text.format(settings[key]))
    if number(settings, "beam"):
        described.append(f"beam width {int(settings['beam'])}")
    block = [", ".join(described) + ".", continuation_table(run, study)]
    links = figure_links(run, "sampling", placer)
    if links:
        block.append(links)
    return block


def continuation_table(run: Run | None, study: ContinuationResult | None) -> str:
    steps = sorted(
        set(CONTINUATION_STEPS if study else ()) | set(run.steps() if run else ())
    )
    beam = run is not None and bool(number(run.group("sampling"), "beam"))
    headers = ["n", "samples"]
    headers += ["study"] if study else []
    headers += ["ground truth"] + (["study"] if study else [])
    headers += ["most probable"] + (["beam"] if beam else []) + ["agreement (%)"]
    rows = []
    for n in steps:
        group = run.group(f"sampling/n_{n}") if run else None
        row = [str(n), fixed(number(group, "sample_cross_entropy"))]
        if study:
            row.append(fixed(study.samples.get(n)))
        row.append(fixed(number(group, "ground_truth_cross_entropy")))
        if study:
            row.append(fixed(study.ground_truth.get(n)))
        row.append(fixed(number(group, "greedy_cross_entropy")))
        if beam:
            row.append(fixed(number(group, "beam_cross_entropy")))
        row.append(percent(number(group, "agreement")))
        rows.append(row)
    return table(headers, rows, left=1)


def figure_links(run: Run, group: str, placer: FigurePlacer) -> str:
    stored = (run.group(group) or {}).get("figures")
    if not stored:
        return ""
    try:
        written = json.loads(stored) if isinstance(stored, str) else list(stored)
    except ValueError:
        written = [str(stored)]
    return "\n\n".join(placer.place(str(path), run, group) for path in written)


def inpainting_section(runs: Sequence[Run], placer: FigurePlacer) -> str:
    headers = [
        "model",
        "mask",
        "run",
        "images",
        "ground truth",
        "study",
        "in-painted",
        "study",
        "correct (%)",
        "posterior of truth",
    ]
    rows, shown = [], []
    for layers, units in SHAPES:
        key = ("pixel", "gru", layers, units)
        study = INPAINTING_RESULTS.get(key, {})
        found = {mask for run in runs if run.key == key for mask in run.masks()}
        for mask in sorted(set(study) | found):
            group = f"inpainting/{mask}"
            run = choose(runs, key, holding(group))
            ours = inpainting_numbers(run, group)
            if run is not None and run.group(group) is not None:
                shown.append((run, group, f"{model_name(key)}, mask {mask}"))
                who = run_cell(run)
            else:
                who = missing_cell(runs, key, f"no {mask} in-painting")
            reference = study.get(mask)
            rows.append(
                [
                    model_name(key),
                    mask,
                    who,
                    ours[0],
                    ours[1],
                    fixed(reference.ground_truth if reference else None),
                    ours[2],
                    fixed(reference.inpainted if reference else None),
                    ours[3],
                    ours[4],
                ]
            )
    parts = [
        "## In-painting",
        "Missing pixels filled with the most probable configuration under the "
        "whole-image likelihood. Cross-entropy per pixel (nats) of the whole "
        "image, averaged over images, with the ground truth and with the "
        "in-painting; correct is the share of missing pixels in-painted right.",
        table(headers, rows, left=3),
    ]
    other_rows = []
    for run in runs:
        if run.key in PIXEL_RESULTS:
            continue
        for mask in run.masks():
            group = f"inpainting/{mask}"
            other_rows.append(
                [
                    model_name(run.key),
                    mask,
                    run_cell(run),
                    *inpainting_numbers(run, group),
                ]
            )
            shown.append((run, group, f"{model_name(run.key)}, mask {mask}"))
    if other_rows:
        other_headers = [header for header in headers if header != "study"]
        parts += ["### Other runs", table(other_headers, other_rows, left=3)]
    for run, group, title in shown:
        links = figure_links(run, group, placer)
        if links:
            parts += [f"Figures of {title} (`{run.label}`):", links]
    return "\n\n".join(parts)


def inpainting_numbers(run: Run | None, group_name: str) -> list[str]:
    """Images, ground-truth and in-painted cross-entropy, correct share, posterior."""
    group = run.group(group_name) if run else None
    images = number(group, "images")
    return [
        DASH if images is None else f"{int(images):,}",
        fixed(number(group, "ground_truth_cross_entropy")),
        fixed(number(group, "inpainted_cross_entropy")),
        percent(number(group, "correct_share")),
        fixed(number(group, "posterior_ground_truth")),
    ]


def runs_section(
    runs: Sequence[Run], curves: dict[str, Path], placer: FigurePlacer
) -> str:
    parts = ["## Runs"]
    if not runs:
        parts.append("No run files found.")
    for run in runs:
        parts.append(f"### `{run.label}`")
        parts.append(table(["", ""], run_facts(run, runs), left=2))
        path = curves.get(f"run:{run.label}")
        if path is not None:
            parts.append(placer.link(path, f"learning curves of {run.label}"))
    return "\n\n".join(parts)


def run_facts(run: Run, runs: Sequence[Run]) -> list[list[str]]:
    """The rows of a run's own table: what it is, how it was trained, on what."""
    record, config = run.record, run.record.config
    training, attrs = record.training, record.attrs
    best = run.best_val_loss()
    best_text = (
        f"best validation loss {best:.4f} at epoch {training.get('best_epoch')}"
        if math.isfinite(best)
        else "not validated yet"
    )
    facts = [
        ["model", f"{TASK_WORDS[config.task]}, {model_name(run.key)}"],
        ["in the tables", table_role(run, runs)],
        ["status", f"{training.get('status')}: {training.get('stop_reason') or DASH}"],
        [
            "epochs trained",
            f"{training.get('epochs_trained')} of {config.epochs}; {best_text}",
        ],
        ["wall time", duration(number(training, "wall_seconds"))],
        ["started", str(training.get("started", DASH))],
        [
            "machine",
            f"{attrs.get('machine', DASH)} ({attrs.get('platform', DASH)}, "
            f"{attrs.get('processor', DASH)}, {attrs.get('cpu_count', DASH)} CPUs); "
            f"device {training.get('device', DASH)}",
        ],
        ["data", data_text(run)],
        ["recipe", recipe_text(run)],
        ["evaluation", evaluation_text(run)],
        ["pixelrnn", str(attrs.get("pixelrnn_version", DASH))],
    ]
    return facts


def table_role(run: Run, runs: Sequence[Run]) -> str:
    if not run.is_reference:
        return "other runs (not one of the study's configurations)"
    roles = []
    if choose(runs, run.key, evaluated) is run and evaluated(run):
        roles.append(f"{TASK_WORDS[run.key[0]]}s")
    if choose(runs, run.key, sampled) is run and sampled(run):
        roles.append("continuations")
    for mask in run.masks():
        if choose(runs, run.key, holding(f"inpainting/{mask}")) is run:
            roles.append(f"in-painting {mask}")
    if roles:
        return f"{model_name(run.key)}: " + ", ".join(roles)
    shown = choose(runs, run.key, evaluated)
    if shown is not run and shown is not None:
        return f"no: the tables show `{shown.label}`"
    return f"not yet: no numbers stored (run `pixelrnn evaluate {run.label}`)"


def data_text(run: Run) -> str:
    config, training = run.record.config, run.record.training
    counts = [training.get(f"{split}_images") for split in SPLITS]
    text = f"{training.get('data_source', config.data or 'bundled MNIST')}, "
    text += f"threshold {config.threshold:g}"
    if all(isinstance(count, int) for count in counts):
        text += ", {:,} / {:,} / {:,} images (train / validation / test)".format(
            *counts
        )
    return text


def recipe_text(run: Run) -> str:
    config = run.record.config
    return (
        f"lr {config.lr:g} times {config.decay_rate:g} every {config.decay_epochs} "
        f"epochs, keep probability {config.keep_prob:g}, batch {config.batch_size}, "
        f"validation every {config.eval_every} epochs, patience {config.patience}, "
        f"clipnorm {DASH if config.clipnorm is None else f'{config.clipnorm:g}'}, "
        f"seed {config.seed}"
    )


def evaluation_text(run: Run) -> str:
    parts = []
    for split in SPLITS:
        group = run.group(f"evaluation/{split}")
        if group is None:
            continue
        if run.key[0] == "pixel":
            parts.append(
                f"{split} {fixed(number(group, 'cross_entropy'))} nats/pixel "
                f"({fixed(number(group, 'nats_per_image'), 2)} nats/image)"
            )
        else:
            parts.append(
                f"{split} loss {fixed(number(group, 'loss'))}, accuracy "
                f"{percent(number(group, 'accuracy'))}%"
            )
    return "; ".join(parts) if parts else "not evaluated"
