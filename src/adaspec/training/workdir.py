"""Where a run's relative data paths point: the folder its training command ran in.

A config's ``data.root``, ``data.manifest`` and ``data.split_lists`` files, and the paths in ``splits.csv``,
are kept as typed (a saved ``config.yaml`` trains again from the same folder, and a project folder moved
with its runs and data still resumes). Checkpoints also record that folder, relative to the run folder and
absolute, so that a run can be evaluated from any folder: its relative paths are looked up there first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Hyper-parameter of a checkpoint holding :func:`record_workdir`'s result.
WORKDIR_KEY = "workdir"


def record_workdir(run_root: Path) -> dict[str, str]:
    """The current folder, relative to ``run_root`` (it moves with a project folder) and absolute."""
    here = os.getcwd()
    return {"relative_to_run": os.path.relpath(here, os.path.abspath(run_root)), "absolute": here}


def _relative_data_paths(data: Mapping[str, Any]) -> list[str]:
    paths = [data[key] for key in ("root", "manifest") if isinstance(data.get(key), str)]
    if isinstance(data.get("split_lists"), Mapping):
        paths += [str(path) for path in data["split_lists"].values()]
    return [path for path in paths if not os.path.isabs(path)]


def training_folder(
    data: Mapping[str, Any], run_root: Path, recorded: Mapping[str, Any] | None
) -> Path | None:
    """The folder a run's relative data paths are found from: the recorded training folder (relative to
    where the run folder is now, then as it was), if every such path exists there; ``None`` when the paths
    are absolute, nothing was recorded, or they are found only from the current folder (or nowhere).

    Args:
        data: the run's ``data`` section.
        run_root: the run folder, where it is now.
        recorded: the checkpoint's :data:`WORKDIR_KEY` hyper-parameter (``None`` for older checkpoints).
    """
    relative = _relative_data_paths(data)
    if not relative or not isinstance(recorded, Mapping):
        return None
    # ".." taken lexically, as recorded (the run folder's own ".." could be elsewhere through a link)
    moved_with_the_run = os.path.join(os.path.abspath(run_root), str(recorded.get("relative_to_run", "")))
    for folder in (moved_with_the_run, str(recorded.get("absolute", ""))):
        folder = os.path.normpath(os.path.abspath(folder))
        if all(os.path.exists(os.path.join(folder, path)) for path in relative):
            return Path(folder)
    return None


def rebase_data_paths(data: Mapping[str, Any], folder: Path | None) -> dict[str, Any]:
    """``data`` with its relative paths joined to ``folder`` (unchanged for ``None``)."""
    rebased = dict(data)
    if folder is None:
        return rebased
    for key in ("root", "manifest"):
        if isinstance(rebased.get(key), str) and not os.path.isabs(rebased[key]):
            rebased[key] = str(folder / rebased[key])
    if isinstance(rebased.get("split_lists"), Mapping):
        rebased["split_lists"] = {
            split: str(folder / path) if not os.path.isabs(str(path)) else path
            for split, path in rebased["split_lists"].items()
        }
    return rebased
