"""Every front-end refuses bad parameter values with a ValueError naming the parameter: NaN and infinite
numbers, strings where numbers belong, non-bool flags, non-float dtypes; NumPy scalars are numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import adaspec

NAN, INF = math.nan, math.inf
CASES = [
    (adaspec.STFT, {"sample_rate": 0}, "sample_rate"),
    (adaspec.STFT, {"sample_rate": NAN}, "sample_rate"),
    (adaspec.STFT, {"sample_rate": "16000"}, "sample_rate"),
    (adaspec.STFT, {"freq_scale": "linear", "f_max": NAN}, "f_max"),
    (adaspec.STFT, {"center": "no"}, "center"),
    (adaspec.STFT, {"f_min": -1.0}, "f_min applies to freq_scale='linear' or 'log' only"),
    (adaspec.STFT, {"f_max": 9000.0}, "f_max applies to freq_scale='linear' or 'log' only"),
    (adaspec.STFT, {"onesided": "no"}, "onesided"),
    (adaspec.STFT, {"dtype": "float32"}, "dtype"),
    (adaspec.STFT, {"dtype": torch.complex64}, "dtype"),
    (adaspec.MelSpectrogram, {"sample_rate": 0}, "sample_rate"),
    (adaspec.MelSpectrogram, {"f_max": NAN}, "f_max"),
    (adaspec.MelSpectrogram, {"f_min": "20"}, "f_min"),
    (adaspec.MelSpectrogram, {"power": INF}, "power"),
    (adaspec.MelSpectrogram, {"n_mels": None, "mel_scale": "foo"}, "mel_scale"),
    (adaspec.MelSpectrogram, {"n_mels": None, "f_min": NAN}, "f_min"),
    (adaspec.MFCC, {"lifter": INF}, "lifter"),
    (adaspec.MFCC, {"lifter": "22"}, "lifter"),
    (adaspec.MFCC, {"log_mels": "yes", "melkwargs": {"n_mels": 32}}, "log_mels"),
    (adaspec.MFCC, {"melkwargs": {"bogus": 1}}, "melkwargs"),
    (adaspec.AmplitudeToDB, {"top_db": "80"}, "top_db"),
    (adaspec.AmplitudeToDB, {"ref": INF}, "ref"),
    (adaspec.AmplitudeToDB, {"log_base": "e"}, "log_base"),
    (adaspec.AmplitudeToDB, {"amin": NAN}, "amin"),
    (adaspec.CQT, {"sample_rate": INF}, "sample_rate"),
    (adaspec.CQT, {"filter_scale": INF}, "filter_scale"),
    (adaspec.CQT, {"scale": "no"}, "scale"),
    (adaspec.CWT, {"f_min": 200.0, "n_bins": 8, "precision": 40}, "precision"),
    (adaspec.CWT, {"f_min": 200.0, "n_bins": 8, "bandwidth": INF}, "bandwidth"),
    (adaspec.CWT, {"wavelet": "ricker", "f_min": 200.0, "n_bins": 8, "dtype": torch.int64}, "dtype"),
    (adaspec.LEAF, {"f_max": NAN}, "f_max"),
    (adaspec.LEAF, {"window_len_ms": INF}, "window_len_ms"),
    (adaspec.PCEN, {"n_channels": 8, "delta": INF}, "delta"),
    (adaspec.PCEN, {"n_channels": 8, "alpha": INF}, "alpha"),
    (adaspec.SincGram, {"f_max": NAN}, "f_max"),
    (adaspec.DEGram, {"normalization": "no"}, "^normalization must be True or False"),
    (adaspec.DEGram, {"sincgram": None}, "^sincgram must be True or False"),
    (adaspec.DEGram, {"attention": 0.0}, "^attention must be True or False"),
    (adaspec.DEGram, {"sincgram": False, "learn_filters": "x"}, "^learn_filters must be True or False"),
    (adaspec.TFAttention, {"n_freq": 8, "dtype": "float64"}, "^dtype"),
    (adaspec.TFAttention, {"n_freq": 8, "dtype": torch.complex64}, "^dtype"),
    (adaspec.LEAF, {"learn_pcen": 1}, "^learn_pcen must be True or False"),
    (adaspec.PCEN, {"n_channels": 8, "per_channel": "yes"}, "^per_channel must be True or False"),
    (adaspec.MFCC, {"melkwargs": "x"}, "^melkwargs must be a dict"),
    (adaspec.MFCC, {"melkwargs": [1]}, "^melkwargs must be a dict"),
    (adaspec.LEAF, {"pcen_kwargs": "x"}, "^pcen_kwargs must be a dict"),
    # 1 == True and True == 1 in Python; neither is the other's choice
    (adaspec.STFT, {"normalized": 1}, "^normalized must be one of"),
    (adaspec.CQT, {"norm": True}, "^norm must be one of"),
]


@pytest.mark.parametrize(("cls", "kwargs", "name"), CASES, ids=lambda v: getattr(v, "__name__", None))
def test_bad_values_raise_value_error_naming_the_parameter(cls, kwargs, name) -> None:
    with pytest.raises(ValueError, match=name):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (adaspec.MelSpectrogram, {"power": np.int64(2), "n_mels": 32}),
        (adaspec.CWT, {"sample_rate": np.int64(16000), "f_min": 200.0, "n_bins": 8}),
        (adaspec.CWT, {"f_min": 200.0, "n_bins": 8, "bandwidth": np.float32(1.5)}),
        (adaspec.CQT, {"sample_rate": np.int64(16000), "f_min": 200.0, "n_bins": 8}),
        (adaspec.PCEN, {"n_channels": 8, "alpha": np.float32(0.9)}),
        (adaspec.PCEN, {"n_channels": 8, "per_channel": np.True_}),
        (adaspec.MFCC, {"dct_type": 2.0, "n_mfcc": 13, "melkwargs": {"n_mels": 32}}),
    ],
)
def test_numpy_scalars_are_numbers(cls, kwargs) -> None:
    cls(**kwargs)


def test_a_time_constant_in_leaf_s_pcen_kwargs_replaces_its_smoothing_coefficient() -> None:
    """LEAF's own ``s`` is a default, not the user's: giving ``time_constant`` alone is not "both"."""
    leaf = adaspec.LEAF(
        n_filters=4, pcen_kwargs={"time_constant": 0.1, "sample_rate": 16000, "hop_length": 160}
    )
    expected = adaspec.PCEN(4, time_constant=0.1, sample_rate=16000, hop_length=160)
    torch.testing.assert_close(leaf.pcen.s, expected.s)
    with pytest.raises(ValueError, match="give s or time_constant, not both"):
        adaspec.LEAF(
            n_filters=4, pcen_kwargs={"s": 0.1, "time_constant": 0.1, "sample_rate": 1, "hop_length": 1}
        )


@pytest.mark.parametrize(
    ("module", "flag"),
    [
        (lambda: adaspec.STFT(n_fft=64), "learn_window"),
        (lambda: adaspec.STFT(n_fft=64), "learn_kernels"),
        (lambda: adaspec.MelSpectrogram(n_fft=64, n_mels=8), "learn_filters"),
        (lambda: adaspec.LEAF(n_filters=4), "learn_pooling"),
        (lambda: adaspec.LEAF(n_filters=4), "learn_filters"),
        (lambda: adaspec.PCEN(4), "learn_parameters"),
        (lambda: adaspec.SincGram(n_filters=4, n_fft=64), "learn_filters"),
        (lambda: adaspec.CQT(f_min=200.0, n_bins=8), "learn_kernels"),
        (lambda: adaspec.LEAF(n_filters=4), "learn_pcen"),
        (lambda: adaspec.MFCC(n_mfcc=8, melkwargs={"n_mels": 8, "n_fft": 64}), "learn_filters"),
        (lambda: adaspec.DEGram(n_filters=4, n_fft=64), "learn_filters"),
    ],
)
def test_learn_flags_take_only_bools(module, flag) -> None:
    built = module()
    with pytest.raises(ValueError, match=f"^{flag} must be True or False"):
        setattr(built, flag, "no")
    setattr(built, flag, True)
    assert getattr(built, flag) is True


@pytest.mark.parametrize(
    "module",
    [
        lambda: adaspec.SincGram(n_filters=4, n_fft=64),
        lambda: adaspec.SpectrogramNorm(),
        lambda: adaspec.TFAttention(n_freq=33),
        lambda: adaspec.AmplitudeToDB(),
    ],
)
@pytest.mark.parametrize("dtype", [torch.complex64, torch.int64])
def test_spectrogram_modules_refuse_complex_or_integer_input(module, dtype) -> None:
    """A complex spectrogram would be treated as powers; integers fail deep in torch. Both are refused."""
    with pytest.raises(ValueError, match="real floating-point"):
        module()(torch.zeros(2, 33, 10, dtype=dtype))


def test_repr_shows_the_settings() -> None:
    text = repr(adaspec.MelSpectrogram(n_fft=512, n_mels=40, f_min=20.0, norm="slaney", center=False))
    for setting in ("f_min=20", "f_max=8000", "norm='slaney'", "mel_scale='htk'", "center=False"):
        assert setting in text


@pytest.mark.parametrize(
    ("make", "settings"),
    [
        (
            lambda: adaspec.STFT(n_fft=64, onesided=False, sample_rate=8000),
            ("onesided=False", "sample_rate=8000"),
        ),
        (
            lambda: adaspec.STFT(n_fft=64, freq_scale="log", f_min=100.0, f_max=3000.0, n_bins=10),
            ("f_min=100", "f_max=3000"),
        ),
        (
            lambda: adaspec.VQT(
                sample_rate=8000,
                hop_length=64,
                f_min=200.0,
                n_bins=24,
                filter_scale=0.8,
                norm=2,
                window="hamming",
                scale=False,
                pad_mode="reflect",
                algorithm="direct",
                sparsity=0.01,
            ),
            (
                "filter_scale=0.8",
                "norm=2",
                "window='hamming'",
                "scale=False",
                "pad_mode='reflect'",
                "sparsity=0.01",
            ),
        ),
        (
            lambda: adaspec.CWT(sample_rate=8000, f_min=200.0, f_max=2e3, n_bins=8),
            ("f_min=200", "f_max=2000"),
        ),
        (lambda: adaspec.SincGram(n_filters=4, n_fft=64, f_min=50.0, f_max=4e3), ("f_min=50", "f_max=4000")),
        (lambda: adaspec.LEAF(n_filters=4, f_min=90.0, f_max=7000.0), ("f_min=90", "f_max=7000")),
    ],
    ids=["stft", "stft-log", "vqt", "cwt", "sincgram", "leaf"],
)
def test_repr_shows_the_arguments_that_change_the_output(make, settings) -> None:
    """These were left out of the reprs: two modules differing only in them printed the same."""
    text = repr(make())
    for setting in settings:
        assert setting in text
