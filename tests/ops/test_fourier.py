"""The fused windowed FFT and its hand-written backward against torch.fft and autograd's numerics."""

from __future__ import annotations

import pytest
import torch

from adaspec.ops import windowed_fft


@pytest.mark.parametrize("onesided", [True, False])
@pytest.mark.parametrize("n_fft", [32, 33])
def test_forward_matches_torch_fft(onesided, n_fft):
    frames = torch.randn(3, 5, n_fft, dtype=torch.float64)
    window = torch.rand(n_fft, dtype=torch.float64)
    expected = (torch.fft.rfft if onesided else torch.fft.fft)(frames * window)
    torch.testing.assert_close(windowed_fft(frames, window, onesided=onesided), expected)
    torch.testing.assert_close(
        windowed_fft(frames, window, onesided=onesided, output="power"), expected.abs() ** 2
    )
    torch.testing.assert_close(
        windowed_fft(frames, window, onesided=onesided, output="magnitude"), expected.abs()
    )


@pytest.mark.parametrize("output", ["complex", "magnitude", "power"])
@pytest.mark.parametrize("onesided", [True, False])
@pytest.mark.parametrize("n_fft", [16, 15])
def test_gradcheck(output, onesided, n_fft):
    torch.manual_seed(0)
    frames = torch.randn(2, 3, n_fft, dtype=torch.float64, requires_grad=True)
    window = torch.rand(n_fft, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f, w: windowed_fft(f, w, onesided=onesided, output=output), (frames, window)
    )


def test_magnitude_gradient_is_finite_at_zero():
    frames = torch.zeros(1, 2, 16, requires_grad=True)
    window = torch.ones(16, requires_grad=True)
    windowed_fft(frames, window, output="magnitude").sum().backward()
    assert torch.isfinite(frames.grad).all() and torch.isfinite(window.grad).all()


def test_gradient_reaches_a_strided_frame_view():
    signal = torch.randn(2, 100, dtype=torch.float64, requires_grad=True)
    window = torch.hann_window(20, dtype=torch.float64)
    assert torch.autograd.gradcheck(
        lambda s: windowed_fft(s.unfold(-1, 20, 7), window, output="power"), (signal,)
    )
