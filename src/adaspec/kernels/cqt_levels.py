"""Which constant-Q bins are computed at which sample rate (librosa's octave plan), and their kernels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .cqt import cqt_atoms, cqt_spectral_kernels, cqt_time_kernels, next_power_of_two
from .resampling import interpolated_gain
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


def cqt_level_time_kernels(
    level: OctaveLevel,
    frequencies: np.ndarray,
    lengths: np.ndarray,
    sample_rate: float,
    bins_per_octave: int,
    *,
    window: WindowSpec = "hann",
    norm: float | None = 1,
    scale: bool = True,
) -> np.ndarray:
    """Time-domain kernels of one level at its own rate (``sample_rate / level.factor``), centred in
    ``level.n_fft`` samples: ``sum_n frame[n] t[n]`` is a bin's value on a level frame.

    As librosa does, each octave of the level (octaves counted down from the top bin; a level holds
    several where they share a rate) has its atoms built at that rate in frames of its own power-of-two
    length, and only the non-negative frequencies of their spectra kept (the negative ones of windows
    that do not vanish at their ends, such as a boxcar, depend on that length). Every level gives the
    full-rate answer from a signal decimated without gain: the atoms are scaled by ``sqrt(L)``
    (``scale=True``) or ``L`` (the correlation with the L1-normalised atom), ``L`` the length at
    ``sample_rate``.

    Returns:
        ``(level.stop - level.start, level.n_fft)`` complex128 array.
    """
    kernels = np.zeros((level.stop - level.start, level.n_fft), dtype=np.complex128)
    for stop in range(level.stop, level.start, -bins_per_octave):
        rows = slice(max(level.start, stop - bins_per_octave), stop)
        rate_lengths = lengths[rows] / level.factor
        n_fft = next_power_of_two(np.max(rate_lengths))
        atoms = cqt_atoms(
            frequencies[rows], rate_lengths, sample_rate / level.factor, n_fft, window=window, norm=norm
        )
        gains = np.sqrt(lengths[rows]) if scale else lengths[rows]
        times = cqt_time_kernels(cqt_spectral_kernels(atoms, gains), n_fft)
        left = level.n_fft // 2 - n_fft // 2
        kernels[rows.start - level.start : rows.stop - level.start, left : left + n_fft] = times
    return kernels


#: Level-rate samples on each side of a level's frame over which :func:`composed_time_kernels` composes
#: with the decimation low-pass: soxr's 'HQ' filter keeps about 1e-6 of its L1 norm beyond 128 samples.
COMPOSE_MARGIN = 128


def composed_time_kernels(level: OctaveLevel, level_times: np.ndarray, response: np.ndarray) -> np.ndarray:
    """A level's kernels seen from the full rate, in the time domain: composed with the decimation that
    feeds the level (the last step's zero-phase low-pass, gains ``response`` from 0 to the level's Nyquist
    frequency, as :func:`~adaspec.kernels.soxr_hq_response`; the steps before it are flat there; then the
    rate change).

    ``sum_n x[n] t[n - c]`` over the full-rate signal equals the level's product (``sum_m
    level_times[m] frame[m]``, see :func:`cqt_level_time_kernels`) on the frame of the decimated signal
    centred on ``c``. Level sample ``m`` of that frame sits at full-rate offset ``(m - level.n_fft // 2)
    * factor``, and the low-pass spreads each over neighbouring samples, so ``t`` reaches beyond the
    ``level.n_fft * factor`` samples the level frame covers (a linear composition: cut to the frame and
    wrapped around, a short level frame missed librosa by up to 1e-1). It is computed over
    ``COMPOSE_MARGIN`` more level-rate samples on each side.

    Returns:
        ``(rows, size)`` complex128 array centred on ``size // 2``: ``size = level.n_fft`` for ``factor``
        1 (the level kernels themselves), else ``(level.n_fft + 2 * COMPOSE_MARGIN) * factor``.
    """
    if level.factor == 1:
        return level_times
    size = (level.n_fft + 2 * COMPOSE_MARGIN) * level.factor
    stuffed = np.zeros((len(level_times), size), dtype=np.complex128)
    positions = size // 2 + (np.arange(level.n_fft) - level.n_fft // 2) * level.factor
    stuffed[:, positions] = level_times
    # frequencies as fractions of the level's Nyquist: |frequency| * 2 * factor
    relative = torch.from_numpy(np.abs(np.fft.fftfreq(size)) * (2 * level.factor))
    lowpass = interpolated_gain(torch.tensor(response, dtype=torch.float64), relative).numpy()
    return np.fft.ifft(np.fft.fft(stuffed, axis=-1) * lowpass, axis=-1)


def kernel_half_width(times: np.ndarray, tolerance: float) -> int:
    """The smallest ``w`` such that every row of ``times`` (centred on ``size // 2``) keeps all but
    ``tolerance`` of its L1 norm within ``size // 2 - w ... size // 2 + w - 1``."""
    size = times.shape[-1]
    magnitudes = np.abs(times)
    totals = magnitudes.sum(axis=-1)
    centre = size // 2
    # L1 outside [centre - w, centre + w) for w = 0 .. centre, per row
    inside = np.zeros((len(times), centre + 1))
    left = np.cumsum(magnitudes[:, :centre][:, ::-1], axis=-1)  # centre-1, centre-2, ... taken one by one
    right = np.cumsum(magnitudes[:, centre:], axis=-1)
    inside[:, 1:] = left[:, :centre] + right[:, :centre]
    fits = (totals[:, None] - inside) <= tolerance * totals[:, None]
    return int(np.argmax(fits.all(axis=0)))


def centred_in(times: np.ndarray, size: int) -> np.ndarray:
    """Rows centred on ``len // 2`` cut or zero-padded to ``size`` samples centred on ``size // 2``."""
    length = times.shape[-1]
    out = np.zeros((len(times), size), dtype=times.dtype)
    shift = size // 2 - length // 2  # where sample 0 of ``times`` lands
    first, last = max(0, -shift), min(length, size - shift)
    out[:, first + shift : last + shift] = times[:, first:last]
    return out


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
