"""Framing against librosa.util.frame and numpy padding."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from adaspec.ops import frame_count, frame_signal, normalize_pad_mode


@pytest.mark.parametrize("center", [False, True])
@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
def test_frames_match_librosa(center, pad_mode):
    x = np.random.default_rng(1).standard_normal((2, 300))
    frames = frame_signal(torch.from_numpy(x), 64, 20, center=center, pad_mode=pad_mode)
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(pad_mode, pad_mode)
    padded = np.pad(x, [(0, 0), (32, 32)], mode=numpy_mode) if center else x
    expected = librosa.util.frame(padded, frame_length=64, hop_length=20)  # (batch, 64, n_frames)
    np.testing.assert_array_equal(frames.numpy(), np.swapaxes(expected, -1, -2))
    assert frames.shape[1] == frame_count(300, 64, 20, center=center)


def test_numpy_pad_names_are_accepted():
    assert normalize_pad_mode("edge") == "replicate"
    assert normalize_pad_mode("wrap") == "circular"
    with pytest.raises(ValueError, match="pad_mode"):
        normalize_pad_mode("symmetric")
    for unhashable in (["reflect"], {"mode": "reflect"}):  # was a TypeError: unhashable type
        with pytest.raises(ValueError, match="pad_mode must be one of"):
            normalize_pad_mode(unhashable)


def test_too_short_inputs_are_refused_with_the_limit():
    with pytest.raises(ValueError, match="n_fft // 2 = 32"):
        frame_signal(torch.zeros(1, 32), 64, 16, center=True, pad_mode="reflect")
    with pytest.raises(ValueError, match="shorter than n_fft=64"):
        frame_signal(torch.zeros(1, 63), 64, 16, center=False, pad_mode="reflect")
    with pytest.raises(ValueError, match="0 samples"):
        frame_signal(torch.zeros(1, 0), 64, 16, center=True, pad_mode="constant")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"frame_length": 0}, "frame_length"),
        ({"hop_length": 0}, "hop_length"),
        ({"pad_mode": "mirror"}, "pad_mode"),
    ],
)
def test_frame_signal_bad_arguments(kwargs, name) -> None:
    arguments = {"frame_length": 64, "hop_length": 16, "center": True, "pad_mode": "reflect", **kwargs}
    with pytest.raises(ValueError, match=name):
        frame_signal(torch.zeros(2, 1000), **arguments)


def test_frame_signal_takes_numpy_pad_names() -> None:
    signal = torch.randn(1, 300, generator=torch.Generator().manual_seed(0))
    edge = frame_signal(signal, 64, 16, center=True, pad_mode="edge")
    expected = librosa.util.frame(np.pad(signal[0].numpy(), 32, mode="edge"), frame_length=64, hop_length=16)
    np.testing.assert_array_equal(edge[0].numpy(), expected.T)


def test_frame_count_refuses_what_frame_signal_refuses() -> None:
    with pytest.raises(ValueError, match="holds no frame"):
        frame_count(10, 64, 16, center=False)
    with pytest.raises(ValueError, match="hop_length"):
        frame_count(100, 64, 0, center=True)


@pytest.mark.parametrize("pad_mode", ["reflect", "constant", "replicate", "circular"])
@pytest.mark.parametrize("shape", [(300,), (2, 3, 300)])
def test_frame_signal_takes_any_leading_axes(pad_mode, shape) -> None:
    """A 1-D signal was padded along a unit axis with center=True: zeros frames ("constant",
    "replicate") or a RuntimeError; (batch, channel, time) failed for every mode but "constant"."""
    x = np.random.default_rng(2).standard_normal(shape)
    frames = frame_signal(torch.from_numpy(x), 64, 20, center=True, pad_mode=pad_mode)
    numpy_mode = {"replicate": "edge", "circular": "wrap"}.get(pad_mode, pad_mode)
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(32, 32)], mode=numpy_mode)
    expected = np.swapaxes(librosa.util.frame(padded, frame_length=64, hop_length=20), -1, -2)
    np.testing.assert_array_equal(frames.numpy(), expected)
    assert frames.shape[-2] == frame_count(300, 64, 20, center=True)


def test_frame_signal_refuses_a_0d_waveform() -> None:
    with pytest.raises(ValueError, match=r"waveform must have shape \(\.\.\., time\)"):
        frame_signal(torch.tensor(1.0), 4, 2, center=True, pad_mode="constant")
