"""MelSpectrogram and MFCC against librosa over the corners of the parameter space that the main tests
leave out: odd n_fft and odd window padding, f_max at Nyquist, every pad mode librosa shares, frames that
do not tile the input, empty filters, the shortest inputs, unbatched float32 and n-d batches. librosa is the
oracle throughout (float64 filterbank); float32 to 1e-5 of the maximum, float64 to 1e-10."""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest
import torch

import adaspec
from tests.helpers import assert_close_to_max, make_signal, ours

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def librosa_mel(y: np.ndarray, sr: float, **kwargs) -> np.ndarray:
    """librosa.feature.melspectrogram with adaspec's parameter names (librosa's defaults otherwise)."""
    n_fft = kwargs.get("n_fft", 512)
    win = kwargs.get("win_length") or n_fft
    return librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        n_fft=n_fft,
        hop_length=kwargs.get("hop_length") or max(win // 4, 1),
        win_length=kwargs.get("win_length"),
        center=kwargs.get("center", True),
        pad_mode={"replicate": "edge"}.get(
            kwargs.get("pad_mode", "reflect"), kwargs.get("pad_mode", "reflect")
        ),
        power=kwargs.get("power", 2.0),
        n_mels=kwargs.get("n_mels", 128),
        fmin=kwargs.get("f_min", 0.0),
        fmax=kwargs.get("f_max"),
        htk=kwargs.get("mel_scale", "htk") == "htk",
        norm=kwargs.get("norm"),
        dtype=np.float64,
    )


def signal(dtype: torch.dtype, seconds: float = 0.25, sr: int = 22050) -> np.ndarray:
    """The test signal rounded to ``dtype`` (so both sides see the same samples), as float64."""
    y = make_signal(seconds, sr)
    return y.astype(np.float32).astype(np.float64) if dtype == torch.float32 else y


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
@pytest.mark.parametrize(
    ("f_min", "f_max"), [(0.0, None), (0.0, 11025.0), (133.3, 11025.0)], ids=["default", "nyquist", "fmin"]
)
def test_odd_n_fft_at_22050_hz(f_min, f_max, mel_scale, norm, power, dtype):
    kwargs = dict(
        n_fft=401,
        hop_length=97,
        n_mels=48,
        f_min=f_min,
        f_max=f_max,
        mel_scale=mel_scale,
        norm=norm,
        power=power,
    )
    y = signal(dtype)
    module = adaspec.MelSpectrogram(sample_rate=22050, dtype=dtype, **kwargs)
    assert_close_to_max(ours(module, y, dtype), librosa_mel(y, 22050, **kwargs), TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=512, win_length=301),  # odd padding of the window: the extra zero on the right
        dict(n_fft=400, win_length=199, hop_length=61),
        dict(n_fft=255, win_length=128, pad_mode="constant"),
        dict(n_fft=256, pad_mode="replicate"),  # librosa's "edge"
        dict(n_fft=256, hop_length=77, center=False),  # frames do not tile the input
        dict(n_fft=64, hop_length=200, n_mels=8),  # hop longer than a frame
    ],
    ids=["win301", "win199", "odd-const", "edge", "no-center", "big-hop"],
)
def test_windows_pads_and_hops(kwargs, dtype):
    kwargs = {"n_mels": 40, **kwargs}
    y = signal(dtype)
    module = adaspec.MelSpectrogram(sample_rate=22050, dtype=dtype, **kwargs)
    assert_close_to_max(ours(module, y, dtype), librosa_mel(y, 22050, **kwargs), TOLERANCE[dtype])


@pytest.mark.parametrize("norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_empty_filters_warn_and_match_librosa(mel_scale, norm):
    kwargs = dict(n_fft=64, hop_length=16, n_mels=128, mel_scale=mel_scale, norm=norm)
    y = signal(torch.float64)
    with pytest.warns(UserWarning, match="empty"):
        module = adaspec.MelSpectrogram(sample_rate=22050, dtype=torch.float64, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa's own "Empty filters detected"
        expected = librosa_mel(y, 22050, **kwargs)
    actual = ours(module, y, torch.float64)
    assert (np.abs(expected).max(axis=-1) == 0).any()  # really empty bands
    assert_close_to_max(actual, expected, 1e-10)


@pytest.mark.parametrize(
    ("length", "kwargs"),
    [
        (1, dict(pad_mode="constant")),
        (2, dict(pad_mode="replicate")),
        (129, dict(pad_mode="reflect")),  # the shortest input reflect padding takes (n_fft // 2 + 1)
        (256, dict(center=False)),  # exactly one frame
    ],
)
def test_shortest_inputs(length, kwargs):
    kwargs = dict(n_fft=256, hop_length=64, n_mels=32, **kwargs)
    y = signal(torch.float64)[:length]
    module = adaspec.MelSpectrogram(sample_rate=22050, dtype=torch.float64, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa: "n_fft is too large for input signal"
        expected = librosa_mel(y, 22050, **kwargs)
    actual = ours(module, y, torch.float64)
    assert actual.shape == expected.shape
    assert_close_to_max(actual, expected, 1e-10)


@pytest.mark.parametrize("leading", [(), (2, 3)])
def test_float32_unbatched_and_nd_batches(leading):
    rng = np.random.default_rng(7)
    y = rng.standard_normal((*leading, 3000)).astype(np.float32).astype(np.float64)
    kwargs = dict(n_fft=512, hop_length=128, n_mels=64, mel_scale="slaney", norm="slaney")
    module = adaspec.MelSpectrogram(sample_rate=16000, **kwargs)
    actual = ours(module, y, torch.float32)
    flat = y.reshape(-1, 3000)
    expected = np.stack([librosa_mel(row, 16000, **kwargs) for row in flat]).reshape(actual.shape)
    assert actual.shape[-2] == 64
    assert_close_to_max(actual, expected, 1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("n_mfcc", "lifter", "top_db", "power", "gain"),
    [
        (1, 0.0, 80.0, 2.0, 1.0),
        (48, 2.5, 20.0, 2.0, 1e-3),  # every coefficient, a non-integer lifter, an active floor
        (13, 22.0, 0.0, 1.0, 1e3),  # top_db=0: a constant log-mel (only c0 left)
        (20, 0.0, None, 1.0, 1.0),
    ],
)
def test_mfcc_corners(n_mfcc, lifter, top_db, power, gain, dtype):
    y = signal(dtype) * gain
    melkwargs = dict(n_fft=401, hop_length=97, n_mels=48, mel_scale="slaney", norm="slaney", power=power)
    module = adaspec.MFCC(
        sample_rate=22050, n_mfcc=n_mfcc, lifter=lifter, top_db=top_db, melkwargs=melkwargs, dtype=dtype
    )
    log_mel = librosa.power_to_db(librosa_mel(y, 22050, **melkwargs), ref=1.0, amin=1e-10, top_db=top_db)
    expected = librosa.feature.mfcc(S=log_mel, n_mfcc=n_mfcc, lifter=lifter)
    assert_close_to_max(ours(module, y, dtype), expected, TOLERANCE[dtype])
