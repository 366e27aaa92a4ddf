"""Helpers shared by the tests (small learnable configurations, signals, running a module in numpy,
tolerance checks, counting the graphs torch.compile captures, subprocesses without some packages)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

import adaspec

#: Small, fully learnable configurations of each registered front-end (16 kHz input).
LEARNABLE_CONFIGS = {
    "stft": {"n_fft": 256, "hop_length": 64, "learn_window": True, "learn_kernels": True},
    "mel": {"sample_rate": 16000, "n_fft": 256, "hop_length": 64, "n_mels": 24, "learn_filters": True},
    "mfcc": {"sample_rate": 16000, "n_mfcc": 13, "melkwargs": {"n_fft": 256, "hop_length": 64, "n_mels": 24}},
    "amplitude_to_db": {"stype": "power", "top_db": 80.0},
    "cqt": {"sample_rate": 16000, "hop_length": 128, "f_min": 100.0, "n_bins": 24, "learn_kernels": True},
    "vqt": {"sample_rate": 16000, "hop_length": 128, "f_min": 100.0, "n_bins": 24, "learn_kernels": True},
    "cwt": {"sample_rate": 16000, "hop_length": 128, "f_min": 100.0, "n_bins": 24, "learn_wavelets": True},
    "degram": {"sample_rate": 16000, "n_fft": 256, "hop_length": 64, "n_filters": 24, "learn_filters": True},
    "leaf": {"sample_rate": 16000, "n_filters": 16},
}
#: Learnable front-ends outside the registry, by factory: PCEN takes ``(..., 8, frames)`` spectrograms.
LEARNABLE_EXTRAS = {"pcen": lambda: adaspec.PCEN(n_channels=8)}
#: Every name :func:`build_learnable` knows.
LEARNABLE_NAMES = sorted([*LEARNABLE_CONFIGS, *LEARNABLE_EXTRAS])


def build_learnable(name: str) -> torch.nn.Module:
    """The small learnable front-end ``name`` (a registered one, or one of :data:`LEARNABLE_EXTRAS`)."""
    if name in LEARNABLE_EXTRAS:
        return LEARNABLE_EXTRAS[name]()
    return adaspec.build_frontend(name, **LEARNABLE_CONFIGS[name])


def learnable_input(name: str, signal_factory, n_samples: int, batch: int = 2) -> torch.Tensor:
    """Test input for :func:`build_learnable` ``name``: ``batch`` signals of ``n_samples`` at 16 kHz,
    non-negative for ``amplitude_to_db`` (a power spectrogram), for ``pcen`` also shaped as a spectrogram of
    8 channels and ``n_samples // 64`` frames."""
    if name == "pcen":
        return signal_factory((batch, 8, n_samples // 64), 16000).abs()
    x = signal_factory((batch, n_samples), 16000)
    return x.abs() if name == "amplitude_to_db" else x


def make_signal(seconds: float = 0.5, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Noise + a 440 Hz tone + a chirp (float64): energy in every mel band and some dynamic range."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (
        0.05 * rng.standard_normal(t.size)
        + 0.5 * np.sin(2 * np.pi * 440.0 * t)
        + 0.3 * np.sin(2 * np.pi * (200.0 + 6000.0 * t) * t)
    )


def ours(module: torch.nn.Module, y: np.ndarray, dtype: torch.dtype) -> np.ndarray:
    """Run ``module`` on ``y`` cast to ``dtype``; return float64 numpy."""
    with torch.no_grad():
        return module(torch.from_numpy(y).to(dtype)).double().numpy()


def assert_close_to_max(actual: np.ndarray, expected: np.ndarray, rtol: float) -> None:
    """``rtol`` relative error with an absolute floor of ``rtol * max|expected|``.

    The floor is needed because low bands come from the same FFT whose rounding error scales with the
    whole spectrum's energy, and a DCT mixes all bands, so small values carry the error of the largest.
    """
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


def rtol_for(dtype: torch.dtype) -> float:
    """The issue's tolerance: 1e-4 in float32, 1e-10 in float64."""
    return 1e-4 if dtype == torch.float32 else 1e-10


def counting_backend() -> tuple[object, list]:
    """A ``torch.compile`` backend that runs each captured graph as it is, and the list it appends every
    graph to (its length counts compilations, recompilations included)."""
    graphs: list = []

    def backend(graph_module: torch.fx.GraphModule, example_inputs: list) -> object:
        graphs.append(graph_module)
        return graph_module.forward

    return backend, graphs


ROOT = Path(__file__).resolve().parents[1]


def run_blocked(code: str, blocked: list[str]) -> subprocess.CompletedProcess:
    """Run ``code`` with ``python -c`` from the repository root, the ``blocked`` top-level modules
    unimportable (``code`` must ``import tests.blocking`` first, see :mod:`tests.blocking`)."""
    path = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env = {**os.environ, "ADASPEC_BLOCK": ",".join(blocked), "PYTHONPATH": path}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
