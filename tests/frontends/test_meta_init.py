"""Front-ends built on the meta device (FSDP / large-model initialisation), then materialised three ways:
``to_empty`` + ``load_state_dict``, ``load_state_dict(assign=True)`` and ``to_empty`` +
``reset_parameters()``. Oracles: librosa.cqt for CQT, the closed-form Butterworth matrix for SincGram,
librosa's HTK mel frequencies for LEAF's centres; every front-end also against one built normally."""

from __future__ import annotations

import copy

import librosa
import numpy as np
import pytest
import torch

import adaspec
import adaspec.frontends as F

FLOWS = ["to_empty+load", "assign", "to_empty+reset"]
SR = 16000


def materialised(make, flow, state_dict=None):
    """``make()`` built under ``with torch.device("meta")``, then materialised on the CPU by ``flow``."""
    with torch.device("meta"):
        module = make()
    assert all(t.is_meta for t in [*module.parameters(), *module.buffers()])
    if state_dict is None:
        state_dict = make().state_dict()
    if flow == "to_empty+load":
        module.to_empty(device="cpu")
        module.load_state_dict(state_dict)
    elif flow == "assign":
        module.load_state_dict(state_dict, assign=True)
    else:
        module.to_empty(device="cpu")
        module.reset_parameters()
    tensors = [*module.parameters(), *module.buffers()]
    assert all(t.device.type == "cpu" for t in tensors), "a tensor was left on the meta device"
    return module


def chirp(sample_rate: int = SR, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    f0, f1 = 30.0, 0.45 * sample_rate
    rate = np.log(f1 / f0) / seconds
    y = np.sin(2 * np.pi * f0 * (np.exp(rate * t) - 1) / rate)
    return y.astype(np.float32).astype(np.float64)


# --------------------------------------------------------------------------- CQT against librosa


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize("flow", FLOWS)
def test_meta_built_cqt_matches_librosa(flow, algorithm):
    # as test_cqt.test_norm_and_scale_options_match_librosa: 2e-3 of the largest value, every frame
    y = chirp()
    expected = librosa.cqt(y, sr=SR, hop_length=256, fmin=55.0, n_bins=60, tuning=0.0, sparsity=0)

    def make():
        return adaspec.CQT(sample_rate=SR, hop_length=256, f_min=55.0, n_bins=60, algorithm=algorithm)

    module = materialised(make, flow)
    with torch.no_grad():
        actual = module(torch.from_numpy(y).float()).to(torch.complex128).numpy()
    assert actual.shape == expected.shape
    error = np.abs(np.abs(actual) - np.abs(expected)).max() / np.abs(expected).max()
    assert error <= 2e-3


@pytest.mark.parametrize("flow", ["assign", "to_empty+reset"])
def test_meta_built_cqt_tables_follow_the_parameters(flow):
    # the decimation gains and "direct"'s tables equal a normally built module's, on the CPU, in its dtypes
    def make():
        return adaspec.CQT(sample_rate=SR, hop_length=256, f_min=55.0, n_bins=60, algorithm="direct")

    reference = make()
    module = materialised(make, flow)
    buffers = dict(module.named_buffers())
    assert buffers.keys() == dict(reference.named_buffers()).keys()
    for name, expected in reference.named_buffers():
        torch.testing.assert_close(buffers[name], expected, rtol=0, atol=0, msg=name)


def test_cqt_state_dict_keys_are_unchanged_and_normal_loads_do_not_rebuild(monkeypatch):
    module = adaspec.CQT(sample_rate=SR, hop_length=256, f_min=55.0, n_bins=60, algorithm="direct")
    assert list(module.state_dict()) == ["kernel_real", "kernel_imag"]

    def fail():
        raise AssertionError("tables rebuilt for a module that was never on the meta device")

    monkeypatch.setattr(module, "_derived_tables", fail)
    module.load_state_dict(module.state_dict())
    module.to(torch.float64)


# --------------------------------------------------------------------------- SincGram: closed form


def butterworth_matrix(n_filters, n_fft, f_min, f_max, order):
    """Own HTK mel points and ``1 / sqrt(1 + ((f - c) / b) ** (2 order))`` (as test_sincgram)."""
    mel_min, mel_max = (2595.0 * np.log10(1.0 + f / 700.0) for f in (f_min, f_max))
    points = 700.0 * (10.0 ** (np.linspace(mel_min, mel_max, n_filters + 2) / 2595.0) - 1.0)
    centres, bandwidths = points[1:-1], (points[2:] - points[:-2]) / 2.0
    freqs = np.arange(n_fft // 2 + 1) * SR / n_fft
    return 1.0 / np.sqrt(1.0 + ((freqs[:, None] - centres[None, :]) / bandwidths[None, :]) ** (2 * order))


@pytest.mark.parametrize("flow", FLOWS)
def test_meta_built_sincgram_is_the_closed_form_butterworth_bank(flow):
    def make():
        return adaspec.SincGram(13, SR, 400, f_min=50.0, f_max=7000.0, order=2, dtype=torch.float64)

    module = materialised(make, flow)
    expected = butterworth_matrix(13, 400, 50.0, 7000.0, 2)
    np.testing.assert_allclose(module.filterbank().detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    spectrogram = np.random.default_rng(0).random((2, 201, 7))
    with torch.no_grad():
        actual = module(torch.from_numpy(spectrogram)).numpy()
    np.testing.assert_allclose(actual, np.einsum("fk,bft->bkt", expected, spectrogram), rtol=1e-10)


# --------------------------------------------------------------------------- LEAF: librosa's mel points


@pytest.mark.parametrize("flow", FLOWS)
def test_meta_built_leaf_has_mel_centres_and_its_plan(flow):
    def make():
        return adaspec.LEAF(SR, n_filters=16, f_min=60.0)

    reference = make()
    module = materialised(make, flow)
    expected_hz = librosa.mel_frequencies(18, fmin=60.0, fmax=SR / 2, htk=True)[1:-1]
    np.testing.assert_allclose(module.center_frequencies.detach().numpy(), expected_hz, rtol=1e-5)
    np.testing.assert_allclose(module.pooling_widths.detach().numpy(), 0.4 * 200, rtol=1e-5)
    assert module._plan_values == reference._plan_values  # what torch.export plans the bands from
    x = torch.from_numpy(chirp(seconds=0.25)).float()
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)


# --------------------------------------------------------------------------- every front-end


MAKERS = {
    "stft": (lambda: F.STFT(n_fft=256, hop_length=64), "wave"),
    "mel": (lambda: F.MelSpectrogram(sample_rate=SR, n_fft=256, n_mels=32), "wave"),
    "mfcc": (lambda: F.MFCC(sample_rate=SR, n_mfcc=13, melkwargs={"n_fft": 256, "n_mels": 32}), "wave"),
    "cqt": (lambda: F.CQT(sample_rate=SR, hop_length=256, f_min=55.0, n_bins=60), "wave"),
    "vqt-direct": (
        lambda: F.VQT(sample_rate=SR, hop_length=256, f_min=55.0, n_bins=60, algorithm="direct"),
        "wave",
    ),
    "cwt": (lambda: F.CWT(sample_rate=SR, hop_length=160), "wave"),
    "sincgram": (lambda: F.SincGram(16, SR, 256), "spec"),
    "degram": (lambda: F.DEGram(sample_rate=SR, n_fft=256, n_filters=16), "wave"),
    "pcen": (lambda: F.PCEN(16), "spec16"),
    "leaf": (lambda: F.LEAF(SR, n_filters=16), "wave"),
}


def example_input(kind):
    generator = torch.Generator().manual_seed(0)
    if kind == "wave":
        return torch.randn(2, 8000, generator=generator)
    if kind == "spec":
        return torch.rand(2, 129, 9, generator=generator)
    return torch.rand(2, 16, 9, generator=generator)


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("name", list(MAKERS))
def test_meta_built_frontends_equal_normally_built_ones(name, flow):
    make, kind = MAKERS[name]
    torch.manual_seed(0)
    reference = make()
    state_dict = reference.state_dict()
    torch.manual_seed(0)  # reset_parameters draws random layers (DEGram's attention) as the constructor did
    module = materialised(make, flow, state_dict)
    if flow == "to_empty+reset" and name == "degram":
        torch.manual_seed(0)
        module.reset_parameters()
    x = example_input(kind)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["stft", "cqt", "vqt-direct", "sincgram", "leaf", "pcen"])
def test_reset_parameters_undoes_training(name):
    make, kind = MAKERS[name]
    reference, module = make(), make()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.25)
    module.reset_parameters()
    x = example_input(kind)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)


def test_constructor_arguments_are_kept_as_they_were_given():
    """The recorded arguments were the caller's own objects: a window computed from a parameter made the
    module impossible to deep-copy, and changing the caller's tensor or dict later changed what
    ``reset_parameters()`` restored."""
    weight = torch.nn.Parameter(torch.ones(16))
    stft = adaspec.STFT(n_fft=16, window=torch.hann_window(16, periodic=False) * weight, learn_window=True)
    clone = copy.deepcopy(stft)
    assert torch.equal(clone.window, stft.window)

    window = torch.hann_window(16, periodic=False)
    stft = adaspec.STFT(n_fft=16, window=window, learn_window=True)
    window.zero_()
    with torch.no_grad():
        stft.window.mul_(0.5)
    stft.reset_parameters()
    assert torch.allclose(stft.window.double(), torch.from_numpy(np.hanning(16)), atol=1e-7)

    pcen = {"alpha": 0.9}
    leaf = adaspec.LEAF(n_filters=8, sample_rate=SR, pcen_kwargs=pcen)
    pcen["alpha"] = 0.5
    leaf.reset_parameters()
    assert torch.allclose(leaf.pcen.alpha, torch.full_like(leaf.pcen.alpha, 0.9))
