"""Second-order gradients (``create_graph=True`` then a second backward: R1 / WGAN-GP penalties,
input-gradient regularisation, MAML) through every learnable front-end and the fixed-kernel STFT and mel.

The hand-written backwards branch on grad mode: without ``create_graph`` they run their in-place first-order
code (checked here not to build a graph), with it an out-of-place formulation that autograd differentiates.
Checked in float64 on tiny inputs: ``gradgradcheck`` against finite differences, and penalty steps against
the same penalty through plain torch oracles (``torch.stft``, matrix products, the closed-form Butterworth
response, a plain attention and z-score) to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import functional_call

import adaspec
from adaspec.frontends import attention as attention_module
from adaspec.frontends import normalization as normalization_module
from adaspec.kernels import butterworth as butterworth_module
from adaspec.ops import fourier as fourier_module
from tests.conftest import chirp_and_noise
from tests.helpers import LEARNABLE_CONFIGS, LEARNABLE_NAMES, build_learnable, learnable_input

SR = 16000
N_SAMPLES = 320

#: Shrunk versions of tests.helpers.LEARNABLE_CONFIGS, so that finite differences stay cheap.
TINY = {
    "stft": {"n_fft": 32, "hop_length": 16},
    "mel": {"n_fft": 64, "hop_length": 32, "n_mels": 8},
    "mfcc": {"n_mfcc": 6, "melkwargs": {"n_fft": 64, "hop_length": 32, "n_mels": 8}},
    "cqt": {"hop_length": 64, "f_min": 2000.0, "n_bins": 12},
    "vqt": {"hop_length": 64, "f_min": 2000.0, "n_bins": 12},
    "cwt": {"hop_length": 32, "f_min": 1000.0, "n_bins": 6},
    "degram": {"n_fft": 64, "hop_length": 32, "n_filters": 8},
    "leaf": {"n_filters": 4},
}
#: Fixed-kernel front-ends (their FFT fast paths) next to the learnable ones.
FIXED = {
    "stft-fixed": lambda: adaspec.STFT(n_fft=32, hop_length=16, output="power"),
    "mel-fixed": lambda: adaspec.MelSpectrogram(sample_rate=SR, n_fft=64, hop_length=32, n_mels=8),
}
NAMES = [*LEARNABLE_NAMES, *FIXED]
#: The trainable parameter each gradgradcheck also perturbs (a small one).
PARAMETER = {
    "stft": "window",
    "mel": "filters",
    "cwt": "center_logits",
    "degram": "sincgram.centre_logits",
    "leaf": "center_logits",
    "pcen": "log_alpha",
}


def _signals(
    shape: tuple[int, ...], sample_rate: float = SR, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    *lead, n = shape
    count = int(np.prod(lead)) if lead else 1
    rows = np.stack([chirp_and_noise(n, sample_rate, seed=i) for i in range(count)])
    return torch.from_numpy(rows.reshape(shape)).to(dtype)


def _build(name: str) -> torch.nn.Module:
    if name in FIXED:
        module = FIXED[name]()
    elif name in TINY:
        module = adaspec.build_frontend(name, **{**LEARNABLE_CONFIGS[name], **TINY[name]})
    else:
        module = build_learnable(name)
    return module.double()


def _input(name: str, batch: int = 1) -> torch.Tensor:
    return learnable_input(name.removesuffix("-fixed"), _signals, N_SAMPLES, batch=batch).double()


def _real(out: torch.Tensor) -> torch.Tensor:
    return torch.view_as_real(out) if out.is_complex() else out


@pytest.mark.parametrize("name", NAMES)
def test_gradgradcheck_input(name):
    module = _build(name)
    x = _input(name).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda s: _real(module(s)), (x,), fast_mode=True)


@pytest.mark.parametrize("name", sorted(PARAMETER))
def test_gradgradcheck_input_and_parameter(name):
    module = _build(name)
    key = PARAMETER[name]
    x = _input(name).requires_grad_(True)
    parameter = dict(module.named_parameters())[key].detach().clone().requires_grad_(True)
    assert torch.autograd.gradgradcheck(
        lambda s, p: _real(functional_call(module, {key: p}, (s,))), (x, parameter), fast_mode=True
    )


@pytest.mark.parametrize("name", NAMES)
def test_gradient_penalty_step_gives_finite_gradients(name):
    module = _build(name)
    x = _input(name, batch=2).requires_grad_(True)
    out = _real(module(x))
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    (grad_x,) = torch.autograd.grad((out * weights).sum() + out.pow(2).mean(), x, create_graph=True)
    grad_x.pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().max() > 0
    for key, parameter in module.named_parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), key


def _stft_power_oracle(module: adaspec.STFT, x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    spectrum = torch.stft(
        x,
        module.n_fft,
        module.hop_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spectrum.real.square() + spectrum.imag.square()


def _penalty_gradients(forward, x: torch.Tensor, parameters: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients w.r.t. ``x`` and ``parameters`` of the squared norm of the first-order gradients of a loss
    on ``forward(x)`` w.r.t. the same tensors (R1 on ``x``, MAML-like on the parameters)."""
    out = forward(x)
    weights = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    loss = (out * weights).sum() + 1e-3 * out.pow(2).sum()
    first = torch.autograd.grad(loss, [x, *parameters], create_graph=True)
    return list(torch.autograd.grad(sum(g.pow(2).sum() for g in first), [x, *parameters]))


def _assert_all_close(actual: list[torch.Tensor], expected: list[torch.Tensor]) -> None:
    assert expected[0].abs().max() > 0  # the input's gradient (a parameter's may be 0: a dead ReLU)
    for a, e in zip(actual, expected, strict=True):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10 * max(e.abs().max().item(), 1e-300))


@pytest.mark.parametrize("output", ["power", "magnitude"])
@pytest.mark.parametrize("learn_window", [False, True])
def test_stft_penalty_matches_torch_stft(output, learn_window):
    module = adaspec.STFT(
        n_fft=32, hop_length=8, output=output, learn_window=learn_window, dtype=torch.float64
    )
    x = _signals((2, N_SAMPLES)).requires_grad_(True)
    window = module.window.detach().clone().requires_grad_(True)

    def oracle(s: torch.Tensor) -> torch.Tensor:
        power = _stft_power_oracle(module, s, window)
        return power if output == "power" else power.sqrt()

    parameters = [module.window] if learn_window else []
    actual = _penalty_gradients(module, x, parameters)
    expected = _penalty_gradients(oracle, x, [window] if learn_window else [])
    _assert_all_close(actual, expected)


@pytest.mark.parametrize("learn", [False, True])
def test_mel_penalty_matches_torch_stft_and_a_matrix_product(learn):
    module = adaspec.MelSpectrogram(
        sample_rate=SR,
        n_fft=64,
        hop_length=16,
        n_mels=8,
        learn_window=learn,
        learn_filters=learn,
        dtype=torch.float64,
    )
    x = _signals((2, N_SAMPLES)).requires_grad_(True)
    window = module.stft.window.detach().clone().requires_grad_(True)
    filters = module.filters.detach().clone().requires_grad_(True)

    def oracle(s: torch.Tensor) -> torch.Tensor:
        return torch.matmul(filters, _stft_power_oracle(module.stft, s, window))

    actual = _penalty_gradients(module, x, [module.stft.window, module.filters] if learn else [])
    expected = _penalty_gradients(oracle, x, [window, filters] if learn else [])
    _assert_all_close(actual, expected)


def _plain_attention(attention: adaspec.TFAttention, x: torch.Tensor) -> torch.Tensor:
    """TFAttention's documented formula (``combine="sum"``) in plain torch, on ``(B, F, T)``."""
    band = torch.sigmoid(attention.freq_excite(torch.relu(attention.freq_squeeze(x.mean(dim=-1)))))
    frame = torch.sigmoid(attention.time_excitation(x.transpose(-1, -2)).squeeze(-1))
    return x * (band.unsqueeze(-1) + frame.unsqueeze(-2))


def _plain_zscore(x: torch.Tensor, eps: float) -> torch.Tensor:
    centred = x - x.mean(dim=-1, keepdim=True)
    return centred / torch.sqrt(centred.pow(2).mean(dim=-1, keepdim=True) + eps)


def test_degram_penalty_matches_a_plain_torch_oracle():
    module = adaspec.DEGram(
        sample_rate=SR, n_fft=64, hop_length=16, n_filters=8, learn_filters=True, dtype=torch.float64
    )
    assert module.attention is not None and module.normalization is not None
    assert module.attention.combine == "sum" and module.normalization.mode == "frequency"
    x = _signals((2, N_SAMPLES)).requires_grad_(True)
    sincgram = module.sincgram
    window = module.stft.window.detach().clone()

    def oracle(s: torch.Tensor) -> torch.Tensor:
        offset = (sincgram.frequencies.unsqueeze(-1) - sincgram.centres) / sincgram.bandwidths
        weights = 1.0 / torch.sqrt(1.0 + offset.pow(2.0 * sincgram.order))
        features = torch.log(
            weights.transpose(0, 1) @ _stft_power_oracle(module.stft, s, window) + module.log_eps
        )
        return _plain_zscore(_plain_attention(module.attention, features), module.normalization.eps)

    parameters = [p for p in module.parameters() if p.requires_grad]
    assert len(parameters) == 6
    _assert_all_close(_penalty_gradients(module, x, parameters), _penalty_gradients(oracle, x, parameters))


def test_mfcc_penalty_matches_a_plain_torch_oracle():
    module = adaspec.MFCC(
        sample_rate=SR,
        n_mfcc=6,
        log_mels=True,
        melkwargs={"n_fft": 64, "hop_length": 16, "n_mels": 8},
        dtype=torch.float64,
    )
    mel = module.mel_spectrogram
    x = _signals((2, N_SAMPLES)).requires_grad_(True)

    def oracle(s: torch.Tensor) -> torch.Tensor:
        power = mel.filters @ _stft_power_oracle(mel.stft, s, mel.stft.window)
        return module.dct @ torch.log(power + 1e-6)

    _assert_all_close(_penalty_gradients(module, x, []), _penalty_gradients(oracle, x, []))


def test_first_order_backward_builds_no_graph_and_skips_the_differentiable_branch(monkeypatch):
    """Without ``create_graph`` the tuned first-order code runs: the out-of-place branches are not called
    and the gradients carry no graph (the existing gradient tests check their values)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the double-backward branch ran in a first-order backward")

    monkeypatch.setattr(fourier_module, "_differentiable_backward", refuse)
    monkeypatch.setattr(normalization_module, "_zscore_backward", refuse)
    monkeypatch.setattr(butterworth_module, "_derivatives", refuse)
    combined = attention_module._combined
    calls: list[int] = []
    monkeypatch.setattr(attention_module, "_combined", lambda *a: calls.append(1) or combined(*a))
    for name in ["degram", "mel-fixed", "cwt", "stft"]:
        module = _build(name)
        x = _input(name, batch=2).requires_grad_(True)
        forwards = len(calls)
        _real(module(x)).pow(2).sum().backward()
        assert x.grad is not None and x.grad.grad_fn is None and torch.isfinite(x.grad).all()
        assert len(calls) == forwards + (name == "degram")  # the gate is built once, in the forward
        for parameter in module.parameters():
            assert parameter.grad is None or parameter.grad.grad_fn is None
