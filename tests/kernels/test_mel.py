"""Mel scales and filterbanks against librosa (float64) and closed forms."""

import librosa
import numpy as np
import pytest
import torch

from adaspec.kernels import hz_to_mel, mel_filterbank, mel_frequencies, mel_to_hz

SR = 16000


@pytest.mark.parametrize("n_fft", [256, 512, 400, 401])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_mel_filterbank_matches_librosa(mel_scale, norm, n_fft):
    actual = mel_filterbank(
        n_fft, 22050, 40, f_min=20.0, f_max=10000.0, mel_scale=mel_scale, norm=norm, dtype=torch.float64
    )
    expected = librosa.filters.mel(
        sr=22050,
        n_fft=n_fft,
        n_mels=40,
        fmin=20.0,
        fmax=10000.0,
        htk=mel_scale == "htk",
        norm=norm,
        dtype=np.float64,
    )
    assert actual.dtype == torch.float64
    assert actual.shape == (40, n_fft // 2 + 1)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_mel_filterbank_default_f_max_is_nyquist():
    actual = mel_filterbank(512, SR, 64, dtype=torch.float64).numpy()
    expected = librosa.filters.mel(sr=SR, n_fft=512, n_mels=64, htk=True, norm=None, dtype=np.float64)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15)


def test_mel_filterbank_warns_on_empty_filters():
    with pytest.warns(UserWarning, match="empty"):
        mel_filterbank(64, SR, 128)


@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_mel_scale_conversions_match_librosa(mel_scale):
    htk = mel_scale == "htk"
    hz = np.array([0.0, 20.0, 500.0, 999.9, 1000.0, 1000.1, 4000.0, 8000.0, 22050.0])
    np.testing.assert_allclose(hz_to_mel(hz, mel_scale), librosa.hz_to_mel(hz, htk=htk), rtol=1e-13)
    mels = np.linspace(0.0, 60.0 if not htk else 4000.0, 41)
    np.testing.assert_allclose(mel_to_hz(mels, mel_scale), librosa.mel_to_hz(mels, htk=htk), rtol=1e-13)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(hz, mel_scale), mel_scale), hz, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(
        mel_frequencies(30, 40.0, 7600.0, mel_scale),
        librosa.mel_frequencies(30, fmin=40.0, fmax=7600.0, htk=htk),
        rtol=1e-13,
    )


def test_htk_mel_closed_form():
    # HTK: 2595 log10(1 + f / 700); 700 Hz -> 2595 log10(2).
    assert float(hz_to_mel(700.0, "htk")) == pytest.approx(2595.0 * np.log10(2.0), rel=1e-14)
    # Slaney: linear (3 bins / 200 Hz) below 1 kHz.
    assert float(hz_to_mel(600.0, "slaney")) == pytest.approx(9.0, rel=1e-14)


@pytest.mark.parametrize("dtype", [torch.int64, torch.complex128])
def test_mel_filterbank_dtype_must_be_real_floating_point(dtype):
    """``dtype=torch.int64`` truncated every filter to zeros without a word."""
    with pytest.raises(ValueError, match=r"dtype must be None or a real floating-point torch.dtype"):
        mel_filterbank(512, SR, 40, dtype=dtype)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((2.5, 0.0, 8000.0), "n_mels"),  # was numpy's TypeError "cannot be interpreted as an integer"
        ((-1, 0.0, 8000.0), "n_mels"),  # was numpy's "Number of samples, -1, must be non-negative"
        ((True, 0.0, 8000.0), "n_mels"),  # was one frequency
        ((4, float("nan"), 8000.0), "f_min"),  # was NaN frequencies
        ((4, 0.0, float("inf")), "f_max"),
        ((4, 0.0, "8000"), "f_max"),
    ],
)
def test_mel_frequencies_refuses_bad_arguments_by_name(args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        mel_frequencies(*args)


def test_mel_frequencies_of_zero_bands_is_empty_as_librosa():
    np.testing.assert_array_equal(mel_frequencies(0, 0.0, 8000.0), librosa.mel_frequencies(0, fmax=8000.0))
