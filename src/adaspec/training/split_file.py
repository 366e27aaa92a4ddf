"""The files of each split of a training run, saved as ``splits.csv`` in the run folder.

Evaluation reads it back instead of splitting the dataset again: the split is then exactly the training
one (even if files became readable or unreadable since, or were added), and only the evaluated split's
files are decoded (a fresh automatic split needs every file decoded, since unreadable files take no place).
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._atomic import replaced_atomically
from ..data import SPLITS, AudioItem
from ..errors import UserError
from .catalog import Catalog

log = logging.getLogger(__name__)

COLUMNS = ("path", "label", "split", "group")
#: ``data`` keys that decide which files a run lists and how they are split (with the top-level ``seed``).
LISTING_KEYS = (
    "source",
    "root",
    "manifest",
    "extensions",
    "fractions",
    "split_lists",
    "val_fold",
    "test_fold",
)


def write_split_file(path: Path, catalog: Catalog) -> Path:
    """Write every file of ``catalog`` with its label, split and group as CSV, atomically (a run stopped
    while writing it leaves no half file, which a resumed run would take for its whole split).

    Args:
        path: the file to write.
        catalog: the run's files and splits.

    Returns:
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for split, data in catalog.splits.items():
            for item in data.items:
                writer.writerow([str(item.path), item.label, split, "" if item.group is None else item.group])
    return path


def read_split_file(path: Path, base: Path | None = None) -> list[AudioItem]:
    """The items of a file written by :func:`write_split_file`; relative paths are joined to ``base`` when
    given (the folder the run was trained from, see :mod:`~adaspec.training.workdir`).

    Args:
        path: the ``splits.csv`` file.
        base: the folder relative paths are joined to (``None``: kept as written).

    Returns:
        One item per row, in the file's order.

    Raises:
        UserError: when the file is not UTF-8 or lacks the columns, or a row is incomplete, names a split
            other than train, val and test, or lists a file again (an edited file would otherwise drop
            files from training, or score files trained on).
    """
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return _read_rows(path, csv.DictReader(handle), base)
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not a split file (not UTF-8 text: {err.reason})") from None


def _read_rows(path: Path, reader: csv.DictReader[str], base: Path | None) -> list[AudioItem]:
    """The items of :func:`read_split_file`'s rows.

    Args:
        path: the file, for messages.
        reader: its rows.
        base: as for :func:`read_split_file`.

    Returns:
        One item per row.

    Raises:
        UserError: as :func:`read_split_file`.
    """
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise UserError(f"{path}: not a split file (columns {', '.join(COLUMNS)} expected)")
    items = []
    first_line: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        if not row["path"] or not row["label"] or not row["split"]:
            raise UserError(f"{path} line {line}: path, label and split are required")
        if row["split"] not in SPLITS:
            raise UserError(f"{path} line {line}: split {row['split']!r} is not one of {', '.join(SPLITS)}")
        if row["path"] in first_line:
            raise UserError(
                f"{path} line {line}: {row['path']} is listed again (first on line {first_line[row['path']]})"
            )
        first_line[row["path"]] = line
        item_path = Path(row["path"])
        if base is not None and not item_path.is_absolute():
            item_path = base / item_path
        items.append(AudioItem(item_path, row["label"], row["split"], row["group"] or None))
    return items


def warn_missing(path: Path) -> None:
    """Say that a run's split file is missing and the dataset is split afresh."""
    log.warning(
        "%s is missing: the dataset is split afresh from the seed (the training split only if no file was "
        "added, removed or became unreadable since)",
        path,
    )


#: Listing keys that name a path: compared as the files they name (``data``, ``./data/`` and its absolute
#: path are one dataset).
PATH_KEYS = ("root", "manifest")


def listing(config: Mapping[str, Any]) -> dict[str, Any]:
    """What decides a run's files and splits: the seed and the :data:`LISTING_KEYS`, the paths resolved
    from the current folder."""
    data = config["data"]
    values = {key: data.get(key) for key in LISTING_KEYS}
    for key in PATH_KEYS:
        if isinstance(values[key], str):
            values[key] = os.path.realpath(values[key])
    if isinstance(values["split_lists"], Mapping):
        lists = values["split_lists"]
        values["split_lists"] = {split: os.path.realpath(path) for split, path in lists.items()}
    return {**values, "seed": config["seed"]}


def same_listing(config: Mapping[str, Any], trained: Mapping[str, Any]) -> bool:
    """Whether ``config`` lists and splits the dataset as the training config ``trained`` did (paths are
    compared resolved, from the current folder)."""
    return listing(config) == listing(trained)
