"""Front-end modules: kernels at construction, an op in forward, ``learn_*`` flags as properties."""

from .db import AmplitudeToDB
from .mel import MelSpectrogram
from .mfcc import MFCC
from .registry import available_frontends, build_frontend, frontend_class, register_frontend
from .stft import STFT

__all__ = [
    "MFCC",
    "STFT",
    "AmplitudeToDB",
    "MelSpectrogram",
    "available_frontends",
    "build_frontend",
    "frontend_class",
    "register_frontend",
]
