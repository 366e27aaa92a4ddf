"""Anti-aliased decimation by two, repeated: the rates of a multirate (octave by octave) transform."""

from __future__ import annotations

import torch

from .._validation import check_positive_int
from ..kernels.resampling import interpolated_gain, soxr_hq_response
from . import onnx_fft
from ._batch import map_signals
from .fft_sizes import next_fast_size

#: Zeros appended before each FFT, in output samples. soxr's 'HQ' low-pass keeps about 1e-6 of its L1
#: norm beyond 128 samples of its centre, so the circular convolution is the linear one.
GUARD_SAMPLES = 256


def decimated_length(length: int, factor: int) -> int:
    """Samples left after decimating ``length`` samples by ``factor`` (``ceil(length / factor)``, as
    librosa's resampling)."""
    return -(-length // factor)


def decimate(waveform: torch.Tensor, factor: int, response: torch.Tensor | None = None) -> torch.Tensor:
    """Low-pass ``(..., time)`` signals and keep every ``factor``-th sample (zero-phase, differentiable):
    librosa's ``resample(y, orig_sr=factor, target_sr=1, res_type="soxr_hq")`` without its ``scale``, to
    about 1e-6 of the signal's scale (for factors of 4 or more, which soxr computes in stages, not over
    the first few dozen output samples: up to 1e-2 there).

    The signal is taken as zero outside its ends (as soxr does). The low-pass is applied in the frequency
    domain with the gain of soxr's 'HQ' filter (measured once per factor, see
    :func:`adaspec.kernels.soxr_hq_response`). Output sample ``m`` sits at input sample ``factor * m``.
    Like librosa's soxr resampling, ``round(time / factor)`` samples (halves up) are kept and zeros fill
    up to ``ceil(time / factor)`` samples.

    Args:
        waveform: ``(..., time)`` real tensor.
        factor: decimation factor (>= 1; 1 returns ``waveform``).
        response: the gain table to use instead (``soxr_hq_response(factor)`` as a tensor; a module keeps
            it as a buffer so that compiled and exported graphs hold it as a constant).

    Returns:
        ``(..., ceil(time / factor))`` tensor.
    """
    factor = check_positive_int("factor", factor)
    if factor == 1:
        return waveform
    if response is None:
        response = torch.tensor(soxr_hq_response(factor))
    return map_signals(lambda signals: _decimate(signals, factor, response), waveform)


def _decimate(waveform: torch.Tensor, factor: int, response: torch.Tensor) -> torch.Tensor:
    """:func:`decimate` of a non-empty batch (``factor > 1``)."""
    length = waveform.shape[-1]
    kept = decimated_length(length, factor)
    valid = (2 * length + factor) // (2 * factor)
    out_size = next_fast_size(kept + GUARD_SAMPLES)  # plain Python: torch.compile traces it
    # Zero-pad by concatenation: rfft's own padding would first zero-fill the whole buffer.
    zeros = waveform.new_zeros(*waveform.shape[:-1], factor * out_size - length)
    spectrum = onnx_fft.rfft(torch.cat([waveform, zeros], dim=-1))[..., : out_size // 2 + 1]
    relative = torch.linspace(0.0, 1.0, out_size // 2 + 1, dtype=torch.float64, device=waveform.device)
    # 1 / factor: irfft normalises by the smaller size.
    gain = interpolated_gain(response.to(device=waveform.device, dtype=torch.float64), relative)
    gain = gain.to(waveform.dtype) / factor
    result = onnx_fft.irfft(spectrum * gain, n=out_size)
    return torch.nn.functional.pad(result[..., :valid], (0, kept - valid))


def octave_rates(
    waveform: torch.Tensor,
    first: int,
    halvings: int,
    first_response: torch.Tensor | None = None,
    halving_response: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """The signal decimated by ``first`` in one step, then halved ``halvings`` times in succession
    (librosa's early downsampling followed by its repeated ``resample(y, 2, 1)``).

    Args:
        waveform: ``(..., time)`` real tensor.
        first: the first decimation factor (1: none).
        halvings: how many halvings follow.
        first_response, halving_response: gain tables of the two kinds of step (see :func:`decimate`).

    Returns:
        ``halvings + 1`` tensors, at ``1 / first``, ``1 / (2 first)``, ... of the input rate.
    """
    signals = [decimate(waveform, first, first_response)]
    for _ in range(halvings):
        signals.append(decimate(signals[-1], 2, halving_response))
    return signals
