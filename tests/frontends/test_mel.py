"""MelSpectrogram and the mel kernels against librosa (independent float64 reference)."""

import librosa
import numpy as np
import pytest
import torch

import adaspec
from tests.helpers import assert_close_to_max, make_signal, ours, rtol_for

SR = 16000


def librosa_mel(
    y,
    *,
    sr=SR,
    n_fft=512,
    hop_length=None,
    win_length=None,
    window="hann",
    center=True,
    pad_mode="reflect",
    power=2.0,
    n_mels=128,
    f_min=0.0,
    f_max=None,
    mel_scale="htk",
    norm=None,
):
    win = n_fft if win_length is None else win_length
    return librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        n_fft=n_fft,
        hop_length=max(win // 4, 1) if hop_length is None else hop_length,
        win_length=win_length,
        window=window,
        center=center,
        pad_mode=pad_mode,  # librosa's default is "constant", ours "reflect"
        power=power,
        n_mels=n_mels,
        fmin=f_min,
        fmax=f_max,
        htk=mel_scale == "htk",
        norm=norm,
        dtype=np.float64,  # float64 filterbank (librosa's default is float32)
    )


# --------------------------------------------------------------------------- librosa parity


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_matches_librosa_scales_and_norms(mel_scale, norm, dtype):
    y = make_signal().astype(np.float32 if dtype == torch.float32 else np.float64).astype(np.float64)
    kwargs = dict(n_fft=512, hop_length=128, n_mels=64, mel_scale=mel_scale, norm=norm)
    module = adaspec.MelSpectrogram(sample_rate=SR, dtype=dtype, **kwargs)
    actual = ours(module, y, dtype)
    expected = librosa_mel(y, **kwargs)
    assert actual.shape == expected.shape
    assert_close_to_max(actual, expected, rtol_for(dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(f_min=300.0, f_max=6000.0, n_mels=40),
        dict(f_min=50.0, f_max=8000.0, n_mels=80, mel_scale="slaney", norm="slaney"),
        dict(power=1.0, n_mels=64),
        dict(power=1.5, n_mels=64, mel_scale="slaney"),
        dict(n_fft=512, win_length=300, hop_length=100, window="hamming", n_mels=48),
        dict(n_fft=256, hop_length=64, center=False, n_mels=32),
        dict(n_fft=256, hop_length=64, pad_mode="constant", n_mels=32),
    ],
    ids=["fmin-fmax", "fmin-fmax-slaney", "power1", "power1.5", "win-hamming", "no-center", "pad-const"],
)
def test_matches_librosa_options(kwargs, dtype):
    kwargs = {"n_fft": 512, **kwargs}
    y = make_signal().astype(np.float32 if dtype == torch.float32 else np.float64).astype(np.float64)
    module = adaspec.MelSpectrogram(sample_rate=SR, dtype=dtype, **kwargs)
    actual = ours(module, y, dtype)
    expected = librosa_mel(y, **kwargs)
    assert actual.shape == expected.shape
    assert_close_to_max(actual, expected, rtol_for(dtype))


def test_matches_librosa_odd_n_fft():
    y = make_signal()
    module = adaspec.MelSpectrogram(sample_rate=SR, n_fft=401, hop_length=100, n_mels=40, dtype=torch.float64)
    assert_close_to_max(
        ours(module, y, torch.float64), librosa_mel(y, n_fft=401, hop_length=100, n_mels=40), 1e-10
    )


def test_output_dtype_follows_module_dtype():
    y = torch.from_numpy(make_signal(0.1))
    assert adaspec.MelSpectrogram(n_fft=256, n_mels=16)(y.float()).dtype == torch.float32
    assert adaspec.MelSpectrogram(n_fft=256, n_mels=16, dtype=torch.float64)(y).dtype == torch.float64


# --------------------------------------------------------------------------- n_mels=None


@pytest.mark.parametrize("power", [1.0, 2.0])
def test_no_filterbank_returns_linear_spectrogram(power):
    y = make_signal()
    module = adaspec.MelSpectrogram(
        sample_rate=SR, n_fft=256, hop_length=64, n_mels=None, power=power, dtype=torch.float64
    )
    actual = ours(module, y, torch.float64)
    expected = (
        np.abs(librosa.stft(y, n_fft=256, hop_length=64, window="hann", center=True, pad_mode="reflect"))
        ** power
    )
    assert actual.shape == expected.shape == (129, expected.shape[-1])
    assert_close_to_max(actual, expected, 1e-10)


# --------------------------------------------------------------------------- learnability flags


def small_mel(**kwargs):
    return adaspec.MelSpectrogram(sample_rate=SR, n_fft=128, hop_length=32, n_mels=16, **kwargs)


def test_gradients_reach_filters_only_when_learn_filters():
    y = make_signal(0.1)
    frozen = small_mel(dtype=torch.float64)
    waveform = torch.from_numpy(y).requires_grad_()
    frozen(waveform).sum().backward()
    assert waveform.grad is not None and frozen.filters.grad is None
    assert not frozen.learn_filters and not frozen.filters.requires_grad

    learned = small_mel(learn_filters=True, dtype=torch.float64)
    learned(torch.from_numpy(y)).sum().backward()
    assert learned.filters.grad is not None
    assert learned.stft.window.grad is None and learned.stft.kernel_real.grad is None
    # d(sum mel)/d(filters[m, k]) = sum over frames of the power spectrogram at bin k (independent oracle).
    power = np.abs(librosa.stft(y, n_fft=128, hop_length=32, pad_mode="reflect")) ** 2
    expected = np.broadcast_to(power.sum(axis=-1), (16, 65))
    np.testing.assert_allclose(learned.filters.grad.numpy(), expected, rtol=1e-10)


def snapshot(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def changed(module, before):
    return {name for name, p in module.named_parameters() if not torch.equal(p.detach(), before[name])}


def sgd_step(module, optimizer, x):
    optimizer.zero_grad(set_to_none=True)
    before = snapshot(module)
    module(x).square().mean().backward()
    optimizer.step()
    return changed(module, before)


def test_flipping_flags_after_construction_changes_what_an_optimizer_updates():
    torch.manual_seed(0)
    module = small_mel()
    x = torch.randn(2, 1600, requires_grad=True)  # so backward runs even with every flag off
    optimizer = torch.optim.SGD(module.parameters(), lr=1e-3)
    assert sgd_step(module, optimizer, x) == set()

    module.learn_filters = True
    assert module.learn_filters and module.filters.requires_grad
    assert sgd_step(module, optimizer, x) == {"filters"}

    module.learn_filters = False
    module.learn_window = True
    assert module.stft.learn_window and module.stft.window.requires_grad
    assert sgd_step(module, optimizer, x) == {"stft.window"}

    module.learn_window = False
    module.learn_kernels = True
    assert module.stft.learn_kernels
    assert sgd_step(module, optimizer, x) == {"stft.kernel_real", "stft.kernel_imag"}

    module.learn_kernels = False
    module.learn_filters = module.learn_window = True
    assert sgd_step(module, optimizer, x) == {"filters", "stft.window"}


def test_flags_from_constructor():
    module = small_mel(learn_window=True, learn_kernels=True, learn_filters=True)
    trainable = {name for name, p in module.named_parameters() if p.requires_grad}
    assert trainable == {"filters", "stft.window", "stft.kernel_real", "stft.kernel_imag"}
    assert {name for name, p in small_mel().named_parameters() if p.requires_grad} == set()


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("leading", [(), (3,), (2, 3)])
def test_leading_dimensions_preserved(leading):
    rng = np.random.default_rng(1)
    y = rng.standard_normal((*leading, 1000))
    module = small_mel(dtype=torch.float64)
    actual = ours(module, y, torch.float64)
    frames = 1 + 1000 // 32
    assert actual.shape == (*leading, 16, frames)
    flat_y = y.reshape(-1, 1000)
    flat_actual = actual.reshape(-1, 16, frames)
    for i in range(flat_y.shape[0]):
        expected = librosa_mel(flat_y[i], n_fft=128, hop_length=32, n_mels=16)
        assert_close_to_max(flat_actual[i], expected, 1e-10)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(f_max=8001.0), "f_max"),
        (dict(f_max=20000.0), "f_max"),
        (dict(f_min=500.0, f_max=400.0), "f_max"),
        (dict(f_min=-1.0), "f_min"),
        (dict(n_mels=0), "n_mels"),
        (dict(n_mels=-4), "n_mels"),
        (dict(mel_scale="bark"), "mel_scale"),
        (dict(norm="l2"), "norm"),
        (dict(norm=1), "norm"),
        (dict(power=0.0), "power"),
        (dict(power=-2.0), "power"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, **kwargs)


@pytest.mark.parametrize("f_max", [None, 8000.0])
def test_f_max_at_nyquist_accepted(f_max):
    module = adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, n_mels=32, f_max=f_max)
    assert module.filters.shape == (32, 129)


# --------------------------------------------------------------------------- torch.compile


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
# The FFT path works on complex tensors, which inductor leaves to eager kernels (it says so in a warning).
@pytest.mark.filterwarnings("ignore:Torchinductor does not support code generation for complex:UserWarning")
def test_torch_compile_matches_eager():
    torch.manual_seed(0)
    module = small_mel()
    x = torch.randn(2, 800)
    with torch.no_grad():
        eager = module(x)
        compiled = torch.compile(module, dynamic=False)(x)
    torch.testing.assert_close(compiled, eager, rtol=1e-5, atol=1e-5 * eager.abs().max().item())


# --------------------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("learn_kernels", [False, True], ids=["fft", "dense"])
@pytest.mark.parametrize("power", [1.0, 1.5, 2.0])
def test_gradcheck_input_window_and_filters(power, learn_kernels):
    """Analytic gradients against finite differences (float64) for the input, the window and the filters
    (the dense path's kernel gradients are STFT's, checked in test_stft)."""
    torch.manual_seed(0)
    module = adaspec.MelSpectrogram(
        sample_rate=8000,
        n_fft=16,
        hop_length=8,
        n_mels=4,
        power=power,
        learn_window=True,
        learn_kernels=learn_kernels,
        learn_filters=True,
        dtype=torch.float64,
    )
    names = ["stft.window", "filters"]
    values = tuple(module.get_parameter(name).detach().clone().requires_grad_() for name in names)
    x = torch.randn(1, 40, dtype=torch.float64, requires_grad=True)

    def run(waveform, *params):
        return torch.func.functional_call(module, dict(zip(names, params, strict=True)), (waveform,))

    assert torch.autograd.gradcheck(run, (x, *values), eps=1e-6, atol=1e-6, rtol=1e-5)
