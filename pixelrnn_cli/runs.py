"""Finding runs on disk and loading their models."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

from pixelrnn_cli.errors import PixelrnnError
from pixelrnn_cli.results import MODEL_FILE, RUN_FILE, STATE_FILE, RunRecord, read_run

log = logging.getLogger(__name__)

DEFAULT_CHECKPOINTS = Path("checkpoints")
TASK_WORDS = {"classify": "a classifier", "pixel": "a pixel model"}


def resolve_run(name_or_path: str | Path, checkpoints: Path) -> Path:
    """The folder of a run given as a name under `checkpoints` or as a path.

    A path may be the run's folder, its `model.keras` or its `run.h5`.
    """
    path = Path(name_or_path)
    if path.is_file() and path.name in (MODEL_FILE, RUN_FILE):
        return path.parent
    if path.is_file():
        raise PixelrnnError(
            f"{path} is a file but neither {MODEL_FILE} nor {RUN_FILE}; give a run "
            "name, a run folder or one of those two files"
        )
    named = checkpoints / str(name_or_path)
    for folder in (named, path):
        if (folder / MODEL_FILE).exists() or (folder / RUN_FILE).exists():
            return folder
    if path.is_dir():
        raise PixelrnnError(f"{path} holds neither {MODEL_FILE} nor {RUN_FILE}")
    if named.is_dir():
        return named  # a run being started: loading it will say what it lacks
    raise PixelrnnError(f"no run named {name_or_path!r} in {checkpoints}/")


def check_run_folder(run_dir: Path, resume: bool) -> None:
    exists = any((run_dir / name).exists() for name in (STATE_FILE, RUN_FILE))
    if resume and not (run_dir / STATE_FILE).exists():
        raise PixelrnnError(
            f"nothing to resume: {run_dir} holds no {STATE_FILE}"
            + (" (a run without a resume state)" if exists else "")
        )
    if not resume and (exists or (run_dir / MODEL_FILE).exists()):
        raise PixelrnnError(
            f"run {run_dir.name} already exists in {run_dir.parent}/; add --resume "
            "to continue it, or give another --name"
        )


def check_pixel_run(run_dir: Path, purpose: str) -> None:
    """Refuse a classifier run from its run.h5, before any model is loaded."""
    record = read_run_of(run_dir)
    if record is not None and record.config.task != "pixel":
        raise PixelrnnError(
            f"run {run_dir.name} is a classifier; {purpose} needs a pixel model "
            "(train one with --task pixel)"
        )


def read_run_of(run_dir: Path) -> RunRecord | None:
    """The run's results file, or None for a bare model folder without one."""
    run_file = run_dir / RUN_FILE
    return read_run(run_file) if run_file.exists() else None


def load_model(run_dir: Path, task: str | None = None):
    """Load a run's best model, checking that it is of the `task` needed."""
    import keras

    from pixelrnn_cli import models  # noqa: F401  (registers the custom layers)

    model_file = run_dir / MODEL_FILE
    if not model_file.is_file():
        raise PixelrnnError(
            f"run {run_dir.name} has no {MODEL_FILE} yet: it is saved at the first "
            "validation of training"
        )
    if not zipfile.is_zipfile(model_file):
        raise PixelrnnError(f"{model_file} is not a Keras model file (truncated?)")
    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as error:  # Keras raises many kinds for damaged archives.
        raise PixelrnnError(
            f"{model_file} could not be loaded as a Keras model "
            f"({type(error).__name__}: {str(error).splitlines()[0][:120]})"
        ) from None
    try:
        found = models.model_task(model)
    except ValueError:
        raise PixelrnnError(
            f"{model_file} is a Keras model but not a pixelrnn one"
        ) from None
    if task is not None and found != task:
        raise PixelrnnError(
            f"{model_file} is {TASK_WORDS[found]}; this command needs "
            f"{TASK_WORDS[task]}"
            + (" (train one with --task pixel)" if task == "pixel" else "")
        )
    return model
