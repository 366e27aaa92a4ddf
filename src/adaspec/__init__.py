"""adaspec: differentiable, learnable time-frequency front-ends for PyTorch."""

from .frontends import (
    LEAF,
    MFCC,
    PCEN,
    STFT,
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
    "LEAF",
    "MFCC",
    "PCEN",
    "STFT",
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
