"""Constant-Q and variable-Q kernels: bin frequencies, filter lengths, windowed complex atoms and their
frequency-domain and time-domain forms (the conventions of librosa.cqt / librosa.vqt)."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_choice, check_positive_int, check_positive_number, is_finite_number
from .windows import WindowSpec, get_window

CQT_NORMS = (None, 1, 2, math.inf)
#: Glasberg and Moore's ERB line, ``24.7 Hz + 0.108 f``: ``gamma=None`` gives librosa.vqt's default.
_ERB_OFFSET_HZ, _ERB_SLOPE = 24.7, 0.108


def cqt_frequencies(n_bins: int, f_min: float, bins_per_octave: int = 12) -> np.ndarray:
    """Centre frequencies ``f_min * 2 ** (k / bins_per_octave)`` (Hz, float64) for ``k < n_bins``."""
    n_bins = check_positive_int("n_bins", n_bins)
    bins_per_octave = check_positive_int("bins_per_octave", bins_per_octave)
    f_min = check_positive_number("f_min", f_min, meaning=" (Hz)")
    return f_min * 2.0 ** (np.arange(n_bins, dtype=np.float64) / bins_per_octave)


def relative_bandwidth(bins_per_octave: int) -> float:
    """``alpha``, the bandwidth of a bin over its centre frequency for ``bins_per_octave`` equally tempered
    bins: ``(2 ** (2 / b) - 1) / (2 ** (2 / b) + 1)``. The quality factor is ``filter_scale / alpha``."""
    ratio = 2.0 ** (2.0 / check_positive_int("bins_per_octave", bins_per_octave))
    return (ratio - 1.0) / (ratio + 1.0)


def resolve_gamma(gamma: float | None, bins_per_octave: int) -> float:
    """The bandwidth offset in Hz: ``gamma`` itself (0 is the CQT), or for ``None`` the ERB-based value of
    librosa.vqt, ``alpha * 24.7 / 0.108``.

    Raises:
        ValueError: naming ``gamma`` when it is negative or not a number.
    """
    if gamma is None:
        return relative_bandwidth(bins_per_octave) * _ERB_OFFSET_HZ / _ERB_SLOPE
    if not is_finite_number(gamma) or not gamma >= 0:
        raise ValueError(f"gamma must be a number >= 0 Hz (0 = constant-Q) or None (ERB), got {gamma!r}")
    return float(gamma)


#: librosa's ``WINDOW_BANDWIDTHS``: for these names ``librosa.filters.window_bandwidth`` returns the table's
#: value, not its formula (1e-4 to 2e-3 apart, flattop's 2.78 against 3.77). Its ``filter_cutoff``, hence its
#: Nyquist check and octave plan, uses them: with the formula a flattop CQT refused bins librosa takes, and
#: decimated where librosa does not (2e-2 of max|C| apart).
LIBROSA_WINDOW_BANDWIDTHS = {
    "bart": 1.3334961334912805,
    "barthann": 1.4560255965133932,
    "bartlett": 1.3334961334912805,
    "bkh": 2.0045975283585014,
    "black": 1.7269681554262326,
    "blackharr": 2.0045975283585014,
    "blackman": 1.7269681554262326,
    "blackmanharris": 2.0045975283585014,
    "blk": 1.7269681554262326,
    "bman": 1.7859588613860062,
    "bmn": 1.7859588613860062,
    "bohman": 1.7859588613860062,
    "box": 1.0,
    "boxcar": 1.0,
    "brt": 1.3334961334912805,
    "brthan": 1.4560255965133932,
    "bth": 1.4560255965133932,
    "cosine": 1.2337005350199792,
    "flat": 2.7762255046484143,
    "flattop": 2.7762255046484143,
    "flt": 2.7762255046484143,
    "halfcosine": 1.2337005350199792,
    "ham": 1.3629455320350348,
    "hamm": 1.3629455320350348,
    "hamming": 1.3629455320350348,
    "han": 1.50018310546875,
    "hann": 1.50018310546875,
    "nut": 1.9763500280946082,
    "nutl": 1.9763500280946082,
    "nuttall": 1.9763500280946082,
    "ones": 1.0,
    "par": 1.917460317460319,
    "parz": 1.917460317460319,
    "parzen": 1.917460317460319,
    "rect": 1.0,
    "rectangular": 1.0,
    "tri": 1.333170652355585,
    "triang": 1.333170652355585,
    "triangle": 1.333170652355585,
}


def window_bandwidth(window: WindowSpec, n: int = 1000) -> float:
    """Equivalent noise bandwidth of ``window`` in bins as librosa takes it: its table's value for the names
    in :data:`LIBROSA_WINDOW_BANDWIDTHS` (1.50018 for ``"hann"``), else ``n * sum(w**2) / sum(w)**2``."""
    if isinstance(window, str) and window in LIBROSA_WINDOW_BANDWIDTHS:
        return LIBROSA_WINDOW_BANDWIDTHS[window]
    values = get_window(window, n, dtype=torch.float64).numpy()
    return float(n * np.sum(values**2) / np.sum(values) ** 2)


def cqt_lengths(
    frequencies: np.ndarray,
    sample_rate: float,
    *,
    bins_per_octave: int = 12,
    filter_scale: float = 1.0,
    gamma: float = 0.0,
    window: WindowSpec = "hann",
) -> tuple[np.ndarray, np.ndarray]:
    """Filter lengths in samples and the highest frequency each filter reaches.

    A bin at ``f`` has quality factor ``Q = filter_scale / alpha`` and length ``Q * sample_rate /
    (f + gamma / alpha)``; its pass band reaches ``f * (1 + bw / (2 Q)) + gamma / 2`` where ``bw`` is the
    window's equivalent noise bandwidth (the largest of these is librosa's ``filter_cutoff``).

    Args:
        frequencies: centre frequencies in Hz (ascending).
        sample_rate: sampling rate in Hz.
        bins_per_octave: sets ``alpha`` (see :func:`relative_bandwidth`).
        filter_scale: ``Q`` multiplier (> 0); larger values give longer filters.
        gamma: bandwidth offset in Hz (already resolved, see :func:`resolve_gamma`).
        window: window of the atoms.

    Returns:
        ``(lengths, reach)``: float64 lengths (fractional) and upper pass-band edges in Hz, per bin.
    """
    filter_scale = check_positive_number("filter_scale", filter_scale)
    freqs = np.asarray(frequencies, dtype=np.float64)
    alpha = relative_bandwidth(bins_per_octave)
    quality = float(filter_scale) / alpha
    lengths = quality * sample_rate / (freqs + gamma / alpha)
    reach = freqs * (1.0 + 0.5 * window_bandwidth(window) / quality) + 0.5 * gamma
    return lengths, reach


def cqt_atoms(
    frequencies: np.ndarray,
    lengths: np.ndarray,
    sample_rate: float,
    n_fft: int,
    *,
    window: WindowSpec = "hann",
    norm: float | None = 1,
) -> np.ndarray:
    """Windowed complex exponentials ``w[n] exp(2i pi f n / sample_rate)``, centred in ``n_fft`` samples.

    Atom ``k`` covers positions ``n = floor(-L/2) ... floor(L/2) - 1`` around its centre (``L`` its length),
    carries a periodic window of as many samples, is divided by its ``norm``-norm (``None``: no
    normalisation) and is zero-padded symmetrically to ``n_fft`` samples (the extra zero on the right).

    Returns:
        ``(len(frequencies), n_fft)`` complex128 array.
    """
    check_choice("norm", norm, CQT_NORMS)
    atoms = np.zeros((len(frequencies), n_fft), dtype=np.complex128)
    for row, (freq, length) in enumerate(zip(frequencies, lengths, strict=True)):
        first, stop = math.floor(-length / 2), math.floor(length / 2)
        size = stop - first
        if size > n_fft:
            raise ValueError(f"an atom of {size} samples does not fit in n_fft={n_fft}")
        positions = np.arange(first, stop, dtype=np.float64)
        atom = np.exp(2j * np.pi * freq / sample_rate * positions)
        atom *= get_window(window, size, dtype=torch.float64).numpy()
        if norm is not None:
            atom /= np.linalg.norm(atom, ord=norm)
        left = (n_fft - size) // 2
        atoms[row, left : left + size] = atom
    return atoms


def cqt_spectral_kernels(atoms: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Frequency-domain kernels: ``gains / n_fft`` times the FFT of every atom, bins ``0 ... n_fft // 2``.

    Row ``k`` times the rfft of a frame (summed over bins) is bin ``k`` of the transform of that frame.

    Returns:
        ``(n_atoms, n_fft // 2 + 1)`` complex128 array.
    """
    n_fft = atoms.shape[-1]
    spectra = np.fft.fft(atoms, axis=-1)[:, : n_fft // 2 + 1]
    return spectra * (np.asarray(gains, dtype=np.float64)[:, None] / n_fft)


def cqt_time_kernels(spectral: np.ndarray, n_fft: int) -> np.ndarray:
    """The time-domain kernels equal to frequency-domain ones on real frames of ``n_fft`` samples:
    ``t[n] = sum_{k <= n_fft / 2} K[k] exp(-2i pi k n / n_fft)``, so ``sum_n frame[n] t[n]`` equals
    ``sum_k K[k] rfft(frame)[k]``.

    Returns:
        ``(n_kernels, n_fft)`` complex128 array.
    """
    return np.fft.fft(spectral, n=n_fft, axis=-1)


def kernel_support(spectral: np.ndarray, sparsity: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the smallest range of bins ``[low, high)`` holding every entry that survives dropping the
    smallest magnitudes whose sum is at most ``sparsity`` times the row's L1 norm (librosa's quantile).

    Returns:
        ``(low, high)`` int64 arrays.
    """
    magnitudes = np.abs(spectral)
    order = np.argsort(magnitudes, axis=-1, kind="stable")
    sorted_mags = np.take_along_axis(magnitudes, order, axis=-1)
    dropped = np.cumsum(sorted_mags, axis=-1) <= sparsity * sorted_mags.sum(axis=-1, keepdims=True)
    kept = np.ones_like(magnitudes, dtype=bool)
    np.put_along_axis(kept, order, ~dropped, axis=-1)
    columns = np.arange(magnitudes.shape[-1])
    low = np.where(kept, columns, magnitudes.shape[-1]).min(axis=-1)
    high = np.where(kept, columns, -1).max(axis=-1) + 1
    return low.astype(np.int64), high.astype(np.int64)


def next_power_of_two(value: float) -> int:
    """The smallest power of two >= ``value`` (at least 1)."""
    return 1 << max(0, math.ceil(math.log2(max(float(value), 1.0))))
