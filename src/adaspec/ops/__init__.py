"""Stateless operations that apply kernels: framing, FFT and dense transforms, output conversion,
compression."""

from .banded import banded_product, interleaved_weights
from .compression import amplitude_to_db
from .convolution import decimated_fft_convolution
from .dense import dense_fourier, dense_transform
from .fourier import windowed_fft
from .framing import PAD_MODES, frame_count, frame_signal, normalize_pad_mode
from .gabor import gabor_pooled_energy
from .multirate import decimate, decimated_length, octave_rates
from .pcen import INITIAL_STATES, exponential_smoothing, linear_recurrence, pcen, smoothing_coefficient
from .spectrum import OUTPUTS, parts_output, safe_sqrt

__all__ = [
    "INITIAL_STATES",
    "OUTPUTS",
    "PAD_MODES",
    "amplitude_to_db",
    "banded_product",
    "decimate",
    "decimated_fft_convolution",
    "decimated_length",
    "dense_fourier",
    "dense_transform",
    "exponential_smoothing",
    "frame_count",
    "frame_signal",
    "gabor_pooled_energy",
    "interleaved_weights",
    "linear_recurrence",
    "normalize_pad_mode",
    "octave_rates",
    "parts_output",
    "pcen",
    "safe_sqrt",
    "smoothing_coefficient",
    "windowed_fft",
]
