"""Wavelet kernels against PyWavelets: the sampled wavelets, central frequencies and per-scale filters."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from adaspec.kernels import (
    WAVELETS,
    central_frequency,
    frequencies_to_scales,
    kernel_length,
    log_frequencies,
    scales_to_frequencies,
    wavelet_filters,
    wavelet_function,
)
from adaspec.kernels.wavelets import normalize_wavelet

pywt = pytest.importorskip("pywt")
# pywt.cwt samples wavelets at 2^12 points since PyWavelets 1.9 (a fixed 2^10 before, with no keyword).
PRECISION = getattr(inspect.signature(pywt.cwt).parameters.get("precision"), "default", 10)

# (our name, bandwidth, center, pywt name); cmor2.5-0.7: pywt keeps B and C in float32 (1e-7 off).
CASES = [
    ("morlet", None, None, "cmor1.5-1.0"),
    ("morlet", 2.5, 0.7, "cmor2.5-0.7"),
    ("real_morlet", None, None, "morl"),
    ("ricker", None, None, "mexh"),
]


def _pywt_filter_output(signal: np.ndarray, taps: np.ndarray, offset: int) -> np.ndarray:
    return np.convolve(signal, taps)[offset : offset + signal.size]


@pytest.mark.parametrize(("name", "bandwidth", "center", "pywt_name"), CASES)
def test_sampled_wavelet_is_pywts(name, bandwidth, center, pywt_name) -> None:
    psi, x = pywt.ContinuousWavelet(pywt_name).wavefun(12)
    ours = wavelet_function(name, torch.from_numpy(x), bandwidth, center).numpy()
    assert np.iscomplexobj(ours) == np.iscomplexobj(psi)
    np.testing.assert_allclose(ours, psi, rtol=0, atol=1e-6 if bandwidth else 1e-13)


@pytest.mark.parametrize(
    ("bandwidth", "center", "named"),
    [
        (-1.0, 1.0, "bandwidth"),
        (0.0, 1.0, "bandwidth"),
        (float("nan"), 1.0, "bandwidth"),
        (1.5, float("inf"), "center"),
        (1.5, "1", "center"),
    ],
)
def test_central_frequency_refuses_bad_parameters(bandwidth, center, named) -> None:
    with pytest.raises(ValueError, match=named):
        central_frequency("morlet", bandwidth, center)


@pytest.mark.parametrize(("name", "bandwidth", "center", "pywt_name"), CASES)
@pytest.mark.parametrize("precision", [10, 12])
def test_central_frequency_is_pywts(name, bandwidth, center, pywt_name, precision) -> None:
    expected = pywt.central_frequency(pywt_name, precision=precision)
    assert central_frequency(name, bandwidth, center, precision) == pytest.approx(expected, abs=1e-12)
    scales = np.array([2.0, 7.5, 100.0])
    np.testing.assert_allclose(
        scales_to_frequencies(scales, expected, 8000), pywt.scale2frequency(pywt_name, scales, 12) * 8000
    )
    np.testing.assert_allclose(
        frequencies_to_scales(scales_to_frequencies(scales, expected, 8000), expected, 8000), scales
    )


@pytest.mark.parametrize(("name", "bandwidth", "center", "pywt_name"), CASES)
def test_filters_reproduce_pywt_cwt(name, bandwidth, center, pywt_name) -> None:
    signal = np.random.default_rng(0).standard_normal(1500)
    scales = np.array([1.7, 3.3, 12.0, 45.25, 80.0])
    taps, offset = wavelet_filters(name, scales, bandwidth, center, precision=PRECISION)
    expected = pywt.cwt(signal, scales, pywt_name, method="conv")[0]
    assert taps.dtype == (torch.complex128 if name == "morlet" else torch.float64)
    assert taps.shape == (scales.size, max(kernel_length(s, PRECISION) for s in scales) + 1)
    tolerance = 1e-6 if bandwidth else 1e-12
    for row in range(scales.size):
        got = _pywt_filter_output(signal, taps[row].numpy(), offset)
        error = np.abs(got - expected[row]).max() / np.abs(expected[row]).max()
        assert error < tolerance, (scales[row], error)


def test_filters_at_precision_10_and_in_float32() -> None:
    if PRECISION != 12:
        pytest.skip("pywt.cwt has no precision keyword before PyWavelets 1.9")
    signal = np.random.default_rng(1).standard_normal(800)
    scales = [2.0, 20.0]
    taps, offset = wavelet_filters("mexh", scales, precision=10, dtype=torch.float32)
    assert taps.dtype == torch.float32
    expected = pywt.cwt(signal, scales, "mexh", precision=10)[0]
    for row in range(2):
        got = _pywt_filter_output(signal, taps[row].double().numpy(), offset)
        assert np.abs(got - expected[row]).max() < 1e-5 * np.abs(expected[row]).max()
    complex_taps, _ = wavelet_filters("morlet", scales, dtype=torch.float32)
    assert complex_taps.dtype == torch.complex64


def test_filters_are_differentiable_in_the_morlet_parameters() -> None:
    bandwidth = torch.tensor([1.5, 2.0], dtype=torch.float64, requires_grad=True)
    center = torch.tensor([1.0, 0.8], dtype=torch.float64, requires_grad=True)
    taps, _ = wavelet_filters("morlet", [4.0, 9.0], bandwidth, center)
    taps.abs().sum().backward()
    assert torch.all(bandwidth.grad != 0) and torch.all(center.grad != 0)


def test_names_and_bad_parameters() -> None:
    assert WAVELETS == ("morlet", "real_morlet", "ricker")
    assert [normalize_wavelet(n) for n in ("cmor", "morl", "mexh", "mexican_hat")] == [
        "morlet",
        "real_morlet",
        "ricker",
        "ricker",
    ]
    with pytest.raises(ValueError, match=r"wavelet must be one of .*'morlet'.*got 'haar'"):
        normalize_wavelet("haar")
    with pytest.raises(ValueError, match=r"wavelet must be one of .*got \['morlet'\]"):  # not a TypeError
        normalize_wavelet(["morlet"])
    with pytest.raises(ValueError, match=r"scales must be .*positive"):
        wavelet_filters("ricker", [2.0, -1.0])
    np.testing.assert_allclose(log_frequencies(100.0, 800.0, 4, 8000), [100.0, 200.0, 400.0, 800.0])
    assert log_frequencies(100.0, None, 1, 8000).tolist() == [100.0]
    for kwargs, message in [
        ({"n_bins": 0}, "n_bins must be a positive integer"),
        ({"f_min": 500.0, "f_max": 400.0}, "f_max must be greater than f_min"),
        ({"f_min": 500.0, "f_max": 500.0}, "f_max must be greater than f_min"),
        ({"f_max": 5000.0}, "f_max must not exceed the Nyquist frequency 4000"),
        ({"f_min": 0.0}, "f_min must be > 0"),
    ]:
        params = {"f_min": 50.0, "f_max": 1000.0, "n_bins": 8, **kwargs}
        with pytest.raises(ValueError, match=message):
            log_frequencies(params["f_min"], params["f_max"], params["n_bins"], 8000)
