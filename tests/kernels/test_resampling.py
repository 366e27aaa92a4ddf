"""soxr's 'HQ' low-pass as shipped gain tables, against soxr itself (on an impulse and on tones), and
their interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import soxr
import torch

from adaspec.kernels import RESPONSE_POINTS, interpolated_gain, soxr_hq_response
from adaspec.kernels.resampling import MAX_TABLE_FACTOR, TABLE_START, measure_soxr_hq_response


@pytest.mark.parametrize("factor", [2, 4, 16])
@pytest.mark.parametrize("fraction", [0.3, 0.9, 0.94, 0.96, 0.98])
def test_response_is_soxr_gain_on_a_tone(factor, fraction):
    """A tone at ``fraction`` of the new Nyquist frequency, decimated by soxr: its amplitude ratio in the
    middle of the output is the table's gain there."""
    n_out = 4096
    t = np.arange(n_out * factor)
    frequency = fraction * 0.5 / factor  # cycles per input sample
    tone = np.cos(2 * np.pi * frequency * t)
    out = soxr.resample(tone, factor, 1, quality="HQ")
    middle = out[n_out // 4 : 3 * n_out // 4]
    phase = 2 * np.pi * frequency * factor * np.arange(n_out // 4, 3 * n_out // 4)
    # least-squares amplitude of cos and sin at the tone's frequency
    basis = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    coefficients = np.linalg.lstsq(basis, middle, rcond=None)[0]
    measured = np.hypot(*coefficients)
    gain = interpolated_gain(torch.tensor(soxr_hq_response(factor)), torch.tensor([fraction])).item()
    assert abs(gain - measured) <= 2e-4


@pytest.mark.parametrize("factor", [2, 8, 64, MAX_TABLE_FACTOR])
def test_shipped_tables_are_the_installed_soxr(factor):
    measured = measure_soxr_hq_response(factor)
    shipped = soxr_hq_response(factor)
    assert shipped.shape == (RESPONSE_POINTS,) and not shipped.flags.writeable
    # only the gains from TABLE_START on are stored: soxr is flat to 1e-6 below
    np.testing.assert_allclose(shipped, measured, rtol=0, atol=2e-6)
    stored = np.linspace(0.0, 1.0, RESPONSE_POINTS) >= TABLE_START
    # soxr computes in float32: another CPU or build may round differently, by about 1e-7
    np.testing.assert_allclose(shipped[stored], measured[stored], rtol=0, atol=1e-6)


def test_response_falls_from_one_to_zero():
    response = soxr_hq_response(2)
    frequencies = np.linspace(0.0, 1.0, RESPONSE_POINTS)
    np.testing.assert_allclose(response[frequencies <= 0.9], 1.0, atol=1e-5)
    assert response[-1] < 1e-5 and (np.diff(response[frequencies > 0.93]) <= 1e-6).all()


def test_factors_beyond_the_tables_take_the_largest():
    assert soxr_hq_response(4 * MAX_TABLE_FACTOR) is soxr_hq_response(MAX_TABLE_FACTOR)


def test_interpolated_gain_is_linear_between_points_and_zero_beyond():
    table = torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64)  # at 0, 0.5 and 1
    relative = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 1.01, 3.0], dtype=torch.float64)
    np.testing.assert_allclose(
        interpolated_gain(table, relative).numpy(), [1.0, 0.75, 0.5, 0.25, 0.0, 0.0, 0.0]
    )


@pytest.mark.parametrize("factor", [0, 1, -2, 3, 12, 2.0])
def test_a_decimation_factor_is_a_power_of_two(factor):
    with pytest.raises(ValueError, match="factor"):
        soxr_hq_response(factor)
