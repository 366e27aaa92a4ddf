"""The input check shared by the modules that take spectrograms (SincGram, TFAttention, SpectrogramNorm,
AmplitudeToDB, PCEN): a real floating-point tensor of at least two dimensions; and the rule for their
precision-sensitive products under ``torch.autocast``."""

from __future__ import annotations

import contextlib

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


def _has_autocast(device_type: str) -> bool:
    """Whether torch has autocast for ``device_type`` (not for ``"meta"``, where asking raises)."""
    available = getattr(torch.amp, "is_autocast_available", None)  # torch >= 2.4
    return device_type in ("cpu", "cuda") if available is None else bool(available(device_type))


def autocast_off(tensor: torch.Tensor) -> contextlib.AbstractContextManager:
    """A context with ``torch.autocast`` off for ``tensor``'s device (use with
    :func:`promoted_under_autocast`)."""
    if not _has_autocast(tensor.device.type):  # e.g. meta tensors: nothing to turn off
        return contextlib.nullcontext()
    return torch.autocast(tensor.device.type, enabled=False)


def promoted_under_autocast(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` promoted to at least float32 inside an enabled autocast region, else unchanged.

    The precision-sensitive products of the front-ends (filterbanks, DCT, z-score statistics, attention
    gates) compute on this with autocast off, so under autocast they return float32, as autocast's own
    precision-sensitive operations (``log_softmax``, ``layer_norm``) do; outside autocast the input's
    dtype is kept.

    Args:
        tensor: a real floating-point tensor.

    Returns:
        ``tensor``, or its float32 copy when autocast is enabled for its device and it is half precision.
    """
    device = tensor.device.type
    if _has_autocast(device) and torch.is_autocast_enabled(device):
        return tensor.to(torch.promote_types(tensor.dtype, torch.float32))
    return tensor
