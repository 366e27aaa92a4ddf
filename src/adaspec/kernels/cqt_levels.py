"""Which constant-Q bins are computed at which sample rate (librosa's octave plan), and their kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cqt import cqt_atoms, cqt_spectral_kernels, cqt_time_kernels, next_power_of_two, raised_cosine_lowpass
from .windows import WindowSpec


@dataclass(frozen=True)
class OctaveLevel:
    """Bins ``start ... stop - 1`` computed at ``sample_rate / factor`` from frames of ``n_fft`` samples."""

    factor: int
    start: int
    stop: int
    n_fft: int


def plan_octave_levels(
    lengths: np.ndarray, bins_per_octave: int, hop_length: int, sample_rate: float, cutoff: float
) -> list[OctaveLevel]:
    """librosa's multirate plan, highest octave first.

    Octaves are counted down from the top bin. The top one is computed at ``sample_rate / 2**e``, the
    lowest rate at which its filters (reaching ``cutoff`` Hz) stay below half the Nyquist frequency, as
    long as enough factors of 2 remain in ``hop_length`` to halve the rate once per lower octave; each
    lower octave halves the rate again while the hop at that rate is even. Octaves at the same rate
    share a level.

    Args:
        lengths: filter lengths in samples at ``sample_rate``, one per bin (ascending frequency).
        bins_per_octave: bins per octave.
        hop_length: hop at ``sample_rate``.
        sample_rate: full sampling rate in Hz.
        cutoff: highest frequency any filter reaches, in Hz.
    """
    n_bins = len(lengths)
    n_octaves = math.ceil(n_bins / bins_per_octave)
    twos = (hop_length & -hop_length).bit_length() - 1  # factors of 2 in the hop
    by_bandwidth = max(0, math.ceil(math.log2(sample_rate / 2 / cutoff)) - 2)
    early = min(by_bandwidth, max(0, twos - n_octaves + 1))
    levels: list[OctaveLevel] = []
    for octave in range(n_octaves):
        stop = n_bins - octave * bins_per_octave
        start = max(0, stop - bins_per_octave)
        factor = 2 ** (early + min(octave, twos - early))
        if levels and levels[-1].factor == factor:
            stop = levels.pop().stop
        n_fft = next_power_of_two(np.max(lengths[start:stop]) / factor)
        levels.append(OctaveLevel(factor, start, stop, n_fft))
    return levels


def cqt_level_kernels(
    level: OctaveLevel,
    frequencies: np.ndarray,
    lengths: np.ndarray,
    sample_rate: float,
    *,
    window: WindowSpec = "hann",
    norm: float | None = 1,
    scale: bool = True,
) -> np.ndarray:
    """Frequency-domain kernels of one level at its own rate (``sample_rate / level.factor``).

    The atoms are built at that rate (as librosa does), and scaled so that every level gives the
    full-rate answer from a signal decimated without gain: ``sqrt(L)`` (``scale=True``) or ``L`` times
    the correlation with the L1-normalised atom, ``L`` the length at ``sample_rate``.

    Returns:
        ``(level.stop - level.start, level.n_fft // 2 + 1)`` complex128 array.
    """
    rows = slice(level.start, level.stop)
    atoms = cqt_atoms(
        frequencies[rows],
        lengths[rows] / level.factor,
        sample_rate / level.factor,
        level.n_fft,
        window=window,
        norm=norm,
    )
    gains = np.sqrt(lengths[rows]) if scale else lengths[rows]
    return cqt_spectral_kernels(atoms, gains)


def cqt_full_rate_time_kernels(
    level: OctaveLevel, spectral: np.ndarray, n_fft: int, pass_edge: float
) -> np.ndarray:
    """A level's kernels seen from the full rate, in the time domain: composed with the decimation that
    feeds the level (a low-pass flat to ``pass_edge`` of its Nyquist, then the rate change) and centred in
    full-rate frames of ``n_fft`` samples (``>= level.n_fft * level.factor``).

    ``sum_n frame[n] t[n]`` over a full-rate frame equals the level's product (``sum_k K[k] rfft(level
    frame)[k]``) on that frame decimated; ``t`` is zero outside the ``level.n_fft * level.factor`` samples
    the level frame covers. (Its spectrum on the ``n_fft`` grid is not one-sided, so no product with
    ``rfft(frame)`` alone equals it: :func:`two_sided_spectral_kernels` gives the weights that do.)

    Returns:
        ``(rows, n_fft)`` complex128 array.
    """
    bins = level.n_fft // 2 + 1
    if level.factor > 1:
        relative = torch.linspace(0.0, 1.0, bins, dtype=torch.float64)
        spectral = spectral * (raised_cosine_lowpass(relative, pass_edge).numpy() / level.factor)
    span = level.n_fft * level.factor  # full-rate samples covered by a level frame
    widened = np.zeros((len(spectral), span // 2 + 1), dtype=np.complex128)
    widened[:, :bins] = spectral
    times = np.zeros((len(spectral), n_fft), dtype=np.complex128)
    left = (n_fft - span) // 2
    times[:, left : left + span] = cqt_time_kernels(widened, span)
    return times


def two_sided_spectral_kernels(times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the real and imaginary parts of ``rfft(frame)`` that give ``sum_n frame[n] t[n]`` for
    real frames and any complex kernels ``t`` (``X = rfft(frame)``, ``S = ifft(t)``, ``n`` = frame length):
    ``sum_n frame[n] t[n] = sum_{k <= n/2} S[k] X[k] + S[n - k] conj(X[k])`` (the second sum over
    ``0 < k < n/2``) ``= sum_k P[k] Re X[k] + Q[k] Im X[k]``.

    Returns:
        ``P`` and ``Q``, each ``(rows, n // 2 + 1)`` complex128.
    """
    n = times.shape[-1]
    spectral = np.fft.ifft(times, axis=-1)
    positive = spectral[:, : n // 2 + 1]
    negative = np.zeros_like(positive)
    negative[:, 1 : (n + 1) // 2] = spectral[:, : n // 2 : -1]  # S[n - k] for 0 < k < n/2
    return positive + negative, 1j * (positive - negative)
