"""Logarithmic compression of spectrograms as a module (decibels by default)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validation import check_choice, check_positive_number, is_finite_number
from ..ops import amplitude_to_db
from ._spectrogram import check_spectrogram, promoted_under_autocast
from .registry import register_frontend

STYPES = ("power", "magnitude")


@register_frontend("amplitude_to_db", takes_spectrogram=True)
class AmplitudeToDB(nn.Module):
    """Compress a power or magnitude spectrogram logarithmically.

    ``log_base=10`` (default) gives decibels: ``10 log10`` of power, ``20 log10`` of magnitude, the same as
    librosa's ``power_to_db`` / ``amplitude_to_db``. Any other base gives the plain logarithm
    ``log_b(max(x, amin) / ref)`` whatever ``stype``. ``log_base=None`` passes the input through unchanged
    (Ada-STFT's ``log_base=None``).

    Args:
        stype: ``"power"`` or ``"magnitude"`` (sets the decibel multiplier).
        top_db: keep at most this many output units below each spectrogram's maximum, or ``None``.
        amin: floor applied before the logarithm; silence stays finite, gradients included.
        ref: reference value mapped to 0, or ``"max"`` for each spectrogram's maximum.
        log_base: base of the logarithm, or ``None`` for no compression.
    """

    def __init__(
        self,
        stype: str = "power",
        top_db: float | None = None,
        amin: float = 1e-10,
        ref: float | str = 1.0,
        log_base: float | None = 10.0,
    ) -> None:
        super().__init__()
        self.stype = check_choice("stype", stype, STYPES)
        if top_db is not None and not (is_finite_number(top_db) and top_db >= 0):
            raise ValueError(f"top_db must be a finite number >= 0 or None, got {top_db!r}")
        self.amin = check_positive_number("amin", amin)
        if not (isinstance(ref, str) and ref == "max") and not (is_finite_number(ref) and ref > 0):
            raise ValueError(f"ref must be a finite positive number or 'max', got {ref!r}")
        valid_base = is_finite_number(log_base) and log_base > 0 and log_base != 1
        if log_base is not None and not valid_base:
            raise ValueError(
                f"log_base must be a finite positive number other than 1, or None; got {log_base!r}"
            )
        self.top_db = None if top_db is None else float(top_db)
        self.ref = "max" if isinstance(ref, str) else float(ref)
        self.log_base = None if log_base is None else float(log_base)

    @property
    def multiplier(self) -> float:
        """Factor in front of the logarithm: 10 or 20 for decibels, 1 for other bases."""
        if self.log_base != 10.0:
            return 1.0
        return 10.0 if self.stype == "power" else 20.0

    def forward(self, spectrogram: torch.Tensor) -> torch.Tensor:
        """Compress ``(..., freq, time)`` non-negative values; the shape is kept (float32 under
        ``torch.autocast``, a half-precision input promoted; the input's dtype outside it)."""
        check_spectrogram(spectrogram, min_ndim=0)
        spectrogram = promoted_under_autocast(spectrogram)
        if self.log_base is None:
            return spectrogram
        return amplitude_to_db(
            spectrogram,
            multiplier=self.multiplier,
            amin=self.amin,
            ref=self.ref,
            top_db=self.top_db,
            log_base=self.log_base,
        )

    def extra_repr(self) -> str:
        base = "none" if self.log_base is None else f"{self.log_base:g}"
        if self.log_base is not None and math.isclose(self.log_base, math.e):
            base = "e"
        return (
            f"stype={self.stype!r}, top_db={self.top_db}, amin={self.amin:g}, ref={self.ref!r}, "
            f"log_base={base}"
        )
