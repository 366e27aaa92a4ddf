"""Decimated linear FFT convolution against numpy.convolve (values) and a direct torch convolution (grads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaspec.ops import decimated_fft_convolution
from adaspec.ops.convolution import FilterSpectra


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


def test_kept_filter_spectra_serve_many_batches_and_their_gradients() -> None:
    rng = np.random.default_rng(2)
    taps = torch.from_numpy(rng.standard_normal((3, 41)) + 1j * rng.standard_normal((3, 41))).requires_grad_()
    spectra = FilterSpectra(taps, 20, 300, 5, dtype=torch.float64)
    assert spectra.n_elements == 3 * spectra.q * spectra.folds
    for seed in (4, 5):
        signal = torch.from_numpy(np.random.default_rng(seed).standard_normal((2, 300)))
        got = spectra.apply(signal)
        for b in range(2):
            for c in range(3):
                expected = np.convolve(signal[b].numpy(), taps[c].detach().numpy())[20 : 20 + 300 : 5]
                np.testing.assert_allclose(got[b, c].detach().numpy(), expected, rtol=0, atol=1e-11)
    (grad,) = torch.autograd.grad(got.real.sum(), taps)
    # d/dtaps[c, m] of sum_k Re(sum_m taps[c, m] x[5 k + 20 - m]) = sum_k x[5 k + 20 - m] (real part only)
    padded = np.pad(signal.numpy(), ((0, 0), (20, 20)))
    windows = np.stack([padded[:, 5 * k : 5 * k + 41][:, ::-1] for k in range(60)], axis=1)
    np.testing.assert_allclose(
        grad.real.numpy(), np.broadcast_to(windows.sum(axis=(0, 1)), (3, 41)), atol=1e-10
    )
    with pytest.raises(ValueError, match=r"waveform must have 300 samples, dtype torch\.float64"):
        spectra.apply(signal[:, :200])
    with pytest.raises(ValueError, match=r"dtype torch\.float64"):
        spectra.apply(signal.float())


@pytest.mark.parametrize("complex_taps", [False, True])
@pytest.mark.parametrize(("length", "offset", "hop"), [(3, 4, 1), (1, 2, 1), (64, 124, 5), (2, 23, 16)])
def test_offset_beyond_the_signal_equals_numpy(
    complex_taps: bool, length: int, offset: int, hop: int
) -> None:
    """An offset (< n_taps) past the signal's last sample: the circular advance must wrap the zero padding
    too (it used to place the signal ``length``, not ``offset``, samples before the end)."""
    rng = np.random.default_rng(length + offset)
    signal = rng.standard_normal((2, length))
    taps = rng.standard_normal((3, 150)) + (1j * rng.standard_normal((3, 150)) if complex_taps else 0)
    got = decimated_fft_convolution(torch.from_numpy(signal), torch.from_numpy(taps), offset, hop)
    assert got.shape == (2, 3, 1 + (length - 1) // hop)
    for b in range(2):
        for c in range(3):
            expected = np.convolve(signal[b], taps[c])[offset : offset + length : hop]
            np.testing.assert_allclose(got[b, c].numpy(), expected, rtol=0, atol=1e-11)
