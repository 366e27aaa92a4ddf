"""``adaspec.ops.onnx_fft`` against ``torch.fft`` (the oracle): eagerly a pass-through, and its matrix-product
decomposition (taken under ONNX export), forced here by patching the check."""

from __future__ import annotations

import pytest
import torch

from adaspec.ops import onnx_fft

LENGTHS = [1, 7, 9, 400, 4000, 4800, 19200, 4096]


@pytest.fixture
def as_if_exporting_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onnx_fft, "is_exporting_onnx", lambda: True)


def _relative(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual - expected).abs().max() / expected.abs().max())


@pytest.mark.parametrize("n", LENGTHS)
def test_decomposed_transforms_equal_torch_fft(n: int, as_if_exporting_onnx: None) -> None:
    generator = torch.Generator().manual_seed(n)
    real = torch.randn(2, 3, n, dtype=torch.float64, generator=generator)
    values = torch.randn(2, n, 3, dtype=torch.complex128, generator=generator)
    assert _relative(onnx_fft.rfft(real), torch.fft.rfft(real)) < 1e-13
    assert _relative(onnx_fft.fft(real), torch.fft.fft(real)) < 1e-13
    assert _relative(onnx_fft.fft(values, dim=1), torch.fft.fft(values, dim=1)) < 1e-13
    assert _relative(onnx_fft.ifft(values, dim=1), torch.fft.ifft(values, dim=1)) < 1e-13


@pytest.mark.parametrize("n", [12, 4000])
def test_decomposed_rfft_pads_and_cuts_like_torch(n: int, as_if_exporting_onnx: None) -> None:
    signal = torch.randn(3, 1000, dtype=torch.float64)
    assert _relative(onnx_fft.rfft(signal, n=n), torch.fft.rfft(signal, n=n)) < 1e-13


@pytest.mark.parametrize("n", [1, 8, 9, 400, 4001])
@pytest.mark.parametrize("extra_bins", [-3, 0, 5])
def test_decomposed_irfft_equals_torch(n: int, extra_bins: int, as_if_exporting_onnx: None) -> None:
    """Half spectra cut or zero-padded to ``n // 2 + 1`` bins; DC and Nyquist imaginary parts ignored."""
    bins = max(1, n // 2 + 1 + extra_bins)
    spectrum = torch.randn(3, bins, dtype=torch.complex128, generator=torch.Generator().manual_seed(n))
    expected = torch.fft.irfft(spectrum, n=n)
    assert _relative(onnx_fft.irfft(spectrum, n), expected) < 1e-12


def test_float32_decomposition_is_float_accurate(as_if_exporting_onnx: None) -> None:
    signal = torch.randn(4, 4800)
    expected = torch.fft.rfft(signal.double())
    assert _relative(onnx_fft.rfft(signal).to(torch.complex128), expected) < 1e-6


def test_eager_calls_are_torch_fft() -> None:
    signal = torch.randn(2, 4000)
    assert torch.equal(onnx_fft.rfft(signal), torch.fft.rfft(signal))
    assert torch.equal(onnx_fft.ifft(signal.to(torch.complex64), dim=0), torch.fft.ifft(signal, dim=0))
    half = torch.fft.rfft(signal)
    assert torch.equal(onnx_fft.irfft(half, 4000), torch.fft.irfft(half, n=4000))
