"""The results store: one HDF5 file, `run.h5`, beside each run's checkpoint.

Layout of `run.h5`:

- root attributes: `format` ("pixelrnn-run"), `format_version`, `name`,
  `task`, `cell`, `layers`, `units`, `config` (the `RunConfig` as JSON),
  `created`, `pixelrnn_version`, and the machine it was trained on;
- `config/`: one attribute per `RunConfig` field (None stored as "none");
- `history/`: one dataset per column of the per-epoch history, see `HISTORY`;
- `training/`: attributes `status`, `stop_reason`, `epochs_trained`,
  `best_epoch`, `best_val_loss`, `wall_seconds`, `device`;
- `evaluation/<split>/`: the measures of `pixelrnn evaluate` as attributes;
- other commands (`sample`, `inpaint`) add their own groups.

Every write goes to a temporary file in the same folder that then replaces
the old file in one rename, so a crash leaves either the old file or the new
one, never half of either.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from pixelrnn_cli import __version__
from pixelrnn_cli.config import RunConfig
from pixelrnn_cli.errors import PixelrnnError

log = logging.getLogger(__name__)

RUN_FILE = "run.h5"
MODEL_FILE = "model.keras"
STATE_FILE = "resume.h5"
TRAIN_LOCK = ".train.lock"
WRITE_LOCK = ".write.lock"
FORMAT = "pixelrnn-run"
FORMAT_VERSION = 1
HISTORY = (
    "epoch",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "learning_rate",
    "seconds",
)


@dataclass
class History:
    """Per-epoch columns; validation columns hold NaN where not evaluated."""

    columns: dict[str, list[float]] = field(
        default_factory=lambda: {name: [] for name in HISTORY}
    )

    def append(self, **row: float) -> None:
        if set(row) != set(HISTORY):
            raise ValueError(f"a history row needs {HISTORY}, got {sorted(row)}")
        for name in HISTORY:
            self.columns[name].append(float(row[name]))

    def __len__(self) -> int:
        return len(self.columns["epoch"])

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.columns[name], dtype=np.float64)

    def truncate(self, length: int) -> None:
        for name in HISTORY:
            del self.columns[name][length:]

    def write(self, group: h5py.Group) -> None:
        for name in HISTORY:
            dtype = np.int64 if name == "epoch" else np.float64
            group.create_dataset(name, data=np.asarray(self.columns[name], dtype))

    @classmethod
    def read(cls, group: h5py.Group) -> History:
        history = cls()
        for name in HISTORY:
            history.columns[name] = [float(value) for value in group[name][()]]
        return history


def atomic_write(path: Path, write: Callable[[Path], None], suffix: str = "") -> None:
    """Call `write(temporary_path)`, then move the result onto `path`.

    The temporary file sits beside `path`, named `.<name>.<random>.tmp<suffix>`
    (some writers insist on a suffix), so the rename never crosses a disk.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent
    )
    os.close(handle)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        with open(temporary_path, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary_path, 0o666 & ~current_umask())  # mkstemp makes 0600
        os.replace(temporary_path, path)
    finally:
        temporary_path.unlink(missing_ok=True)


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def file_lock(path: Path, *, wait: bool, holder: str) -> Iterator[None]:
    """Hold an exclusive lock on `path`; the system drops it if the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(handle, flags)
        except BlockingIOError:
            raise PixelrnnError(
                f"{holder}: another pixelrnn process is training in "
                f"{path.parent}; wait for it to finish or stop it first"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def training_lock(run_dir: Path) -> contextlib.AbstractContextManager[None]:
    """Held for the whole of a training run: a second trainer is refused."""
    return file_lock(run_dir / TRAIN_LOCK, wait=False, holder=f"run {run_dir.name}")


def update_run(run_file: Path, edit: Callable[[h5py.File], None]) -> None:
    """Apply `edit` to a copy of `run_file` (or a new file), then swap it in."""

    def write(temporary: Path) -> None:
        if run_file.exists():
            shutil.copyfile(run_file, temporary)
            mode = "r+"
        else:
            mode = "w"
        with h5py.File(temporary, mode) as handle:
            edit(handle)

    with file_lock(run_file.parent / WRITE_LOCK, wait=True, holder=str(run_file)):
        atomic_write(run_file, write)


def replace_group(handle: h5py.File, name: str) -> h5py.Group:
    """An empty group `name`, dropping what stood there before."""
    if name in handle:
        del handle[name]
    return handle.require_group(name)


def set_attrs(group: h5py.Group | h5py.File, values: dict[str, Any]) -> None:
    """Store plain values as HDF5 attributes; None becomes the string "none"."""
    for key, value in values.items():
        if value is None:
            value = "none"
        elif isinstance(value, (dict, list, tuple)):
            value = json.dumps(value)
        group.attrs[key] = value


def plain_attrs(group: h5py.Group | h5py.File) -> dict[str, Any]:
    """The attributes of a group as Python values ("none" back to None)."""
    values: dict[str, Any] = {}
    for key, value in group.attrs.items():
        if isinstance(value, bytes):
            value = value.decode()
        if isinstance(value, np.generic):
            value = value.item()
        values[key] = None if value == "none" else value
    return values


def machine_description() -> dict[str, Any]:
    return {
        "machine": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "python_version": platform.python_version(),
        "pixelrnn_version": __version__,
    }


def write_training(
    run_file: Path,
    config: RunConfig,
    history: History,
    training: dict[str, Any],
    machine: dict[str, Any],
) -> None:
    """Write the configuration, history and training summary of a run."""

    def edit(handle: h5py.File) -> None:
        if "created" not in handle.attrs:
            handle.attrs["created"] = training.get("started", "")
        set_attrs(
            handle,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "name": config.name,
                "task": config.task,
                "cell": config.cell,
                "layers": config.layers,
                "units": config.units,
                "config": config.to_json(),
                **machine,
            },
        )
        set_attrs(replace_group(handle, "config"), json.loads(config.to_json()))
        history.write(replace_group(handle, "history"))
        set_attrs(replace_group(handle, "training"), training)

    update_run(run_file, edit)


def write_group(run_file: Path, name: str, attrs: dict[str, Any], **arrays) -> None:
    """Replace group `name` of an existing run file with attributes and arrays."""
    write_groups(run_file, {name: (attrs, arrays)})


def write_groups(
    run_file: Path, groups: dict[str, tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Replace several groups, each given as (attributes, arrays), in one write.

    Groups are written in the order given, so a parent goes before its
    children (replacing a group drops what was below it).
    """
    open_run(run_file).close()

    def edit(handle: h5py.File) -> None:
        for name, (attrs, arrays) in groups.items():
            group = replace_group(handle, name)
            set_attrs(group, attrs)
            for key, value in arrays.items():
                group.create_dataset(key, data=np.asarray(value))

    update_run(run_file, edit)


def store_evaluation(run_file: Path, results: dict[str, dict[str, float]]) -> None:
    """Record the measures of each split under `evaluation/<split>`, at once."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    write_groups(
        run_file,
        {
            f"evaluation/{split}": ({**measured, "evaluated_at": stamp}, {})
            for split, measured in results.items()
        },
    )


def open_run(run_file: Path) -> h5py.File:
    """Open a run file for reading, refusing anything that is not one."""
    if not run_file.is_file():
        raise PixelrnnError(f"run file not found: {run_file}")
    try:
        handle = h5py.File(run_file, "r")
    except OSError:
        raise PixelrnnError(
            f"run file {run_file} is not a readable HDF5 file (truncated or corrupt?)"
        ) from None
    if handle.attrs.get("format") != FORMAT:
        handle.close()
        raise PixelrnnError(f"{run_file} is an HDF5 file but not a pixelrnn run file")
    return handle


@dataclass
class RunRecord:
    """What a `run.h5` holds, read into plain Python values."""

    path: Path
    config: RunConfig
    attrs: dict[str, Any]
    history: History
    training: dict[str, Any]
    groups: dict[str, dict[str, Any]]

    @property
    def name(self) -> str:
        return self.config.name


def read_run(run_file: Path) -> RunRecord:
    """Read a whole run file; a damaged one gets a `PixelrnnError`."""
    with open_run(run_file) as handle:
        try:
            config = RunConfig.from_json(handle.attrs["config"])
            history = History.read(handle["history"])
            training = plain_attrs(handle["training"])
            groups = {}
            handle.visititems(
                lambda key, item: (
                    groups.__setitem__(key, read_group(item))
                    if isinstance(item, h5py.Group)
                    else None
                )
            )
        except (KeyError, ValueError, TypeError, OSError) as error:
            raise PixelrnnError(f"run file {run_file} is damaged ({error})") from None
        return RunRecord(
            run_file, config, plain_attrs(handle), history, training, groups
        )


def read_group(group: h5py.Group) -> dict[str, Any]:
    """A group's attributes and its datasets (as arrays) in one dict."""
    values = plain_attrs(group)
    for key, item in group.items():
        if isinstance(item, h5py.Dataset):
            values[key] = item[()]
    return values
