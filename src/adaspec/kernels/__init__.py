"""Pure functions that build filter kernels as tensors (float64 inside, any dtype out). No state."""

from .butterworth import BUTTERWORTH_INITS, butterworth_centres, butterworth_filterbank
from .dct import dct_matrix
from .fourier import FREQ_SCALES, dft_kernels, fourier_frequencies
from .gabor import (
    SQRT_2LN2,
    gabor_frequency_responses,
    gabor_fwhm_hz,
    gabor_impulse_responses,
    gabor_width_bounds,
    gaussian_lowpass,
    mel_gabor_parameters,
    pooling_width_bounds,
)
from .mel import MEL_NORMS, MEL_SCALES, hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz
from .windows import get_window, pad_center

__all__ = [
    "BUTTERWORTH_INITS",
    "FREQ_SCALES",
    "MEL_NORMS",
    "MEL_SCALES",
    "SQRT_2LN2",
    "butterworth_centres",
    "butterworth_filterbank",
    "dct_matrix",
    "dft_kernels",
    "fourier_frequencies",
    "gabor_frequency_responses",
    "gabor_fwhm_hz",
    "gabor_impulse_responses",
    "gabor_width_bounds",
    "gaussian_lowpass",
    "get_window",
    "hz_to_mel",
    "mel_filterbank",
    "mel_frequencies",
    "mel_gabor_parameters",
    "mel_to_hz",
    "pad_center",
    "pooling_width_bounds",
]
