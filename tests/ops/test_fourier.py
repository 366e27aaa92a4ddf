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


@pytest.mark.parametrize("output", ["complex", "magnitude", "power"])
@pytest.mark.parametrize("onesided", [True, False])
@pytest.mark.parametrize("n_fft", [8, 7])
def test_gradgradcheck(output, onesided, n_fft):
    torch.manual_seed(0)
    frames = torch.randn(2, 3, n_fft, dtype=torch.float64, requires_grad=True)
    window = torch.rand(n_fft, dtype=torch.float64, requires_grad=True)

    def run(f, w):
        result = windowed_fft(f, w, onesided=onesided, output=output)
        return torch.view_as_real(result) if result.is_complex() else result

    assert torch.autograd.gradgradcheck(run, (frames, window))


@pytest.mark.parametrize("output", ["complex", "magnitude", "power"])
def test_second_order_gradients_match_torch_fft(output):
    torch.manual_seed(1)
    frames = torch.randn(2, 4, 16, dtype=torch.float64, requires_grad=True)
    window = torch.rand(16, dtype=torch.float64, requires_grad=True)

    def reference(f, w):
        spectrum = torch.fft.rfft(f * w)
        if output == "complex":
            return spectrum
        power = spectrum.real.square() + spectrum.imag.square()
        return power if output == "power" else power.sqrt()

    def penalty_gradients(transform):
        result = transform(frames, window)
        parts = torch.view_as_real(result) if result.is_complex() else result
        loss = (parts * torch.linspace(-1, 1, parts.numel(), dtype=parts.dtype).reshape(parts.shape)).sum()
        first = torch.autograd.grad(loss + parts.pow(2).sum(), (frames, window), create_graph=True)
        return torch.autograd.grad(sum(g.pow(2).sum() for g in first), (frames, window))

    ours = penalty_gradients(lambda f, w: windowed_fft(f, w, output=output))
    for actual, expected in zip(ours, penalty_gradients(reference), strict=True):
        torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10 * expected.abs().max().item())


def test_magnitude_second_order_gradient_is_finite_at_zero():
    frames = torch.zeros(1, 2, 16, dtype=torch.float64, requires_grad=True)
    window = torch.ones(16, dtype=torch.float64, requires_grad=True)
    result = windowed_fft(frames, window, output="magnitude")
    (grad_frames,) = torch.autograd.grad(result.sum(), frames, create_graph=True)
    grad_frames.pow(2).sum().backward()
    assert torch.isfinite(frames.grad).all() and torch.isfinite(window.grad).all()
