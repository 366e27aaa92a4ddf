"""Front-ends built and run under ``torch.inference_mode`` (serving code often builds its model there):
against torch.stft and librosa, and an in-place kernel edit made there still takes effect."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

import adaspec


def _noise(samples: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).standard_normal(samples).astype(np.float32))[None]


def test_stft_built_in_inference_mode_matches_torch_stft() -> None:
    # Building raised "Inference tensors do not track version counter" (the fast-path verdict's key).
    x = _noise(4000)
    with torch.inference_mode():
        stft = adaspec.STFT(n_fft=256, hop_length=64, output="complex")
        actual = stft(x)
    expected = torch.stft(x, 256, 64, window=torch.hann_window(256), return_complex=True)
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


def test_an_in_place_kernel_edit_under_inference_mode_is_seen() -> None:
    x = _noise(4000)
    with torch.inference_mode():
        stft = adaspec.STFT(n_fft=256, hop_length=64, output="magnitude")
        before = stft(x)
        stft.kernel_real.mul_(2.0)  # no version counter records this: the verdict must be taken again
        stft.kernel_imag.mul_(2.0)
        after = stft(x)
    torch.testing.assert_close(after, 2.0 * before, rtol=1e-5, atol=1e-5 * before.abs().max().item())


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
def test_cqt_built_in_inference_mode_matches_librosa(algorithm: str) -> None:
    sample_rate = 22050
    x = _noise(sample_rate)
    with torch.inference_mode():
        cqt = adaspec.CQT(sample_rate, hop_length=512, f_min=55.0, n_bins=48, algorithm=algorithm)
        actual = cqt(x)[0].abs().double().numpy()
    signal = x[0].numpy().astype(np.float64)
    # sparsity 0: librosa's default 0.01 itself moves its result by about 0.5 % (see test_cqt.py)
    exact = librosa.cqt(
        signal, sr=sample_rate, hop_length=512, fmin=55.0, n_bins=48, tuning=0.0, sparsity=0.0
    )
    expected = np.abs(exact)
    assert np.abs(actual - expected).max() <= 2e-3 * expected.max()
