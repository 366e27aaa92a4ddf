"""Combining the class probabilities of a file's parts into one label per file (split-and-vote)."""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._validation import check_choice

VOTES = ("mean", "majority")


def _check_probs(name: str, probs: np.ndarray) -> np.ndarray:
    """Return ``probs`` as a float64 ``(n_parts, n_classes)`` array with at least one part and one class."""
    values = np.asarray(probs, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError(
            f"{name} must be a 2-D (n_parts, n_classes) array with at least one part and one class, "
            f"got shape {values.shape}"
        )
    return values


def _check_file_index(file_index: np.ndarray, n_parts: int) -> np.ndarray:
    """Return ``file_index`` as a 1-D integer array of ``n_parts`` file ids."""
    ids = np.asarray(file_index)
    if ids.ndim != 1 or ids.shape[0] != n_parts:
        raise ValueError(
            f"file_index must be 1-D with one file id per part ({n_parts}), got shape {ids.shape}"
        )
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"file_index must hold integer file ids, got dtype {ids.dtype}")
    return ids


def _exact_means(values: np.ndarray) -> np.ndarray:
    """Column means of ``values (n_parts, n_classes)``: each exact sum, rounded once, over ``n_parts``.

    A plain floating-point sum depends on the order of the parts (``0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1``),
    which made an exact tie between two classes go to whichever the order of the parts favoured;
    ``math.fsum`` is exact, so the means (and every vote) depend only on the parts, not their order.
    """
    return np.array([_exact_sum(column) for column in values.T.tolist()], dtype=np.float64) / values.shape[0]


def _exact_sum(column: list[float]) -> float:
    """``math.fsum``; a plain sum where it refuses (``inf - inf``, an overflow), so NaN and inf propagate
    into the mean as before and the callers' finiteness checks report them."""
    try:
        return math.fsum(column)
    except (OverflowError, ValueError):
        return float(np.sum(column))


def _break_ties(counts: np.ndarray, mean_probs: np.ndarray) -> np.ndarray:
    """Per row, the class with most votes; ties go to the higher mean probability, then the lowest index."""
    tied = counts == counts.max(axis=-1, keepdims=True)
    return np.argmax(np.where(tied, mean_probs, -np.inf), axis=-1)


def mean_probability_vote(probs: np.ndarray) -> int:
    """The class with the highest probability averaged over the parts (first class on an exact tie).

    Args:
        probs: ``(n_parts, n_classes)`` class probabilities of one file's parts.

    Returns:
        The voted class index.

    Raises:
        ValueError: if ``probs`` is not a non-empty 2-D array.
    """
    return int(np.argmax(_exact_means(_check_probs("probs", probs))))


def majority_vote(probs: np.ndarray) -> int:
    """The most frequent per-part argmax.

    Ties between classes with the same number of votes go to the tied class with the higher mean
    probability over all parts, then to the lowest class index.

    Args:
        probs: ``(n_parts, n_classes)`` class probabilities of one file's parts.

    Returns:
        The voted class index.

    Raises:
        ValueError: if ``probs`` is not a non-empty 2-D array.
    """
    values = _check_probs("probs", probs)
    counts = np.bincount(values.argmax(axis=1), minlength=values.shape[1])
    return int(_break_ties(counts, _exact_means(values)))


def vote(probs: np.ndarray, rule: str) -> int:
    """Vote one file's parts with ``rule`` (``"mean"`` or ``"majority"``).

    Raises:
        ValueError: for an unknown ``rule`` or malformed ``probs``.
    """
    check_choice("rule", rule, VOTES)
    return mean_probability_vote(probs) if rule == "mean" else majority_vote(probs)


def mean_file_probs(part_probs: np.ndarray, file_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the part probabilities of every file (exact sums, so the means do not depend on the order
    of the parts).

    Args:
        part_probs: ``(n_total_parts, n_classes)`` probabilities of all parts of all files, in any order.
        file_index: ``(n_total_parts,)`` integer file id of each part.

    Returns:
        ``(ids, probs)``: the sorted unique file ids ``(n_files,)`` and their mean probabilities
        ``(n_files, n_classes)``, row ``i`` belonging to ``ids[i]``.

    Raises:
        ValueError: for malformed inputs or mismatched lengths.
    """
    values = _check_probs("part_probs", part_probs)
    ids, inverse = np.unique(_check_file_index(file_index, values.shape[0]), return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.searchsorted(inverse[order], np.arange(ids.size + 1))
    grouped = values[order]
    means = np.empty((ids.size, values.shape[1]))
    for row, (start, stop) in enumerate(itertools.pairwise(starts)):
        means[row] = _exact_means(grouped[start:stop])
    return ids, means


def vote_files(
    part_probs: np.ndarray, file_index: np.ndarray, rule: str = "mean"
) -> tuple[np.ndarray, np.ndarray]:
    """Vote every file from its parts (vectorised; same result as :func:`vote` file by file).

    Args:
        part_probs: ``(n_total_parts, n_classes)`` probabilities of all parts of all files, in any order.
        file_index: ``(n_total_parts,)`` integer file id of each part.
        rule: ``"mean"`` or ``"majority"``.

    Returns:
        ``(ids, labels)``: the sorted unique file ids and the voted class index of each (int64).

    Raises:
        ValueError: for an unknown ``rule``, malformed inputs or mismatched lengths.
    """
    check_choice("rule", rule, VOTES)
    ids, mean_probs = mean_file_probs(part_probs, file_index)
    if rule == "mean":
        return ids, mean_probs.argmax(axis=1).astype(np.int64)
    values = np.asarray(part_probs, dtype=np.float64)
    inverse = np.searchsorted(ids, np.asarray(file_index))
    counts = np.zeros(mean_probs.shape, dtype=np.int64)
    np.add.at(counts, (inverse, values.argmax(axis=1)), 1)
    return ids, _break_ties(counts, mean_probs).astype(np.int64)
