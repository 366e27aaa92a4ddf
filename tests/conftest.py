"""Shared test fixtures: deterministic test signals."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch


def pytest_configure(config: pytest.Config) -> None:
    """In a pytest-xdist worker, run torch (and the processes tests start) on one thread: the workers
    already fill the cores, and more threads than cores make OpenMP's spinning workers take turns."""
    # A suite started in the background by a shell without job control (``cmd &`` in a script) inherits
    # SIGINT ignored, and Python then leaves it so: give it the handler a terminal gives, which the Ctrl-C
    # tests (and the processes they start) need.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


def chirp_and_noise(n_samples: int, sample_rate: float, seed: int = 0) -> np.ndarray:
    """A log chirp plus two tones plus a little white noise (float64)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / sample_rate
    f0, f1 = 60.0, 0.45 * sample_rate
    duration = max(t[-1], 1e-9)
    phase = 2 * np.pi * f0 * duration / np.log(f1 / f0) * (np.exp(t / duration * np.log(f1 / f0)) - 1)
    tones = 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.2 * np.sin(2 * np.pi * 1234.5 * t)
    return np.sin(phase) + tones + 0.05 * rng.standard_normal(n_samples)


@pytest.fixture
def signal_factory():
    """Build test signals of any shape: ``signal_factory(shape, sample_rate, dtype)``."""

    def build(shape: tuple[int, ...], sample_rate: float = 16000.0, dtype=torch.float32) -> torch.Tensor:
        *leading, n_samples = shape
        count = int(np.prod(leading)) if leading else 1
        rows = [chirp_and_noise(n_samples, sample_rate, seed=i) for i in range(count)]
        return torch.from_numpy(np.stack(rows).reshape(shape)).to(dtype)

    return build


@pytest.fixture(scope="session")
def tone_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-class dataset of 1 s tones and noise at 8 kHz (10 files per class), written once per session."""
    from tests.datasets import make_tone_dataset

    return make_tone_dataset(tmp_path_factory.mktemp("tones"))
