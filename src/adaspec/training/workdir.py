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

from ..errors import UserError

#: Hyper-parameter of a checkpoint holding :func:`record_workdir`'s result.
WORKDIR_KEY = "workdir"


def record_workdir(run_root: Path) -> dict[str, str]:
    """The current folder, relative to ``run_root`` (it moves with a project folder) and absolute; both
    with links resolved, as :func:`training_folder` resolves the run folder. Only the absolute one where
    no relative path leads from the run folder (another drive on Windows)."""
    here = os.path.realpath(os.getcwd())
    try:
        return {"relative_to_run": os.path.relpath(here, os.path.realpath(run_root)), "absolute": here}
    except ValueError:
        return {"absolute": here}


def relative_data_paths(data: Mapping[str, Any]) -> list[str]:
    """The relative paths among ``data``'s ``root``, ``manifest`` and ``split_lists`` files."""
    paths = [data[key] for key in ("root", "manifest") if isinstance(data.get(key), str)]
    if isinstance(data.get("split_lists"), Mapping):
        paths += [str(path) for path in data["split_lists"].values()]
    return [path for path in paths if not os.path.isabs(path)]


def training_folder(
    data: Mapping[str, Any], run_root: Path | None, recorded: Mapping[str, Any] | None
) -> Path | None:
    """The folder a run's relative data paths are found from: the recorded training folder (relative to
    where the run folder is now, then as it was), if every such path exists there; ``None`` when the paths
    are absolute, nothing was recorded, or they are found only from the current folder (or nowhere).

    Args:
        data: the run's ``data`` section.
        run_root: the run folder, where it is now (``None`` for a checkpoint outside a run folder: only
            the recorded absolute folder is tried).
        recorded: the checkpoint's :data:`WORKDIR_KEY` hyper-parameter (``None`` for older checkpoints).
    """
    relative = relative_data_paths(data)
    if not relative:
        return None
    for folder in recorded_folders(run_root, recorded):
        if all(os.path.exists(os.path.join(folder, path)) for path in relative):
            return Path(folder)
    return None


def recorded_folders(run_root: Path | None, recorded: Mapping[str, Any] | None) -> list[str]:
    """Where :func:`training_folder` looks, in order: the recorded training folder relative to where the
    run folder is now (not for ``run_root=None``), then as it was (absolute, normalised)."""
    if not isinstance(recorded, Mapping):
        return []
    candidates = [str(recorded["absolute"])] if recorded.get("absolute") else []
    if run_root is not None and "relative_to_run" in recorded:  # from the run folder, links resolved
        candidates.insert(0, os.path.join(os.path.realpath(run_root), str(recorded["relative_to_run"])))
    return list(dict.fromkeys(os.path.normpath(os.path.abspath(folder)) for folder in candidates))


def check_relative_data_found(data: Mapping[str, Any], searched: list[str]) -> None:
    """Refuse relative data paths missing from the current folder, naming where they were looked for.

    Args:
        data: a ``data`` section whose relative paths were not rebased (found nowhere else).
        searched: the run's recorded training folders, also tried (:func:`recorded_folders`).

    Raises:
        UserError: naming the first missing path and every folder tried.
    """
    missing = [path for path in relative_data_paths(data) if not os.path.exists(path)]
    if not missing:
        return
    folders = [os.path.realpath(os.getcwd()), *(f for f in searched if f != os.path.realpath(os.getcwd()))]
    where = " nor in ".join(folders)
    raise UserError(
        f"data path {missing[0]!r} is relative and not found in {where} (the current folder"
        f"{', then the folder the run was trained in' if len(folders) > 1 else ''}); give the data with "
        "--data, or run from the folder that holds it"
    )


def comparable_data_paths(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` whose data paths are absolute from the current folder, to compare a run's
    saved config with a new one: ``./data``, ``data`` and its absolute path are one dataset (a run saved
    with absolute paths, as one version did, compares equal to the same command typed relative)."""
    if not isinstance(config.get("data"), Mapping):
        return dict(config)
    return {**config, "data": rebase_data_paths(config["data"], Path(os.getcwd()))}


def rebase_data_paths(data: Mapping[str, Any], folder: Path | None) -> dict[str, Any]:
    """``data`` with its relative paths joined to ``folder`` and every path normalised (``/data/x/`` is
    ``/data/x``); unchanged for ``None``."""
    rebased = dict(data)
    if folder is None:
        return rebased
    for key in ("root", "manifest"):
        if isinstance(rebased.get(key), str):  # joining keeps an absolute path as it is
            rebased[key] = os.path.normpath(folder / rebased[key])
    if isinstance(rebased.get("split_lists"), Mapping):
        lists = rebased["split_lists"]
        rebased["split_lists"] = {split: os.path.normpath(folder / path) for split, path in lists.items()}
    return rebased
