"""Front-ends built under ``with torch.device(...)`` hold every tensor on that device, as torch's layers do,
and run forward and backward there.

Their kernels are designed in NumPy (``torch.from_numpy``: always CPU) while ``torch.full`` and ``nn.Linear``
follow the default device, so a module built there held tensors on two devices (CQT's buffers, CWT's
bandwidths, DEGram's attention), and some constructors failed (CQT ``algorithm="direct"``, LEAF). The meta
device stands in for an accelerator here."""

from __future__ import annotations

import warnings

import pytest
import torch

import adaspec
from tests.helpers import LEARNABLE_NAMES, build_learnable, learnable_input

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


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
@pytest.mark.parametrize("how", ["moved", "built"])
def test_forward_and_backward_run_on_the_meta_device(name, how):
    """The meta device stands in for an accelerator: a tensor a forward or backward made on the CPU (a
    table, a constant, a plan) meets the meta tensors and raises. The shapes must be the CPU module's."""
    cpu_module = build_learnable(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if how == "moved":
            module = build_learnable(name).to("meta")
        else:
            with torch.device("meta"):
                module = build_learnable(name)
    x = learnable_input(name, _signals, 4000)
    expected = cpu_module(x)
    out = module(x.to("meta"))
    assert out.is_meta and out.shape == expected.shape and out.dtype == expected.dtype
    real = torch.view_as_real(out) if out.is_complex() else out
    if real.requires_grad:
        real.sum().backward()
        trained = [p for p in module.parameters() if p.requires_grad]
        assert trained and all(p.grad is not None and p.grad.is_meta for p in trained)
        assert all(p.grad.shape == p.shape for p in trained)


def _signals(shape: tuple[int, ...], sample_rate: float = 16000.0) -> torch.Tensor:
    """Noise of ``shape`` (any values do: the meta run has none)."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))
