"""The band layout of :func:`adaspec.ops.gabor_pooled_energy`: the DFT length, each Gabor filter's band of
bins, and the groups of filters whose bands are transformed together.

Every filter ``c`` needs the bins within ``need_c / 2`` of its centre bin ``m_c`` (see
:mod:`adaspec.ops.gabor` for ``need_c``). Its band is ``M_c >= need_c`` bins (a fast FFT size) starting at
any bin ``s_c`` whose window covers that range; the demodulation frequency does not change ``|z_c|^2``.
Neighbouring filters with equal band sizes form a group when their starts can be chosen equally spaced
(``s_c = start + (c - first) step``): the group's bands are then one strided view of the half spectrum,
multiplied by the filters' responses in one operation. Groups hold at most :data:`GROUP_BINS` bins. Band
sizes of neighbours within :data:`MERGE_RATIO` of each other are first made equal (see
:func:`merge_sizes`), so that fewer, larger groups form.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._tracing import tensor_cache
from .fft_sizes import next_size_with_odd_part, next_smooth_size

#: Gaussians are treated as zero beyond this many standard deviations (exp(-4.5^2 / 2) ~ 4e-5).
TAIL = 4.5
#: Odd parts of the band sizes ``2^a k``: fast FFT sizes (MKL is several times slower on ``3^5``, ``3^6``).
FAST_ODD_FACTORS = (1, 3, 5, 7, 9, 15)
#: Most band bins per group of filters transformed together. Groups make fewer, larger FFT calls and
#: elementwise passes than one filter at a time, while each group's arrays stay within a few MB: for LEAF
#: with 40 / 64 filters a step was 6-8% / 16-17% faster than filter by filter (interleaved runs, 2 threads).
#: With equal band sizes only, 2048 to 4608 bins measured alike; with :data:`MERGE_RATIO` 4608 is better.
GROUP_BINS = 4608
#: Neighbouring filters whose band sizes are within this factor of each other all take the largest (a wider
#: band is as exact), so that they form one group: a step makes about ten tensor operations per group each
#: way (some 30 calls into torch with views and slices) whatever the batch. For LEAF with 40 / 64 filters
#: this gives 11 / 12 groups instead of 23 / 22 for 4 % / 5 % more bins; a step of 16 signals was 10-17 %
#: faster, one of 64 signals 1-5 % (interleaved, 2026-12-06).
MERGE_RATIO = 1.2


@dataclass(frozen=True)
class Group:
    """Filters ``first ... first + count - 1``, each with a band of ``band`` bins starting at DFT bin
    ``start + i * step`` (``i`` counting from 0 in the group); ``offset`` is the group's first bin in the
    flattened layout (filter after filter) and ``direct`` whether every band lies inside the half spectrum
    ``0 ... n_fft // 2`` (else some bins are conjugates of mirrored ones: see :func:`band_runs`)."""

    first: int
    count: int
    band: int
    start: int
    step: int
    offset: int
    direct: bool

    def starts(self) -> tuple[int, ...]:
        """The first DFT bin of each filter's band."""
        return tuple(self.start + i * self.step for i in range(self.count))


@dataclass(frozen=True)
class Plan:
    """Static layout of one call: DFT length ``n_fft = q * hop``, each filter's band, the groups."""

    q: int
    n_fft: int
    bands: tuple[int, ...]  # band size M of each filter
    starts: tuple[int, ...]  # DFT bin of each band's first bin (below 0 or above n_fft // 2 at the edges)
    valid: tuple[int, ...]  # low bins of each filter's |z|^2 spectrum that are used (<= M // 2)
    n_bins: int  # low bins kept for every filter (the most any filter's pooling needs)
    groups: tuple[Group, ...]

    @property
    def largest_group(self) -> int:
        """The most band bins of any group (sizes the work buffers)."""
        return max(group.count * group.band for group in self.groups)


FilterValues = torch.Tensor | Sequence[float]


def make_plan(
    length: int,
    hop: int,
    centers: FilterValues,
    widths: FilterValues,
    pool_widths: FilterValues,
    group_bins: int | None = GROUP_BINS,
) -> Plan:
    """DFT length, band layout and groups from the current (detached) parameters.

    Args:
        length: signal length in samples.
        hop: samples between output frames.
        centers, widths, pool_widths: ``(n_filters,)`` Gabor centres (radians per sample), Gabor widths and
            pooling widths (samples): tensors, or sequences of numbers (see :func:`filter_values`).
        group_bins: most bins per group of several filters (``None``: no limit).

    Returns:
        The :class:`Plan`.

    Raises:
        ValueError: for widths that are not finite and positive, centres that are not finite, or a
            different number of each.
    """
    mus, sigmas, pools = (filter_values(values) for values in (centers, widths, pool_widths))
    if not len(mus) == len(sigmas) == len(pools) or not mus:
        raise ValueError(
            "centers, widths and pool_widths must be (n_filters,) tensors of one length n_filters >= 1, got "
            f"{_shape(centers)}, {_shape(widths)} and {_shape(pool_widths)}"
        )
    for name, values in (("widths", sigmas), ("pool_widths", pools)):
        if not all(math.isfinite(value) and value > 0 for value in values):
            raise ValueError(f"{name} must be finite and positive (samples), got {values}")
    if not all(math.isfinite(value) for value in mus):
        raise ValueError(f"centers must be finite (radians per sample), got {mus}")
    reach = TAIL * (max(sigmas) + max(pools))
    q = next_smooth_size(max(math.ceil((length + reach) / hop), 1 + length // hop))
    n_fft = q * hop
    per_radian = n_fft / (2.0 * math.pi)
    pairs = zip(sigmas, pools, strict=True)
    needs = [TAIL * per_radian * (math.sqrt(2.0) / sigma + 1.0 / pool) for sigma, pool in pairs]
    bands = merge_sizes(tuple(fast_size(math.ceil(need), n_fft) for need in needs), MERGE_RATIO, group_bins)
    centres = [mu * per_radian for mu in mus]
    windows = tuple(_start_range(m, need, band) for m, need, band in zip(centres, needs, bands, strict=True))
    groups = group_filters(bands, windows, n_fft, group_bins)
    starts = tuple(start for group in groups for start in group.starts())
    low = [math.ceil(TAIL * per_radian / pool) + 1 for pool in pools]
    valid = tuple(max(1, min(n, m // 2)) for n, m in zip(low, bands, strict=True))
    return Plan(q, n_fft, bands, starts, valid, max(valid), groups)


def filter_values(values: FilterValues) -> list[float]:
    """``values`` as a list of Python floats (a tensor is detached and read; that waits for its device).

    Args:
        values: a tensor or a sequence of numbers.

    Returns:
        The values as floats, in order.
    """
    if isinstance(values, torch.Tensor):
        return values.detach().double().cpu().tolist()
    return [float(value) for value in values]


def _shape(values: FilterValues) -> tuple[int, ...]:
    """The shape of a tensor, or ``(len,)`` of a sequence (for messages)."""
    return tuple(values.shape) if isinstance(values, torch.Tensor) else (len(values),)


def _start_range(centre: float, need: float, band: int) -> tuple[int, int, int]:
    """``(lowest, centred, highest)`` first bin of a band of ``band`` bins that covers the bins within
    ``need / 2`` of ``centre``; the centred start is always allowed (it is the choice for a lone filter)."""
    centred = round(centre) - band // 2
    lowest = math.ceil(centre + 0.5 * need + 0.5 - band)
    highest = math.floor(centre - 0.5 * need + 0.5)
    return min(lowest, centred), centred, max(highest, centred)


@functools.lru_cache(maxsize=64)
def group_filters(
    bands: tuple[int, ...],
    windows: tuple[tuple[int, int, int], ...],
    n_fft: int,
    group_bins: int | None = GROUP_BINS,
) -> tuple[Group, ...]:
    """Split the filters into runs of neighbours with equal band sizes, at most ``group_bins`` bins (or one
    filter; ``None``: no limit) each, whose allowed starts (``windows``, from :func:`_start_range`) admit
    equally spaced choices; cached (the layout changes only when a band or an allowed start does)."""
    groups: list[Group] = []
    first, offset = 0, 0
    while first < len(bands):
        band = bands[first]
        count, start, step = 1, windows[first][1], 0
        fits = len(bands) if group_bins is None else max(1, group_bins // band)
        while first + count < min(len(bands), first + fits) and bands[first + count] == band:
            spacing = _equal_spacing(windows[first : first + count + 1])
            if spacing is None:
                break
            count += 1
            start, step = spacing
        direct = all(_is_direct(start + i * step, band, n_fft) for i in range(count))
        groups.append(Group(first, count, band, start, step, offset, direct))
        first += count
        offset += count * band
    return tuple(groups)


def _equal_spacing(windows: tuple[tuple[int, int, int], ...]) -> tuple[int, int] | None:
    """``(start, step)`` with ``step >= 0`` and every ``start + i * step`` within ``windows[i]``'s range, the
    step nearest the least-squares slope of the centred starts and the start nearest their line; ``None`` if
    there is none.

    For a given step the starts allowed form the interval ``max(lo_i - i step) ... min(hi_j - j step)``,
    which is non-empty exactly when ``(lo_i - hi_j) / (i - j) <= step <= (hi_j - lo_i) / (j - i)`` for every
    pair ``i < j``: the pairs bound the feasible steps, so no step has to be tried (this runs on every plan
    whose layout is not cached, i.e. after most training steps)."""
    count = len(windows)
    lowest_step, highest_step = 0, math.inf
    for i, (low_i, _, high_i) in enumerate(windows):
        for j in range(i + 1, count):
            low_j, _, high_j = windows[j]
            lowest_step = max(lowest_step, math.ceil((low_j - high_i) / (j - i)))
            highest_step = min(highest_step, math.floor((high_j - low_i) / (j - i)))
    if lowest_step > highest_step:
        return None
    middle = (count - 1) / 2
    centred_mean = sum(centred for _, centred, _ in windows) / count
    covariance = sum((i - middle) * (centred - centred_mean) for i, (_, centred, _) in enumerate(windows))
    slope = covariance / sum((i - middle) ** 2 for i in range(count))
    step = min(max(round(slope), lowest_step), highest_step)
    low = max(lo - i * step for i, (lo, _, _) in enumerate(windows))
    high = min(hi - i * step for i, (_, _, hi) in enumerate(windows))
    return min(max(round(centred_mean - middle * step), low), high), step


@functools.lru_cache(maxsize=64)
def merge_sizes(bands: tuple[int, ...], ratio: float, group_bins: int | None) -> tuple[int, ...]:
    """Each run of neighbouring band sizes whose largest is at most ``ratio`` times its smallest (and whose
    filters fit ``group_bins`` bins at the largest size, or a lone filter; ``None``: no limit) raised to its
    largest, runs taken greedily from the first filter; cached."""
    merged: list[int] = []
    first = 0
    while first < len(bands):
        end, low, high = first + 1, bands[first], bands[first]
        while end < len(bands):
            new_low, new_high = min(low, bands[end]), max(high, bands[end])
            too_many = group_bins is not None and (end + 1 - first) * new_high > group_bins
            if new_high > ratio * new_low or too_many:
                break
            low, high, end = new_low, new_high, end + 1
        merged += [high] * (end - first)
        first = end
    return tuple(merged)


@functools.lru_cache(maxsize=4096)
def fast_size(n: int, limit: int) -> int:
    """The smallest ``2^a k >= n`` with ``k`` in :data:`FAST_ODD_FACTORS` (``limit`` if that is smaller)."""
    return min(next_size_with_odd_part(n, FAST_ODD_FACTORS), limit)


def _is_direct(start: int, band: int, n_fft: int) -> bool:
    """Whether bins ``start ... start + band - 1`` all lie in the half spectrum ``0 ... n_fft // 2``."""
    return start >= 0 and start + band <= n_fft // 2 + 1


@functools.lru_cache(maxsize=256)
def band_runs(start: int, band: int, n_fft: int) -> tuple[tuple[int, int, int, bool], ...]:
    """Where a band's bins come from in the half spectrum of a real signal: ``(lo, hi, source, mirrored)``
    runs, band positions ``lo ... hi - 1`` holding half-spectrum bins ``source, source + 1, ...`` or, for
    bins below 0 Hz or above ``n_fft // 2``, the conjugates of ``source, source - 1, ...``."""
    top = n_fft // 2
    runs = []
    j = 0
    while j < band:
        b = (start + j) % n_fft
        if b <= top:
            n = min(band - j, top - b + 1)
            runs.append((j, j + n, b, False))
        else:  # bin b is the conjugate of bin n_fft - b
            n = min(band - j, n_fft - b)
            runs.append((j, j + n, n_fft - b, True))
        j += n
    return tuple(runs)


@tensor_cache(maxsize=16)
def band_layout(bands: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For bands of the given sizes flattened filter after filter: the filter of every band bin, the bin's
    position in its band (float64), and each band's size (int64); cached by the sizes alone, which change
    far less often than the bands' starts (those move with the centres, so a training step usually makes a
    new :class:`Plan`). Callers must not modify them."""
    sizes = np.asarray(bands, dtype=np.int64)
    index = np.repeat(np.arange(len(bands)), sizes)
    positions = np.arange(index.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return torch.from_numpy(index), torch.from_numpy(positions.astype(np.float64)), torch.from_numpy(sizes)
