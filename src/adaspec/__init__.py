"""adaspec: differentiable, learnable time-frequency front-ends for PyTorch."""

from .frontends import (
    MFCC,
    STFT,
    AmplitudeToDB,
    MelSpectrogram,
    available_frontends,
    build_frontend,
    register_frontend,
)

__version__ = "0.1.0"

__all__ = [
    "MFCC",
    "STFT",
    "AmplitudeToDB",
    "MelSpectrogram",
    "__version__",
    "available_frontends",
    "build_frontend",
    "register_frontend",
]
