"""Cutting waveforms to a fixed length (training crops) and into equal parts (evaluation votes).

Short waveforms are never an error: they are padded with trailing silence (zeros at the end).
"""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from .._validation import check_positive_int


def _check_wave(wave: np.ndarray) -> np.ndarray:
    wave = np.asarray(wave)
    if wave.ndim != 1:
        raise ValueError(f"wave must be a 1-D array of samples, got shape {wave.shape}")
    return wave


def fit_length(wave: np.ndarray, length: int, offset: int = 0) -> np.ndarray:
    """The ``length`` samples of ``wave`` starting at ``offset``, zero-padded at the end if too few remain.

    Args:
        wave: 1-D waveform.
        length: samples wanted.
        offset: first sample, in ``[0, len(wave)]``.

    Returns:
        A new 1-D array of ``length`` samples with the dtype of ``wave``.

    Raises:
        ValueError: on a non 1-D ``wave``, a non-positive ``length`` or an ``offset`` out of range.
    """
    wave = _check_wave(wave)
    length = check_positive_int("length", length)
    if isinstance(offset, bool) or not isinstance(offset, numbers.Integral) or not 0 <= offset <= wave.size:
        raise ValueError(f"offset must be an integer in [0, {wave.size}] (the wave's length), got {offset!r}")
    piece = wave[int(offset) : int(offset) + length]
    out = np.zeros(length, dtype=wave.dtype)
    out[: piece.size] = piece
    return out


def random_crop(wave: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """A crop of ``length`` samples at an offset drawn uniformly from ``[0, len(wave) - length]``.

    A wave of at most ``length`` samples is returned whole, padded with trailing zeros (``rng`` is not
    used then).

    Raises:
        ValueError: on a non 1-D ``wave`` or a non-positive ``length``.
    """
    wave = _check_wave(wave)
    length = check_positive_int("length", length)
    if wave.size <= length:
        return fit_length(wave, length)
    offset = int(rng.integers(0, wave.size - length + 1))
    return wave[offset : offset + length].copy()


def part_bounds(n_samples: int, n_parts: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``n_parts`` equal parts of ``n_samples`` samples.

    Boundary ``k`` is ``k * n_samples / n_parts`` rounded half up (exact integer arithmetic), so the
    ranges are contiguous, cover every sample exactly once, and differ in length by at most one.

    Raises:
        ValueError: if ``n_parts < 1`` or ``n_samples < n_parts`` (pad the wave first).
    """
    n_parts = check_positive_int("n_parts", n_parts)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < n_parts:
        raise ValueError(
            f"n_samples must be an integer >= n_parts ({n_parts}) so that no part is empty, got {n_samples!r}"
        )
    edges = [(2 * k * int(n_samples) + n_parts) // (2 * n_parts) for k in range(n_parts + 1)]
    return list(itertools.pairwise(edges))


def part_length(n_samples: int, n_parts: int, min_length: int) -> int:
    """Length of each part that :func:`split_parts` returns for a wave of ``n_samples`` samples."""
    n_parts = check_positive_int("n_parts", n_parts)
    min_length = check_positive_int("min_length", min_length)
    return max(int(n_samples), min_length, n_parts) // n_parts


def split_parts(wave: np.ndarray, n_parts: int, min_length: int) -> np.ndarray:
    """Cut a wave into ``n_parts`` equal-length parts for split-and-vote evaluation.

    The wave is first padded with trailing zeros to at least ``min_length`` (and ``n_parts``) samples.
    Part ``k`` is the first ``part_len = n_samples // n_parts`` samples of range ``k`` of
    :func:`part_bounds`; a range one sample longer loses its last sample, so at most ``n_parts - 1``
    samples of the whole wave are left out, spread evenly (none when ``n_parts`` divides the length).

    Args:
        wave: 1-D waveform.
        n_parts: number of parts.
        min_length: shortest wave (in samples) to cut; shorter waves are padded.

    Returns:
        ``(n_parts, part_len)`` array with the dtype of ``wave``.

    Raises:
        ValueError: on a non 1-D ``wave`` or a non-positive ``n_parts`` / ``min_length``.
    """
    wave = _check_wave(wave)
    part_len = part_length(wave.size, n_parts, min_length)
    total = max(wave.size, min_length, n_parts)
    if wave.size < total:
        wave = fit_length(wave, total)
    return np.stack([wave[start : start + part_len] for start, _ in part_bounds(total, n_parts)])
