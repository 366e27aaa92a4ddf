"""Decimation (closed forms, librosa's soxr resampling) and the banded kernel product (numpy)."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from adaspec.ops import banded_product, decimate, decimated_length, interleaved_weights, octave_rates


def tones(n: int, rate: float, freqs: list[float]) -> np.ndarray:
    t = np.arange(n) / rate
    return sum(np.cos(2 * np.pi * f * t + 0.3 * i) for i, f in enumerate(freqs))


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_in_band_tones_are_kept_and_out_of_band_tones_removed(factor):
    rate, n = 8000.0, 16001
    new_nyquist = rate / factor / 2
    kept = [0.1 * new_nyquist, 0.5 * new_nyquist, 0.9 * new_nyquist]
    x = tones(n, rate, kept) + tones(n, rate, [1.05 * new_nyquist, 1.6 * new_nyquist])
    out = decimate(torch.from_numpy(x), factor).numpy()
    assert out.shape == (decimated_length(n, factor),) == (-(-n // factor),)
    expected = tones(n, rate, kept)[::factor]
    # Away from the ends (where the tones start abruptly) the result is the kept tones, sampled.
    margin = 300
    np.testing.assert_allclose(out[margin:-margin], expected[margin:-margin], atol=2e-5)


@pytest.mark.parametrize("factor", [2, 4, 8])
@pytest.mark.parametrize("n", [4000, 4001, 4003])
def test_matches_librosa_soxr_resampling(factor, n):
    """White noise (energy up to Nyquist, so the whole transition band counts): soxr's gain, so within
    about 1e-6 of librosa; at the ends too for halvings. Larger factors (soxr's stages) ring at the ends."""
    x = np.random.default_rng(n).standard_normal(n)
    expected = librosa.resample(x, orig_sr=factor, target_sr=1, res_type="soxr_hq", scale=True)
    expected /= np.sqrt(factor)  # scale=True keeps the energy; we keep the amplitude
    out = decimate(torch.from_numpy(x), factor).numpy()
    assert out.shape == expected.shape
    # soxr keeps round(n / factor) samples and librosa pads zeros up to ceil(n / factor): so do we.
    valid = (2 * n + factor) // (2 * factor)
    assert (out[valid:] == 0).all() and (expected[valid:] == 0).all()
    np.testing.assert_allclose(out[100:-100], expected[100:-100], atol=3e-6)
    np.testing.assert_allclose(out, expected, atol=3e-6 if factor == 2 else 5e-2)


def test_octave_rates_chain_lengths_and_leading_dimensions():
    x = torch.randn(2, 3, 5001, dtype=torch.float64)
    signals = octave_rates(x, 4, 3)
    assert [s.shape for s in signals] == [(2, 3, 1251), (2, 3, 626), (2, 3, 313), (2, 3, 157)]
    torch.testing.assert_close(signals[0], decimate(x, 4))
    torch.testing.assert_close(signals[2], decimate(decimate(decimate(x, 4), 2), 2))
    assert octave_rates(x, 1, 0)[0] is x


def test_decimate_is_differentiable():
    x = torch.randn(1, 37, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: decimate(v, 4), (x,))


def test_banded_product_equals_dense_product():
    """A complex product (``P = K``, ``Q = iK``) and one with the conjugate too (``K X + C conj(X)``)."""
    rng = np.random.default_rng(0)
    spectrum = rng.standard_normal((2, 7, 50)) + 1j * rng.standard_normal((2, 7, 50))

    def banded(values: np.ndarray) -> np.ndarray:
        dense = np.zeros((5, 50), dtype=np.complex128)
        dense[:3, 4:19] = values[:3, :15]
        dense[3:, 30:41] = values[3:, :11]
        return dense

    kernel = banded(rng.standard_normal((5, 15)) + 1j * rng.standard_normal((5, 15)))
    conjugate = banded(rng.standard_normal((5, 15)) + 1j * rng.standard_normal((5, 15)))
    for with_conjugate in (False, True):
        other = conjugate if with_conjugate else np.zeros_like(conjugate)
        real_weights, imag_weights = kernel + other, 1j * (kernel - other)
        blocks = [
            (4, interleaved_weights(real_weights[:3, 4:19], imag_weights[:3, 4:19])),
            (30, interleaved_weights(real_weights[3:, 30:41], imag_weights[3:, 30:41])),
        ]
        out = banded_product(torch.from_numpy(spectrum), blocks).numpy()
        expected = spectrum @ kernel.T + spectrum.conj() @ other.T
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("factor", [0, -2, 1.5, 3])
def test_decimate_bad_factor(factor) -> None:
    with pytest.raises(ValueError, match="factor"):
        decimate(torch.zeros(2, 1000), factor)
