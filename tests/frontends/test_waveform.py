"""The waveform side shared by STFT (and mel, MFCC, DEGram through it), CQT, CWT and LEAF: half-precision
input is computed in float32 like every front-end's; a 0-d or empty time axis is a ValueError."""

from __future__ import annotations

import pytest
import torch

import adaspec

SIGNAL = torch.randn(2, 4000, generator=torch.Generator().manual_seed(0))
MODULES = {
    "stft": lambda: adaspec.STFT(n_fft=256, hop_length=64),
    "stft_dense": lambda: adaspec.STFT(n_fft=256, hop_length=64, learn_kernels=True),
    "mel": lambda: adaspec.MelSpectrogram(n_fft=256, hop_length=64, n_mels=32),
    "degram": lambda: adaspec.DEGram(n_fft=256, hop_length=64, n_filters=16),
    "cqt": lambda: adaspec.CQT(hop_length=64, f_min=200.0, n_bins=24),
    "cwt": lambda: adaspec.CWT(hop_length=64, f_min=200.0, n_bins=8),
    "leaf": lambda: adaspec.LEAF(n_filters=8),
}


@pytest.mark.parametrize("half", [torch.float16, torch.bfloat16])
def test_stft_of_half_precision_input_is_torch_stft_in_float32(half) -> None:
    rounded = SIGNAL.to(half)
    window = torch.hann_window(256, dtype=torch.float32)
    expected = torch.stft(rounded.float(), 256, 64, window=window, center=True, return_complex=True)
    for module in (
        adaspec.STFT(n_fft=256, hop_length=64),
        adaspec.STFT(n_fft=256, hop_length=64, learn_kernels=True),
    ):
        out = module(rounded)
        assert out.dtype == torch.complex64
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4 * expected.abs().max().item())


@pytest.mark.parametrize("name", sorted(MODULES))
def test_half_input_gives_the_float32_result(name) -> None:
    module = MODULES[name]()
    rounded = SIGNAL.half()
    with torch.no_grad():
        torch.testing.assert_close(module(rounded), module(rounded.float()))


@pytest.mark.parametrize("name", sorted(MODULES))
@pytest.mark.parametrize("shape", [(), (2, 0), (0,)])
def test_no_time_axis_or_no_samples_is_a_value_error(name, shape) -> None:
    with pytest.raises(ValueError, match=r"waveform|input|samples"):
        MODULES[name]()(torch.zeros(shape))


@pytest.mark.parametrize("name", ["stft", "leaf", "cqt"])
def test_integer_or_complex_input_is_a_value_error(name) -> None:
    module = MODULES[name]()
    for bad in (torch.zeros(2, 4000, dtype=torch.int64), torch.zeros(2, 4000, dtype=torch.complex64)):
        with pytest.raises(ValueError, match="real floating-point"):
            module(bad)


def test_stft_dense_product_keeps_running_under_autocast() -> None:
    """The learnable-kernel GEMM runs in the autocast dtype (bf16 rounding is visible) and returns float32."""
    module = adaspec.STFT(n_fft=256, hop_length=64, output="power", learn_kernels=True)
    exact = module(SIGNAL)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rounded = module(SIGNAL)
    assert rounded.dtype == torch.float32
    error = (rounded - exact).abs().max() / exact.abs().max()
    assert 1e-5 < error < 3e-2
