"""Channel adapters: shapes, copies, per-channel front-ends against torch.stft, channel counts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
from torch import nn

import adaspec
from adaspec.models import (
    ADAPTERS,
    Compression,
    PerChannelFrontends,
    RepeatChannels,
    SingleChannel,
    adapter_channels,
)

WINDOWS = ("hann", "hamming", "blackman")


def test_repeat_channels_copies_the_spectrogram():
    x = torch.randn(2, 5, 7)
    out = RepeatChannels()(x)
    assert out.shape == (2, 3, 5, 7)
    for channel in range(3):
        torch.testing.assert_close(out[:, channel], x, rtol=0, atol=0)
    assert RepeatChannels(channels=4)(x).shape == (2, 4, 5, 7)


def test_single_channel_adds_one_channel():
    x = torch.randn(3, 4, 6)
    out = SingleChannel()(x)
    assert out.shape == (3, 1, 4, 6)
    torch.testing.assert_close(out[:, 0], x, rtol=0, atol=0)


@pytest.mark.parametrize("adapter", [RepeatChannels(), SingleChannel()])
@pytest.mark.parametrize("shape", [(4, 6), (2, 1, 4, 6)])
def test_spectrogram_adapters_refuse_other_ranks(adapter, shape):
    with pytest.raises(ValueError, match=r"spectrogram must have shape \(batch, freq, frames\)"):
        adapter(torch.zeros(shape))


def test_repeat_channels_refuses_zero_channels():
    with pytest.raises(ValueError, match="channels must be a positive integer, got 0"):
        RepeatChannels(0)


def test_per_channel_frontends_against_torch_stft(signal_factory):
    wave = signal_factory((2, 1000), sample_rate=8000.0)
    frontends = [adaspec.STFT(n_fft=64, hop_length=16, window=w, output="magnitude") for w in WINDOWS]
    out = PerChannelFrontends(frontends, post=Compression("db"))(wave)
    assert out.shape == (2, 3, 33, 1 + 1000 // 16)
    for channel, name in enumerate(WINDOWS):
        window = torch.from_numpy(scipy.signal.get_window(name, 64, fftbins=True)).float()
        magnitude = torch.stft(wave, 64, 16, window=window, return_complex=True).abs().double().numpy()
        expected = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
        np.testing.assert_allclose(out[:, channel].double().numpy(), expected, atol=1e-3)


def test_per_channel_frontends_without_post_and_any_count(signal_factory):
    wave = signal_factory((1, 512))
    frontends = [adaspec.STFT(n_fft=32, hop_length=8, output="power") for _ in range(2)]
    out = PerChannelFrontends(frontends)(wave)
    reference = torch.stft(wave, 32, 8, window=torch.hann_window(32), return_complex=True).abs().square()
    assert out.shape == (1, 2, 17, 65)
    torch.testing.assert_close(out[:, 1], reference, rtol=1e-4, atol=1e-4 * reference.max().item())


def test_per_channel_frontends_refuse_different_shapes(signal_factory):
    frontends = [
        adaspec.STFT(n_fft=32, hop_length=8, output="magnitude"),
        adaspec.STFT(n_fft=64, hop_length=8),
    ]
    with pytest.raises(ValueError, match="equal shapes"):
        PerChannelFrontends(frontends, post=Compression("none"))(signal_factory((1, 512)))


@pytest.mark.parametrize(
    ("frontends", "match"),
    [
        ([], "non-empty"),
        (adaspec.STFT(n_fft=32), "got a single STFT"),
        ([adaspec.STFT(n_fft=32), "stft"], "sequence of nn.Module"),
        (3, "sequence of modules"),
    ],
)
def test_per_channel_frontends_refuse_non_sequences(frontends, match):
    with pytest.raises(ValueError, match=match):
        PerChannelFrontends(frontends)


def test_per_channel_frontends_registers_parameters():
    frontends = [adaspec.STFT(n_fft=32) for _ in range(3)]
    module = PerChannelFrontends(frontends, post=Compression("db"))
    assert isinstance(module.frontends, nn.ModuleList)
    assert {id(p) for p in module.parameters()} == {id(p) for f in frontends for p in f.parameters()}


def test_adapter_channels():
    assert ADAPTERS == ("repeat", "stem", "per_channel")
    assert [adapter_channels(name) for name in ADAPTERS] == [3, 1, 3]
    with pytest.raises(ValueError, match="adapter must be one of 'repeat', 'stem', 'per_channel'; got 'rgb'"):
        adapter_channels("rgb")
