"""Mel scales and triangular mel filterbanks (the same definitions as librosa.filters.mel)."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from .._validation import (
    check_choice,
    check_dtype,
    check_finite_number,
    check_frequency_range,
    check_non_negative_int,
    check_positive_int,
)

MEL_SCALES = ("htk", "slaney")
MEL_NORMS = (None, "slaney")

_SLANEY_F_SP = 200.0 / 3.0  # Hz per mel below the break
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_F_SP
_SLANEY_LOG_STEP = np.log(6.4) / 27.0


def hz_to_mel(frequencies: np.ndarray | float, mel_scale: str = "htk") -> np.ndarray:
    """Convert Hz to mels (``"htk"``: 2595 log10(1 + f/700); ``"slaney"``: linear below 1 kHz, log above)."""
    check_choice("mel_scale", mel_scale, MEL_SCALES)
    f = np.asarray(frequencies, dtype=np.float64)
    if mel_scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    linear = f / _SLANEY_F_SP
    above = f >= _SLANEY_BREAK_HZ
    safe = np.where(above, f, _SLANEY_BREAK_HZ)
    return np.where(above, _SLANEY_BREAK_MEL + np.log(safe / _SLANEY_BREAK_HZ) / _SLANEY_LOG_STEP, linear)


def mel_to_hz(mels: np.ndarray | float, mel_scale: str = "htk") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    check_choice("mel_scale", mel_scale, MEL_SCALES)
    m = np.asarray(mels, dtype=np.float64)
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    above = m >= _SLANEY_BREAK_MEL
    return np.where(
        above,
        _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * (m - _SLANEY_BREAK_MEL)),
        _SLANEY_F_SP * m,
    )


def mel_frequencies(n_mels: int, f_min: float, f_max: float, mel_scale: str = "htk") -> np.ndarray:
    """``n_mels`` frequencies (Hz) equally spaced on the mel scale from ``f_min`` to ``f_max`` inclusive.

    Raises:
        ValueError: naming ``n_mels`` when it is not an integer >= 0 (0 gives an empty array, as librosa),
            ``f_min`` / ``f_max`` when not finite numbers, ``mel_scale`` when unknown.
    """
    n_mels = check_non_negative_int("n_mels", n_mels)
    f_min = check_finite_number("f_min", f_min)
    f_max = check_finite_number("f_max", f_max)
    mels = np.linspace(hz_to_mel(f_min, mel_scale), hz_to_mel(f_max, mel_scale), n_mels)
    return mel_to_hz(mels, mel_scale)


def mel_filterbank(
    n_fft: int,
    sample_rate: float,
    n_mels: int = 128,
    *,
    f_min: float = 0.0,
    f_max: float | None = None,
    mel_scale: str = "htk",
    norm: str | None = None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Triangular mel filters over the ``n_fft // 2 + 1`` rfft bins.

    Args:
        n_fft: FFT size of the spectrogram the filters apply to.
        sample_rate: sampling rate in Hz.
        n_mels: number of filters.
        f_min: lowest band edge in Hz.
        f_max: highest band edge in Hz (default Nyquist).
        mel_scale: ``"htk"`` or ``"slaney"``.
        norm: ``None`` (peak 1) or ``"slaney"`` (each triangle divided by its width in Hz / 2, constant
            energy per band).
        dtype: real floating-point result dtype (built in float64).

    Returns:
        Filters of shape ``(n_mels, n_fft // 2 + 1)``.
    """
    dtype = check_dtype(dtype)
    n_fft = check_positive_int("n_fft", n_fft)
    n_mels = check_positive_int("n_mels", n_mels)
    check_choice("mel_scale", mel_scale, MEL_SCALES)
    check_choice("norm", norm, MEL_NORMS)
    f_min, f_max = check_frequency_range(f_min, f_max, sample_rate)
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    edges = mel_frequencies(n_mels + 2, f_min, f_max, mel_scale)
    widths = np.diff(edges)
    offsets = edges[:, None] - fft_freqs[None, :]
    rising = -offsets[:-2] / widths[:-1, None]
    falling = offsets[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    if np.any(weights.max(axis=1) <= 0):
        warnings.warn(
            f"some of the n_mels={n_mels} mel filters are empty; n_mels is too high for n_fft={n_fft}",
            UserWarning,
            stacklevel=2,
        )
    return torch.from_numpy(weights).to(dtype)
