"""adaspec: differentiable, learnable time-frequency front-ends for PyTorch."""

from .frontends import (
    CQT,
    CWT,
    LEAF,
    MFCC,
    PCEN,
    STFT,
    VQT,
    AmplitudeToDB,
    DEGram,
    MelSpectrogram,
    SincGram,
    SpectrogramNorm,
    TFAttention,
    available_frontends,
    build_frontend,
    register_frontend,
)

__version__ = "0.1.0"

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
    "__version__",
    "available_frontends",
    "build_frontend",
    "register_frontend",
]
