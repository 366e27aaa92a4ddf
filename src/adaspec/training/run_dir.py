"""The layout of a run directory ``runs/<name>/`` and the rule for reusing one."""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import temporary_glob, write_text_atomic
from ..config import (
    MACHINE_KEYS,
    config_differences,
    experiment_differences,
    load_config_file,
    save_config,
    summarize_differences,
)
from ..errors import UserError, not_a_file_reason, shown_path
from .workdir import comparable_data_paths

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")
#: Longest run name: its lock file ``.<name>.lock`` and temporary folders beside the run must stay within
#: the 255 bytes a file name may have.
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class RunPaths:
    """Every file a run writes, relative to its root."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.ckpt"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def confusion_matrix(self) -> Path:
        return self.root / "confusion_matrix.png"

    @property
    def frontend_figure(self) -> Path:
        return self.root / "frontend.png"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def splits(self) -> Path:
        """Every file of the run with its split (see :mod:`adaspec.training.split_file`)."""
        return self.root / "splits.csv"

    def predictions(self, split: str) -> Path:
        """``predictions.csv`` for the test split, ``predictions_<split>.csv`` otherwise."""
        return self.root / ("predictions.csv" if split == "test" else f"predictions_{split}.csv")

    def evaluation(self, split: str) -> Path:
        """JSON report of ``adaspec evaluate`` on ``split``."""
        return self.root / f"evaluation_{split}.json"

    @property
    def others_evaluations(self) -> Path:
        """Parent of ``adaspec evaluate``'s reports on other datasets (one folder per dataset)."""
        return self.root / "evaluations"

    def evaluation_confusion(self, split: str) -> Path:
        return self.root / f"confusion_matrix_{split}.png"


def check_run_name(name: str) -> str:
    """Validate a run name (one path component of letters, digits and ``._=+-``).

    Raises:
        UserError: naming the bad name.
    """
    if not _NAME.match(name):
        raise UserError(
            f"run name '{shown_path(name)}' must be ASCII letters, digits and ._=+-, starting with a letter "
            "or digit (no slashes, spaces or accents)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"run name {name[:20]}... is {len(name)} characters long; at most {MAX_NAME_LENGTH}")
    return name


def saved_config_differences(paths: RunPaths, config: Mapping[str, Any]) -> list[str]:
    """How the run directory's saved ``config.yaml`` differs from ``config``, but for the keys that only say
    how the machine runs (:data:`~adaspec.config.MACHINE_KEYS`: a run resumes with other values of them).

    Returns:
        One line per differing key (``key: saved -> new``); empty when they agree or nothing is saved.
    """
    if not paths.config.exists():
        return []
    saved = load_config_file(paths.config)
    return experiment_differences(comparable_data_paths(saved), comparable_data_paths(config))


#: Keys a run resumes with other values of: how the machine runs, and the epoch budget (a larger one
#: trains the run further).
RESUMABLE_CHANGES = (*MACHINE_KEYS, "trainer.max_epochs")


def training_differences(trained: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """How ``config`` differs from the config a run was trained with, but for :data:`RESUMABLE_CHANGES`;
    data paths are compared as :func:`~adaspec.training.workdir.comparable_data_paths` makes them.

    Args:
        trained: the config the run was trained with (its ``config.yaml``, or its checkpoint's).
        config: the config it would resume with.

    Returns:
        One ``key: trained -> new`` line per differing key.
    """
    return config_differences(
        comparable_data_paths(trained), comparable_data_paths(config), ignored=RESUMABLE_CHANGES
    )


def extends_epochs(paths: RunPaths, config: Mapping[str, Any]) -> bool:
    """Whether ``config`` differs from the run's saved one only by a larger ``trainer.max_epochs`` (and the
    machine-only keys): the run is then trained further from its ``last.ckpt``. The learning-rate
    schedule decays per epoch whatever the epoch budget, so that ends as a run begun with the larger
    budget would (until early stopping ends it)."""
    return _epoch_budget_change(paths, config) == "larger"


def _epoch_budget_change(paths: RunPaths, config: Mapping[str, Any]) -> str | None:
    """``"larger"`` or ``"smaller"`` where ``config`` differs from the run's saved one only by
    ``trainer.max_epochs`` (and the machine-only keys); ``None`` otherwise."""
    if not paths.config.exists():
        return None
    saved = load_config_file(paths.config)
    before, after = saved.get("trainer", {}).get("max_epochs"), config["trainer"]["max_epochs"]
    if not isinstance(before, int) or after == before or training_differences(saved, config):
        return None
    return "larger" if after > before else "smaller"


def check_same_config(paths: RunPaths, config: Mapping[str, Any], remedy: str) -> None:
    """Refuse a run directory whose saved ``config.yaml`` differs from ``config`` (no-op without one).

    Raises:
        UserError: naming the first differing keys and ``remedy``.
    """
    differences = saved_config_differences(paths, config)
    if differences:
        raise UserError(
            f"{paths.root} holds a run with another config ({summarize_differences(differences)}); {remedy}"
        )


def has_checkpoints(paths: RunPaths) -> bool:
    """Whether the run has saved any checkpoint (trained at least one epoch)."""
    return paths.checkpoints.is_dir() and any(paths.checkpoints.glob("*.ckpt"))


#: The files adaspec writes at the top of a run folder (``fnmatch`` patterns).
_RUN_FILES = (
    "config.yaml",
    "splits.csv",
    "metrics.json",
    "confusion_matrix*.png",
    "frontend.png",
    "predictions*.csv",
    "evaluation_*.json",
    "model.onnx",
    "model.pt2",
    "summary.json",  # adaspec compare's score of the run
)
#: What a run writes at the top of its folder (``fnmatch`` patterns), with the temporary files of its atomic
#: writes (:func:`~adaspec._atomic.temporary_glob`; earlier exporters' ``.<name>.<pid>.partial``) that a
#: killed process leaves behind: only a folder holding nothing else is ever deleted (``--overwrite``, or
#: replacing a failed start).
RUN_ENTRIES = (
    *_RUN_FILES,
    "checkpoints",
    "tensorboard",
    "evaluations",  # adaspec evaluate's reports on other datasets
    *(temporary_glob(name) for name in _RUN_FILES),
    temporary_glob("*.json"),  # write_json's temporary files
    "*.json.tmp",  # and those of earlier versions
    ".model.onnx.*.partial",
    ".model.pt2.*.partial",
)
_REMEDY = "move it, or give the run another name or folder"


def check_is_run_or_new(paths: RunPaths) -> None:
    """Refuse a run path that exists but is not a run folder: a file, a broken link, or a folder with
    something in it and no ``config.yaml`` (every run folder gets one before anything else).

    Raises:
        UserError: naming the path and the remedy.
    """
    root = paths.root
    if root.is_symlink() and not root.exists():
        raise UserError(f"{root} is a link to nothing, not a run folder; {_REMEDY}")
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file, not a run folder; {_REMEDY}")
    if root.is_dir() and not paths.config.is_file() and any(root.iterdir()):
        raise UserError(
            f"{root} is not an adaspec run (no config.yaml) and is not empty; it is left as it is: {_REMEDY}"
        )


def foreign_entries(paths: RunPaths) -> list[str]:
    """Names at the top of the run folder that adaspec does not write (see :data:`RUN_ENTRIES`)."""
    names = sorted(entry.name for entry in paths.root.iterdir())
    return [name for name in names if not any(fnmatch.fnmatchcase(name, p) for p in RUN_ENTRIES)]


def check_removable(paths: RunPaths) -> None:
    """Refuse to delete a run folder that is a link (whose target may be anything) or holds files adaspec
    did not write.

    Raises:
        UserError: naming the folder, what else it holds, and the remedy.
    """
    if paths.root.is_symlink():
        raise UserError(f"{paths.root} is a link; adaspec does not delete through links: {_REMEDY}")
    foreign = foreign_entries(paths)
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise UserError(
            f"{paths.root} holds files adaspec did not write ({shown}); it is not deleted: {_REMEDY}"
        )


def remove_run(paths: RunPaths) -> None:
    """Delete a run folder once :func:`check_removable` allows it.

    Raises:
        UserError: from :func:`check_removable`.
    """
    check_removable(paths)
    shutil.rmtree(paths.root)


@dataclass(frozen=True)
class RunPlan:
    """What :func:`plan_run_dir` decided for a run folder, before anything in it is changed."""

    paths: RunPaths
    #: The checkpoint to resume from (``None`` for a fresh run).
    resume: Path | None
    #: Whether the existing folder is deleted first (``--overwrite``, or replacing a failed start).
    replace: bool = False


def plan_run_dir(
    runs_dir: str | Path, name: str, config: Mapping[str, Any], overwrite: bool = False
) -> RunPlan:
    """Decide how ``runs_dir/name`` is used, changing nothing: the caller first checks everything else that
    can refuse the run (its data above all), then carries the plan out with :func:`make_run_dir`, so that
    a refused ``--overwrite`` loses nothing of the old run.

    A directory holding the same config and a ``last.ckpt`` is resumed (a finished run is not redone);
    one holding a different config is refused unless ``overwrite``, which replaces it. A directory
    without any checkpoint (a start that failed, e.g. on a wrong ``data.root``) holds nothing trained and
    is replaced.

    A folder that is not a run (no ``config.yaml``, but something in it) is refused, with or without
    ``overwrite``: it may hold anything, and nothing of the user's is deleted or mixed with a run. A run
    folder is replaced only if it holds nothing but what a run writes (see :func:`check_removable`), and
    one with checkpoints but no ``last.ckpt`` is refused rather than trained again over them.

    Raises:
        UserError: the directory holds checkpoints of another config (the differing keys are named), or
            it is not an adaspec run, or it cannot be replaced.
    """
    paths = RunPaths(Path(runs_dir) / check_run_name(name))
    check_is_run_or_new(paths)
    if paths.root.exists() and overwrite:
        check_removable(paths)
        return RunPlan(paths, None, replace=True)
    if not paths.config.exists():
        return RunPlan(paths, None)
    if not has_checkpoints(paths):
        differences = saved_config_differences(paths, config)
        if differences:
            check_removable(paths)
            shown = "; ".join(differences[:3])
            log.warning("%s holds no checkpoint of its config (%s); replacing it", paths.root, shown)
        return RunPlan(paths, None, replace=bool(differences))
    budget_change = _epoch_budget_change(paths, config)
    if budget_change == "larger":
        log.info(
            "training %s further, up to trainer.max_epochs=%d", paths.root, config["trainer"]["max_epochs"]
        )
    elif budget_change == "smaller":
        saved = load_config_file(paths.config)["trainer"]["max_epochs"]
        asked = config["trainer"]["max_epochs"]
        raise UserError(
            f"{paths.root} was trained with trainer.max_epochs={saved}, more than the {asked} asked for: "
            f"give trainer.max_epochs={saved} or more to resume it, another --name, or --overwrite to train "
            "it afresh"
        )
    else:
        check_same_config(paths, config, "use another --name or --overwrite")
    if not paths.last.is_file():
        reason = not_a_file_reason(paths.last)
        what = "no checkpoints/last.ckpt" if reason == "no such file" else f"a last.ckpt ({reason})"
        raise UserError(
            f"{paths.root} has checkpoints but {what} to resume from; restore it, or start the run "
            "afresh with --overwrite"
        )
    return RunPlan(paths, paths.last)


def make_run_dir(plan: RunPlan, config: Mapping[str, Any]) -> RunPaths:
    """Carry out :func:`plan_run_dir`'s plan: delete the folder it replaces, then create the folder and
    save ``config`` in it.

    Raises:
        UserError: the folder can no longer be deleted (see :func:`check_removable`).
    """
    if plan.replace:
        remove_run(plan.paths)
    plan.paths.root.mkdir(parents=True, exist_ok=True)
    save_config(config, plan.paths.config)
    return plan.paths


def remove_checkpoint_temporaries(paths: RunPaths) -> list[Path]:
    """Delete the temporary files that checkpoint writes killed mid-way left in ``checkpoints/``
    (``.<name>.ckpt.<pid>.tmp``, each as large as a checkpoint). Only training writes there, so call it
    with the run's lock held (see :mod:`~adaspec.training.run_lock`).

    Args:
        paths: the run directory.

    Returns:
        The files deleted.
    """
    if not paths.checkpoints.is_dir():
        return []
    stale = sorted(paths.checkpoints.glob(temporary_glob("*.ckpt")))
    for path in stale:
        path.unlink(missing_ok=True)
    if stale:
        log.info(
            "removed %d unfinished checkpoint file(s) of an interrupted run from %s",
            len(stale),
            paths.checkpoints,
        )
    return stale


def prepare_run_dir(
    runs_dir: str | Path, name: str, config: Mapping[str, Any], overwrite: bool = False
) -> tuple[RunPaths, Path | None]:
    """Create ``runs_dir/name`` or reuse it at once, by the rules of :func:`plan_run_dir`.

    Returns:
        The run's paths and the checkpoint to resume from (``None`` for a fresh run).

    Raises:
        UserError: as :func:`plan_run_dir`.
    """
    plan = plan_run_dir(runs_dir, name, config, overwrite=overwrite)
    return make_run_dir(plan, config), plan.resume


def existing_run_dir(
    runs_dir: str | Path,
    name: str,
    config: Mapping[str, Any],
    wait_seconds: float = 600.0,
    *,
    overwrite: bool = False,
) -> tuple[RunPaths, Path | None]:
    """The run directory as :func:`prepare_run_dir` left it, read only (for distributed worker processes).

    Under Lightning's own launcher process 0 prepares the directory before it starts the others; under
    ``torchrun`` or SLURM all start together, so this waits up to ``wait_seconds`` for ``config.yaml`` (and,
    when process 0 is to rewrite it, for its new contents; see :func:`_rewritten_later`).

    Returns:
        The run's paths and the checkpoint to resume from (``None`` for a fresh run, always with
        ``overwrite``).

    Raises:
        UserError: no ``config.yaml`` appeared in time, or it holds another config.
    """
    paths = RunPaths(Path(runs_dir) / check_run_name(name))
    deadline = time.monotonic() + wait_seconds
    while not paths.config.exists():
        if time.monotonic() > deadline:
            raise UserError(f"{paths.config} did not appear; process 0 of the distributed run writes it")
        time.sleep(0.5)
    while _rewritten_later(paths, config, overwrite) and time.monotonic() < deadline:
        time.sleep(0.5)
    check_same_config(paths, config, "every process must be given the same config")
    if overwrite:
        return paths, None
    return paths, paths.last if paths.last.exists() else None


def _rewritten_later(paths: RunPaths, config: Mapping[str, Any], overwrite: bool) -> bool:
    """Whether process 0 is still to save ``config`` over the folder's ``config.yaml``, as it does once its
    checks pass: with a larger ``trainer.max_epochs`` (a run trained further), or in a folder it replaces
    (``overwrite``, or a failed start of another config)."""
    if extends_epochs(paths, config):
        return True
    return (overwrite or not has_checkpoints(paths)) and bool(saved_config_differences(paths, config))


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically (a crash never leaves half a file; see :func:`write_text_atomic`)."""
    write_text_atomic(path, json.dumps(data, indent=2))
