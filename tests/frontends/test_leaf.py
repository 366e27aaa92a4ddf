"""LEAF: the band-wise FFT computation against a direct stride-1 convolution, the mel initialisation
against librosa, gradients, autocast, shapes and validation."""

from __future__ import annotations

import math

import librosa
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import adaspec
from adaspec.ops import gabor_pooled_energy

SR, HOP = 16000, 160


def direct_pooled_energy(x, centers, widths, pool_widths, hop):
    """Reference: stride-1 complex convolution with Gabor filters cut at 8 sigma, squared modulus,
    Gaussian pooling (cut at 8 sigma) evaluated every ``hop`` samples; zero padding; float64."""
    length = x.shape[-1]
    half = math.ceil(8 * widths.max().item())
    reach = math.ceil(8 * pool_widths.max().item())
    t = torch.arange(-half, half + 1, dtype=x.dtype)
    envelope = torch.exp(-0.5 * (t / widths[:, None]) ** 2) / (math.sqrt(2 * math.pi) * widths[:, None])
    # conv1d correlates: flip the filters so that z[n] = sum_m h[m] x[n - m]
    real = torch.flip(envelope * torch.cos(centers[:, None] * t), [-1])[:, None]
    imag = torch.flip(envelope * torch.sin(centers[:, None] * t), [-1])[:, None]
    padded = F.pad(x, (half + reach, half + reach + hop))[:, None]
    energy = F.conv1d(padded, real) ** 2 + F.conv1d(padded, imag) ** 2  # sample n at index n + reach
    offsets = torch.arange(-reach, reach + 1, dtype=x.dtype)
    pool = torch.exp(-0.5 * (offsets / pool_widths[:, None]) ** 2)[:, None]
    pooled = F.conv1d(energy, pool, groups=len(centers))  # index n: centred on sample n
    return pooled[..., ::hop][..., : 1 + length // hop]


def leaf_parameters(module):
    return module.centers.double(), module.filter_widths.double(), module.pooling_widths.double()


def make_signals(n: int = 3000) -> torch.Tensor:
    rng = np.random.default_rng(0)
    t = np.arange(n) / SR
    tones = np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 3000 * t) + 0.01 * rng.standard_normal(n)
    click = np.zeros(n)
    click[n // 3] = 1.0
    return torch.from_numpy(np.stack([rng.standard_normal(n), tones, click]))


# --------------------------------------------------------------------------- the fast path is exact


@pytest.mark.parametrize("n_filters", [40, 64])
def test_pooled_energy_matches_direct_convolution(n_filters):
    module = adaspec.LEAF(SR, n_filters=n_filters)
    x = make_signals()
    with torch.no_grad():
        params = leaf_parameters(module)
        ours = gabor_pooled_energy(x, *params, HOP)
        expected = direct_pooled_energy(x, *params, HOP)
    assert ours.shape == expected.shape == (3, n_filters, 1 + x.shape[-1] // HOP)
    error = (ours - expected).abs().amax(-1) / expected.abs().amax(-1)
    assert error.max() < 1e-4


@pytest.mark.parametrize("hop", [97, 7, 1])
def test_pooled_energy_matches_at_extreme_widths_and_odd_hops(hop):
    """Bands that cross 0 Hz and Nyquist, a pooling width near one sample, hops from 1 to odd."""
    centers = torch.tensor([0.01, 0.5, 1.7, 3.1], dtype=torch.float64)
    widths = torch.tensor([150.0, 1.6, 20.0, 3.0], dtype=torch.float64)
    pools = torch.tensor([1.2, 100.0, 30.0, 7.0], dtype=torch.float64)
    x = make_signals(2000)
    ours = gabor_pooled_energy(x, centers, widths, pools, hop)
    expected = direct_pooled_energy(x, centers, widths, pools, hop)
    error = (ours - expected).abs().amax(-1) / expected.abs().amax(-1)
    assert error.max() < 1e-4


def test_pooled_energy_error_is_bounded_by_the_loudest_channel():
    """Pure tones at 22.05 kHz: a tone just outside a band (8029 Hz below the 9.56 kHz filter's band, here)
    is cut where the filter's response is a few 1e-3, which leaves that quiet channel off by about 3e-3 of
    its own maximum but every channel within exp(-4.5^2 / 2) ~ 4e-5 of the largest energy (the documented
    bound; 6.5e-6 measured)."""
    sample_rate = 22050
    t = np.arange(sample_rate // 4) / sample_rate
    tones = np.array([8028.9, 10038.4, 2988.2, 479.3])
    x = torch.from_numpy(np.sin(2 * np.pi * tones[:, None] * t))
    module = adaspec.LEAF(sample_rate, n_filters=40)
    with torch.no_grad():
        params = leaf_parameters(module)
        ours = gabor_pooled_energy(x, *params, module.hop_length)
        expected = direct_pooled_energy(x, *params, module.hop_length)
    error = (ours - expected).abs()
    assert (error.amax((-1, -2)) <= math.exp(-(4.5**2) / 2) * expected.amax((-1, -2))).all()
    # the input does reach a band's edge: relative to its own maximum the quiet channel is off by more
    assert (error[0].amax(-1) / expected[0].amax(-1)).max() > 1e-4


def test_pooled_energy_gradients_match_direct_convolution():
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((2, 1200))).requires_grad_()
    module = adaspec.LEAF(SR, n_filters=12)
    params = [p.detach().clone().requires_grad_() for p in leaf_parameters(module)]
    weights = torch.from_numpy(rng.standard_normal((2, 12, 1 + 1200 // HOP)))
    ours = torch.autograd.grad((gabor_pooled_energy(x, *params, HOP) * weights).sum(), [x, *params])
    expected = torch.autograd.grad((direct_pooled_energy(x, *params, HOP) * weights).sum(), [x, *params])
    for name, a, b in zip(("waveform", "centers", "widths", "pool_widths"), ours, expected, strict=True):
        assert (a - b).abs().max() <= 1e-3 * b.abs().max(), name


# --------------------------------------------------------------------------- initialisation


def test_filters_peak_at_mel_centres_at_initialisation():
    module = adaspec.LEAF(SR, n_filters=40, f_min=60.0)
    n_fft = 8192
    with torch.no_grad():
        impulse = module.impulse_responses().to(torch.complex128).numpy()  # LEAF's 401 taps
    assert impulse.shape == (40, 401)
    peaks_hz = np.argmax(np.abs(np.fft.fft(impulse, n=n_fft, axis=-1)), axis=-1) * SR / n_fft
    expected_hz = librosa.mel_frequencies(42, fmin=60.0, fmax=SR / 2, htk=True)[1:-1]
    assert np.all(np.abs(peaks_hz - expected_hz) <= SR / n_fft)
    np.testing.assert_allclose(module.center_frequencies.detach().numpy(), expected_hz, rtol=1e-5)


def test_initial_pooling_width_and_window():
    module = adaspec.LEAF(SR)
    assert module.window_length == 401 and module.hop_length == 160
    np.testing.assert_allclose(module.pooling_widths.detach().numpy(), 0.4 * 200, rtol=1e-5)


# --------------------------------------------------------------------------- module behaviour


def test_build_frontend_shapes():
    module = adaspec.build_frontend("leaf", sample_rate=16000)
    assert type(module) is adaspec.LEAF
    x = torch.randn(3, 16000) * 0.1
    out = module(x)
    assert out.shape == (3, 40, 1 + 16000 // 160) and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    assert module(torch.randn(2, 3, 1000)).shape == (2, 3, 40, 1 + 1000 // 160)
    assert module(torch.randn(50)).shape == (40, 1)


def test_gradients_reach_every_learnable_parameter():
    module = adaspec.LEAF(SR, n_filters=16)
    x = torch.randn(2, 4000) * 0.1
    module(x).square().mean().backward()
    names = {name for name, p in module.named_parameters() if p.requires_grad}
    assert names == {
        "center_logits",
        "width_logits",
        "pooling_logits",
        "pcen.log_alpha",
        "pcen.log_delta",
        "pcen.log_r",
        "pcen.logit_s",
    }
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_flags_select_what_is_trained():
    module = adaspec.LEAF(SR, n_filters=8, learn_filters=False, learn_pooling=False, learn_pcen=False)
    assert not any(p.requires_grad for p in module.parameters())
    module.learn_pooling = True
    assert {n for n, p in module.named_parameters() if p.requires_grad} == {"pooling_logits"}
    module.learn_pooling = False
    module.learn_filters = True
    assert {n for n, p in module.named_parameters() if p.requires_grad} == {"center_logits", "width_logits"}
    module.learn_filters = False
    module.learn_pcen = True
    assert module.pcen.learn_parameters and module.learn_pcen
    x = torch.randn(1, 2000, requires_grad=True)
    module(x).sum().backward()
    assert x.grad is not None and module.center_logits.grad is None and module.pcen.log_r.grad is not None


def test_silence_is_finite_in_value_and_gradient():
    module = adaspec.LEAF(SR, n_filters=10)
    silence = torch.zeros(2, 3000, requires_grad=True)
    out = module(silence)
    assert torch.isfinite(out).all()
    (out.square() + out).sum().backward()
    assert torch.isfinite(silence.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_penalty_step_gives_finite_gradients(dtype):
    """An input-gradient penalty (``create_graph=True``, then a second backward) reaches every parameter
    with finite, non-zero gradients, also with leading silence; an optimiser step keeps the output finite."""
    module = adaspec.LEAF(SR, n_filters=8, dtype=dtype)
    x = torch.randn(2, 1600, dtype=dtype, generator=torch.Generator().manual_seed(0)) * 0.1
    x[1, :800] = 0.0
    x.requires_grad_()
    (grad_x,) = torch.autograd.grad(module(x).square().sum(), x, create_graph=True)
    grad_x.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    for name, p in module.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    torch.optim.SGD(module.parameters(), lr=1e-6).step()
    assert torch.isfinite(module(x.detach())).all()


def test_first_order_gradients_are_the_same_with_create_graph():
    """With 40 filters (strided and gathered groups of several filters) the differentiable backward that
    ``create_graph=True`` runs gives the hand-written backward's gradients."""
    module = adaspec.LEAF(SR, n_filters=40, dtype=torch.float64)
    x = make_signals(2400).requires_grad_()
    wrt = [x, *module.parameters()]
    out = module(x)
    weights = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(1))
    fast = torch.autograd.grad((out * weights).sum(), wrt, retain_graph=True)
    graph = torch.autograd.grad((out * weights).sum(), wrt, create_graph=True)
    assert not any(g.requires_grad for g in fast) and all(g.requires_grad for g in graph)
    # The same sums in another order: 1e-15 of the largest value, 5e-11 where PCEN magnifies the rounding
    # of the click's nearly silent frames.
    for a, b in zip(fast, graph, strict=True):
        assert (a - b).abs().max() <= 1e-9 * b.abs().max()


@pytest.mark.parametrize("frequency", [60.0, 440.0, 3000.0])
def test_notes_after_leading_silence_are_finite(frequency):
    # A note that starts after silence (a padded or shifted crop): the FFTs' rounding around zero energy
    # once gave negative energies there, and PCEN's smoother started on them turned every frame NaN.
    module = adaspec.LEAF(SR, n_filters=64, hop_length=256)
    t = torch.arange(32000) / SR
    x = torch.zeros(2, 32000)
    x[0, 16000:] = torch.sin(2 * math.pi * frequency * t[16000:])
    x[1, 4000:] = 0.01 * torch.sin(2 * math.pi * 1.5 * frequency * t[4000:])
    x.requires_grad_()
    energy = gabor_pooled_energy(x, module.centers, module.filter_widths, module.pooling_widths, 256)
    assert (energy >= 0).all()
    out = module(x)
    assert torch.isfinite(out).all()
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_gives_finite_output(dtype):
    module = adaspec.LEAF(SR, n_filters=20)
    x = torch.randn(2, 4000) * 0.1
    with torch.autocast("cpu", dtype=dtype):
        out = module(x)
        half = module(x.to(dtype))
    for result in (out, half):
        assert result.dtype == torch.float32 and torch.isfinite(result).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_float64_module():
    module = adaspec.LEAF(SR, n_filters=8, dtype=torch.float64)
    out = module(torch.randn(2, 2000, dtype=torch.float64))
    assert out.dtype == torch.float64 and torch.isfinite(out).all()


def test_pcen_kwargs_are_forwarded():
    module = adaspec.LEAF(SR, n_filters=8, pcen_kwargs={"alpha": 0.5, "per_channel": False})
    assert module.pcen.alpha.shape == (1,)
    np.testing.assert_allclose(module.pcen.alpha.detach().numpy(), 0.5, rtol=1e-6)


def test_pcen_time_constant_is_in_leafs_frames():
    """A time constant in ``pcen_kwargs`` needed ``sample_rate`` and ``hop_length`` repeated there (LEAF
    knows both); librosa's ``b`` for the frame rate, closed form ``(sqrt(1 + 4 t^2) - 1) / (2 t^2)``."""
    hop = 200
    module = adaspec.LEAF(SR, n_filters=4, hop_length=hop, pcen_kwargs={"time_constant": 0.1})
    t = 0.1 * SR / hop
    expected = (math.sqrt(1 + 4 * t * t) - 1) / (2 * t * t)
    np.testing.assert_allclose(module.pcen.s.detach().numpy(), expected, rtol=1e-6)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_filters=0), "n_filters"),
        (dict(n_filters=-3), "n_filters"),
        (dict(f_max=9000.0), "f_max"),
        (dict(f_min=-1.0), "f_min"),
        (dict(hop_length=0), "hop_length"),
        (dict(hop_length=2.5), "hop_length"),
        (dict(window_len_ms=0.1), "window_len_ms"),
        (dict(window_len_ms=0.0), "window_len_ms"),
        (dict(sample_rate=0.0), "sample_rate"),
        (dict(pooling_width=0.6), "pooling_width"),
        (dict(pcen_kwargs={"gamma": 1.0}), "pcen_kwargs"),
        (dict(pcen_kwargs={"n_channels": 3}), "pcen_kwargs"),
        (dict(pcen_kwargs={"s": 2.0}), "s"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.LEAF(**{"sample_rate": SR, **kwargs})


def test_unknown_option_through_the_registry():
    with pytest.raises(ValueError, match="leaf"):
        adaspec.build_frontend("leaf", sample_rate=SR, n_mels=40)


def test_bad_inputs():
    module = adaspec.LEAF(SR, n_filters=4)
    with pytest.raises(ValueError, match="floating-point"):
        module(torch.ones(2, 100, dtype=torch.int64))
    with pytest.raises(ValueError, match="time"):
        module(torch.ones(2, 0))


@pytest.mark.parametrize("length", [0, -3])
def test_impulse_responses_refuse_a_length_that_is_not_positive(length):
    """``length=0`` was read as "not given" and silently gave ``window_length`` taps."""
    with pytest.raises(ValueError, match=r"^length must be a positive integer"):
        adaspec.LEAF(n_filters=4).impulse_responses(length)


def test_impulse_responses_are_centred_gabor_atoms():
    """Closed form: ``exp(i w t) exp(-t^2 / (2 s^2)) / (sqrt(2 pi) s)`` at ``t = -(n // 2) ...``."""
    module = adaspec.LEAF(n_filters=3, dtype=torch.float64)
    taps = module.impulse_responses(7).detach().numpy()
    t = np.arange(-3, 4)
    w = module.centers.detach().numpy()[:, None]
    s = module.filter_widths.detach().numpy()[:, None]
    expected = np.exp(1j * w * t) * np.exp(-(t**2) / (2 * s**2)) / (np.sqrt(2 * np.pi) * s)
    np.testing.assert_allclose(taps, expected, rtol=1e-12)
    assert module.impulse_responses().shape == (3, module.window_length)
