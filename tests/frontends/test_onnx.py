"""Every learnable front-end (and PCEN) exported to ONNX (``torch.onnx.export(..., dynamo=True)``) and run in
onnxruntime, checked against the oracles (``torch.stft``, librosa, pywt, a direct Gabor convolution) and
against the eager module, with a batch size other than the one exported.

onnxruntime's DFT op is slow, and exact only for power-of-two lengths (in float32 about 4e-4 off for a
length of 4000); under ONNX export the front-ends' FFTs are matrix products (``adaspec.ops.onnx_fft``) and
STFTs up to n_fft 512 dense products, so the models are as exact as eager ones."""

from __future__ import annotations

import contextlib
import io

import librosa
import numpy as np
import pytest
import pywt
import torch

import adaspec
from adaspec.ops.gabor import gabor_pooled_energy
from tests.frontends.test_leaf import direct_pooled_energy, leaf_parameters
from tests.helpers import LEARNABLE_NAMES, build_learnable, learnable_input

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

SR = 16000
#: Configurations whose exported models the oracle tests below check directly (torch.stft, librosa).
ORACLE_TESTED = {"stft", "mel"}
#: Smaller learnable configs where exporting the usual one takes long (LEAF: each group of bands adds
#: hundreds of ONNX nodes).
SMALLER = {"leaf": lambda: adaspec.LEAF(sample_rate=SR, n_filters=4)}
#: Largest difference from eager (relative to the largest value) where 1e-5 does not hold: LEAF's float32
#: rounding, magnified by PCEN in quiet frames.
TOLERANCES = {"leaf": 1e-4}


def _run_in_onnxruntime(
    module: torch.nn.Module, example: torch.Tensor, x: torch.Tensor, tmp_path, any_length: bool = False
) -> np.ndarray:
    """Export ``module`` on ``example`` (the batch axis dynamic, and with ``any_length`` the time axis too;
    a batch of 2 or more, as torch.export fixes size 1) and run the ONNX model on ``x`` in onnxruntime;
    complex outputs come back as ``(..., 2)`` real pairs (the exporter's convention)."""
    axes = {0: torch.export.Dim("batch")}
    if any_length:
        axes[1] = torch.export.Dim("time", min=SR // 16, max=SR * 3600)
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its progress
        # optimize=False: the exporter's graph rewriting takes a third of the time and changes no value.
        program = torch.onnx.export(module, (example,), dynamo=True, dynamic_shapes=(axes,), optimize=False)
    path = tmp_path / "model.onnx"
    program.save(str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    return output


def _pairs(tensor: torch.Tensor) -> np.ndarray:
    """A complex tensor as ``(..., 2)`` real pairs, a real one as it is."""
    return (torch.view_as_real(tensor) if tensor.is_complex() else tensor).numpy()


def _relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("name", [name for name in LEARNABLE_NAMES if name not in ORACLE_TESTED])
def test_onnx_model_matches_eager_for_another_batch_size(name, signal_factory, tmp_path):
    module = SMALLER.get(name, lambda: build_learnable(name))().eval()
    x = learnable_input(name, signal_factory, SR // 4, batch=3)
    actual = _run_in_onnxruntime(module, x[:2], x, tmp_path)
    with torch.no_grad():
        expected = _pairs(module(x))
    assert actual.shape == expected.shape
    assert _relative_error(actual, expected) <= TOLERANCES.get(name, 1e-5)


def test_onnx_stft_matches_torch_stft(signal_factory, tmp_path):
    x = signal_factory((3, SR // 4), SR)
    stft = adaspec.STFT(n_fft=512, hop_length=128).eval()
    actual = _run_in_onnxruntime(stft, x[:2], x, tmp_path)
    expected = _pairs(torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True))
    assert _relative_error(actual, expected) <= 1e-5


def test_onnx_mel_matches_librosa(signal_factory, tmp_path):
    x = signal_factory((3, SR // 4), SR)
    mel = adaspec.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=128, n_mels=40).eval()
    actual = _run_in_onnxruntime(mel, x[:2], x, tmp_path)[2]
    expected = librosa.feature.melspectrogram(  # adaspec's defaults: HTK scale, no norm, reflect padding
        y=x[2].numpy(), sr=SR, n_fft=512, hop_length=128, n_mels=40, htk=True, norm=None, pad_mode="reflect"
    )
    assert _relative_error(actual, expected) <= 1e-5


@pytest.mark.parametrize(("dtype", "tolerance"), [(torch.float32, 1e-5), (torch.float64, 1e-6)])
def test_onnx_cwt_matches_pywt(dtype, tolerance, signal_factory, tmp_path):
    x = signal_factory((3, 4000), 8000, dtype=torch.float64)
    cwt = adaspec.CWT(sample_rate=8000, f_min=50.0, n_bins=24, hop_length=4, output="complex").to(dtype)
    actual = _run_in_onnxruntime(cwt.eval(), x[:2].to(dtype), x.to(dtype), tmp_path)
    for signal, coefficients in zip(x.numpy(), actual, strict=True):
        expected = pywt.cwt(signal, cwt.scales.numpy(), "cmor1.5-1.0")[0][:, ::4]
        assert _relative_error(coefficients, np.stack([expected.real, expected.imag], axis=-1)) <= tolerance


def test_onnx_cqt_matches_librosa(tmp_path):
    """The decimation has soxr's gain, so the eager CQT is within 4e-7 of librosa here (float32); the
    exported one within float32 rounding of the FFTs as matrix products."""
    sample_rate, seconds = 22050, 1.5
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    y = sum(np.sin(2 * np.pi * 220.0 * k * t + k) / k for k in range(1, 8))
    cqt = adaspec.CQT(sample_rate=sample_rate, hop_length=512, f_min=110.0, n_bins=48)
    x = torch.from_numpy(np.stack([y, y, y])).float()
    actual = _run_in_onnxruntime(cqt.eval(), x[:2], x, tmp_path)[2]
    expected = librosa.cqt(y, sr=sample_rate, hop_length=512, fmin=110.0, n_bins=48, tuning=0.0, sparsity=0)
    magnitude = np.hypot(actual[..., 0], actual[..., 1])
    assert _relative_error(magnitude, np.abs(expected)) <= 1e-5


class _PooledEnergy(torch.nn.Module):
    """LEAF's Gabor energies and pooling for fixed filters: an exported program plans from the numbers."""

    def __init__(self, centers: torch.Tensor, widths: torch.Tensor, pool_widths: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("centers", centers)
        self.register_buffer("widths", widths)
        self.register_buffer("pool_widths", pool_widths)
        self.values = tuple(values.tolist() for values in (centers, widths, pool_widths))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return gabor_pooled_energy(
            waveform, self.centers, self.widths, self.pool_widths, 160, plan_values=self.values
        )


def test_onnx_gabor_energies_match_a_direct_convolution(signal_factory, tmp_path):
    """LEAF's frequency-domain band op (float32) in onnxruntime against a stride-1 convolution (float64)."""
    parameters = [values.detach() for values in leaf_parameters(adaspec.LEAF(SR, n_filters=6))]
    x = signal_factory((3, 3000), SR, dtype=torch.float64)
    module = _PooledEnergy(*(values.float() for values in parameters)).eval()
    actual = _run_in_onnxruntime(module, x[:2].float(), x.float(), tmp_path)
    with torch.no_grad():
        expected = direct_pooled_energy(x, *parameters, 160).numpy()
    assert actual.shape == expected.shape
    error = np.abs(actual - expected).max(axis=-1) / np.abs(expected).max(axis=-1)
    assert error.max() < 1e-4  # the eager op's own bound (test_leaf)


@pytest.mark.parametrize("n_fft", [512, 2048])
def test_onnx_stft_has_no_dft_node(n_fft, signal_factory, tmp_path):
    """Up to n_fft 512 the dense product (``adaspec.frontends.stft.ONNX_DENSE_MAX_N_FFT``), beyond it the
    FFT as matrix products (``adaspec.ops.onnx_fft``): onnxruntime's DFT op is slow, and inexact for lengths
    that are not powers of two."""
    onnx = pytest.importorskip("onnx")
    x = signal_factory((3, SR // 4), SR)
    stft = adaspec.STFT(n_fft=n_fft, hop_length=n_fft // 4).eval()
    actual = _run_in_onnxruntime(stft, x[:2], x, tmp_path)
    expected = _pairs(torch.stft(x, n_fft, n_fft // 4, window=torch.hann_window(n_fft), return_complex=True))
    assert _relative_error(actual, expected) <= 1e-5
    model = onnx.load(str(tmp_path / "model.onnx"))
    operators = {node.op_type for node in model.graph.node}
    operators |= {node.op_type for function in model.functions for node in function.node}
    assert "DFT" not in operators and "MatMul" in operators


def test_onnx_stft_and_mel_take_any_signal_length(signal_factory, tmp_path):
    """Exported with the time axis dynamic, STFT equals torch.stft and mel librosa at another length."""
    example, x = signal_factory((2, SR // 4), SR), signal_factory((3, SR // 4 + 777), SR)
    stft = adaspec.STFT(n_fft=512, hop_length=128).eval()
    actual = _run_in_onnxruntime(stft, example, x, tmp_path, any_length=True)
    oracle = torch.stft(x, 512, 128, window=torch.hann_window(512), return_complex=True, pad_mode="reflect")
    assert actual.shape == _pairs(oracle).shape
    assert _relative_error(actual, _pairs(oracle)) <= 1e-5
    mel = adaspec.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=128, n_mels=40).eval()
    actual = _run_in_onnxruntime(mel, example, x, tmp_path, any_length=True)
    expected = np.stack(
        [
            librosa.feature.melspectrogram(
                y=row, sr=SR, n_fft=512, hop_length=128, n_mels=40, htk=True, norm=None, pad_mode="reflect"
            )
            for row in x.numpy()
        ]
    )
    assert actual.shape == expected.shape
    assert _relative_error(actual, expected) <= 1e-5


def test_onnx_mel_pcen_takes_any_signal_length(signal_factory, tmp_path):
    """PCEN's smoother exported with a dynamic number of frames (a doubling scan of fixed depth) equals the
    eager blockwise one at another length."""
    model = torch.nn.Sequential(
        adaspec.MelSpectrogram(sample_rate=SR, n_fft=512, hop_length=160, n_mels=40),
        adaspec.PCEN(n_channels=40, s=0.04, initial_state="first_frame"),
    ).eval()
    example, x = signal_factory((2, SR // 4), SR), signal_factory((3, 2 * SR + 321), SR)
    actual = _run_in_onnxruntime(model, example, x, tmp_path, any_length=True)
    with torch.no_grad():
        expected = model(x).numpy()
    assert actual.shape == expected.shape
    assert _relative_error(actual, expected) <= 1e-5


# After the refusal the exporter retries with Dynamo, which warns that it traces through the plan's caches.
@pytest.mark.filterwarnings("ignore:Dynamo detected a call to a `functools.lru_cache`")
def test_onnx_refuses_a_dynamic_time_axis_for_leaf(signal_factory, tmp_path):
    """LEAF plans its bands from the length: a dynamic time axis is refused with the remedy (it exported a
    model that failed in onnxruntime at any other length). Two bands: the refusal is of the length-planned
    band op, whatever the number of bands, and the exporter's retry takes half as long as with four."""
    leaf = adaspec.LEAF(sample_rate=SR, n_filters=2).eval()
    x = signal_factory((2, SR // 4), SR)
    with pytest.raises(torch.onnx.OnnxExporterError, match="time axis cannot be dynamic when exported"):
        _run_in_onnxruntime(leaf, x, x, tmp_path, any_length=True)
