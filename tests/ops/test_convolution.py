"""Decimated linear FFT convolution against numpy.convolve (values) and a direct torch convolution (grads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaspec.ops import decimated_fft_convolution


@pytest.mark.parametrize("complex_taps", [False, True])
@pytest.mark.parametrize(("offset", "hop"), [(0, 1), (150, 7), (300, 64), (37, 1000), (150, 4000)])
def test_equals_numpy_linear_convolution_sampled_every_hop(complex_taps: bool, offset: int, hop: int) -> None:
    rng = np.random.default_rng(0)
    signal = rng.standard_normal((3, 1000))
    taps = rng.standard_normal((4, 301)) + (1j * rng.standard_normal((4, 301)) if complex_taps else 0)
    got = decimated_fft_convolution(torch.from_numpy(signal), torch.from_numpy(taps), offset, hop)
    assert got.shape == (3, 4, 1 + 999 // hop) and got.is_complex() == complex_taps
    for b in range(3):
        for c in range(4):
            expected = np.convolve(signal[b], taps[c])[offset : offset + 1000 : hop]
            np.testing.assert_allclose(got[b, c].numpy(), expected, rtol=0, atol=1e-11)


def test_float32_chunks_and_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adaspec.ops.convolution.CHUNK_ELEMENTS", 1)  # one filter per chunk
    rng = np.random.default_rng(1)
    signal = torch.from_numpy(rng.standard_normal((2, 300))).requires_grad_()
    taps = torch.from_numpy(rng.standard_normal((3, 41)) + 1j * rng.standard_normal((3, 41))).requires_grad_()
    got = decimated_fft_convolution(signal, taps, 20, 5)
    padded = torch.nn.functional.pad(signal, (40 - 20, 20)).to(taps.dtype)  # x[t + 20 - m], zero outside
    windows = padded.unfold(-1, 41, 1).flip(-1)  # (batch, time, taps): x[t + 20 - m] for m = 0..40
    expected = torch.einsum("btm,cm->bct", windows, taps)[..., ::5]
    torch.testing.assert_close(got, expected)
    weights = torch.randn(got.shape, dtype=got.dtype)
    grads = torch.autograd.grad((got * weights).real.sum(), (signal, taps))
    grads_expected = torch.autograd.grad((expected * weights).real.sum(), (signal, taps))
    for grad, reference in zip(grads, grads_expected, strict=True):
        torch.testing.assert_close(grad, reference)
    single = decimated_fft_convolution(signal.detach().float(), taps.detach(), 20, 5)
    assert single.dtype == torch.complex64
    torch.testing.assert_close(single, expected.detach().to(torch.complex64), rtol=1e-4, atol=1e-4)


def test_bad_offsets_and_hops() -> None:
    with pytest.raises(ValueError, match="offset must be < n_taps"):
        decimated_fft_convolution(torch.zeros(1, 10), torch.zeros(2, 5), 5, 1)
    with pytest.raises(ValueError, match="hop_length must be a positive integer"):
        decimated_fft_convolution(torch.zeros(1, 10), torch.zeros(2, 5), 2, 0)
