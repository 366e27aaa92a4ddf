"""Fourier kernels: DFT rows at arbitrary frequencies and the frequency grids that pick them."""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import (
    check_choice,
    check_dtype,
    check_flag,
    check_frequency_range,
    check_positive_int,
    check_positive_number,
)

FREQ_SCALES = ("full", "linear", "log")


def fourier_frequencies(
    n_fft: int,
    sample_rate: float,
    *,
    freq_scale: str = "full",
    onesided: bool = True,
    n_bins: int | None = None,
    f_min: float = 0.0,
    f_max: float | None = None,
) -> np.ndarray:
    """Centre frequencies (Hz, float64) of the rows of a Fourier kernel.

    Args:
        n_fft: frame length in samples.
        sample_rate: sampling rate in Hz.
        freq_scale: ``"full"`` for the FFT bins (``n_fft // 2 + 1`` if ``onesided`` else ``n_fft``);
            ``"linear"`` for ``n_bins`` equally spaced frequencies from ``f_min`` to ``f_max`` inclusive;
            ``"log"`` for ``n_bins`` geometrically spaced ones (``f_min`` must then be > 0).
        onesided: ``True`` or ``False``; only used by ``"full"``.
        n_bins: number of bins for ``"linear"``/``"log"`` (default ``n_fft // 2 + 1``).
        f_min: lowest frequency for ``"linear"``/``"log"``.
        f_max: highest frequency for ``"linear"``/``"log"`` (default Nyquist).

    Returns:
        A float64 array of frequencies in Hz.
    """
    n_fft = check_positive_int("n_fft", n_fft)
    check_positive_number("sample_rate", sample_rate)
    check_choice("freq_scale", freq_scale, FREQ_SCALES)
    onesided = check_flag("onesided", onesided)
    if freq_scale == "full":
        count = n_fft // 2 + 1 if onesided else n_fft
        return np.arange(count, dtype=np.float64) * (sample_rate / n_fft)
    n_bins = check_positive_int("n_bins", n_fft // 2 + 1 if n_bins is None else n_bins)
    f_min, f_max = check_frequency_range(f_min, f_max, sample_rate)
    if freq_scale == "linear":
        return np.linspace(f_min, f_max, n_bins, dtype=np.float64)
    if f_min <= 0:
        raise ValueError(f"f_min must be > 0 Hz for freq_scale='log', got {f_min!r}")
    return np.geomspace(f_min, f_max, n_bins, dtype=np.float64)


def dft_kernels(
    n_fft: int, frequencies: np.ndarray, sample_rate: float, *, dtype: torch.dtype | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real and imaginary DFT rows ``cos(2 pi f n / sr)`` and ``-sin(2 pi f n / sr)``.

    Row ``k`` applied to a frame ``z`` gives ``sum_n z[n] exp(-2j pi f_k n / sr)``, the DFT of the frame at
    ``f_k``; for FFT-bin frequencies this equals ``torch.fft.rfft`` bin by bin.

    Args:
        n_fft: frame length (columns).
        frequencies: row frequencies in Hz.
        sample_rate: sampling rate in Hz.
        dtype: result dtype (built in float64).

    Returns:
        ``(real, imag)``, each of shape ``(len(frequencies), n_fft)``.
    """
    n_fft = check_positive_int("n_fft", n_fft)
    check_positive_number("sample_rate", sample_rate)
    dtype = check_dtype(dtype)
    n = np.arange(n_fft, dtype=np.float64)
    freqs = np.asarray(frequencies, dtype=np.float64)
    if np.allclose(freqs * n_fft / sample_rate, np.round(freqs * n_fft / sample_rate), rtol=0, atol=1e-9):
        # Integer bins: reduce k*n modulo n_fft first, so the phase stays exact for large k*n.
        bins = np.round(freqs * n_fft / sample_rate).astype(np.int64)
        phase = (2.0 * math.pi / n_fft) * np.mod(np.outer(bins, n.astype(np.int64)), n_fft)
    else:
        phase = (2.0 * math.pi / sample_rate) * np.outer(freqs, n)
    real = torch.from_numpy(np.cos(phase)).to(dtype)
    imag = torch.from_numpy(-np.sin(phase)).to(dtype)
    return real, imag
