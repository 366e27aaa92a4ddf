"""The trainable PCEN module against librosa.pcen, its flags, gradients and validation."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

import adaspec
from tests.helpers import make_signal
from tests.ops.test_pcen import loop_pcen

SR, HOP = 16000, 160


def mel_magnitude(seconds: float = 1.0) -> np.ndarray:
    y = make_signal(seconds)
    return librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=HOP, n_mels=40, power=1.0) * 2**31


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("per_channel", [True, False])
def test_fixed_parameters_match_librosa(dtype, per_channel):
    spectrogram = mel_magnitude()
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    spectrogram = spectrogram.astype(np_dtype)
    module = adaspec.PCEN(
        40,
        alpha=0.9,
        delta=3.0,
        r=0.4,
        s=0.06,
        eps=1e-6,
        per_channel=per_channel,
        learn_parameters=False,
        dtype=dtype,
    )
    with torch.no_grad():
        actual = module(torch.from_numpy(spectrogram)).double().numpy()
    expected = librosa.pcen(
        spectrogram, sr=SR, hop_length=HOP, gain=0.9, bias=3.0, power=0.4, b=0.06, eps=1e-6
    )
    np.testing.assert_allclose(actual, expected, rtol=1e-4 if dtype == torch.float32 else 1e-10)


def test_time_constant_matches_librosa():
    spectrogram = mel_magnitude()
    module = adaspec.PCEN(40, time_constant=0.25, sample_rate=SR, hop_length=HOP, dtype=torch.float64)
    with torch.no_grad():
        actual = module(torch.from_numpy(spectrogram)).numpy()
    expected = librosa.pcen(spectrogram, sr=SR, hop_length=HOP, time_constant=0.25)
    np.testing.assert_allclose(actual, expected, rtol=1e-10)


def test_initial_values_of_properties():
    module = adaspec.PCEN(8, alpha=0.96, delta=2.0, r=0.5, s=0.04, dtype=torch.float64)
    for name, value in (("alpha", 0.96), ("delta", 2.0), ("r", 0.5), ("s", 0.04)):
        tensor = getattr(module, name)
        assert tensor.shape == (8,)
        np.testing.assert_allclose(tensor.detach().numpy(), value, rtol=1e-12)
    assert adaspec.PCEN(8, per_channel=False).alpha.shape == (1,)


def test_gradients_reach_every_parameter_only_with_the_flag():
    energy = torch.rand(2, 6, 50) * 100
    module = adaspec.PCEN(6)
    assert module.learn_parameters
    module(energy).sum().backward()
    for name in ("log_alpha", "log_delta", "log_r", "logit_s"):
        grad = getattr(module, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name

    frozen = adaspec.PCEN(6, learn_parameters=False)
    x = energy.clone().requires_grad_()
    frozen(x).sum().backward()
    assert x.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in frozen.parameters())


def test_flag_can_be_flipped_after_construction():
    module = adaspec.PCEN(4, learn_parameters=False)
    module.learn_parameters = True
    assert {n for n, p in module.named_parameters() if p.requires_grad} == {
        "log_alpha",
        "log_delta",
        "log_r",
        "logit_s",
    }
    module.learn_parameters = False
    assert not any(p.requires_grad for p in module.parameters())


def test_silence_is_finite_in_value_and_gradient():
    silence = torch.zeros(3, 10, 40, requires_grad=True)
    for initial_state, eps in (("librosa", 1e-6), ("first_frame", 1e-12)):
        module = adaspec.PCEN(10, eps=eps, initial_state=initial_state)
        out = module(silence)
        assert torch.isfinite(out).all()
        (out.square() + out).sum().backward()
        assert torch.isfinite(silence.grad).all()
        assert all(torch.isfinite(p.grad).all() for p in module.parameters())


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_gradient_penalty_step_matches_a_loop_over_frames(initial_state):
    """An input-gradient penalty (``create_graph=True``, then a second backward) gives every parameter and
    the input the gradients of a plain loop over frames (float64); in float32 they are finite."""
    energy = torch.rand(2, 4, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 100
    module = adaspec.PCEN(4, initial_state=initial_state, dtype=torch.float64)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(1)))

    def penalty_gradients(function) -> list[torch.Tensor]:
        x = energy.clone().requires_grad_()
        (grad_x,) = torch.autograd.grad(function(x).square().sum(), x, create_graph=True)
        return torch.autograd.grad(grad_x.square().sum(), [x, *module.parameters()])

    def reference(x: torch.Tensor) -> torch.Tensor:
        return loop_pcen(x, module.alpha, module.delta, module.r, module.s, module.eps, initial_state)

    for actual, expected in zip(penalty_gradients(module), penalty_gradients(reference), strict=True):
        assert expected.abs().max() > 0
        torch.testing.assert_close(actual, expected, rtol=1e-9, atol=1e-12 * expected.abs().max().item())

    module = module.float()
    x = energy.float().requires_grad_()
    (grad_x,) = torch.autograd.grad(module(x).square().sum(), x, create_graph=True)
    grad_x.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters())


def test_leading_dimensions_and_autocast():
    module = adaspec.PCEN(5)
    x = torch.rand(2, 3, 5, 20)
    assert module(x).shape == (2, 3, 5, 20)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = module(x.bfloat16())
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_channels=0), "n_channels"),
        (dict(alpha=0.0), "alpha"),
        (dict(delta=-1.0), "delta"),
        (dict(r=0.0), "r"),
        (dict(eps=0.0), "eps"),
        (dict(s=1.5), "s"),
        (dict(s=0.0), "s"),
        (dict(s=0.1, time_constant=0.4, sample_rate=SR, hop_length=HOP), "time_constant"),
        (dict(time_constant=0.4), "sample_rate"),
        (dict(time_constant=-0.4, sample_rate=SR, hop_length=HOP), "time_constant"),
        (dict(sample_rate=SR), "time_constant"),
        (dict(initial_state="zero"), "initial_state"),
        (dict(per_channel="yes"), "per_channel"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    kwargs = {"n_channels": 4, **kwargs}
    with pytest.raises(ValueError, match=name):
        adaspec.PCEN(**kwargs)


def test_wrong_channel_count_rejected():
    with pytest.raises(ValueError, match=r"\(\.\.\., 4, frames\)"):
        adaspec.PCEN(4)(torch.rand(2, 5, 10))
    assert adaspec.PCEN(4, per_channel=False)(torch.rand(2, 5, 10)).shape == (2, 5, 10)


def test_a_time_constant_too_short_to_smooth_names_time_constant():
    """A smoothing coefficient of 1 (or, from librosa's cancelling formula, above 1) was refused as
    ``s must be a number in (0, 1)``, a parameter the caller did not give."""
    with pytest.raises(ValueError, match=r"^time_constant must be longer"):
        adaspec.PCEN(4, time_constant=1e-20, sample_rate=SR, hop_length=HOP)
    module = adaspec.PCEN(4, time_constant=1e-9, sample_rate=SR, hop_length=HOP, dtype=torch.float64)
    assert 0.0 < float(module.s.detach()[0]) < 1.0


def numpy_first_frame_pcen(energy, alpha, delta, r, s, eps):
    """PCEN with ``M[0] = E[0]`` (LEAF's state), as a plain float64 loop over frames."""
    smoother, previous = np.empty_like(energy), energy[..., 0]
    for t in range(energy.shape[-1]):
        previous = (1.0 - s) * previous + s * energy[..., t]
        smoother[..., t] = previous
    return (energy / (eps + smoother) ** alpha + delta) ** r - delta**r


@pytest.mark.parametrize("initial_state", ["librosa", "first_frame"])
def test_eps_below_float32_range_keeps_silence_finite(initial_state):
    """``eps=1e-50`` (valid: > 0) rounded to 0 in float32, so a silent smoother gave ``0 / 0``: NaN over the
    whole leading silence with ``first_frame``, and after about 4000 silent frames (where ``M[-1] = 1`` has
    decayed below float32's range) with ``librosa``. Oracles in float64: librosa.pcen and a loop."""
    energy = np.zeros((2, 3, 4800))
    energy[..., 4500:] = np.random.default_rng(0).random((2, 3, 300)) * 1e3
    module = adaspec.PCEN(3, eps=1e-50, initial_state=initial_state, learn_parameters=False)
    x = torch.from_numpy(energy).float().requires_grad_()
    out = module(x)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    if initial_state == "librosa":
        expected = librosa.pcen(energy, b=0.025, gain=0.98, bias=2.0, power=0.5, eps=1e-50)
    else:
        expected = numpy_first_frame_pcen(energy, 0.98, 2.0, 0.5, 0.025, 1e-50)
    np.testing.assert_allclose(out.detach().double().numpy(), expected, rtol=1e-4, atol=1e-5)
