"""MFCC against librosa.feature.mfcc and an independent scipy computation."""

import librosa
import numpy as np
import pytest
import scipy.fft
import torch

import adaspec
from adaspec.kernels import dct_matrix
from tests.helpers import assert_close_to_max, make_signal, ours, rtol_for

SR = 16000
N_FFT = 512
HOP = 128


def librosa_mel(y, n_mels, mel_scale, mel_norm):
    return librosa.feature.melspectrogram(
        y=y,
        sr=SR,
        n_fft=N_FFT,
        hop_length=HOP,
        pad_mode="reflect",
        n_mels=n_mels,
        htk=mel_scale == "htk",
        norm=mel_norm,
        dtype=np.float64,
    )


def melkwargs(n_mels, mel_scale, mel_norm):
    return dict(n_fft=N_FFT, hop_length=HOP, n_mels=n_mels, mel_scale=mel_scale, norm=mel_norm)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("lifter", [0, 22])
@pytest.mark.parametrize("mel_norm", [None, "slaney"])
@pytest.mark.parametrize("mel_scale", ["htk", "slaney"])
def test_matches_librosa_mfcc(mel_scale, mel_norm, lifter, dtype):
    y = make_signal().astype(np.float32 if dtype == torch.float32 else np.float64).astype(np.float64)
    module = adaspec.MFCC(
        sample_rate=SR,
        n_mfcc=20,
        lifter=lifter,
        top_db=80.0,
        melkwargs=melkwargs(40, mel_scale, mel_norm),
        dtype=dtype,
    )
    # librosa.feature.mfcc = dct(power_to_db(melspectrogram), ortho) with power_to_db's top_db=80.
    expected = librosa.feature.mfcc(
        y=y,
        sr=SR,
        n_mfcc=20,
        dct_type=2,
        norm="ortho",
        lifter=lifter,
        mel_norm=mel_norm,
        n_fft=N_FFT,
        hop_length=HOP,
        pad_mode="reflect",
        n_mels=40,
        htk=mel_scale == "htk",
        dtype=np.float64,
    )
    actual = ours(module, y, dtype)
    assert actual.shape == expected.shape == (20, expected.shape[-1])
    assert_close_to_max(actual, expected, rtol_for(dtype))


@pytest.mark.parametrize("top_db", [None, 80.0, 30.0])
def test_top_db_matches_librosa_power_to_db(top_db):
    y = make_signal()
    module = adaspec.MFCC(
        sample_rate=SR, n_mfcc=13, top_db=top_db, melkwargs=melkwargs(40, "htk", None), dtype=torch.float64
    )
    log_mel = librosa.power_to_db(librosa_mel(y, 40, "htk", None), ref=1.0, amin=1e-10, top_db=top_db)
    if top_db == 30.0:  # make sure the floor is really exercised
        assert np.mean(log_mel == log_mel.max() - top_db) > 0.05
    expected = librosa.feature.mfcc(S=log_mel, n_mfcc=13)
    assert_close_to_max(ours(module, y, torch.float64), expected, 1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_mels_matches_scipy_dct_of_log_mel(dtype):
    y = make_signal().astype(np.float32 if dtype == torch.float32 else np.float64).astype(np.float64)
    module = adaspec.MFCC(
        sample_rate=SR, n_mfcc=24, log_mels=True, melkwargs=melkwargs(64, "slaney", "slaney"), dtype=dtype
    )
    mel = librosa_mel(y, 64, "slaney", "slaney")
    expected = scipy.fft.dct(np.log(mel + 1e-6), type=2, norm="ortho", axis=-2)[:24]
    assert_close_to_max(ours(module, y, dtype), expected, rtol_for(dtype))


def test_batch_dimensions():
    rng = np.random.default_rng(3)
    y = rng.standard_normal((2, 3, 4000))
    module = adaspec.MFCC(
        sample_rate=SR, n_mfcc=13, melkwargs=melkwargs(40, "htk", None), dtype=torch.float64
    )
    actual = ours(module, y, torch.float64)
    assert actual.shape[:3] == (2, 3, 13)
    for i in range(2):
        for j in range(3):
            expected = librosa.feature.mfcc(
                y=y[i, j],
                sr=SR,
                n_mfcc=13,
                mel_norm=None,
                n_fft=N_FFT,
                hop_length=HOP,
                pad_mode="reflect",
                n_mels=40,
                htk=True,
                dtype=np.float64,
            )
            assert_close_to_max(actual[i, j], expected, 1e-10)


@pytest.mark.parametrize(("n_out", "n_in"), [(13, 40), (40, 40), (1, 7), (20, 128)])
def test_dct_matrix_matches_scipy(n_out, n_in):
    matrix = dct_matrix(n_out, n_in, dtype=torch.float64).numpy()
    assert matrix.shape == (n_out, n_in)
    expected = scipy.fft.dct(np.eye(n_in), type=2, norm="ortho", axis=0)[:n_out]
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-14)
    x = np.random.default_rng(0).standard_normal((n_in, 5))
    np.testing.assert_allclose(
        matrix @ x, scipy.fft.dct(x, type=2, norm="ortho", axis=0)[:n_out], rtol=1e-12, atol=1e-12
    )


def test_dct_matrix_is_orthonormal():
    matrix = dct_matrix(32, 32, dtype=torch.float64).numpy()
    np.testing.assert_allclose(matrix @ matrix.T, np.eye(32), atol=1e-13)


def test_dct_matrix_default_dtype():
    assert dct_matrix(4, 8).dtype == torch.get_default_dtype()


@pytest.mark.parametrize(("n_mfcc", "n_mels"), [(41, 40), (65, 64)])
def test_n_mfcc_above_n_mels_raises(n_mfcc, n_mels):
    with pytest.raises(ValueError, match="n_mfcc"):
        adaspec.MFCC(n_mfcc=n_mfcc, melkwargs={"n_fft": 512, "n_mels": n_mels})


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(n_mfcc=0), "n_mfcc"),
        (dict(dct_type=3), "dct_type"),
        (dict(norm=None), "norm"),
        (dict(lifter=-1.0), "lifter"),
        (dict(top_db=-1.0), "top_db"),
        (dict(melkwargs={"n_mels": None}), "n_mels"),
        (dict(melkwargs={"power": 0.0}), "power"),
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    kwargs = {"n_mfcc": 13, **kwargs}
    kwargs["melkwargs"] = {"n_fft": 256, "n_mels": 40, **kwargs.get("melkwargs", {})}
    with pytest.raises(ValueError, match=name):
        adaspec.MFCC(**kwargs)


def test_learn_flags_are_forwarded_to_the_mel_spectrogram():
    module = adaspec.MFCC(n_mfcc=13, melkwargs={"n_fft": 256, "hop_length": 64, "n_mels": 40})
    trainable = [name for name, p in module.named_parameters() if p.requires_grad]
    assert trainable == []

    module.learn_filters = True
    assert module.mel_spectrogram.learn_filters and module.mel_spectrogram.filters.requires_grad
    module.learn_window = True
    assert module.mel_spectrogram.stft.window.requires_grad
    assert module.learn_filters and module.learn_window and not module.learn_kernels

    x = torch.randn(2, 2000)
    module(x).square().mean().backward()
    filters_grad = module.mel_spectrogram.filters.grad
    assert filters_grad is not None and torch.isfinite(filters_grad).all() and filters_grad.abs().sum() > 0
    assert module.mel_spectrogram.stft.window.grad is not None
    assert module.mel_spectrogram.stft.kernel_real.grad is None

    module.learn_filters = False
    assert not module.mel_spectrogram.filters.requires_grad


def test_learn_flags_through_melkwargs():
    module = adaspec.MFCC(
        n_mfcc=13, melkwargs={"n_fft": 256, "n_mels": 40, "learn_filters": True, "learn_kernels": True}
    )
    assert module.learn_filters and module.learn_kernels and not module.learn_window
    trainable = {name for name, p in module.named_parameters() if p.requires_grad}
    assert trainable == {
        "mel_spectrogram.filters",
        "mel_spectrogram.stft.kernel_real",
        "mel_spectrogram.stft.kernel_imag",
    }


@pytest.mark.parametrize("log_mels", [False, True])
def test_gradcheck_input_and_filters(log_mels):
    """Analytic gradients against finite differences (float64) through dB (or log), DCT and lifter."""
    torch.manual_seed(0)
    module = adaspec.MFCC(
        sample_rate=8000,
        n_mfcc=3,
        log_mels=log_mels,
        lifter=3.0,
        top_db=None,
        melkwargs={"n_fft": 16, "hop_length": 8, "n_mels": 4, "learn_filters": True},
        dtype=torch.float64,
    )
    filters = module.mel_spectrogram.filters.detach().clone().requires_grad_()
    x = torch.randn(1, 40, dtype=torch.float64, requires_grad=True)

    def run(waveform, weights):
        return torch.func.functional_call(module, {"mel_spectrogram.filters": weights}, (waveform,))

    assert torch.autograd.gradcheck(run, (x, filters), eps=1e-6, atol=1e-6, rtol=1e-5)
