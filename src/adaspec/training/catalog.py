"""From the ``data`` section of a config to labelled, split, validated files."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import (
    SPLITS,
    AudioItem,
    apply_split_lists,
    assign_splits,
    read_esc50,
    read_manifest,
    scan_class_folders,
    scan_items,
)
from ..errors import UserError, plural

log = logging.getLogger(__name__)


@dataclass
class SplitData:
    """The good files of one split, their class indices and (when cached) decoded audio."""

    items: list[AudioItem]
    labels: list[int]
    waves: list[np.ndarray] | None = None


@dataclass
class Catalog:
    """A scanned dataset: class names (sorted), one :class:`SplitData` per split, and the bad files."""

    class_names: list[str]
    splits: dict[str, SplitData]
    bad: list[tuple[AudioItem, str]] = field(default_factory=list)


def list_items(data_cfg: Mapping[str, Any]) -> list[AudioItem]:
    """Every file of the configured source with its label and its explicit split, if any.

    Explicit splits come from a manifest's ``split`` column, the ESC-50 folds or ``data.split_lists``
    (which also drop the files they do not list). Files without one keep ``split=None``: they are split by
    :func:`split_items` once the unreadable files are known. Nothing is decoded here.

    Raises:
        UserError: a missing root/manifest or an empty source (the data layer's ValueErrors, re-raised).
    """
    try:
        source = data_cfg["source"]
        if source == "folders":
            extensions = tuple(data_cfg["extensions"])
            items = scan_class_folders(data_cfg["root"], extensions=extensions)
        elif source == "manifest":
            items = read_manifest(data_cfg["manifest"], root=data_cfg["root"])
        else:
            items = read_esc50(
                data_cfg["root"], val_fold=data_cfg["val_fold"], test_fold=data_cfg["test_fold"]
            )
        if data_cfg["split_lists"]:
            base = data_cfg["root"] or Path(data_cfg["manifest"] or ".").parent
            items = apply_split_lists(items, data_cfg["split_lists"], base)
        return items
    except UserError:
        raise
    except (ValueError, OSError) as err:
        raise UserError(str(err)) from None


def split_items(
    items: Sequence[AudioItem], fractions: Mapping[str, float], seed: int, training: bool = False
) -> list[AudioItem]:
    """Give the files without an explicit split one, per label, deterministically from ``seed``.

    Call it on the usable files only, so an unreadable file never takes a place in a split: the split of a
    dataset with unreadable files is the split of the same dataset without them.

    Args:
        items: usable files; those with a split keep it.
        fractions: ``data.fractions``.
        seed: split seed.
        training: also refuse a dataset a classifier cannot be trained and evaluated on: fewer than two
            classes, a class split automatically into fewer files (or groups) than there are splits with
            a positive fraction, or a class without a training file.

    Returns:
        The files in the same order, every split set.

    Raises:
        UserError: bad fractions or seed, or (``training``) one of the problems above, as one line.
    """
    if training:
        check_class_count(items)
    try:
        result = assign_splits(items, fractions, seed=seed, require_every_split=training)
    except ValueError as err:
        raise UserError(str(err)) from None
    if training:
        check_training_files(result)
    return result


def check_class_count(items: Sequence[AudioItem]) -> None:
    """Refuse usable files of fewer than two classes (a classifier needs at least two).

    Raises:
        UserError: naming the classes found.
    """
    labels = sorted({item.label for item in items})
    if len(labels) < 2:
        found = ", ".join(repr(label) for label in labels) or "none"
        raise UserError(
            f"the dataset has {len(labels)} {plural(len(labels), 'class')} with usable files ({found}); a "
            "classifier needs at least 2 classes (one folder per class under data.root, or 2 labels in the "
            "manifest)"
        )


def check_training_files(items: Sequence[AudioItem]) -> None:
    """Refuse split files where a class has no file in ``train``.

    Raises:
        UserError: naming the first such class, its file count and where its files are.
    """
    per_label: dict[str, Counter[str]] = {}
    for item in items:
        per_label.setdefault(item.label, Counter())[item.split or "train"] += 1
    for label in sorted(per_label):
        counts = per_label[label]
        if counts["train"] == 0:
            total = sum(counts.values())
            where = ", ".join(f"{split} {counts[split]}" for split in SPLITS if counts[split])
            raise UserError(
                f"class {label!r} has no file in split 'train' ({total} usable {plural(total, 'file')}: "
                f"{where}); every class needs at least 1 training file"
            )


def _refuse_unknown_labels(items: Sequence[AudioItem], class_names: Sequence[str]) -> None:
    """Refuse files labelled with classes the model does not know.

    Raises:
        UserError: naming the unknown labels and the model's classes.
    """
    unknown = sorted({item.label for item in items} - set(class_names))
    if unknown:
        raise UserError(
            f"labels {', '.join(unknown)} are not among the model's classes ({', '.join(class_names)})"
        )


def build_catalog(
    data_cfg: Mapping[str, Any],
    seed: int,
    class_names: list[str] | None = None,
    splits: tuple[str, ...] = (),
    assigned: Sequence[AudioItem] | None = None,
) -> Catalog:
    """List, scan and split the configured dataset.

    Every listed file is decoded first; the unreadable ones are reported and dropped (or the dataset is
    refused under ``data.strict``) and only then are the remaining files without an explicit split split
    per label. Restricted to ``splits``, files explicitly in other splits are not decoded, but every file
    without an explicit split is (its split depends on which of them are usable).

    Args:
        data_cfg: the ``data`` section.
        seed: split seed.
        class_names: fixed class list (from a checkpoint); files of other labels are refused. Without it
            the classes come from the data and the dataset must be trainable (see :func:`split_items`).
        splits: only keep these splits (all when empty), so evaluation does not decode training audio.
        assigned: files whose splits are already known (a training run's ``splits.csv``): used instead of
            listing and splitting the dataset, and only those of ``splits`` are decoded.

    Raises:
        UserError: no usable file, unknown labels, a bad file under ``data.strict``, an untrainable
            dataset (without ``class_names``), or no usable file in ``splits``.
    """
    items = list_items(data_cfg) if assigned is None else list(assigned)
    if splits:
        items = [item for item in items if item.split is None or item.split in splits]
        if not items:
            raise UserError(f"no file of split {', '.join(splits)} in the dataset")
    if class_names is not None:  # before decoding, and whichever split a file would fall in
        _refuse_unknown_labels(items, class_names)
    # (scan_items itself says how many files it skipped, after one warning per file)
    result = scan_items(items, data_cfg["sample_rate"], strict=data_cfg["strict"], cache=data_cfg["cache"])
    try:
        split = (
            split_items(result.items, data_cfg["fractions"], seed, training=class_names is None)
            if assigned is None
            else result.items
        )
    except UserError as err:
        if result.bad:
            raise UserError(f"{err} ({len(result.bad)} unreadable file(s) were skipped)") from None
        raise
    cached = result.waves is not None
    waves: list[np.ndarray | None] = list(result.waves) if result.waves is not None else [None] * len(split)
    pairs = zip(split, waves, strict=True)
    kept = [(item, wave) for item, wave in pairs if not splits or item.split in splits]
    if not kept:
        raise UserError(f"no usable file of split {', '.join(splits)} in the dataset")
    usable = {item.label for item, _ in kept}
    names = class_names if class_names is not None else sorted(usable)
    for label in sorted({item.label for item in items if not splits or item.split in splits} - usable):
        log.warning("class %s: none of its files can be used (see above); it is left out", label)
    index = {name: i for i, name in enumerate(names)}
    grouped: dict[str, SplitData] = {}
    for item, wave in kept:
        group = grouped.setdefault(item.split or "train", SplitData([], [], [] if cached else None))
        group.items.append(item)
        group.labels.append(index[item.label])
        if cached and group.waves is not None:
            group.waves.append(wave)
    counts = ", ".join(
        f"{name} {len(grouped[name].items)}" for name in ("train", "val", "test") if name in grouped
    )
    files = plural(len(kept), "file")
    classes = plural(len(names), "class")
    if class_names is None:
        log.info("data: %s %s, %d %s", counts, files, len(names), classes)
    else:  # the model's classes, of which the data may hold only some
        log.info("data: %s %s, %d of the model's %d %s", counts, files, len(usable), len(names), classes)
    return Catalog(class_names=list(names), splits=grouped, bad=result.bad)
