"""Front-ends under ``torch.autocast``: the filterbank, DCT, attention and z-score stages compute in float32
and return float32, so bf16 autocast gives the float32 result (each compared with an independent oracle:
librosa, torch.stft with the closed-form Butterworth matrix, numpy); outside autocast the input's dtype is
kept."""

import librosa
import numpy as np
import pytest
import torch

import adaspec
from tests.helpers import assert_close_to_max, make_signal

SR, N_FFT, HOP = 16000, 512, 128
AUTOCAST_DTYPES = [torch.bfloat16, torch.float16]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_attention(x, module):
    """TFAttention's ``x * (g_f + g_t)`` on ``(B, F, T)`` float64, written out from its weights."""
    w1 = module.freq_squeeze.weight.detach().double().numpy()
    w2 = module.freq_excite.weight.detach().double().numpy()
    w_t = module.time_excitation.weight.detach().double().numpy()[0]
    b_t = module.time_excitation.bias.detach().double().numpy()[0]
    freq_gate = sigmoid(np.maximum(x.mean(axis=-1) @ w1.T, 0.0) @ w2.T)  # (B, F)
    time_gate = sigmoid(np.einsum("f,bft->bt", w_t, x) + b_t)  # (B, T)
    return x * (freq_gate[:, :, None] + time_gate[:, None, :])


def numpy_zscore(x):
    return (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)


def stft_power(y):
    spectrum = torch.stft(
        torch.from_numpy(y),
        N_FFT,
        hop_length=HOP,
        window=torch.hann_window(N_FFT, dtype=torch.float64),
        center=True,
        pad_mode="reflect",
        return_complex=True,
    )
    return (spectrum.abs() ** 2).numpy()


def butterworth(n_filters, order=4):
    """SincGram's initial matrix in closed form (HTK mel points, 0 Hz to Nyquist)."""
    mels = np.linspace(0.0, 2595.0 * np.log10(1.0 + SR / 2 / 700.0), n_filters + 2)
    points = 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    centres, bandwidths = points[1:-1], (points[2:] - points[:-2]) / 2.0
    freqs = np.arange(N_FFT // 2 + 1) * SR / N_FFT
    return 1.0 / np.sqrt(1.0 + ((freqs[:, None] - centres) / bandwidths) ** (2 * order))


def signals(batch=2, seconds=0.25):
    return np.stack([make_signal(seconds, SR, seed=i) for i in range(batch)])


def under_autocast(module, x, dtype):
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        return module(x)


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_mel_spectrogram_matches_librosa_under_autocast(dtype):
    y = signals()
    module = adaspec.MelSpectrogram(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_mels=64)
    actual = under_autocast(module, torch.from_numpy(y).float(), dtype)
    assert actual.dtype == torch.float32
    expected = librosa.feature.melspectrogram(
        y=y,
        sr=SR,
        n_fft=N_FFT,
        hop_length=HOP,
        n_mels=64,
        htk=True,
        norm=None,
        pad_mode="reflect",
        dtype=np.float64,
    )
    assert_close_to_max(actual.double().numpy(), expected, 1e-4)


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_mfcc_matches_librosa_under_autocast(dtype):
    y = signals()
    melkwargs = dict(n_fft=N_FFT, hop_length=HOP, n_mels=40, mel_scale="slaney", norm="slaney")
    module = adaspec.MFCC(sample_rate=SR, n_mfcc=20, top_db=80.0, melkwargs=melkwargs)
    actual = under_autocast(module, torch.from_numpy(y).float(), dtype)
    assert actual.dtype == torch.float32
    expected = librosa.feature.mfcc(
        y=y, sr=SR, n_mfcc=20, n_fft=N_FFT, hop_length=HOP, n_mels=40, pad_mode="reflect", dtype=np.float64
    )
    assert_close_to_max(actual.double().numpy(), expected, 1e-4)


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_degram_stages_match_their_oracles_under_autocast(dtype):
    torch.manual_seed(0)
    y = signals()
    module = adaspec.DEGram(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_filters=40)
    actual = under_autocast(module, torch.from_numpy(y).float(), dtype)
    assert actual.dtype == torch.float32
    energies = np.einsum("bft,fk->bkt", stft_power(y), butterworth(40))
    expected = numpy_zscore(numpy_attention(np.log(energies + module.log_eps), module.attention))
    # float32 rounding of the log spectrum, magnified by the z-score of quiet bands: 1e-4 of the largest value
    assert_close_to_max(actual.double().numpy(), expected, 1e-4)


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_spectrogram_modules_compute_half_input_in_float32_under_autocast(dtype):
    """A half-precision input (the output of an autocast layer before them) is promoted, not rounded
    further: the result equals the float64 oracle on the same rounded input to float32 precision."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    power = torch.from_numpy(rng.gamma(0.5, 1.0, (2, N_FFT // 2 + 1, 30))).to(dtype)
    log_energies = torch.from_numpy(rng.normal(-3.0, 2.0, (2, 40, 30))).to(dtype)
    attention = adaspec.TFAttention(40, reduction=4)
    cases = [
        (adaspec.SincGram(40, SR, N_FFT), power, lambda x: np.einsum("bft,fk->bkt", x, butterworth(40))),
        (adaspec.SpectrogramNorm(), log_energies, numpy_zscore),
        (attention, log_energies, lambda x: numpy_attention(x, attention)),
    ]
    for module, half, oracle in cases:
        actual = under_autocast(module, half, dtype)
        assert actual.dtype == torch.float32, type(module).__name__
        assert_close_to_max(actual.double().numpy(), oracle(half.double().numpy()), 1e-5)


def test_spectrogram_modules_keep_the_input_dtype_outside_autocast():
    torch.manual_seed(0)
    x = torch.rand(2, 40, 30, dtype=torch.bfloat16)
    assert adaspec.SpectrogramNorm()(x).dtype == torch.bfloat16
    assert adaspec.TFAttention(40, dtype=torch.bfloat16)(x).dtype == torch.bfloat16
    assert adaspec.SincGram(40, SR, N_FFT)(torch.rand(2, N_FFT // 2 + 1, 30, dtype=torch.bfloat16)).dtype == (
        torch.bfloat16
    )


def test_gradients_under_autocast_are_float32_and_reach_every_learnable_part():
    torch.manual_seed(0)
    module = adaspec.DEGram(sample_rate=SR, n_fft=N_FFT, hop_length=HOP, n_filters=40, learn_filters=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = module(torch.from_numpy(signals()).float())
    output.square().mean().backward()
    for name, parameter in module.named_parameters():
        if parameter.requires_grad:
            assert parameter.grad is not None and parameter.grad.dtype == torch.float32, name
            assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("dtype", AUTOCAST_DTYPES)
def test_amplitude_to_db_promotes_half_input_under_autocast(dtype):
    power = torch.rand(2, 40, 30, dtype=torch.float64) + 1e-3
    actual = under_autocast(adaspec.AmplitudeToDB(top_db=None), power.to(dtype), dtype)
    assert actual.dtype == torch.float32
    expected = librosa.power_to_db(power.to(dtype).double().numpy(), ref=1.0, amin=1e-10, top_db=None)
    np.testing.assert_allclose(actual.double().numpy(), expected, atol=1e-4)


def test_spectrogram_modules_run_on_meta_tensors():
    """A shape pass on the meta device (no autocast there to ask about or turn off)."""
    x = torch.empty(2, 40, 30, device="meta")
    for module in (adaspec.SpectrogramNorm(), adaspec.TFAttention(40), adaspec.AmplitudeToDB()):
        assert module.to("meta")(x).shape == x.shape
    assert (
        adaspec.SincGram(40, SR, N_FFT).to("meta")(torch.empty(2, N_FFT // 2 + 1, 30, device="meta")).shape
        == x.shape
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: adaspec.STFT(n_fft=64),
        lambda: adaspec.STFT(n_fft=64, output="power", learn_kernels=True),
        lambda: adaspec.MelSpectrogram(n_fft=64, n_mels=8),
        lambda: adaspec.MFCC(n_mfcc=5, melkwargs={"n_fft": 64, "n_mels": 8}),
        lambda: adaspec.DEGram(n_fft=64, n_filters=8),
        lambda: adaspec.CQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24),
        lambda: adaspec.CQT(sample_rate=8000, hop_length=64, f_min=200.0, n_bins=24, algorithm="direct"),
        lambda: adaspec.CWT(sample_rate=8000, f_min=200.0, n_bins=8, hop_length=32),
    ],
    ids=["stft", "stft-dense", "mel", "mfcc", "degram", "cqt", "cqt-direct", "cwt"],
)
def test_waveform_modules_run_on_meta_tensors(make):
    """The waveform front-ends' shape pass on the meta device: autocast was switched off there with
    ``torch.autocast("meta")`` ("unsupported scalarType"), and the STFT compared its meta kernels with the
    DFT (``aten::equal`` has no meta kernel)."""
    module = make()
    expected = module(torch.randn(2, 3, 4000)).shape
    assert module.to("meta")(torch.empty(2, 3, 4000, device="meta")).shape == expected


def test_pcen_runs_on_meta_tensors():
    x = torch.rand(2, 16, 30)
    assert adaspec.PCEN(16).to("meta")(x.to("meta")).shape == x.shape
