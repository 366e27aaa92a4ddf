"""Butterworth kernels against librosa's mel points and the closed form written out in numpy."""

import librosa
import numpy as np
import pytest
import torch

from adaspec.kernels import butterworth_centres, butterworth_filterbank


def numpy_response(freqs, centres, bandwidths, order):
    """The closed form ``1 / sqrt(1 + ((f - c) / b) ** (2 n))`` (float64; abs for non-integer orders)."""
    ratio = np.abs(np.asarray(freqs)[:, None] - np.asarray(centres)[None, :]) / np.asarray(bandwidths)
    with np.errstate(over="ignore"):
        return 1.0 / np.sqrt(1.0 + ratio ** (2.0 * order))


@pytest.mark.parametrize("n_filters", [1, 2, 7, 64, 128])
@pytest.mark.parametrize(("f_min", "f_max"), [(0.0, 8000.0), (300.0, 5000.0), (20.0, 11025.0)])
def test_mel_centres_and_bandwidths_match_librosa_points(n_filters, f_min, f_max):
    centres, bandwidths = butterworth_centres(n_filters, f_min, f_max, "mel")
    points = librosa.mel_frequencies(n_filters + 2, fmin=f_min, fmax=f_max, htk=True)
    assert centres.dtype == bandwidths.dtype == np.float64
    np.testing.assert_allclose(centres, points[1:-1], rtol=1e-12)
    np.testing.assert_allclose(bandwidths, (points[2:] - points[:-2]) / 2, rtol=1e-10)


@pytest.mark.parametrize("n_filters", [1, 5, 64])
def test_linear_centres_are_equally_spaced_in_hz(n_filters):
    centres, bandwidths = butterworth_centres(n_filters, 100.0, 7000.0, "linear")
    step = 6900.0 / (n_filters + 1)
    np.testing.assert_allclose(centres, 100.0 + step * np.arange(1, n_filters + 1), rtol=1e-12)
    np.testing.assert_allclose(bandwidths, np.full(n_filters, step), rtol=1e-10)


@pytest.mark.parametrize("order", [1, 2, 2.5, 4, 10])
def test_filterbank_matches_closed_form(order):
    freqs = np.fft.rfftfreq(512, 1 / 16000)
    centres, bandwidths = butterworth_centres(40, 0.0, 8000.0, "mel")
    actual = butterworth_filterbank(freqs, centres, bandwidths, order)
    assert actual.shape == (257, 40) and actual.dtype == torch.float64
    np.testing.assert_allclose(actual.numpy(), numpy_response(freqs, centres, bandwidths, order), rtol=1e-11)


def test_half_power_points_at_one_bandwidth():
    response = butterworth_filterbank(np.array([900.0, 1100.0, 1000.0]), [1000.0], [100.0], 4).numpy()
    np.testing.assert_allclose(response[:, 0], [2**-0.5, 2**-0.5, 1.0], rtol=1e-14)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtype_follows_tensors_or_argument(dtype):
    freqs = torch.linspace(0, 8000, 9, dtype=dtype)
    centres, bandwidths = (
        torch.tensor([1000.0, 3000.0], dtype=dtype),
        torch.tensor([200.0, 500.0], dtype=dtype),
    )
    assert butterworth_filterbank(freqs, centres, bandwidths, 4).dtype == dtype
    assert butterworth_filterbank(freqs, centres, bandwidths, 4, dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize("order", [1, 3.5, 4])
def test_gradients_match_finite_differences_including_a_centre_on_a_bin(order):
    freqs = torch.linspace(0.0, 8000.0, 17, dtype=torch.float64, requires_grad=True)
    centres = torch.tensor([0.0, 1000.0, 2345.0, 7999.0], dtype=torch.float64, requires_grad=True)
    bandwidths = torch.tensor([120.0, 300.0, 0.7, 2500.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f, c, b: butterworth_filterbank(f, c, b, order), (freqs, centres, bandwidths)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extremely_narrow_and_wide_bands_stay_finite(dtype):
    freqs = torch.linspace(0.0, 8000.0, 257, dtype=dtype)
    centres = torch.tensor([1e-3, 4000.0, 7999.99], dtype=dtype, requires_grad=True)
    bandwidths = torch.tensor([1e-6, 1e-2, 1e9], dtype=dtype, requires_grad=True)
    response = butterworth_filterbank(freqs, centres, bandwidths, 10)
    (response * torch.randn_like(response)).sum().backward()
    for tensor in (response, centres.grad, bandwidths.grad):
        assert torch.isfinite(tensor).all()
    assert ((response >= 0) & (response <= 1)).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_filters=0), "n_filters"),
        (dict(n_filters=-3), "n_filters"),
        (dict(n_filters=2.0), "n_filters"),
        (dict(init="bark"), "init"),
        (dict(f_min=-1.0), "f_min"),
        (dict(f_min=500.0, f_max=500.0), "f_max"),
    ],
)
def test_centres_reject_bad_parameters(kwargs, name):
    kwargs = {"n_filters": 8, "f_min": 0.0, "f_max": 8000.0, "init": "mel", **kwargs}
    with pytest.raises(ValueError, match=name):
        butterworth_centres(**kwargs)


@pytest.mark.parametrize("order", [0, 0.5, -2, True, "4"])
def test_filterbank_rejects_bad_order(order):
    with pytest.raises(ValueError, match="order"):
        butterworth_filterbank(np.zeros(3), np.ones(2), np.ones(2), order)


@pytest.mark.parametrize(
    ("kwargs", "name"), [(dict(f_max=float("inf")), "f_max"), (dict(f_min="0"), "f_min")]
)
def test_centres_refuse_frequencies_that_are_not_finite_numbers(kwargs, name):
    """``f_max=inf`` gave NaN centres and bandwidths, ``f_min="0"`` a TypeError."""
    kwargs = {"n_filters": 8, "f_min": 0.0, "f_max": 8000.0, **kwargs}
    with pytest.raises(ValueError, match=rf"{name} must be a finite number"):
        butterworth_centres(**kwargs)


def test_filterbank_refuses_an_integer_dtype():
    """``dtype=torch.int64`` truncated every response below 1 to 0."""
    with pytest.raises(ValueError, match=r"dtype must be None or a real floating-point torch.dtype"):
        butterworth_filterbank(np.linspace(0.0, 8000.0, 9), [1000.0], [200.0], 4, dtype=torch.int64)


@pytest.mark.parametrize("order", [1, 1.5, 2, 3.5, 4])
def test_second_order_gradients_match_finite_differences_including_a_centre_on_a_bin(order):
    freqs = torch.linspace(0.0, 8000.0, 9, dtype=torch.float64, requires_grad=True)
    centres = torch.tensor([1000.0, 2345.0, 7999.0], dtype=torch.float64, requires_grad=True)
    bandwidths = torch.tensor([300.0, 2.5, 2500.0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradgradcheck(
        lambda f, c, b: butterworth_filterbank(f, c, b, order), (freqs, centres, bandwidths)
    )


@pytest.mark.parametrize("order", [1, 2, 3.5])
def test_second_derivative_at_a_centre_on_a_bin_is_exact(order):
    """``d2W/dc2`` and ``d2W/dcdb`` at ``f = c``, where ``log|y|`` is ``-inf``: ``-1/b^2`` and 0 for
    order 1 (``W = (1 + y^2)^(-1/2)``), 0 for higher orders; elsewhere autograd's through the closed form."""
    freqs = torch.tensor([1000.0, 1100.0], dtype=torch.float64)
    centres = torch.tensor([1000.0], dtype=torch.float64, requires_grad=True)
    bandwidths = torch.tensor([50.0], dtype=torch.float64, requires_grad=True)

    def second(response):
        weights = response(freqs, centres, bandwidths)
        grad_c = torch.autograd.grad(weights.sum(), centres, create_graph=True)[0]
        return torch.stack([grad for grad in torch.autograd.grad(grad_c.sum(), (centres, bandwidths))])

    def closed_form_at(f):
        def response(_, c, b):
            return (1.0 + ((f - c) / b).abs() ** (2.0 * order)) ** -0.5

        return second(response)

    on_bin = second(lambda f, c, b: butterworth_filterbank(f[:1], c, b, order))
    expected_on_bin = torch.tensor(
        [[-1.0 / 50.0**2], [0.0]] if order == 1 else [[0.0], [0.0]], dtype=torch.float64
    )
    torch.testing.assert_close(on_bin, expected_on_bin, rtol=1e-12, atol=1e-15)
    off_bin = second(lambda f, c, b: butterworth_filterbank(f[1:], c, b, order))
    torch.testing.assert_close(off_bin, closed_form_at(freqs[1:]), rtol=1e-10, atol=0.0)
