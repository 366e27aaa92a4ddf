"""Mel-frequency cepstral coefficients: orthonormal DCT-II over a log-mel spectrogram."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .._validation import (
    check_choice,
    check_dtype,
    check_flag,
    check_kwargs,
    check_positive_int,
    is_finite_number,
)
from ..kernels import dct_matrix
from ._device import built_on_default_device, reset_to_initial
from ._flags import delegated_flag
from ._spectrogram import autocast_off, promoted_under_autocast
from .db import AmplitudeToDB
from .mel import MelSpectrogram
from .registry import register_frontend


@register_frontend("mfcc")
class MFCC(nn.Module):
    """MFCCs ``(..., time) -> (..., n_mfcc, frames)``, as ``librosa.feature.mfcc`` and torchaudio's MFCC.

    mel spectrogram -> decibels (``top_db`` floor) or ``log(mel + 1e-6)`` (``log_mels=True``) ->
    orthonormal DCT-II over the mel axis -> optional liftering (librosa's ``lifter``).

    Args:
        sample_rate: sampling rate in Hz.
        n_mfcc: coefficients kept (<= ``n_mels``).
        dct_type: only 2 (orthonormal DCT-II).
        norm: only ``"ortho"``.
        log_mels: use ``log(mel + 1e-6)`` instead of decibels.
        top_db: decibel floor below each spectrogram's maximum (librosa and torchaudio use 80).
        lifter: cepstral liftering coefficient (0 = none), as librosa.
        melkwargs: keyword arguments of the inner :class:`MelSpectrogram` (learn flags included).
        dtype: parameter dtype.
    """

    learn_window = delegated_flag("mel_spectrogram", "learn_window")
    learn_kernels = delegated_flag("mel_spectrogram", "learn_kernels")
    learn_filters = delegated_flag("mel_spectrogram", "learn_filters")

    @built_on_default_device
    def __init__(
        self,
        sample_rate: float = 16000.0,
        n_mfcc: int = 40,
        dct_type: int = 2,
        norm: str = "ortho",
        log_mels: bool = False,
        top_db: float | None = 80.0,
        lifter: float = 0.0,
        melkwargs: dict[str, Any] | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        check_choice("dct_type", dct_type, (2,))
        check_choice("norm", norm, ("ortho",))
        if not is_finite_number(lifter) or lifter < 0:
            raise ValueError(f"lifter must be a finite number >= 0 (0: no liftering), got {lifter!r}")
        melkwargs = check_kwargs("melkwargs", melkwargs)
        for reserved in ("sample_rate", "dtype"):
            if reserved in melkwargs:
                raise ValueError(f"melkwargs must not contain {reserved!r}: pass it to MFCC itself")
        if melkwargs.get("n_mels", 128) is None:
            raise ValueError("melkwargs['n_mels'] must be a positive integer for MFCC, got None")
        try:
            self.mel_spectrogram = MelSpectrogram(sample_rate=sample_rate, dtype=dtype, **melkwargs)
        except TypeError as err:  # an unknown keyword
            raise ValueError(f"melkwargs: {err}") from None
        n_mels = self.mel_spectrogram.n_mels
        self.n_mfcc = check_positive_int("n_mfcc", n_mfcc)
        self.log_mels = check_flag("log_mels", log_mels)
        self.to_db = AmplitudeToDB("power", top_db=top_db)
        dtype = check_dtype(dtype)
        self.register_buffer("dct", dct_matrix(n_mfcc, n_mels, dtype=dtype))
        weights = np.ones(n_mfcc)
        if lifter > 0:
            weights = 1.0 + (lifter / 2.0) * np.sin(np.pi * np.arange(1, n_mfcc + 1) / lifter)
        self.register_buffer("lifter_weights", torch.from_numpy(weights).to(dtype))
        self.lifter = float(lifter)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Transform ``(..., time)`` signals into ``(..., n_mfcc, frames)`` coefficients (float32 under
        ``torch.autocast``)."""
        mel = self.mel_spectrogram(waveform)
        log_mel = torch.log(mel + 1e-6) if self.log_mels else self.to_db(mel)
        log_mel = promoted_under_autocast(log_mel)
        with autocast_off(log_mel):
            coefficients = torch.matmul(self.dct.to(log_mel.dtype), log_mel)
        if self.lifter > 0:
            coefficients = coefficients * self.lifter_weights.to(log_mel.dtype)[:, None]
        return coefficients

    def reset_parameters(self) -> None:
        """Give the mel front-end, the DCT matrix and the lifter their initial values again (PyTorch's
        convention, e.g. for FSDP's initialisation of a model built on the meta device and materialised
        with ``to_empty``)."""
        reset_to_initial(self)

    def extra_repr(self) -> str:
        return f"n_mfcc={self.n_mfcc}, log_mels={self.log_mels}, lifter={self.lifter:g}"
