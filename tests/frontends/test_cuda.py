"""Every registered front-end (and PCEN) on a CUDA device gives the CPU result and the CPU gradients, in
float64 to float64 precision; LEAF also under CUDA autocast. Skipped where torch sees no CUDA device (this
project's CI machine); a session lent a GPU runs them with ``pytest tests/frontends/test_cuda.py``.

The CPU modules are themselves checked against librosa, pywt and ``torch.stft`` elsewhere; here the
question is only whether the device paths (which differ: e.g. PCEN's smoother uses its doubling scan off
the CPU) compute the same thing."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.helpers import LEARNABLE_NAMES, build_learnable

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

DEVICE = "cuda"
SR = 16000


def _input(name: str) -> torch.Tensor:
    """Two float64 test inputs: noise plus a tone; non-negative spectrograms for dB and PCEN."""
    generator = torch.Generator().manual_seed(0)
    if name == "pcen":
        return torch.rand(2, 8, 60, generator=generator, dtype=torch.float64) * 10
    if name == "amplitude_to_db":
        return torch.rand(2, 24, 60, generator=generator, dtype=torch.float64)
    t = torch.arange(SR // 2, dtype=torch.float64) / SR
    noise = torch.randn(2, t.numel(), generator=generator, dtype=torch.float64)
    return 0.1 * noise + torch.sin(2 * torch.pi * 440.0 * t)


def _step(module: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Output (on the CPU) and the parameter gradients of a fixed projection of it."""
    module.zero_grad(set_to_none=True)
    out = module(x)
    real = torch.view_as_real(out.resolve_conj()) if out.is_complex() else out
    weights = torch.linspace(-1.0, 1.0, real.numel(), dtype=real.dtype, device=real.device)
    if real.requires_grad:
        (real * weights.reshape(real.shape)).sum().backward()
    grads = {key: p.grad.cpu() for key, p in module.named_parameters() if p.grad is not None}
    return real.detach().cpu(), grads


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_cuda_matches_cpu_in_float64(name):
    module = build_learnable(name).to(torch.float64)
    x = _input(name)
    expected, expected_grads = _step(module, x)
    actual, actual_grads = _step(copy.deepcopy(module).to(DEVICE), x.to(DEVICE))
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-9 * scale)
    assert actual_grads.keys() == expected_grads.keys()
    for key, grad in expected_grads.items():
        torch.testing.assert_close(actual_grads[key], grad, rtol=1e-7, atol=1e-9 * float(grad.abs().max()))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_leaf_under_cuda_autocast_is_finite(dtype):
    module = build_learnable("leaf").to(DEVICE)
    x = _input("leaf").to(DEVICE, torch.float32)
    with torch.autocast(DEVICE, dtype=dtype):
        out = module(x)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    out.mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)
