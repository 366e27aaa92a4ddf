"""Gabor kernels (LEAF's mel initialisation, impulse and frequency responses, pooling windows) against
librosa's mel scale and numpy FFTs."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch

from adaspec.kernels import (
    SQRT_2LN2,
    gabor_frequency_responses,
    gabor_fwhm_hz,
    gabor_impulse_responses,
    gabor_width_bounds,
    gaussian_lowpass,
    mel_gabor_parameters,
    pooling_width_bounds,
)

SR = 16000


@pytest.mark.parametrize(
    ("n_filters", "f_min", "f_max"), [(40, 60.0, None), (64, 0.0, 7800.0), (10, 300.0, 4000.0)]
)
def test_centres_are_htk_mel_frequencies(n_filters, f_min, f_max):
    centers, widths = mel_gabor_parameters(n_filters, SR, f_min, f_max, dtype=torch.float64)
    expected_hz = librosa.mel_frequencies(n_filters + 2, fmin=f_min, fmax=f_max or SR / 2, htk=True)[1:-1]
    np.testing.assert_allclose(centers.numpy() * SR / (2 * np.pi), expected_hz, rtol=1e-10)
    assert centers.shape == widths.shape == (n_filters,)
    assert (widths > 0).all()


def test_widths_give_the_fwhm_of_the_square_root_mel_triangle():
    """|H| is 1/2 where sqrt(triangle) is 1/2, i.e. where the (mel-linear) triangle is 1/4."""
    _, widths = mel_gabor_parameters(40, SR, 60.0, dtype=torch.float64)
    mels = np.linspace(librosa.hz_to_mel(60.0, htk=True), librosa.hz_to_mel(SR / 2, htk=True), 42)
    spacing = mels[1] - mels[0]
    low = librosa.mel_to_hz(mels[1:-1] - 0.75 * spacing, htk=True)
    high = librosa.mel_to_hz(mels[1:-1] + 0.75 * spacing, htk=True)
    np.testing.assert_allclose(gabor_fwhm_hz(widths, SR).numpy(), high - low, rtol=1e-10)
    # and that is where the analytic response of the untruncated filter is one half
    half_width = (high - low) / 2 * 2 * np.pi / SR
    response = np.exp(-0.5 * (widths.numpy() * half_width) ** 2)
    np.testing.assert_allclose(response, 0.5, rtol=1e-10)


@pytest.mark.parametrize("length", [401, 400])
def test_impulse_response_spectra_peak_at_the_mel_centres(length):
    centers, widths = mel_gabor_parameters(40, SR, 60.0, dtype=torch.float64)
    n_fft = 4096
    spectra = np.abs(np.fft.fft(gabor_impulse_responses(centers, widths, length).numpy(), n=n_fft, axis=-1))
    expected_hz = librosa.mel_frequencies(42, fmin=60.0, fmax=SR / 2, htk=True)[1:-1]
    peaks_hz = np.argmax(spectra, axis=-1) * SR / n_fft
    assert np.all(np.abs(peaks_hz - expected_hz) <= SR / n_fft)


def test_impulse_response_formula():
    centers = torch.tensor([0.3, 2.0], dtype=torch.float64)
    widths = torch.tensor([5.0, 2.5], dtype=torch.float64)
    t = np.arange(-4, 5)
    expected = (
        np.exp(1j * centers.numpy()[:, None] * t)
        * np.exp(-(t**2) / (2 * widths.numpy()[:, None] ** 2))
        / (np.sqrt(2 * np.pi) * widths.numpy()[:, None])
    )
    np.testing.assert_allclose(gabor_impulse_responses(centers, widths, 9).numpy(), expected, rtol=1e-12)
    assert gabor_impulse_responses(centers, widths, 8).shape == (2, 8)  # t = -4 ... 3


def test_frequency_responses_are_the_spectra_of_long_impulse_responses():
    centers = torch.tensor([0.05, 1.0, 3.1], dtype=torch.float64)
    widths = torch.tensor([40.0, 6.0, 3.0], dtype=torch.float64)
    n = 2048  # long enough that the Gaussians are untruncated to double precision
    impulse = gabor_impulse_responses(centers, widths, n).numpy()
    t0 = n // 2  # first tap is t = -n/2: undo that delay
    spectra = np.fft.fft(impulse, axis=-1) * np.exp(-2j * np.pi * np.arange(n) * t0 / n)
    omega = torch.from_numpy(2 * np.pi * np.arange(n) / n)
    np.testing.assert_allclose(
        np.abs(spectra), gabor_frequency_responses(centers, widths, omega).numpy(), atol=1e-10
    )


def test_gaussian_lowpass_is_leafs_window():
    length = 401
    sigma = np.array([0.4, 0.1])
    widths = torch.from_numpy(sigma * (length - 1) / 2)
    t = np.arange(length)
    expected = np.exp(-0.5 * ((t - 0.5 * (length - 1)) / (sigma[:, None] * 0.5 * (length - 1))) ** 2)
    np.testing.assert_allclose(gaussian_lowpass(widths, length).numpy(), expected, rtol=1e-12)


def test_bounds_are_leafs():
    assert gabor_width_bounds(401) == pytest.approx((4 * SQRT_2LN2 / math.pi, 401 * SQRT_2LN2 / math.pi))
    assert pooling_width_bounds(401) == pytest.approx((2 / 401, 0.5))
    assert math.isclose(SQRT_2LN2, math.sqrt(2 * math.log(2)))


def test_gradients_flow_through_responses():
    centers = torch.tensor([0.5, 1.5], dtype=torch.float64, requires_grad=True)
    widths = torch.tensor([4.0, 9.0], dtype=torch.float64, requires_grad=True)
    gabor_impulse_responses(centers, widths, 33).abs().sum().backward()
    assert widths.grad is not None and centers.grad is not None
    assert torch.autograd.gradcheck(
        lambda c, w: gabor_frequency_responses(c, w, torch.linspace(0, 3, 7, dtype=torch.float64)),
        (centers, widths),
    )


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: mel_gabor_parameters(0, SR), "n_filters"),
        (lambda: mel_gabor_parameters(40, SR, 60.0, 9000.0), "f_max"),
        (lambda: mel_gabor_parameters(40, SR, -5.0), "f_min"),
        (lambda: gabor_width_bounds(0), "window_length"),
        (lambda: gaussian_lowpass(torch.ones(2), 0), "length"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("bad", [0.0, -2.0, float("nan"), float("inf")])
@pytest.mark.parametrize("build", [gabor_impulse_responses, lambda _, widths, n: gaussian_lowpass(widths, n)])
def test_gabor_kernels_refuse_widths_not_finite_and_positive(build, bad):
    centers, widths = torch.tensor([0.5, 1.0]), torch.tensor([3.0, bad])
    with pytest.raises(ValueError, match="widths must be finite and positive"):
        build(centers, widths, 9)


@pytest.mark.parametrize("dtype", [torch.int64, torch.complex64])
def test_mel_gabor_parameters_dtype_must_be_real_floating_point(dtype):
    """``dtype=torch.int64`` truncated the centres (radians per sample, below pi) to 0, 1, 2 and 3."""
    with pytest.raises(ValueError, match=r"dtype must be None or a real floating-point torch.dtype"):
        mel_gabor_parameters(40, SR, dtype=dtype)
