"""Logarithmic compression of spectrograms: decibels, any log base, or none."""

from __future__ import annotations

import math

import torch


def amplitude_to_db(
    spectrogram: torch.Tensor,
    *,
    multiplier: float,
    amin: float,
    ref: float | str,
    top_db: float | None,
    log_base: float,
) -> torch.Tensor:
    """``multiplier * log_b(max(x, amin) / max(ref, amin))``, floored at ``max - top_db``.

    With ``log_base=10`` and ``multiplier=10`` (power) or ``20`` (magnitude) this is librosa's
    ``power_to_db`` / ``amplitude_to_db``. ``ref="max"`` uses each spectrogram's own maximum (librosa's
    ``ref=np.max``). ``max`` and ``top_db`` are taken per spectrogram over the last two dimensions
    (frequency and time), so every example in a batch is treated alone.

    Args:
        spectrogram: non-negative real tensor ``(..., freq, time)``.
        multiplier: factor in front of the logarithm.
        amin: floor applied before the logarithm (keeps silence finite, gradients included).
        ref: positive reference value, or ``"max"``.
        top_db: dynamic range kept below the maximum, or ``None``.
        log_base: base of the logarithm (> 0, != 1).

    Returns:
        Tensor of the input's shape and dtype. float16 and bfloat16 inputs are computed in float32 (the
        default ``amin``, 1e-10, is below float16's smallest value, so silence would give ``-inf``).

    Raises:
        ValueError: for a ``log_base`` that is not a positive number other than 1, or a non-positive
            ``amin``.
    """
    if not (0 < log_base < math.inf and log_base != 1):  # also for a symbolic float (compile, dynamic=True)
        raise ValueError(f"log_base must be a finite positive number other than 1, got {log_base!r}")
    if not amin > 0:
        raise ValueError(f"amin must be a positive number, got {amin!r}")
    if spectrogram.dtype in (torch.float16, torch.bfloat16):
        wide = amplitude_to_db(
            spectrogram.float(), multiplier=multiplier, amin=amin, ref=ref, top_db=top_db, log_base=log_base
        )
        return wide.to(spectrogram.dtype)
    reduce_dims = tuple(range(-min(2, spectrogram.ndim), 0)) if spectrogram.ndim else ()
    scale = multiplier / math.log(log_base)
    compressed = torch.log(spectrogram.clamp(min=amin)) * scale
    if any(spectrogram.shape[dim] == 0 for dim in reduce_dims):  # no frames (or bands): no maximum
        return compressed if ref == "max" else compressed - math.log(max(float(ref), amin)) * scale
    if ref == "max":
        reference = spectrogram.amax(dim=reduce_dims, keepdim=True).clamp(min=amin)
        compressed = compressed - torch.log(reference) * scale
    else:
        compressed = compressed - math.log(max(float(ref), amin)) * scale
    if top_db is not None:
        floor = compressed.amax(dim=reduce_dims, keepdim=True) - top_db
        compressed = torch.maximum(compressed, floor)
    return compressed
