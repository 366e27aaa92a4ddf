"""Front-end modules: kernels at construction, an op in forward, ``learn_*`` flags as properties."""

from .attention import TFAttention
from .cqt import CQT, VQT
from .cwt import CWT
from .db import AmplitudeToDB
from .degram import DEGram
from .leaf import LEAF
from .mel import MelSpectrogram
from .mfcc import MFCC
from .normalization import SpectrogramNorm
from .pcen import PCEN
from .registry import available_frontends, build_frontend, frontend_class, register_frontend
from .sincgram import SincGram
from .stft import STFT

__all__ = [
    "CQT",
    "CWT",
    "LEAF",
    "MFCC",
    "PCEN",
    "STFT",
    "VQT",
    "AmplitudeToDB",
    "DEGram",
    "MelSpectrogram",
    "SincGram",
    "SpectrogramNorm",
    "TFAttention",
    "available_frontends",
    "build_frontend",
    "frontend_class",
    "register_frontend",
]
