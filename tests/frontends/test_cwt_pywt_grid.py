"""CWT against pywt.cwt (the oracle) where the names, scales and options are pywt's own."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

from adaspec import CWT
from adaspec.kernels.wavelets import central_frequency, wavelet_filters

pywt = pytest.importorskip("pywt")
PRECISION = getattr(inspect.signature(pywt.cwt).parameters.get("precision"), "default", 10)
SR = 8000
SIGNAL = np.random.default_rng(7).standard_normal(2000)


def _pywt_cwt(scales: np.ndarray, name: str, hop: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """pywt.cwt's coefficients (every ``hop``-th) and frequencies in Hz (its bare ``"cmor"`` warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        coefficients, frequencies = pywt.cwt(SIGNAL, scales, name, sampling_period=1 / SR)
    return coefficients[:, ::hop], frequencies


def _relative_error(got: torch.Tensor, expected: np.ndarray) -> float:
    return float(np.abs(got.detach().numpy() - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("options", [{"scales": [3.0, 10.0, 40.0]}, {"f_min": 60.0, "n_bins": 6}])
def test_bare_cmor_is_pywts_cmor(options: dict) -> None:
    """pywt's bare ``"cmor"`` is ``"cmor1.0-0.5"``; it gave ``"cmor1.5-1.0"`` (120 % of max|W| off, every
    frequency twice pywt's)."""
    module = CWT(
        SR,
        wavelet="cmor",
        hop_length=3,
        output="complex",
        precision=PRECISION,
        dtype=torch.float64,
        **options,
    )
    expected, frequencies = _pywt_cwt(module.scales.numpy(), "cmor", hop=3)
    assert _relative_error(module(torch.from_numpy(SIGNAL)), expected) < 1e-10
    np.testing.assert_allclose(module.frequencies.numpy(), frequencies, rtol=1e-12)
    if "f_min" in options:
        np.testing.assert_allclose(module.frequencies[0].item(), options["f_min"], rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        assert central_frequency("cmor", precision=PRECISION) == pywt.central_frequency("cmor", PRECISION)


def test_bare_cmor_takes_a_given_bandwidth_or_center() -> None:
    scales = [4.0, 12.0]
    only_bandwidth = CWT(SR, wavelet="cmor", scales=scales, bandwidth=2.0, hop_length=1, output="complex")
    expected, _ = _pywt_cwt(np.array(scales), "cmor2.0-0.5")
    assert _relative_error(only_bandwidth(torch.from_numpy(SIGNAL).float()).cdouble(), expected) < 1e-4
    taps, _ = wavelet_filters("cmor", scales, center=1.0)
    np.testing.assert_array_equal(taps.numpy(), wavelet_filters("morlet", scales, 1.0, 1.0)[0].numpy())


@pytest.mark.parametrize("sample_rate", [16000.3, 44100.7])
def test_a_top_scale_rounded_below_nyquist_stays_finite(sample_rate: float) -> None:
    """With ``f_max`` at Nyquist the top scale of ``"cmor2-0.75"`` rounds to 1.4999999999999998, which the
    Nyquist check allows (1e-12 of rounding) but whose centre logit was NaN: a NaN row where pywt has
    values."""
    module = CWT(
        sample_rate, wavelet="cmor2-0.75", f_min=sample_rate / 40, n_bins=4, hop_length=1,
        precision=PRECISION, output="complex", dtype=torch.float64,
    )  # fmt: skip
    assert module.scales[-1].item() < 1.5 and torch.isfinite(module.center_logits).all()
    expected, _ = _pywt_cwt(module.scales.numpy(), "cmor2-0.75")
    assert _relative_error(module(torch.from_numpy(SIGNAL)), expected) < 1e-10
