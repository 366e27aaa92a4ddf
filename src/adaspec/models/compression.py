"""Compression between a front-end and a backbone: decibels, natural log, or none."""

from __future__ import annotations

import torch
from torch import nn

from .._validation import check_choice, check_flag
from ..ops import amplitude_to_db

COMPRESSIONS = ("db", "log", "none")
AMIN = 1e-10
LOG_OFFSET = 1e-6


class Compression(nn.Module):
    """Compress a spectrogram for a classifier; finite with finite gradients on silence.

    Complex input is turned into its magnitude (``abs``) first; real input must be a non-negative
    magnitude or power. ``"db"`` is ``10 * log10(max(x, 1e-10))`` for power (``power=True``) and
    ``20 * log10(max(x, 1e-10))`` for magnitude; ``"log"`` is ``log(x + 1e-6)``; ``"none"`` leaves the
    values as they are. No ``top_db`` floor is applied: clipping at ``max - top_db`` would give every
    clipped bin a zero gradient, and a learnable front-end should not sit on a dead gradient (a
    following batch norm takes care of the scale). Below the ``1e-10`` floor of ``"db"`` the gradient is
    zero too, which only concerns bins 100 dB (power) below 1. A float16 tensor cannot hold the
    ``1e6`` gradient of ``"log"`` at silence (it overflows to ``inf``); front-ends return float32
    spectrograms for half-precision input, so this only concerns ``Compression`` applied directly to
    float16 tensors.

    Args:
        kind: ``"db"``, ``"log"`` or ``"none"``.
        power: whether the input is a power (``|X|**2``) rather than a magnitude; used by ``"db"`` only.

    Raises:
        ValueError: for an unknown ``kind`` or a ``power`` that is not ``True`` or ``False``.
    """

    def __init__(self, kind: str = "db", power: bool = False) -> None:
        super().__init__()
        self.kind = check_choice("kind", kind, COMPRESSIONS)
        self.power = check_flag("power", power)

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Compress a real non-negative or a complex tensor of any shape; returns a real tensor."""
        if spectrogram.is_complex():
            spectrogram = spectrogram.abs()
        if self.kind == "db":
            multiplier = 10.0 if self.power else 20.0
            return amplitude_to_db(
                spectrogram, multiplier=multiplier, amin=AMIN, ref=1.0, top_db=None, log_base=10.0
            )
        if self.kind == "log":
            return torch.log(spectrogram + LOG_OFFSET)
        return spectrogram

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, power={self.power}"
