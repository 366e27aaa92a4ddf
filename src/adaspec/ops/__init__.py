"""Stateless operations that apply kernels: framing, FFT and dense transforms, output conversion,
compression."""

from .compression import amplitude_to_db
from .dense import dense_fourier, dense_transform
from .fourier import windowed_fft
from .framing import PAD_MODES, frame_count, frame_signal, normalize_pad_mode
from .spectrum import OUTPUTS, parts_output, safe_sqrt

__all__ = [
    "OUTPUTS",
    "PAD_MODES",
    "amplitude_to_db",
    "dense_fourier",
    "dense_transform",
    "frame_count",
    "frame_signal",
    "normalize_pad_mode",
    "parts_output",
    "safe_sqrt",
    "windowed_fft",
]
