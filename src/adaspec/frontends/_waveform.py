"""The input side shared by the waveform front-ends: checking ``(..., time)`` signals and running a
transform on them as ``(batch, time)`` rows in float32 or float64, whatever the input's precision (CPU FFTs
have no half-precision kernels, and spectra need the mantissa)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

from ..ops._batch import map_signals
from ._spectrogram import autocast_off


def check_waveform(waveform: torch.Tensor, min_length: int = 1, too_short: str = "") -> int:
    """Return the number of samples of ``(..., time)`` real floating-point signals.

    Args:
        waveform: the input.
        min_length: fewest samples allowed.
        too_short: the message for an input shorter than ``min_length`` (default: a generic one).

    Raises:
        ValueError: for a non-floating or complex tensor, a 0-d tensor or too few samples.
    """
    if not isinstance(waveform, torch.Tensor) or not waveform.is_floating_point():
        kind = waveform.dtype if isinstance(waveform, torch.Tensor) else type(waveform).__name__
        raise ValueError(f"waveform must be a real floating-point tensor (..., time), got {kind}")
    length = waveform.shape[-1] if waveform.ndim else 0
    if waveform.ndim == 0 or length < min_length:
        raise ValueError(
            too_short
            or f"waveform must have shape (..., time) with time >= {min_length}, got {tuple(waveform.shape)}"
        )
    return length


def over_signals(
    transform: Callable[[torch.Tensor], torch.Tensor], waveform: torch.Tensor, *, autocast: bool = False
) -> torch.Tensor:
    """``transform`` of checked ``(..., time)`` signals, as ``(batch, time)`` rows.

    The rows are float32, or float64 for float64 input. Empty batches work (see
    :func:`adaspec.ops._batch.map_signals`).

    Args:
        transform: maps ``(batch, time)`` rows to ``(batch, ...)`` results.
        waveform: ``(..., time)`` real floating-point tensor.
        autocast: leave an enclosing ``torch.autocast`` region in force inside ``transform`` (the STFT's
            dense product uses it); by default autocast is off inside.

    Returns:
        ``(..., *result)``: the leading axes restored.
    """
    leading = waveform.shape[:-1]
    dtype = torch.promote_types(waveform.dtype, torch.float32)
    with autocast_off(waveform) if not autocast else contextlib.nullcontext():  # not torch.autocast: meta
        rows = waveform.reshape(-1, waveform.shape[-1]).to(dtype)
        result = map_signals(transform, rows)
    return result.reshape(*leading, *result.shape[1:])
