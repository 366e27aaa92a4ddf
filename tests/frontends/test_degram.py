"""DEGram: each stage against an independent oracle, shapes, switches, learnability and validation."""

import numpy as np
import pytest
import torch

import adaspec
from adaspec.config.loading import validate_frontend_section
from tests.helpers import make_signal

SR = 16000
OFF = dict(sincgram=False, attention=False, normalization=False)


def torch_stft_power(y, n_fft=512, hop_length=128, win_length=None):
    win_length = win_length or n_fft
    window = torch.hann_window(win_length, dtype=y.dtype)
    spectrum = torch.stft(
        y,
        n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=window,
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return spectrum.abs() ** 2


def htk_butterworth(n_filters, n_fft, order=4, f_min=0.0, f_max=SR / 2):
    """The SincGram's initial matrix, written out independently (HTK mel: 2595 log10(1 + f / 700))."""
    mels = np.linspace(*(2595.0 * np.log10(1.0 + f / 700.0) for f in (f_min, f_max)), n_filters + 2)
    points = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    centres, bandwidths = points[1:-1], (points[2:] - points[:-2]) / 2.0
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    return torch.from_numpy(1.0 / np.sqrt(1.0 + ((freqs[:, None] - centres) / bandwidths) ** (2 * order)))


def signal(batch=2, seconds=0.25):
    return torch.from_numpy(np.stack([make_signal(seconds, SR, seed=i) for i in range(batch)]))


# --------------------------------------------------------------------------- oracles


@pytest.mark.parametrize(
    "kwargs", [dict(), dict(n_fft=400, hop_length=100), dict(n_fft=512, win_length=300, hop_length=160)]
)
def test_plain_path_is_log_of_torch_stft_power(kwargs):
    y = signal()
    params = {"n_fft": 512, "hop_length": 128, **kwargs}
    module = adaspec.DEGram(sample_rate=SR, **params, **OFF, dtype=torch.float64)
    with torch.no_grad():
        actual = module(y)
    expected = torch.log(torch_stft_power(y, **params) + 1e-6)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


def test_plain_path_float32():
    y = signal()
    module = adaspec.DEGram(sample_rate=SR, n_fft=512, hop_length=128, log_eps=1e-3, **OFF)
    with torch.no_grad():
        actual = module(y.float())
    expected = torch.log(torch_stft_power(y) + 1e-3).float()
    torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n_filters", [1, 13, 64, 100])
def test_sincgram_path_is_log_of_butterworth_energies(n_filters):
    y = signal()
    module = adaspec.DEGram(
        sample_rate=SR,
        n_fft=512,
        hop_length=128,
        n_filters=n_filters,
        attention=False,
        normalization=False,
        dtype=torch.float64,
    )
    with torch.no_grad():
        actual = module(y)
    energies = torch.einsum("bft,fk->bkt", torch_stft_power(y), htk_butterworth(n_filters, 512))
    torch.testing.assert_close(actual, torch.log(energies + 1e-6), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("norm_mode", ["frequency", "example"])
def test_normalization_stage_zscores_the_attention_output(norm_mode):
    torch.manual_seed(0)
    y = signal()
    full = adaspec.DEGram(sample_rate=SR, norm_mode=norm_mode, dtype=torch.float64)
    with torch.no_grad():
        before = full.attention(torch.log(full.sincgram(full.stft(y)) + full.log_eps))
        output = full(y)
    dims = (-1,) if norm_mode == "frequency" else (-2, -1)
    mean = before.mean(dim=dims, keepdim=True)
    var = before.var(dim=dims, keepdim=True, correction=0)
    torch.testing.assert_close(output, (before - mean) / torch.sqrt(var + 1e-5))


# --------------------------------------------------------------------------- shapes and config


@pytest.mark.parametrize("leading", [(), (3,), (2, 3)])
def test_full_path_shapes(leading):
    torch.manual_seed(0)
    module = adaspec.DEGram(sample_rate=SR, n_fft=512, hop_length=256, n_filters=40)
    output = module(torch.randn(*leading, 4000))
    assert output.shape == (*leading, 40, 1 + 4000 // 256)
    assert output.dtype == torch.float32 and torch.isfinite(output).all()


def test_build_frontend_by_name_is_a_drop_in():
    assert "degram" in adaspec.available_frontends()
    module = adaspec.build_frontend("degram", sample_rate=16000, n_fft=512, hop_length=256)
    assert type(module) is adaspec.DEGram
    output = module(torch.randn(4, 16000))
    assert output.shape == (4, 64, 1 + 16000 // 256)
    section = validate_frontend_section(
        {"name": "degram", "n_filters": 32, "combine": "max"}, 16000, "frontend"
    )
    assert section["sample_rate"] == 16000
    assert adaspec.build_frontend(**section)(torch.randn(2, 8000)).shape == (2, 32, 1 + 8000 // 128)


@pytest.mark.parametrize(
    ("switches", "children"),
    [
        (dict(), ("sincgram", "attention", "normalization")),
        (dict(sincgram=False), ("attention", "normalization")),
        (dict(attention=False), ("sincgram", "normalization")),
        (dict(normalization=False), ("sincgram", "attention")),
    ],
)
def test_switches_choose_the_stages(switches, children):
    module = adaspec.DEGram(sample_rate=SR, n_fft=256, **switches)
    for name in ("sincgram", "attention", "normalization"):
        assert (getattr(module, name) is not None) == (name in children)
    n_freq = 64 if module.sincgram is not None else 129
    assert module.n_freq == n_freq
    assert module(torch.randn(2, 2000)).shape == (2, n_freq, 1 + 2000 // 64)


def test_silence_gives_finite_output_and_gradients():
    module = adaspec.DEGram(sample_rate=SR, learn_window=True)
    x = torch.zeros(2, 4000, requires_grad=True)
    output = module(x)
    output.sum().backward()
    assert torch.isfinite(output).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None)


# --------------------------------------------------------------------------- learnability


def grads_after_step(module, batch=2):
    torch.manual_seed(0)
    for parameter in module.parameters():
        parameter.grad = None
    x = torch.randn(batch, 3000, requires_grad=True)
    output = module(x)
    (output * torch.randn_like(output)).sum().backward()
    return {name for name, p in module.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}


ATTENTION = {"attention.freq_squeeze.weight", "attention.freq_excite.weight"} | {
    "attention.time_excitation.weight",
    "attention.time_excitation.bias",
}
FILTERS = {"sincgram.centre_logits", "sincgram.bandwidth_logits"}
STFT = {"stft.window", "stft.kernel_real", "stft.kernel_imag"}


def test_gradients_reach_every_learnable_part_with_flags_on():
    module = adaspec.DEGram(
        sample_rate=SR, n_fft=256, learn_window=True, learn_kernels=True, learn_filters=True
    )
    assert module.learn_window and module.learn_kernels and module.learn_filters
    assert grads_after_step(module) == ATTENTION | FILTERS | STFT


def test_no_gradients_with_flags_off_except_the_attention():
    module = adaspec.DEGram(sample_rate=SR, n_fft=256, learn_filters=False)
    assert not (module.learn_window or module.learn_kernels or module.learn_filters)
    assert grads_after_step(module) == ATTENTION
    assert {n for n, p in module.named_parameters() if p.requires_grad} == ATTENTION


def test_flags_flip_after_construction():
    module = adaspec.DEGram(sample_rate=SR, n_fft=256, learn_filters=False)
    module.learn_filters = True
    assert grads_after_step(module) == ATTENTION | FILTERS
    module.learn_filters = False
    module.learn_window = True
    assert grads_after_step(module) == ATTENTION | {"stft.window"}
    module.learn_window = False
    module.learn_kernels = True
    assert grads_after_step(module) == ATTENTION | {"stft.kernel_real", "stft.kernel_imag"}


def test_learn_filters_without_sincgram():
    module = adaspec.DEGram(sample_rate=SR, n_fft=256, sincgram=False, attention=False)
    assert not module.learn_filters
    module.learn_filters = False  # a no-op
    with pytest.raises(ValueError, match="learn_filters"):
        module.learn_filters = True
    assert {n for n, p in module.named_parameters() if p.requires_grad} == set()


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_filters=0), "n_filters"),
        (dict(n_filters=-8), "n_filters"),
        (dict(f_max=8001.0), "f_max"),
        (dict(f_min=-1.0), "f_min"),
        (dict(order=0), "order"),
        (dict(order=0.9), "order"),
        (dict(init="bark"), "init"),
        (dict(combine="mean"), "combine"),
        (dict(reduction=0), "reduction"),
        (dict(reduction=-1.0), "reduction"),
        (dict(norm_mode="time"), "norm_mode"),
        (dict(log_eps=0.0), "log_eps"),
        (dict(n_fft=0), "n_fft"),
        (dict(hop_length=0), "hop_length"),
        (dict(sincgram=False, n_filters=0), "n_filters"),
        (dict(attention=False, reduction=0), "reduction"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.DEGram(sample_rate=SR, **kwargs)


def test_build_frontend_reports_bad_parameters():
    with pytest.raises(ValueError, match="combine"):
        adaspec.build_frontend("degram", combine="avg")
    with pytest.raises(ValueError, match="n_filterz"):
        adaspec.build_frontend("degram", n_filterz=64)
