"""Gabor atoms as in LEAF: mel-initialised centres and widths, complex impulse responses, their Gaussian
frequency responses, and Gaussian low-pass (pooling) windows.

A Gabor filter of centre ``mu`` (radians per sample) and width ``sigma`` (samples) has the impulse response
``h[t] = exp(i mu t) exp(-t^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)`` (LEAF's normalisation) and, untruncated,
the frequency response ``H(w) = exp(-sigma^2 (w - mu)^2 / 2)``: a Gaussian bump of peak 1 whose
amplitude full width at half maximum is ``2 sqrt(2 ln 2) / sigma`` radians per sample.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validation import check_dtype, check_frequency_range, check_positive_int
from ..ops._tracing import is_tracing
from .mel import hz_to_mel, mel_to_hz

#: sqrt(2 ln 2): the half-width at half maximum of a unit-variance Gaussian.
SQRT_2LN2 = math.sqrt(2.0 * math.log(2.0))


def gabor_width_bounds(window_length: int) -> tuple[float, float]:
    """LEAF's range for a Gabor width (samples) with filters of ``window_length`` taps:
    ``[4, window_length] * sqrt(2 ln 2) / pi`` (its ``GaborConstraint``)."""
    window_length = check_positive_int("window_length", window_length)
    return 4.0 * SQRT_2LN2 / math.pi, window_length * SQRT_2LN2 / math.pi


def pooling_width_bounds(window_length: int) -> tuple[float, float]:
    """LEAF's range for the Gaussian pooling width relative to ``(window_length - 1) / 2``:
    ``[2 / window_length, 0.5]``."""
    window_length = check_positive_int("window_length", window_length)
    return 2.0 / window_length, 0.5


def gabor_fwhm_hz(widths: torch.Tensor, sample_rate: float) -> torch.Tensor:
    """Full width at half maximum (Hz) of the amplitude response of Gabor filters of ``widths`` samples."""
    return SQRT_2LN2 * sample_rate / (math.pi * widths)


def mel_gabor_parameters(
    n_filters: int,
    sample_rate: float,
    f_min: float = 60.0,
    f_max: float | None = None,
    *,
    dtype: torch.dtype | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """LEAF's mel initialisation: centres and widths of ``n_filters`` Gabor filters.

    The centres are ``n_filters`` HTK-mel-spaced frequencies strictly between ``f_min`` and ``f_max``
    (the peaks of the triangular mel filterbank with those edges). Each width is chosen so that the
    Gabor amplitude response has the full width at half maximum of the square root of its mel triangle
    (LEAF's ``gabor_params_from_mels``); for triangles linear in mel of spacing ``d`` that is the band
    ``mel_to_hz(m +- 0.75 d)``, computed here in closed form instead of by counting FFT bins.

    Args:
        n_filters: number of filters.
        sample_rate: sampling rate in Hz.
        f_min: lowest mel band edge in Hz.
        f_max: highest mel band edge in Hz (default Nyquist).
        dtype: real floating-point result dtype (built in float64).

    Returns:
        ``(centers, widths)``: centres in radians per sample and widths in samples, each ``(n_filters,)``.
    """
    dtype = check_dtype(dtype)
    n_filters = check_positive_int("n_filters", n_filters)
    f_min, f_max = check_frequency_range(f_min, f_max, sample_rate)
    mels = np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_filters + 2)
    spacing = mels[1] - mels[0]
    centres_mel = mels[1:-1]
    fwhm = mel_to_hz(centres_mel + 0.75 * spacing) - mel_to_hz(centres_mel - 0.75 * spacing)
    centers = 2.0 * np.pi * mel_to_hz(centres_mel) / sample_rate
    widths = SQRT_2LN2 * sample_rate / (np.pi * fwhm)
    return torch.from_numpy(centers).to(dtype), torch.from_numpy(widths).to(dtype)


def _check_widths(widths: torch.Tensor) -> None:
    """Refuse widths that are not finite and positive (they give NaN), unless compiling or exporting (no
    values then); reading them waits for their device."""
    if not is_tracing() and not bool(torch.isfinite(widths).all() & (widths > 0).all()):
        raise ValueError(f"widths must be finite and positive, got {widths.detach().cpu().tolist()!r}")


def gabor_impulse_responses(centers: torch.Tensor, widths: torch.Tensor, length: int) -> torch.Tensor:
    """Complex Gabor impulse responses sampled at ``t = -(length // 2) ... (length - 1) // 2`` (LEAF).

    Args:
        centers: ``(n,)`` centres in radians per sample.
        widths: ``(n,)`` Gaussian widths (standard deviations) in samples.
        length: taps per filter.

    Returns:
        Complex ``(n, length)`` tensor (differentiable in ``centers`` and ``widths``).

    Raises:
        ValueError: for a bad ``length`` or widths that are not finite and positive.
    """
    length = check_positive_int("length", length)
    _check_widths(widths)
    t = torch.arange(-(length // 2), (length + 1) // 2, dtype=widths.dtype, device=widths.device)
    envelope = torch.exp(-0.5 * (t / widths[:, None]) ** 2) / (math.sqrt(2.0 * math.pi) * widths[:, None])
    phase = centers[:, None] * t
    return torch.complex(envelope * torch.cos(phase), envelope * torch.sin(phase))


def gabor_frequency_responses(
    centers: torch.Tensor, widths: torch.Tensor, frequencies: torch.Tensor
) -> torch.Tensor:
    """Frequency responses ``exp(-widths^2 (w - centers)^2 / 2)`` of untruncated Gabor filters.

    ``w - centers`` is wrapped to ``[-pi, pi)``, so any ``frequencies`` grid (e.g. all ``2 pi k / n``)
    works.

    Args:
        centers: ``(n,)`` centres in radians per sample.
        widths: ``(n,)`` widths in samples.
        frequencies: ``(m,)`` angular frequencies in radians per sample.

    Returns:
        Real ``(n, m)`` tensor, peak 1 at each centre.
    """
    offset = torch.remainder(frequencies[None, :] - centers[:, None] + math.pi, 2.0 * math.pi) - math.pi
    return torch.exp(-0.5 * (widths[:, None] * offset) ** 2)


def gaussian_lowpass(widths: torch.Tensor, length: int) -> torch.Tensor:
    """LEAF's Gaussian pooling windows ``exp(-((t - (length - 1) / 2) / widths)^2 / 2)`` (peak 1).

    LEAF's relative width ``sigma`` corresponds to ``widths = sigma * (length - 1) / 2``.

    Args:
        widths: ``(n,)`` standard deviations in samples.
        length: taps per window.

    Returns:
        Real ``(n, length)`` tensor (differentiable in ``widths``).

    Raises:
        ValueError: for a bad ``length`` or widths that are not finite and positive.
    """
    length = check_positive_int("length", length)
    _check_widths(widths)
    t = torch.arange(length, dtype=widths.dtype, device=widths.device) - 0.5 * (length - 1)
    return torch.exp(-0.5 * (t / widths[:, None]) ** 2)
