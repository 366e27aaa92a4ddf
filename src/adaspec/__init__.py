"""adaspec: differentiable, learnable time-frequency front-ends for PyTorch.

The front-ends are imported on first use (``adaspec.STFT``, ``from adaspec import STFT``), so that the
``adaspec`` command starts, prints its help and answers Ctrl-C before it has loaded torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
#: The names ``adaspec`` exports from :mod:`adaspec.frontends`.
_FRONTEND_NAMES = frozenset(__all__) - {"__version__"}
#: Sub-packages reachable as attributes after ``import adaspec`` (``adaspec.frontends``), as before.
_SUBMODULES = (
    "config",
    "data",
    "evaluation",
    "frontends",
    "kernels",
    "models",
    "ops",
    "plots",
    "studies",
    "training",
)

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """The front-ends and sub-packages, imported when first asked for (PEP 562)."""
    if name in _FRONTEND_NAMES:
        value = getattr(importlib.import_module(".frontends", __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FRONTEND_NAMES, *_SUBMODULES})
