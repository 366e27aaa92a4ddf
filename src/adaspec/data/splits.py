"""Train/val/test splits: stratified, group-aware random assignment, or explicit list files."""

from __future__ import annotations

import logging
import math
import numbers
import os
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import not_a_file_reason
from .sources import SPLITS, AudioItem, not_utf8_error

logger = logging.getLogger(__name__)

__all__ = ["SPLITS", "allocate_counts", "apply_split_lists", "assign_splits"]

_FRACTION_TOLERANCE = 1e-6


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(fractions, Mapping) or not fractions:
        raise ValueError(f"fractions must be a non-empty mapping of split -> fraction, got {fractions!r}")
    unknown = [key for key in fractions if key not in SPLITS]
    if unknown:
        raise ValueError(f"fractions has unknown split(s) {unknown}; allowed keys are {', '.join(SPLITS)}")
    checked: dict[str, float] = {}
    for key in SPLITS:
        if key not in fractions:
            continue
        value = fractions[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"fractions[{key!r}] must be a finite number, got {value!r}")
        if value < 0:
            raise ValueError(f"fractions[{key!r}] must be non-negative, got {value!r}")
        checked[key] = float(value)
    total = sum(checked.values())
    if abs(total - 1.0) > _FRACTION_TOLERANCE:
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {total:g})")
    return checked


def allocate_counts(n_units: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Split ``n_units`` into per-split counts by the largest-remainder method.

    Ties in the remainders go to the split listed first in ``SPLITS``. When ``n_units`` is at least the
    number of splits with a positive fraction, each of those gets at least one unit (taken from the split
    with the largest count), so a tiny class still has a validation and a test example.

    Returns:
        ``{split: count}`` for every split in ``fractions``; the counts sum to ``n_units``.
    """
    fractions = _check_fractions(fractions)
    exact = {key: n_units * value for key, value in fractions.items()}
    counts = {key: math.floor(value) for key, value in exact.items()}
    left = n_units - sum(counts.values())
    by_remainder = sorted(fractions, key=lambda key: (-(exact[key] - counts[key]), SPLITS.index(key)))
    for index in range(left):  # at most one round unless the fractions' sum is off by the tolerance
        counts[by_remainder[index % len(by_remainder)]] += 1
    positive = [key for key in fractions if fractions[key] > 0]
    if n_units >= len(positive):
        for key in positive:
            if counts[key] == 0:
                donor = max(positive, key=lambda k: (counts[k], -SPLITS.index(k)))
                counts[donor] -= 1
                counts[key] = 1
    return counts


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _majority(values: Sequence[str]) -> str:
    """Most common value; ties go to the smallest (so the result does not depend on order)."""
    counts = Counter(values)
    top = max(counts.values())
    return min(value for value, count in counts.items() if count == top)


def assign_splits(
    items: Sequence[AudioItem], fractions: Mapping[str, float], seed: int, require_every_split: bool = False
) -> list[AudioItem]:
    """Give every item without a split one, stratified by label and respecting groups.

    Items sharing a non-``None`` group form one unit that lands in one split; a unit's label is the
    majority label of its items. Per label, the units are shuffled with a generator seeded from ``seed``
    and the label (so one label's split does not change when another label is added) and dealt out in
    ``SPLITS`` order with counts from :func:`allocate_counts`. Items that already have a split keep it;
    unassigned members of a group that already has assigned members follow them.

    A label is split over its units alone, so removing other labels' items (or unusable items of other
    labels) does not change its split, and removing some of its own items gives the split of the label
    without them. Before the shuffle a label's units are sorted by their first path, so the order of
    ``items`` (a manifest's row order, a listing order) does not change the split.

    Args:
        items: the items, in any order.
        fractions: ``{split: fraction}``, keys from ``SPLITS``, non-negative, summing to 1.
        seed: seed of the shuffles.
        require_every_split: refuse a label that has no preset split and fewer units than there are
            splits with a positive fraction (it could not have one unit in each). With at least that many
            units, :func:`allocate_counts` gives every such split one.

    Returns:
        The items in the same order, every ``split`` set.

    Raises:
        ValueError: on bad ``fractions`` or ``seed``, or a label too small to split under
            ``require_every_split``.
    """
    fractions = _check_fractions(fractions)
    seed = _check_seed(seed)
    splits: list[str | None] = [item.split for item in items]

    preset: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.split is not None and item.group is not None:
            preset[item.group].append(item.split)
    _warn_spread_groups(preset)
    units: dict[tuple[str, object], list[int]] = {}
    for index, item in enumerate(items):
        if item.split is not None:
            continue
        if item.group is not None and item.group in preset:
            known = preset[item.group]
            splits[index] = max(SPLITS, key=lambda s: (known.count(s), -SPLITS.index(s)))
            continue
        key = ("group", item.group) if item.group is not None else ("item", index)
        units.setdefault(key, []).append(index)

    by_label: dict[str, list[list[int]]] = defaultdict(list)
    for members in units.values():
        by_label[_majority([items[i].label for i in members])].append(members)
    for label_units in by_label.values():  # a canonical order: the items' order must not change the split
        label_units.sort(key=lambda members: min(Path(items[i].path) for i in members))
    if require_every_split:
        preset_labels = {item.label for item, split in zip(items, splits, strict=True) if split is not None}
        for label in sorted(set(by_label) - preset_labels):
            _check_enough_units(label, by_label[label], fractions)
    for label in sorted(by_label):
        label_units = by_label[label]
        rng = np.random.default_rng([seed, zlib.crc32(label.encode("utf-8"))])
        order = rng.permutation(len(label_units))
        counts = allocate_counts(len(label_units), fractions)
        dealt = [split for split in SPLITS if split in counts for _ in range(counts[split])]
        for position, unit_index in enumerate(order):
            for i in label_units[unit_index]:
                splits[i] = dealt[position]
    return [
        item if item.split == split else replace(item, split=split)
        for item, split in zip(items, splits, strict=True)
    ]


def _warn_spread_groups(preset: Mapping[str, Sequence[str]]) -> None:
    """Warn once when given splits put the files of one group into several splits: a group is one
    recording (or speaker, or source file), so its files then leak from training into evaluation.

    Args:
        preset: ``{group: the splits given to its files}``.
    """
    spread = {
        group: sorted(set(given), key=SPLITS.index) for group, given in preset.items() if len(set(given)) > 1
    }
    if not spread:
        return
    examples = "; ".join(f"{group!r}: {', '.join(given)}" for group, given in sorted(spread.items())[:3])
    more = f" and {len(spread) - 3} more" if len(spread) > 3 else ""
    logger.warning(
        "%d group%s spread over several splits by the given splits (%s%s): files of one group (one "
        "recording, speaker or source file) in training and evaluation make the scores optimistic",
        len(spread),
        " is" if len(spread) == 1 else "s are",
        examples,
        more,
    )


def _check_enough_units(label: str, units: Sequence[Sequence[int]], fractions: Mapping[str, float]) -> None:
    """Refuse a label whose units cannot give one to each split with a positive fraction.

    Raises:
        ValueError: naming the label, how many files (and groups) it has and how many it needs.
    """
    positive = [key for key in SPLITS if fractions.get(key, 0.0) > 0]
    if len(units) >= len(positive):
        return
    n_files = sum(len(unit) for unit in units)
    has = f"{n_files} file{'s' if n_files != 1 else ''}"
    need = f"at least {len(positive)} files"
    if n_files != len(units):
        has += f" in {len(units)} group{'s' if len(units) != 1 else ''} (a group stays in one split)"
        need = f"at least {len(positive)} groups"
    shares = ", ".join(f"{key} {fractions[key]:g}" for key in positive)
    raise ValueError(
        f"class {label!r} has {has}; fractions ({shares}) need {need} per class, one for each split: "
        f"add files to the class or set the fractions of the splits it cannot fill to 0"
    )


def _read_list(list_file: Path, root: Path) -> list[tuple[int, str, str]]:
    """``(line number, text, absolute normalised path)`` for each entry of a list file."""
    reason = not_a_file_reason(list_file)
    if reason is not None:
        what = "does not exist" if reason == "no such file" else f"is unusable: {reason}"
        raise ValueError(f"split list {str(list_file)!r} {what}")
    try:
        content = list_file.read_text(encoding="utf-8-sig")  # a byte-order mark is not part of a path
    except UnicodeDecodeError as err:
        raise not_utf8_error(list_file, err, "split list") from None
    entries = []
    for number, raw in enumerate(content.splitlines(), start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        path = Path(text)
        entries.append((number, text, os.path.abspath(path if path.is_absolute() else root / path)))
    return entries


def apply_split_lists(
    items: Sequence[AudioItem], lists: Mapping[str, str | os.PathLike[str]], root: str | os.PathLike[str]
) -> list[AudioItem]:
    """Set splits from list files (one path per line, relative to ``root`` or absolute).

    Blank lines and lines starting with ``#`` are ignored. Items named in no list are dropped (logged).

    Args:
        items: the scanned items.
        lists: ``{split: list file}`` with keys from ``SPLITS``.
        root: folder that relative paths in the lists are resolved against.

    Returns:
        The listed items, in their original order, with ``split`` set.

    Raises:
        ValueError: on an unknown split key, a missing list file, a listed path that is not among the items
            (naming the list file and line), or a path listed under two splits.
    """
    if not isinstance(lists, Mapping) or not lists:
        raise ValueError(f"lists must be a non-empty mapping of split -> list file, got {lists!r}")
    for key in lists:
        if key not in SPLITS:
            raise ValueError(f"lists has unknown split {key!r}; allowed keys are {', '.join(SPLITS)}")
    root = Path(root)
    by_path: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_path[os.path.abspath(item.path)].append(index)
    chosen: dict[int, tuple[str, str]] = {}
    for split, list_file in lists.items():
        list_file = Path(list_file)
        for number, text, path in _read_list(list_file, root):
            where = f"{list_file} line {number}"
            if path not in by_path:
                raise ValueError(f"{where}: {text!r} is not among the {len(items)} scanned items")
            for index in by_path[path]:
                previous = chosen.get(index)
                if previous is not None and previous[0] != split:
                    raise ValueError(
                        f"{where}: {text!r} is already listed for split {previous[0]!r} ({previous[1]})"
                    )
                chosen[index] = (split, where)
    dropped = len(items) - len(chosen)
    if dropped:
        logger.info("%d of %d items are in no split list and are left out", dropped, len(items))
    return [replace(item, split=chosen[i][0]) for i, item in enumerate(items) if i in chosen]
