"""SincGram against an independent numpy construction of DEGramNet's Butterworth filterbank."""

import librosa
import numpy as np
import pytest
import torch

import adaspec

SR = 16000


def htk_points(n_points, f_min, f_max):
    """``n_points`` frequencies equally spaced on the HTK mel scale (own formula, not adaspec's)."""
    mel_min, mel_max = (2595.0 * np.log10(1.0 + f / 700.0) for f in (f_min, f_max))
    return 700.0 * (10.0 ** (np.linspace(mel_min, mel_max, n_points) / 2595.0) - 1.0)


def expected_matrix(n_filters, n_fft, f_min, f_max, order, init="mel", sr=SR):
    """``W[bin, k] = 1 / sqrt(1 + ((f_bin - c_k) / b_k) ** (2 order))``, ``b_k = (f_{k+1} - f_{k-1}) / 2``."""
    if init == "mel":
        points = htk_points(n_filters + 2, f_min, f_max)
    else:
        points = np.linspace(f_min, f_max, n_filters + 2)
    centres, bandwidths = points[1:-1], (points[2:] - points[:-2]) / 2.0
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    return 1.0 / np.sqrt(1.0 + ((freqs[:, None] - centres[None, :]) / bandwidths[None, :]) ** (2 * order))


# --------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("init", ["mel", "linear"])
@pytest.mark.parametrize(
    ("n_filters", "n_fft", "f_min", "f_max", "order"),
    [
        (64, 512, 0.0, None, 4),
        (1, 512, 0.0, None, 4),
        (13, 400, 50.0, 7000.0, 2),
        (200, 1024, 20.0, 8000.0, 5),
    ],
)
def test_initial_filterbank_equals_closed_form(init, n_filters, n_fft, f_min, f_max, order):
    module = adaspec.SincGram(
        n_filters, SR, n_fft, f_min=f_min, f_max=f_max, order=order, init=init, dtype=torch.float64
    )
    expected = expected_matrix(n_filters, n_fft, f_min, SR / 2 if f_max is None else f_max, order, init)
    actual = module.filterbank().detach().numpy()
    assert actual.shape == (n_fft // 2 + 1, n_filters)
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


def test_initial_filterbank_float32_within_rounding():
    module = adaspec.SincGram(64, SR, 512)
    assert module.centre_logits.dtype == torch.float32
    expected = expected_matrix(64, 512, 0.0, SR / 2, 4)
    np.testing.assert_allclose(module.filterbank().detach().numpy(), expected, atol=2e-5)


@pytest.mark.parametrize(("n_filters", "f_min", "f_max"), [(64, 0.0, 8000.0), (40, 300.0, 6000.0)])
def test_mel_centres_equal_librosa_htk_points(n_filters, f_min, f_max):
    module = adaspec.SincGram(n_filters, SR, 512, f_min=f_min, f_max=f_max, dtype=torch.float64)
    points = librosa.mel_frequencies(n_filters + 2, fmin=f_min, fmax=f_max, htk=True)
    np.testing.assert_allclose(module.centres.detach().numpy(), points[1:-1], rtol=1e-12)
    np.testing.assert_allclose(module.bandwidths.detach().numpy(), (points[2:] - points[:-2]) / 2, rtol=1e-9)


# --------------------------------------------------------------------------- forward


@pytest.mark.parametrize("leading", [(), (3,), (2, 3)])
def test_forward_is_the_matrix_applied_to_every_frame(leading):
    rng = np.random.default_rng(0)
    spectrogram = rng.random((*leading, 257, 20))
    module = adaspec.SincGram(32, SR, 512, dtype=torch.float64)
    with torch.no_grad():
        actual = module(torch.from_numpy(spectrogram)).numpy()
    expected = np.einsum("...ft,fk->...kt", spectrogram, expected_matrix(32, 512, 0.0, SR / 2, 4))
    assert actual.shape == (*leading, 32, 20)
    np.testing.assert_allclose(actual, expected, rtol=1e-10)


def test_wrong_number_of_bins_raises():
    module = adaspec.SincGram(16, SR, 512)
    with pytest.raises(ValueError, match="257"):
        module(torch.rand(2, 256, 10))


# --------------------------------------------------------------------------- learning


def test_gradients_reach_centres_and_bandwidths_only_when_learn_filters():
    spectrogram = torch.rand(2, 257, 30, dtype=torch.float64)
    module = adaspec.SincGram(16, SR, 512, dtype=torch.float64)
    assert module.learn_filters
    (module(spectrogram) * torch.randn(2, 16, 30, dtype=torch.float64)).sum().backward()
    for parameter in (module.centre_logits, module.bandwidth_logits):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0

    module.learn_filters = False
    assert not module.centre_logits.requires_grad and not module.bandwidth_logits.requires_grad
    frozen = adaspec.SincGram(16, SR, 512, learn_filters=False)
    assert {n for n, p in frozen.named_parameters() if p.requires_grad} == set()


def test_gradients_match_finite_differences():
    module = adaspec.SincGram(5, 8000, 64, order=3, dtype=torch.float64)
    spectrogram = torch.rand(2, 33, 4, dtype=torch.float64)

    def run(centre_logits, bandwidth_logits):
        params = {"centre_logits": centre_logits, "bandwidth_logits": bandwidth_logits}
        return torch.func.functional_call(module, params, (spectrogram,))

    params = (module.centre_logits.detach().clone(), module.bandwidth_logits.detach().clone())
    assert torch.autograd.gradcheck(run, tuple(p.requires_grad_() for p in params))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_constraints_hold_after_huge_gradient_steps(dtype, direction):
    """Push every centre up (or down) and every bandwidth down with lr 1e3 for 100 steps."""
    module = adaspec.SincGram(32, SR, 512, dtype=dtype)
    optimizer = torch.optim.SGD(module.parameters(), lr=1e3)
    spectrogram = torch.rand(2, 257, 10, dtype=dtype)
    nyquist = SR / 2
    for _ in range(100):
        optimizer.zero_grad()
        output = module(spectrogram)
        loss = -direction * module.centres.sum() + module.bandwidths.sum() - output.mean()
        loss.backward()
        optimizer.step()
        centres, bandwidths = module.centres.detach(), module.bandwidths.detach()
        assert ((centres > 0) & (centres < nyquist)).all()
        assert (bandwidths > 0).all()
        assert torch.isfinite(output).all()
        assert all(torch.isfinite(p).all() and torch.isfinite(p.grad).all() for p in module.parameters())
    edge = centres.max() if direction > 0 else centres.min()
    assert (edge > 0.99 * nyquist) if direction > 0 else (edge < 0.01 * nyquist)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_filters=0), "n_filters"),
        (dict(n_filters=-2), "n_filters"),
        (dict(f_max=8001.0), "f_max"),
        (dict(f_min=-5.0), "f_min"),
        (dict(f_min=4000.0, f_max=3000.0), "f_max"),
        (dict(order=0), "order"),
        (dict(order=0.5), "order"),
        (dict(init="erb"), "init"),
        (dict(n_fft=0), "n_fft"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.SincGram(**{"n_filters": 16, "sample_rate": SR, "n_fft": 512, **kwargs})


@pytest.mark.parametrize(("f_min", "f_max", "n_filters"), [(100.0, 100.5, 64), (7999.0, None, 1000)])
def test_bands_narrower_than_the_smallest_bandwidth_start_finite(f_min, f_max, n_filters):
    """Many filters in a narrow range ask for bandwidths below ``MIN_BANDWIDTH`` of Nyquist: their logits
    were NaN (and so was the output); they now start at that smallest bandwidth. Closed form of the
    linear initialisation: inner points of ``linspace(f_min, f_max, n + 2)``, half their neighbours' gap."""
    module = adaspec.SincGram(
        n_filters, SR, n_fft=64, f_min=f_min, f_max=f_max, init="linear", dtype=torch.float64
    )
    assert all(torch.isfinite(parameter).all() for parameter in module.parameters())
    assert torch.isfinite(module(torch.rand(2, 33, 5, dtype=torch.float64))).all()
    nyquist = SR / 2
    points = np.linspace(f_min, f_max or nyquist, n_filters + 2)
    smallest = 1e-6 * nyquist  # MIN_BANDWIDTH
    expected = np.maximum((points[2:] - points[:-2]) / 2, smallest)
    np.testing.assert_allclose(module.bandwidths.detach().numpy(), expected, rtol=1e-5)
    # centres: the closed form, but strictly inside (0, Nyquist) by the reparameterisation's margin
    np.testing.assert_allclose(module.centres.detach().numpy(), points[1:-1], rtol=0, atol=3e-5 * nyquist)
    assert module.centres.max() < nyquist
