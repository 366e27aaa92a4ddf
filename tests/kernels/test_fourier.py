"""Fourier kernels and frequency grids against numpy's FFT."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaspec.kernels import dft_kernels, fourier_frequencies


@pytest.mark.parametrize("n_fft", [16, 17, 2048])
def test_fft_bin_kernels_equal_numpy_rfft(n_fft):
    frequencies = fourier_frequencies(n_fft, 22050.0)
    np.testing.assert_allclose(frequencies, np.fft.rfftfreq(n_fft, 1 / 22050.0), rtol=1e-14)
    real, imag = dft_kernels(n_fft, frequencies, 22050.0, dtype=torch.float64)
    frame = np.random.default_rng(0).standard_normal(n_fft)
    expected = np.fft.rfft(frame)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(real.numpy() @ frame, expected.real, atol=1e-12 * scale)
    np.testing.assert_allclose(imag.numpy() @ frame, expected.imag, atol=1e-12 * scale)


def test_two_sided_grid_has_n_fft_bins():
    np.testing.assert_allclose(fourier_frequencies(8, 8.0, onesided=False), np.arange(8.0))


def test_off_grid_kernels_are_the_dtft():
    frequencies = np.array([12.3, 440.0, 1001.7])
    real, imag = dft_kernels(64, frequencies, 8000.0, dtype=torch.float64)
    n = np.arange(64)
    expected = np.exp(-2j * np.pi * np.outer(frequencies, n) / 8000.0)
    np.testing.assert_allclose(real.numpy() + 1j * imag.numpy(), expected, atol=1e-13)


def test_linear_and_log_grids():
    linear = fourier_frequencies(64, 8000.0, freq_scale="linear", n_bins=5, f_min=100.0, f_max=900.0)
    np.testing.assert_allclose(linear, [100.0, 300.0, 500.0, 700.0, 900.0])
    log = fourier_frequencies(64, 8000.0, freq_scale="log", n_bins=3, f_min=100.0, f_max=400.0)
    np.testing.assert_allclose(log, [100.0, 200.0, 400.0])
    assert len(fourier_frequencies(64, 8000.0, freq_scale="linear")) == 33


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"freq_scale": "bark"}, "freq_scale"),
        ({"freq_scale": "linear", "f_max": 4001.0}, "f_max"),
        ({"freq_scale": "linear", "f_min": 500.0, "f_max": 400.0}, "f_max"),
        ({"freq_scale": "log", "f_min": 0.0}, "f_min"),
        ({"freq_scale": "linear", "n_bins": 0}, "n_bins"),
        # a string was read as True and 0 as False
        ({"onesided": "no"}, "onesided must be True or False"),
        ({"onesided": 0}, "onesided must be True or False"),
    ],
)
def test_bad_grids_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fourier_frequencies(64, 8000.0, **kwargs)
