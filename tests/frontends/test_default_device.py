"""Front-ends built under ``with torch.device(...)`` hold every tensor on that device, as torch's layers do.

Their kernels are designed in NumPy (``torch.from_numpy``: always CPU) while ``torch.full`` and ``nn.Linear``
follow the default device, so a module built there held tensors on two devices (CQT's buffers, CWT's
bandwidths, DEGram's attention), and some constructors failed (CQT ``algorithm="direct"``, LEAF). The meta
device stands in for an accelerator here."""

from __future__ import annotations

import warnings

import pytest
import torch

import adaspec

MODULES = {
    "stft": lambda: adaspec.STFT(n_fft=64),
    "mel": lambda: adaspec.MelSpectrogram(n_fft=64, n_mels=8),
    "mfcc": lambda: adaspec.MFCC(n_mfcc=5, melkwargs={"n_fft": 64, "n_mels": 8}),
    "cqt": lambda: adaspec.CQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24),
    "cqt-direct": lambda: adaspec.CQT(
        sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24, algorithm="direct"
    ),
    "vqt": lambda: adaspec.VQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24),
    "cwt": lambda: adaspec.CWT(sample_rate=8000, f_min=200.0, n_bins=8, hop_length=32),
    "degram": lambda: adaspec.DEGram(n_fft=64, n_filters=8),
    "leaf": lambda: adaspec.LEAF(n_filters=8),
    "sincgram": lambda: adaspec.SincGram(n_filters=8, n_fft=64),
    "attention": lambda: adaspec.TFAttention(n_freq=16),
    "pcen": lambda: adaspec.PCEN(16),
}


def tensors(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {**dict(module.named_parameters()), **dict(module.named_buffers())}


@pytest.mark.parametrize("name", MODULES)
def test_built_under_a_device_context_everything_is_there(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.device("meta"):
            module = MODULES[name]()
    devices = {key: tensor.device.type for key, tensor in tensors(module).items()}
    assert devices and set(devices.values()) == {"meta"}, devices


def test_built_under_a_device_context_the_forward_runs_there():
    with torch.device("meta"):
        module = adaspec.CQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24, algorithm="direct")
    assert module(torch.empty(2, 4000, device="meta")).shape == (2, 24, 63)
