"""SpeechBrain's LEAF (``speechbrain.lobes.features.Leaf``) as a peer for ``bench_leaf.py``, when installed.

SpeechBrain is the most used PyTorch port of LEAF: complex Gabor filters applied by a stride-1 convolution
with ``window_len`` taps, squared modulus, Gaussian pooling by a strided convolution, PCEN; every part
learnable. Install it with ``make bench-peers`` (SpeechBrain without its torch / torchaudio requirements,
which would replace the installed torch, plus the two packages its import needs).

SpeechBrain imports torchaudio when it loads. Where torchaudio cannot load (the CPU torch build these
benchmarks run with has no matching torchaudio), :func:`load_leaf_class` registers a stand-in ``torchaudio``
module with the one function SpeechBrain's Leaf calls, ``torchaudio.functional.melscale_fbanks`` (HTK mel
scale, no norm: the triangles of ``librosa.filters.mel(htk=True, norm=None)``). It is used only to
initialise the Gabor filters from mel filters; everything timed is SpeechBrain's own code.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
import types

import librosa
import torch
from torch import nn

STAND_IN_NAME = "adaspec benchmark stand-in for torchaudio"


@functools.cache
def load_leaf_class() -> tuple[type[nn.Module] | None, str]:
    """SpeechBrain's ``Leaf`` class and a note on how it was loaded, or ``(None, why not)``; loaded once."""
    if importlib.util.find_spec("speechbrain") is None:
        return None, "not timed: SpeechBrain is not installed (`make bench-peers` installs it)"
    try:
        importlib.import_module("torchaudio")
    except Exception:  # missing, or built for another torch (then it raises OSError or RuntimeError)
        _register_torchaudio_stand_in()
    os.environ.setdefault("SB_LOG_LEVEL", "ERROR")  # SpeechBrain's warnings about torchaudio's version
    try:
        features = importlib.import_module("speechbrain.lobes.features")
    except ImportError as error:
        return None, f"not timed: SpeechBrain failed to import ({error})"
    version = getattr(sys.modules["speechbrain"], "__version__", "(version unknown)")
    if getattr(sys.modules["torchaudio"], "__doc__", None) == STAND_IN_NAME:
        return features.Leaf, f"SpeechBrain {version}; torchaudio's melscale_fbanks stood in for (its init)"
    return features.Leaf, f"SpeechBrain {version} with torchaudio"


def speechbrain_leaf(n_filters: int, sample_rate: int, window_ms: float, hop_ms: float) -> nn.Module:
    """SpeechBrain's Leaf, ``(batch, time) -> (batch, n_filters, frames)``, every part learnable.

    Raises:
        RuntimeError: SpeechBrain cannot be loaded (the reason is in the message).
    """
    leaf_class, note = load_leaf_class()
    if leaf_class is None:
        raise RuntimeError(note)
    return leaf_class(
        out_channels=n_filters,
        window_len=window_ms,
        window_stride=hop_ms,
        sample_rate=sample_rate,
        in_channels=1,
        skip_transpose=True,  # (batch, channels, frames), as adaspec's LEAF
    )


def melscale_fbanks(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: str | None = None,
    mel_scale: str = "htk",
) -> torch.Tensor:
    """torchaudio's ``melscale_fbanks`` ``(n_freqs, n_mels)`` for the HTK scale without norm (what
    SpeechBrain's Gabor initialisation asks for), from ``librosa.filters.mel``."""
    if norm is not None or mel_scale != "htk":
        raise ValueError(f"the stand-in gives only norm=None, mel_scale='htk', got {norm!r}, {mel_scale!r}")
    basis = librosa.filters.mel(
        sr=sample_rate, n_fft=2 * (n_freqs - 1), n_mels=n_mels, fmin=f_min, fmax=f_max, htk=True, norm=None
    )
    return torch.from_numpy(basis.T.copy()).to(torch.float32)


def _register_torchaudio_stand_in() -> None:
    stand_in = types.ModuleType("torchaudio", STAND_IN_NAME)
    stand_in.functional = types.SimpleNamespace(melscale_fbanks=melscale_fbanks)
    sys.modules["torchaudio"] = stand_in
