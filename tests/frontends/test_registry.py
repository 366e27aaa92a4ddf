"""Front-ends built by name from config-style parameters."""

import librosa
import numpy as np
import pytest
import torch
from torch import nn

import adaspec
from adaspec.frontends import registry


def test_available_frontends_lists_the_builtins_sorted():
    names = adaspec.available_frontends()
    assert {"stft", "mel", "mfcc", "amplitude_to_db"} <= set(names)
    assert names == sorted(names)


def test_build_stft():
    module = adaspec.build_frontend("stft", n_fft=256, hop_length=64, win_length=200, output="power")
    assert type(module) is adaspec.STFT
    assert (module.n_fft, module.hop_length, module.win_length, module.output) == (256, 64, 200, "power")
    assert module.window.shape == (200,)
    assert module(torch.randn(1000)).shape == (129, 1 + 1000 // 64)


def test_build_mel():
    module = adaspec.build_frontend(
        "mel",
        sample_rate=8000,
        n_fft=256,
        hop_length=80,
        n_mels=40,
        f_min=60.0,
        mel_scale="slaney",
        norm="slaney",
        power=1.0,
        learn_filters=True,
    )
    assert type(module) is adaspec.MelSpectrogram
    assert (module.sample_rate, module.n_mels, module.power) == (8000.0, 40, 1.0)
    assert (module.stft.n_fft, module.stft.hop_length) == (256, 80)
    assert module.learn_filters and not module.learn_window
    expected = librosa.filters.mel(
        sr=8000, n_fft=256, n_mels=40, fmin=60.0, htk=False, norm="slaney", dtype=np.float64
    )
    np.testing.assert_allclose(module.filters.detach().double().numpy(), expected, rtol=1e-6, atol=1e-9)


def test_build_mfcc():
    module = adaspec.build_frontend(
        "mfcc", sample_rate=16000, n_mfcc=13, lifter=22, melkwargs={"n_fft": 512, "n_mels": 40}
    )
    assert type(module) is adaspec.MFCC
    assert (module.n_mfcc, module.lifter) == (13, 22.0)
    assert module.mel_spectrogram.n_mels == 40 and module.mel_spectrogram.stft.n_fft == 512
    assert module.dct.shape == (13, 40)


def test_build_amplitude_to_db():
    module = adaspec.build_frontend("amplitude_to_db", stype="magnitude", top_db=60.0, ref="max")
    assert type(module) is adaspec.AmplitudeToDB
    assert (module.stype, module.top_db, module.ref) == ("magnitude", 60.0, "max")


def test_unknown_name_lists_available_names():
    with pytest.raises(ValueError, match="'melspec'") as info:
        adaspec.build_frontend("melspec")
    for name in adaspec.available_frontends():
        assert name in str(info.value)


@pytest.mark.parametrize("name", [["stft"], {"name": "stft"}])
def test_a_name_that_is_not_a_string_is_unknown(name):
    """An unhashable name (a list from a config) raised ``TypeError: unhashable type``."""
    with pytest.raises(ValueError, match="is unknown; available: "):
        adaspec.build_frontend(name)


@pytest.mark.parametrize("name", ["stft", "mel", "mfcc"])
def test_unknown_parameter_raises_value_error(name):
    with pytest.raises(ValueError, match="n_melz"):
        adaspec.build_frontend(name, n_melz=64)


def test_invalid_parameter_value_keeps_its_message():
    with pytest.raises(ValueError, match="n_mels"):
        adaspec.build_frontend("mel", n_mels=0)


def test_waveform_only_leaves_out_the_spectrogram_transforms():
    assert registry.takes_spectrogram("amplitude_to_db") and not registry.takes_spectrogram("stft")
    names = adaspec.available_frontends(waveform_only=True)
    assert "amplitude_to_db" not in names and {"stft", "mel"} <= set(names)
    with pytest.raises(ValueError, match="is unknown; available: ") as info:
        registry.frontend_class("melspec", waveform_only=True)
    assert "amplitude_to_db" not in str(info.value)
    assert registry.frontend_class("amplitude_to_db", waveform_only=True) is adaspec.AmplitudeToDB


@pytest.fixture
def private_registry(monkeypatch):
    """A copy of the registry, so test registrations do not leak into other tests."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_SPECTROGRAM_INPUT", set(registry._SPECTROGRAM_INPUT))


def test_register_custom_frontend(private_registry):
    @adaspec.register_frontend("identity_for_test")
    class Scale(nn.Module):
        def __init__(self, factor=1.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    assert "identity_for_test" in adaspec.available_frontends()
    module = adaspec.build_frontend("identity_for_test", factor=3.0)
    assert isinstance(module, Scale) and module.factor == 3.0
    # re-registering the same class under the same name is harmless
    assert adaspec.register_frontend("identity_for_test")(Scale) is Scale


def test_register_a_spectrogram_transform(private_registry):
    @adaspec.register_frontend("halve_for_test", takes_spectrogram=True)
    class Halve(nn.Module):
        def forward(self, x):
            return x / 2

    assert registry.takes_spectrogram("halve_for_test")
    assert "halve_for_test" in adaspec.available_frontends()
    assert "halve_for_test" not in adaspec.available_frontends(waveform_only=True)


def test_register_duplicate_name_raises(private_registry):
    class Other(nn.Module):
        pass

    with pytest.raises(ValueError, match="mel"):
        adaspec.register_frontend("mel")(Other)
    assert registry.frontend_class("mel") is adaspec.MelSpectrogram


def test_registry_is_not_polluted_by_tests():
    assert "identity_for_test" not in adaspec.available_frontends()
