"""SpectrogramNorm against a numpy z-score."""

import numpy as np
import pytest
import scipy.stats
import torch

import adaspec


def numpy_zscore(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)  # ddof=0
    return (x - mean) / np.sqrt(var + eps)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("mode", "axes"), [("frequency", (-1,)), ("example", (-2, -1))])
@pytest.mark.parametrize("shape", [(16, 30), (4, 16, 30), (2, 3, 16, 30)])
def test_matches_numpy_zscore(mode, axes, shape, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, shape) * rng.uniform(0.1, 10.0, (*shape[:-1], 1))
    module = adaspec.SpectrogramNorm(mode, eps=1e-5)
    with torch.no_grad():
        actual = module(torch.from_numpy(x).to(dtype)).double().numpy()
    assert actual.shape == x.shape
    np.testing.assert_allclose(
        actual, numpy_zscore(x, axes, 1e-5), atol=1e-10 if dtype == torch.float64 else 2e-5
    )


def test_frequency_mode_equals_scipy_zscore_for_tiny_eps():
    x = np.random.default_rng(1).normal(size=(3, 8, 50))
    module = adaspec.SpectrogramNorm("frequency", eps=1e-300)
    with torch.no_grad():
        actual = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(actual, scipy.stats.zscore(x, axis=-1), atol=1e-12)


def test_non_contiguous_input():
    x = torch.randn(2, 40, 16, dtype=torch.float64).transpose(-1, -2)
    module = adaspec.SpectrogramNorm()
    expected = numpy_zscore(x.numpy(), (-1,), module.eps)
    np.testing.assert_allclose(module(x).numpy(), expected, atol=1e-12)


@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_silence_and_constant_bands_stay_finite(mode):
    x = torch.zeros(2, 8, 20, requires_grad=True)
    output = adaspec.SpectrogramNorm(mode)(x)
    (output * torch.randn_like(output)).sum().backward()
    assert torch.equal(output, torch.zeros_like(output))
    assert torch.isfinite(x.grad).all()

    constant = torch.full((2, 8, 20), -13.8, requires_grad=True)  # log(1e-6) of silence
    output = adaspec.SpectrogramNorm(mode)(constant)
    output.sum().backward()
    assert torch.isfinite(output).all() and torch.isfinite(constant.grad).all()


@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_gradients_match_finite_differences(mode):
    x = torch.randn(2, 3, 5, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(adaspec.SpectrogramNorm(mode, eps=1e-3), (x,))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(mode="time"), "mode"), (dict(eps=0.0), "eps"), (dict(eps=-1e-5), "eps"), (dict(eps="1"), "eps")],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.SpectrogramNorm(**kwargs)


def test_one_dimensional_input_raises():
    with pytest.raises(ValueError, match="shape"):
        adaspec.SpectrogramNorm()(torch.randn(10))


@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_empty_batch_keeps_its_shape(mode):
    x = torch.zeros(0, 3, 16, 30, requires_grad=True)
    out = adaspec.SpectrogramNorm(mode=mode)(x)
    assert out.shape == x.shape
    out.sum().backward()
    assert x.grad.shape == x.shape


@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_float16_statistics_do_not_overflow(mode):
    # 1000 frames of standard deviation 10: a sum of squares of 1e5, beyond float16's 65504 (it gave
    # inf variance and an all-zero output); the result is float16, within its rounding of the oracle.
    rng = np.random.default_rng(2)
    x = rng.normal(0.0, 10.0, (2, 4, 1000))
    axes = (-1,) if mode == "frequency" else (-2, -1)
    output = adaspec.SpectrogramNorm(mode)(torch.from_numpy(x).half())
    assert output.dtype == torch.float16
    half_rounded = torch.from_numpy(x).half().double().numpy()
    np.testing.assert_allclose(output.double().numpy(), numpy_zscore(half_rounded, axes, 1e-5), atol=5e-3)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32])
@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_eps_below_the_dtype_range_keeps_constant_input_finite(mode, dtype):
    # eps=1e-50 rounds to 0 in float32 (1e-8 in float16): constant bands gave 0 / 0 = NaN.
    eps = 1e-50 if dtype == torch.float32 else 1e-8
    constant = torch.full((2, 8, 20), 3.0, dtype=dtype, requires_grad=True)
    output = adaspec.SpectrogramNorm(mode, eps=eps)(constant)
    (output.float() * torch.randn(output.shape)).sum().backward()
    assert torch.equal(output, torch.zeros_like(output))
    assert torch.isfinite(constant.grad).all()


@pytest.mark.parametrize("mode", ["frequency", "example"])
def test_second_order_gradients_match_finite_differences_and_plain_torch(mode):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    module = adaspec.SpectrogramNorm(mode, eps=1e-3)
    assert torch.autograd.gradgradcheck(module, (x,))

    def plain(v):
        axes = (-1,) if mode == "frequency" else (-2, -1)
        centred = v - v.mean(dim=axes, keepdim=True)
        return centred / torch.sqrt(centred.pow(2).mean(dim=axes, keepdim=True) + 1e-3)

    def penalty_gradient(transform):
        out = transform(x)
        weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
        (grad,) = torch.autograd.grad((out * weights).sum() + out.pow(3).sum(), x, create_graph=True)
        return torch.autograd.grad(grad.pow(2).sum(), x)[0]

    expected = penalty_gradient(plain)
    torch.testing.assert_close(
        penalty_gradient(module), expected, rtol=1e-10, atol=1e-10 * expected.abs().max().item()
    )
