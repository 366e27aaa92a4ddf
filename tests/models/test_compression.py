"""Compression against closed-form numpy logarithms; finite gradients on silence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adaspec.models import Compression


def magnitudes(seed: int = 0) -> np.ndarray:
    """Values over 14 decades with exact zeros (float64)."""
    rng = np.random.default_rng(seed)
    values = 10.0 ** rng.uniform(-12.0, 2.0, size=(2, 9, 11))
    values[rng.random(values.shape) < 0.1] = 0.0
    return values


EXPECTED = {
    ("db", True): lambda x: 10.0 * np.log10(np.maximum(x, 1e-10)),
    ("db", False): lambda x: 20.0 * np.log10(np.maximum(x, 1e-10)),
    ("log", True): lambda x: np.log(x + 1e-6),
    ("log", False): lambda x: np.log(x + 1e-6),
    ("none", True): lambda x: x,
    ("none", False): lambda x: x,
}


@pytest.mark.parametrize(("kind", "power"), list(EXPECTED))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_real_input_matches_closed_form(kind, power, dtype):
    x = magnitudes()
    actual = Compression(kind, power=power)(torch.from_numpy(x).to(dtype)).double().numpy()
    rtol = 1e-6 if dtype == torch.float32 else 1e-12
    # float32 rounding of the input (relative 6e-8) moves a log by at most 6e-8 (x 8.7 for dB)
    atol = 1e-5 if dtype == torch.float32 and kind != "none" else 0.0
    np.testing.assert_allclose(actual, EXPECTED[kind, power](x), rtol=rtol, atol=atol)


@pytest.mark.parametrize(("kind", "power"), list(EXPECTED))
def test_complex_input_uses_the_magnitude(kind, power):
    rng = np.random.default_rng(1)
    z = magnitudes() * np.exp(1j * rng.uniform(0, 2 * np.pi, size=(2, 9, 11)))
    actual = Compression(kind, power=power)(torch.from_numpy(z))
    assert not actual.is_complex()
    np.testing.assert_allclose(actual.numpy(), EXPECTED[kind, power](np.abs(z)), rtol=1e-12, atol=1e-12)


def test_db_values():
    x = torch.tensor([0.0, 1e-10, 1e-3, 1.0, 10.0, 100.0], dtype=torch.float64)
    torch.testing.assert_close(
        Compression("db", power=True)(x), torch.tensor([-100.0, -100, -30, 0, 10, 20]).double()
    )
    torch.testing.assert_close(Compression("db")(x), torch.tensor([-200.0, -200, -60, 0, 20, 40]).double())


@pytest.mark.parametrize(("kind", "power"), list(EXPECTED))
@pytest.mark.parametrize("complex_input", [False, True])
def test_finite_value_and_gradient_on_silence(kind, power, complex_input):
    dtype = torch.complex64 if complex_input else torch.float32
    x = torch.zeros(2, 5, 4, dtype=dtype, requires_grad=True)
    y = Compression(kind, power=power)(x)
    y.sum().backward()
    assert torch.isfinite(y).all()
    assert (
        x.grad is not None and torch.isfinite(torch.view_as_real(x.grad) if complex_input else x.grad).all()
    )


def test_log_gradient_is_closed_form():
    x = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64, requires_grad=True)
    Compression("log")(x).sum().backward()
    torch.testing.assert_close(x.grad, 1.0 / (x.detach() + 1e-6))


def test_unknown_kind_raises():
    with pytest.raises(ValueError, match=r"kind must be one of 'db', 'log', 'none'; got 'ln'"):
        Compression("ln")


@pytest.mark.parametrize("power", ["no", 1, None])
def test_power_must_be_a_bool(power):
    # a truthy string or number silently picked 10 log10 (power) instead of 20 log10
    with pytest.raises(ValueError, match=f"power must be True or False, got {power!r}"):
        Compression("db", power=power)
