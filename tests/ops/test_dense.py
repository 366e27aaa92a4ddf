"""Dense kernel transform against numpy matrix products."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaspec.ops import dense_fourier, dense_transform


def test_dense_transform_is_a_matrix_product_per_frame():
    rng = np.random.default_rng(2)
    frames = rng.standard_normal((3, 7, 16))
    kernels = rng.standard_normal((5, 16))
    ours = dense_transform(torch.from_numpy(frames), torch.from_numpy(kernels)).numpy()
    np.testing.assert_allclose(ours, np.einsum("btn,kn->bkt", frames, kernels), rtol=1e-12)


def test_dense_fourier_applies_window_to_both_parts():
    rng = np.random.default_rng(3)
    frames, real, imag, window = (rng.standard_normal(s) for s in [(2, 4, 8), (3, 8), (3, 8), (8,)])
    re, im = dense_fourier(*(torch.from_numpy(a) for a in (frames, real, imag, window)))
    expected = np.einsum("btn,kn->bkt", frames * window, real + 1j * imag)
    np.testing.assert_allclose(re.numpy() + 1j * im.numpy(), expected, rtol=1e-12)


def test_autocast_bfloat16_returns_float32():
    frames, kernels = torch.randn(2, 5, 32), torch.randn(6, 32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        result = dense_transform(frames, kernels)
    assert result.dtype == torch.float32
    reference = dense_transform(frames, kernels)
    assert (result - reference).abs().max() <= 2e-2 * reference.abs().max()


def test_dense_fourier_refuses_mismatched_kernels() -> None:
    frames = torch.zeros(2, 5, 64)
    with pytest.raises(ValueError, match="real_kernels and imag_kernels"):
        dense_fourier(frames, torch.ones(5, 64), torch.ones(4, 64), torch.ones(64))
    with pytest.raises(ValueError, match="real_kernels and imag_kernels"):
        dense_fourier(frames, torch.ones(5, 64), torch.ones(5, 64), torch.ones(32))
