"""From the ``data`` section of a config to labelled, split, validated files."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..data import (
    AudioItem,
    apply_split_lists,
    assign_splits,
    read_esc50,
    read_manifest,
    scan_class_folders,
    scan_items,
)
from ..errors import UserError

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


def list_items(data_cfg: Mapping[str, Any], seed: int) -> list[AudioItem]:
    """Every file of the configured source with its label and split (not yet decoded).

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
        return assign_splits(items, data_cfg["fractions"], seed=seed)
    except UserError:
        raise
    except (ValueError, OSError) as err:
        raise UserError(str(err)) from None


def build_catalog(
    data_cfg: Mapping[str, Any], seed: int, class_names: list[str] | None = None, splits: tuple[str, ...] = ()
) -> Catalog:
    """List, split and scan the configured dataset.

    Args:
        data_cfg: the ``data`` section.
        seed: split seed.
        class_names: fixed class list (from a checkpoint); files of other labels are refused.
        splits: only keep these splits (all when empty), so evaluation does not decode training audio.

    Raises:
        UserError: no usable file, unknown labels, or a bad file under ``data.strict``.
    """
    items = list_items(data_cfg, seed)
    if splits:
        items = [item for item in items if item.split in splits]
        if not items:
            raise UserError(f"no file of split {', '.join(splits)} in the dataset")
    result = scan_items(items, data_cfg["sample_rate"], strict=data_cfg["strict"], cache=data_cfg["cache"])
    if result.bad:
        log.warning("skipped %d unreadable file(s); see the warnings above", len(result.bad))
    names = class_names if class_names is not None else sorted({item.label for item in result.items})
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({item.label for item in result.items} - set(index))
    if unknown:
        raise UserError(f"labels {', '.join(unknown)} are not among the model's classes ({', '.join(names)})")
    grouped: dict[str, SplitData] = {}
    for position, item in enumerate(result.items):
        split = grouped.setdefault(item.split or "train", SplitData([], [], [] if result.waves else None))
        split.items.append(item)
        split.labels.append(index[item.label])
        if result.waves is not None and split.waves is not None:
            split.waves.append(result.waves[position])
    counts = ", ".join(
        f"{name} {len(grouped[name].items)}" for name in ("train", "val", "test") if name in grouped
    )
    log.info("data: %s files, %d classes", counts, len(names))
    return Catalog(class_names=list(names), splits=grouped, bad=result.bad)
