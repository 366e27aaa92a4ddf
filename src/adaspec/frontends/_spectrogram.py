"""The input check shared by the modules that take spectrograms (SincGram, TFAttention, SpectrogramNorm,
AmplitudeToDB, PCEN): a real floating-point tensor of at least two dimensions."""

from __future__ import annotations

import torch


def check_spectrogram(spectrogram: torch.Tensor, name: str = "spectrogram", min_ndim: int = 2) -> None:
    """Refuse anything but a real floating-point ``(..., freq, frames)`` tensor (of at least ``min_ndim``
    dimensions; callers with their own shape rule pass 0).

    A complex spectrogram would otherwise be filtered or normalised as if its values were powers, and an
    integer one fails deep inside torch; take ``.abs()`` (or ``.abs() ** 2``) first.

    Raises:
        ValueError: naming ``name``, its dtype or its shape.
    """
    if not isinstance(spectrogram, torch.Tensor) or not spectrogram.is_floating_point():
        kind = spectrogram.dtype if isinstance(spectrogram, torch.Tensor) else type(spectrogram).__name__
        raise ValueError(
            f"{name} must be a real floating-point tensor (a magnitude or power spectrogram), got {kind}"
        )
    if spectrogram.ndim < min_ndim:
        raise ValueError(f"{name} must have shape (..., freq, frames), got {tuple(spectrogram.shape)}")
