"""Pure functions that build filter kernels as tensors (float64 inside, any dtype out). No state."""

from .dct import dct_matrix
from .fourier import FREQ_SCALES, dft_kernels, fourier_frequencies
from .mel import MEL_NORMS, MEL_SCALES, hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz
from .windows import get_window, pad_center

__all__ = [
    "FREQ_SCALES",
    "MEL_NORMS",
    "MEL_SCALES",
    "dct_matrix",
    "dft_kernels",
    "fourier_frequencies",
    "get_window",
    "hz_to_mel",
    "mel_filterbank",
    "mel_frequencies",
    "mel_to_hz",
    "pad_center",
]
