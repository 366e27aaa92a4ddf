"""Stateless operations that apply kernels: framing, FFT and dense transforms, output conversion,
compression."""

from .compression import amplitude_to_db
from .dense import dense_fourier, dense_transform
from .fourier import windowed_fft
from .framing import PAD_MODES, frame_count, frame_signal, normalize_pad_mode
from .spectrum import OUTPUTS, complex_power, safe_sqrt, spectrum_output

__all__ = [
    "OUTPUTS",
    "PAD_MODES",
    "amplitude_to_db",
    "complex_power",
    "dense_fourier",
    "dense_transform",
    "frame_count",
    "frame_signal",
    "normalize_pad_mode",
    "safe_sqrt",
    "spectrum_output",
    "windowed_fft",
]
