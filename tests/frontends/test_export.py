"""Every registered front-end (and PCEN) under ``torch.export`` (non-strict): the exported program gives the
eager module's output and gradients (the eager modules are checked against librosa, pywt and ``torch.stft``
elsewhere; STFT and mel are also checked here against those oracles directly), and the values an exported
program had to fix at export time (STFT's FFT-or-dense verdict, LEAF's band layout) are taken from the
parameters at hand and checked when the program runs."""

from __future__ import annotations

import pickle

import librosa
import numpy as np
import pytest
import torch

import adaspec
from adaspec.ops.gabor import gabor_pooled_energy
from tests.helpers import LEARNABLE_NAMES, build_learnable, learnable_input

SR = 16000


def _export(module: torch.nn.Module, x: torch.Tensor) -> torch.nn.Module:
    """The exported program of ``module`` on inputs shaped like ``x``, as a callable module."""
    return torch.export.export(module, (x,), strict=False).module()


def _output_and_gradients(module: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """``module(x)`` and the gradients of a fixed projection of it for ``x`` and every trained parameter."""
    x = x.clone().requires_grad_(True)
    out = module(x)
    real = torch.view_as_real(out) if out.is_complex() else out
    weights = torch.linspace(-1.0, 1.0, real.numel()).reshape(real.shape)
    (real * weights).sum().backward()
    grads = {name: p.grad for name, p in module.named_parameters() if p.grad is not None}
    return out.detach(), {"input": x.grad, **grads}


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_exported_frontend_matches_eager(name, signal_factory):
    """The exported program gives the eager output in float32; its functional (decomposed) form also the
    gradients, compared in float64 so that a wrong gradient stands out from rounding (in float32 the two
    graphs sum in different orders and differ by about 1e-5 of the largest input gradient). The raw program
    keeps the in-place ops of the hand-written forwards, which autograd cannot replay."""
    torch.manual_seed(0)
    module = build_learnable(name)
    x = learnable_input(name, signal_factory, SR // 4)
    program = torch.export.export(module, (x,), strict=False)
    with torch.no_grad():
        expected = module(x)
        actual = program.module()(x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
    module, x = module.double(), x.double()
    program = torch.export.export(module, (x,), strict=False)
    expected, expected_grads = _output_and_gradients(module, x)
    actual, actual_grads = _output_and_gradients(program.run_decompositions().module(), x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-12 * float(expected.abs().max()))
    assert actual_grads.keys() == expected_grads.keys()
    for key, grad in expected_grads.items():
        tolerance = 1e-12 * float(grad.abs().max())
        torch.testing.assert_close(actual_grads[key], grad, rtol=0, atol=tolerance, msg=key)


def test_exported_stft_matches_torch_stft(signal_factory):
    x = signal_factory((3, SR // 4), SR)
    stft = adaspec.STFT(n_fft=512, hop_length=128)
    expected = torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True)
    with torch.no_grad():
        actual = _export(stft, x)(x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))


def test_exported_mel_matches_librosa(signal_factory):
    x = signal_factory((1, SR // 4), SR)
    mel = adaspec.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=128, n_mels=40)
    with torch.no_grad():
        actual = _export(mel, x)(x)[0].numpy()
    expected = librosa.feature.melspectrogram(  # adaspec's defaults: HTK scale, no norm, reflect padding
        y=x[0].numpy(), sr=SR, n_fft=512, hop_length=128, n_mels=40, htk=True, norm=None, pad_mode="reflect"
    )
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5 * expected.max())


def test_stft_with_loaded_kernels_exports_the_dense_path(signal_factory):
    """Kernels that are not the DFT, loaded into a fixed-kernel STFT: the export uses them (not the FFT)."""
    x = signal_factory((2, SR // 8), SR)
    trained = adaspec.STFT(n_fft=256, hop_length=64, learn_kernels=True)
    with torch.no_grad():
        trained.kernel_real.mul_(1.1)
    fixed = adaspec.STFT(n_fft=256, hop_length=64)
    assert fixed.uses_fft()
    fixed.load_state_dict(trained.state_dict())
    assert not fixed.uses_fft()
    with torch.no_grad():
        actual, expected = _export(fixed, x)(x), fixed(x)
        plain = torch.stft(x, 256, 64, window=torch.hann_window(256), return_complex=True)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
    # The real part is the DFT's times 1.1, the imaginary part the DFT's: an oracle for the trained kernels.
    torch.testing.assert_close(actual.real, 1.1 * plain.real, rtol=0, atol=1e-4 * float(plain.abs().max()))
    torch.testing.assert_close(actual.imag, plain.imag, rtol=0, atol=1e-4 * float(plain.abs().max()))


def test_exported_leaf_refuses_filters_outside_its_layout(signal_factory):
    """An exported LEAF fixes its band layout; filters moved far from it make the program raise, and a
    refresh before exporting again makes a program for the new filters."""
    x = signal_factory((2, SR // 8), SR)
    leaf = adaspec.LEAF(sample_rate=SR, n_filters=8)
    exported = _export(leaf, x)
    moved = {"center_logits": leaf.center_logits.detach() + 0.5}
    exported.load_state_dict(moved, strict=False)
    with pytest.raises(RuntimeError, match="band layout"):
        exported(x)
    with torch.no_grad():
        leaf.center_logits.add_(0.5)
    leaf.refresh_plan()
    with torch.no_grad():
        torch.testing.assert_close(_export(leaf, x)(x), leaf(x), rtol=1e-5, atol=1e-6)


def test_gabor_energy_needs_plan_values_under_export():
    class Energy(torch.nn.Module):
        def forward(self, waveform: torch.Tensor) -> torch.Tensor:
            ones = torch.ones(4, dtype=waveform.dtype)
            centers = torch.linspace(0.2, 2.0, 4, dtype=waveform.dtype)
            return gabor_pooled_energy(waveform, centers, 20 * ones, 40 * ones, 160)

    with pytest.raises(ValueError, match="plan_values"):
        torch.export.export(Energy(), (torch.randn(1, 1600),), strict=False)


def test_gabor_energy_refuses_filters_outside_plan_values():
    centers = torch.linspace(0.2, 2.0, 4, dtype=torch.float64)
    widths, pools = torch.full((4,), 20.0, dtype=torch.float64), torch.full((4,), 40.0, dtype=torch.float64)
    waveform = torch.randn(1, 1600, dtype=torch.float64)
    plan_values = (centers.tolist(), widths.tolist(), pools.tolist())
    gabor_pooled_energy(waveform, centers, widths, pools, 160, plan_values=plan_values)
    with pytest.raises(ValueError, match="band layout"):
        gabor_pooled_energy(waveform, centers + 0.3, widths, pools, 160, plan_values=plan_values)
    with pytest.raises(ValueError, match="band layout"):  # narrower filters: wider bands than planned
        gabor_pooled_energy(waveform, centers, widths / 4, pools, 160, plan_values=plan_values)


def test_exported_direct_cqt_keeps_its_spectral_kernels(signal_factory):
    x = signal_factory((2, SR // 4), SR)
    cqt = adaspec.CQT(sample_rate=SR, hop_length=128, f_min=100.0, n_bins=24, algorithm="direct")
    assert cqt.uses_spectral_kernels()
    program = torch.export.export(cqt, (x,), strict=False)
    assert cqt.uses_spectral_kernels()  # exporting leaves the verdict as it was
    with torch.no_grad():
        expected = cqt(x)
        actual = program.module()(x)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))


@pytest.mark.parametrize("name", LEARNABLE_NAMES)
def test_frontend_pickles_with_its_state_dict_hooks(name, signal_factory):
    """The ``load_state_dict`` hooks that refresh what an export fixes keep modules picklable."""
    module = build_learnable(name)
    copy = pickle.loads(pickle.dumps(module))
    copy.load_state_dict(module.state_dict())
    x = learnable_input(name, signal_factory, SR // 4)
    with torch.no_grad():
        torch.testing.assert_close(copy(x), module(x), rtol=0, atol=0)


#: Front-ends that plan nothing from the signal length: their programs take any length (and batch). PCEN's
#: smoother, solved in blocks of frames eagerly, is one doubling scan of fixed depth in such a program.
ANY_LENGTH = {
    "stft": lambda: adaspec.STFT(n_fft=256, hop_length=64),
    "stft_dense": lambda: adaspec.STFT(n_fft=256, hop_length=64, learn_kernels=True, output="power"),
    "stft_uncentered": lambda: adaspec.STFT(n_fft=256, hop_length=100, center=False, output="magnitude"),
    "mel_db": lambda: torch.nn.Sequential(
        adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, hop_length=64, n_mels=32, learn_filters=True),
        adaspec.AmplitudeToDB(top_db=80.0),
    ),
    "mfcc": lambda: adaspec.MFCC(
        sample_rate=SR, n_mfcc=13, melkwargs={"n_fft": 256, "hop_length": 64, "n_mels": 32}
    ),
    "degram": lambda: adaspec.DEGram(sample_rate=SR, n_fft=256, hop_length=64, n_filters=32),
    "mel_pcen": lambda: torch.nn.Sequential(
        adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, hop_length=64, n_mels=32),
        adaspec.PCEN(n_channels=32, s=0.04),
    ),
    "mel_pcen_first_frame": lambda: torch.nn.Sequential(
        adaspec.MelSpectrogram(sample_rate=SR, n_fft=256, hop_length=64, n_mels=32),
        adaspec.PCEN(n_channels=32, s=0.002, initial_state="first_frame"),
    ),
}
#: Front-ends that plan from the length (FFT sizes, band layouts, blocks of frames).
FIXED_LENGTH = {
    "cqt": lambda: adaspec.CQT(sample_rate=SR, hop_length=128, n_bins=24, f_min=130.8),
    "cwt": lambda: adaspec.CWT(sample_rate=SR, hop_length=128, n_bins=24, f_min=130.8),
    "leaf": lambda: adaspec.LEAF(sample_rate=SR, n_filters=4),
}


def dynamic_shapes() -> tuple[dict[int, torch.export.Dim]]:
    """Batch and time axes both dynamic."""
    return ({0: torch.export.Dim("batch"), 1: torch.export.Dim("time", min=SR // 16, max=SR * 3600)},)


@pytest.mark.parametrize("name", ANY_LENGTH)
def test_exported_program_takes_any_signal_length(name, signal_factory):
    """Exported with the time axis dynamic, the program gives the eager output at other lengths; STFT also
    equals torch.stft there."""
    module = ANY_LENGTH[name]().eval()
    example = signal_factory((2, SR // 4), SR)
    program = torch.export.export(module, (example,), dynamic_shapes=dynamic_shapes(), strict=False).module()
    for shape in ((3, SR // 4 + 777), (2, 3 * SR + 5)):
        x = signal_factory(shape, SR)
        with torch.no_grad():
            actual, expected = program(x), module(x)
        assert actual.shape == expected.shape
        torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
        if name == "stft":
            window = torch.hann_window(256)
            oracle = torch.stft(x, 256, 64, window=window, return_complex=True, pad_mode="reflect")
            torch.testing.assert_close(actual, oracle, rtol=0, atol=1e-5 * float(oracle.abs().max()))


@pytest.mark.parametrize("name", FIXED_LENGTH)
def test_length_planned_frontends_refuse_a_dynamic_time_axis(name, signal_factory):
    """A dynamic time axis is refused at export with the remedy, not turned into a program that guards on
    the length or fails at other lengths; the batch axis alone stays dynamic."""
    module = FIXED_LENGTH[name]().eval()
    x = signal_factory((2, SR // 2), SR)
    with pytest.raises(ValueError, match="time axis cannot be dynamic when exported"):
        torch.export.export(module, (x,), dynamic_shapes=dynamic_shapes(), strict=False)
    batch_only = ({0: torch.export.Dim("batch")},)
    program = torch.export.export(module, (x,), dynamic_shapes=batch_only, strict=False).module()
    wider = signal_factory((3, SR // 2), SR)
    with torch.no_grad():
        actual, expected = program(wider), module(wider)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))
