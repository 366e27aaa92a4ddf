"""AmplitudeToDB against librosa.power_to_db / amplitude_to_db and closed-form logarithms."""

import librosa
import numpy as np
import pytest
import torch

import adaspec


def make_spectrogram(shape=(65, 40), seed=0, scale=1.0):
    """Non-negative values spanning 16 decades, with exact zeros: exercises amin, ref and top_db."""
    rng = np.random.default_rng(seed)
    spectrogram = 10.0 ** rng.uniform(-14.0, 2.0, size=shape)
    spectrogram[rng.random(shape) < 0.05] = 0.0
    return scale * spectrogram


def librosa_db(spectrogram, stype, ref, amin, top_db):
    convert = librosa.power_to_db if stype == "power" else librosa.amplitude_to_db
    return convert(spectrogram, ref=np.max if ref == "max" else ref, amin=amin, top_db=top_db)


def apply(module, spectrogram, dtype=torch.float64):
    with torch.no_grad():
        return module(torch.from_numpy(spectrogram).to(dtype)).double().numpy()


@pytest.mark.parametrize("top_db", [None, 80.0, 40.0])
@pytest.mark.parametrize("amin", [1e-10, 1e-5])
@pytest.mark.parametrize("ref", [1.0, 3.0, "max"])
@pytest.mark.parametrize("stype", ["power", "magnitude"])
def test_matches_librosa(stype, ref, amin, top_db):
    spectrogram = make_spectrogram()
    module = adaspec.AmplitudeToDB(stype, top_db=top_db, amin=amin, ref=ref)
    expected = librosa_db(spectrogram, stype, ref, amin, top_db)
    actual = apply(module, spectrogram)
    if top_db == 40.0:  # make sure the floor is exercised (the data span 70 dB or more)
        assert np.mean(expected == expected.max() - top_db) > 0.1
    # dB values: an absolute tolerance in dB is the meaningful one (values near 0 dB have no relative scale).
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("stype", ["power", "magnitude"])
def test_float32_matches_librosa(stype):
    spectrogram = make_spectrogram().astype(np.float32)
    module = adaspec.AmplitudeToDB(stype, top_db=80.0, ref="max")
    actual = apply(module, spectrogram, torch.float32)
    expected = librosa_db(spectrogram.astype(np.float64), stype, "max", 1e-10, 80.0)
    # float32 log has ~1e-7 relative error on values up to ~200 dB: 1e-4 dB absolute is ample.
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize(("ref", "top_db"), [("max", 80.0), (1.0, 80.0), ("max", None), (1.0, 40.0)])
@pytest.mark.parametrize("stype", ["power", "magnitude"])
def test_each_example_of_a_batch_is_treated_alone(stype, ref, top_db):
    scales = [1.0, 1e-3, 1e4]
    batch = np.stack([make_spectrogram(seed=i, scale=s) for i, s in enumerate(scales)])
    module = adaspec.AmplitudeToDB(stype, top_db=top_db, ref=ref)
    actual = apply(module, batch)
    assert actual.shape == batch.shape
    for i in range(len(scales)):
        expected = librosa_db(batch[i], stype, ref, 1e-10, top_db)
        np.testing.assert_allclose(actual[i], expected, rtol=1e-12, atol=1e-10)


def test_per_example_on_a_4d_batch():
    batch = np.stack(
        [
            [make_spectrogram((9, 7), seed=3 * i + j, scale=10.0 ** (2 * i - j)) for j in range(3)]
            for i in range(2)
        ]
    )
    actual = apply(adaspec.AmplitudeToDB(top_db=60.0, ref="max"), batch)
    for i in range(2):
        for j in range(3):
            expected = librosa.power_to_db(batch[i, j], ref=np.max, amin=1e-10, top_db=60.0)
            np.testing.assert_allclose(actual[i, j], expected, rtol=1e-12, atol=1e-10)


def test_log_base_none_is_identity():
    x = torch.from_numpy(make_spectrogram()) - 0.5  # even negative values pass untouched
    module = adaspec.AmplitudeToDB(log_base=None, top_db=80.0, ref="max")
    assert torch.equal(module(x), x)


@pytest.mark.parametrize("top_db", [None, 10.0])
@pytest.mark.parametrize("ref", [1.0, 0.5, "max"])
@pytest.mark.parametrize("stype", ["power", "magnitude"])
@pytest.mark.parametrize(
    ("log_base", "log"), [(2.0, np.log2), (np.e, np.log), (3.0, lambda v: np.log(v) / np.log(3.0))]
)
def test_other_log_bases_are_plain_logarithms(log_base, log, stype, ref, top_db):
    amin = 1e-8
    spectrogram = make_spectrogram()
    reference = max(spectrogram.max(), amin) if ref == "max" else ref
    expected = log(np.maximum(spectrogram, amin) / reference)  # no 10/20 multiplier, whatever stype
    if top_db is not None:
        expected = np.maximum(expected, expected.max() - top_db)
    module = adaspec.AmplitudeToDB(stype, top_db=top_db, amin=amin, ref=ref, log_base=log_base)
    np.testing.assert_allclose(apply(module, spectrogram), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("ref", "value"), [(1.0, -100.0), ("max", 0.0)])
@pytest.mark.parametrize("top_db", [None, 80.0])
def test_silence_is_finite(ref, value, top_db):
    # power: 10 log10(amin / max(ref, amin)); amin = 1e-10 -> -100 dB with ref=1, 0 dB with ref=max.
    out = adaspec.AmplitudeToDB("power", top_db=top_db, ref=ref)(torch.zeros(2, 17, 5))
    assert torch.isfinite(out).all()
    # float32: 1e-10 is not representable, log10 of it is off by ~1e-7 relative.
    np.testing.assert_allclose(out.numpy(), np.full((2, 17, 5), value), rtol=0, atol=1e-4)


@pytest.mark.parametrize("top_db", [None, 80.0])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("stype", ["power", "magnitude"])
def test_half_precision_is_computed_in_float32(dtype, stype, top_db):
    """amin = 1e-10 underflows to 0 in float16; silence must still give 10 (or 20) log10(amin)."""
    spectrogram = make_spectrogram(shape=(2, 65, 40))  # at most 100: within float16
    spectrogram[0, :, :5] = 0.0
    half = torch.from_numpy(spectrogram).to(dtype)
    module = adaspec.AmplitudeToDB(stype, top_db=top_db)
    out = module(half)
    assert out.dtype == dtype and torch.isfinite(out).all()
    rounded = half.double().numpy()  # librosa on the values the half tensor holds, per example
    expected = np.stack([librosa_db(example, stype, 1.0, 1e-10, top_db) for example in rounded])
    resolution = torch.finfo(dtype).eps * np.abs(expected).max()  # the output's own rounding
    np.testing.assert_allclose(out.double().numpy(), expected, rtol=0, atol=resolution)
    silent = {"power": -100.0, "magnitude": -200.0}[stype]
    floor = silent if top_db is None else max(silent, expected[0].max() - top_db)
    assert np.abs(out[0, :, :5].double().numpy() - floor).max() <= resolution


@pytest.mark.parametrize("learn_kernels", [False, True], ids=["fft", "dense"])
@pytest.mark.parametrize("ref", [1.0, "max"])
@pytest.mark.parametrize("power", [1.0, 2.0])
@pytest.mark.parametrize("silence", ["all", "half"])
def test_finite_gradients_through_mel_and_db(silence, power, ref, learn_kernels):
    torch.manual_seed(0)
    waveform = torch.zeros(2, 800)
    if silence == "half":
        waveform[:, 400:] = torch.randn(2, 400)
    waveform.requires_grad_()
    pipeline = torch.nn.Sequential(
        adaspec.MelSpectrogram(
            sample_rate=16000,
            n_fft=128,
            hop_length=32,
            n_mels=16,
            power=power,
            learn_window=True,
            learn_kernels=learn_kernels,
            learn_filters=True,
        ),
        adaspec.AmplitudeToDB("power" if power == 2.0 else "magnitude", top_db=80.0, ref=ref),
    )
    out = pipeline(waveform)
    assert torch.isfinite(out).all()
    out.sum().backward()
    mel = pipeline[0]
    for grad in (mel.stft.window.grad, mel.filters.grad, waveform.grad):
        assert grad is not None and torch.isfinite(grad).all()
    if learn_kernels:
        for grad in (mel.stft.kernel_real.grad, mel.stft.kernel_imag.grad):
            assert torch.isfinite(grad).all()
    if silence == "half":
        assert mel.stft.window.grad.abs().sum() > 0


@pytest.mark.parametrize("learn_kernels", [False, True], ids=["fft", "dense"])
@pytest.mark.parametrize("silence", ["all", "half"])
def test_finite_gradients_through_stft_magnitude_and_db(silence, learn_kernels):
    torch.manual_seed(0)
    waveform = torch.zeros(3, 600)
    if silence == "half":
        waveform[:, :300] = torch.randn(3, 300)
    waveform.requires_grad_()
    stft = adaspec.STFT(
        n_fft=128, hop_length=32, output="magnitude", learn_window=True, learn_kernels=learn_kernels
    )
    out = adaspec.AmplitudeToDB("magnitude", top_db=80.0)(stft(waveform))
    assert torch.isfinite(out).all()
    out.mean().backward()
    assert torch.isfinite(stft.window.grad).all()
    assert torch.isfinite(waveform.grad).all()
    if silence == "half":
        assert stft.window.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(stype="energy"), "stype"),
        (dict(top_db=-1.0), "top_db"),
        (dict(amin=0.0), "amin"),
        (dict(amin=-1e-10), "amin"),
        (dict(ref=0.0), "ref"),
        (dict(ref=-1.0), "ref"),
        (dict(ref="min"), "ref"),
        (dict(log_base=1.0), "log_base"),
        (dict(log_base=0.0), "log_base"),
        (dict(log_base=-10.0), "log_base"),
        (dict(log_base=True), "log_base"),
        (dict(ref=np.array([1.0, 2.0])), r"^ref must be"),  # was numpy's "truth value ... is ambiguous"
    ],
)
def test_invalid_parameters_raise_value_error_naming_them(kwargs, name):
    with pytest.raises(ValueError, match=name):
        adaspec.AmplitudeToDB(**kwargs)


@pytest.mark.parametrize("ref", [1.0, "max"])
@pytest.mark.parametrize("shape", [(2, 17, 0), (2, 0, 5)])
def test_spectrograms_without_frames_give_empty_output(shape, ref):
    """No frames (or no bands): nothing to take a maximum of, so an empty result as the other spectrogram
    modules give (amax over an empty axis raised an IndexError)."""
    spectrogram = torch.rand(shape, requires_grad=True)
    out = adaspec.AmplitudeToDB("power", top_db=80.0, ref=ref)(spectrogram)
    assert out.shape == shape
    out.sum().backward()
    assert spectrogram.grad.shape == shape


@pytest.mark.parametrize("top_db", [None, 10.0])
@pytest.mark.parametrize("ref", [2.0, "max"])
@pytest.mark.parametrize("stype", ["power", "magnitude"])
def test_gradcheck(stype, ref, top_db):
    """Analytic gradients against finite differences (float64), the floor and the maximum included."""
    spectrogram = torch.from_numpy(10.0 ** np.random.default_rng(1).uniform(-2.0, 1.0, (2, 5, 4)))
    module = adaspec.AmplitudeToDB(stype, top_db=top_db, ref=ref)
    if top_db is not None:  # the floor must hold some values, away from ties
        assert (module(spectrogram) == module(spectrogram).amax(dim=(-2, -1), keepdim=True) - top_db).any()
    assert torch.autograd.gradcheck(module, (spectrogram.requires_grad_(),))
