"""Anti-aliased decimation by two, repeated: the rates of a multirate (octave by octave) transform."""

from __future__ import annotations

import torch

from .._validation import check_positive_int
from ..kernels.cqt import raised_cosine_lowpass
from . import onnx_fft
from ._batch import map_signals
from .fft_sizes import next_fast_size

#: End of the flat pass band of each halving, as a fraction of the new Nyquist frequency: soxr's 'HQ'
#: preset (librosa's resampler) keeps 91.3 %; the gain then falls as a raised cosine to 0 at Nyquist.
PASS_EDGE = 0.913
#: Zeros appended before each FFT, in output samples. The low-pass response (transition 8.7 % of the
#: band) has decayed below 1e-5 of its peak this far out, so the circular convolution is the linear one.
GUARD_SAMPLES = 256


def decimated_length(length: int, factor: int) -> int:
    """Samples left after decimating ``length`` samples by ``factor`` (``ceil(length / factor)``, as
    librosa's resampling)."""
    return -(-length // factor)


def decimate(waveform: torch.Tensor, factor: int, pass_edge: float = PASS_EDGE) -> torch.Tensor:
    """Low-pass ``(..., time)`` signals and keep every ``factor``-th sample (zero-phase, differentiable).

    The signal is taken as zero outside its ends (as soxr does). The low-pass is applied in the frequency
    domain: flat up to ``pass_edge`` times the new Nyquist frequency, a raised cosine down to exactly 0
    at it, so nothing aliases. Output sample ``m`` sits at input sample ``factor * m``. Like librosa's
    soxr resampling, ``round(time / factor)`` samples (halves up) are kept and zeros fill up to
    ``ceil(time / factor)`` samples.
    """
    factor = check_positive_int("factor", factor)
    if not 0.0 < pass_edge < 1.0:
        raise ValueError(f"pass_edge must be in (0, 1) (a fraction of the new Nyquist), got {pass_edge!r}")
    if factor == 1:
        return waveform
    return map_signals(lambda signals: _decimate(signals, factor, pass_edge), waveform)


def _decimate(waveform: torch.Tensor, factor: int, pass_edge: float) -> torch.Tensor:
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
    gain = raised_cosine_lowpass(relative, pass_edge).to(waveform.dtype) / factor
    result = onnx_fft.irfft(spectrum * gain, n=out_size)
    return torch.nn.functional.pad(result[..., :valid], (0, kept - valid))


def octave_rates(
    waveform: torch.Tensor, first: int, halvings: int, pass_edge: float = PASS_EDGE
) -> list[torch.Tensor]:
    """The signal decimated by ``first`` in one step, then halved ``halvings`` times in succession
    (librosa's early downsampling followed by its repeated ``resample(y, 2, 1)``).

    Returns:
        ``halvings + 1`` tensors, at ``1 / first``, ``1 / (2 first)``, ... of the input rate.
    """
    signals = [decimate(waveform, first, pass_edge)]
    for _ in range(halvings):
        signals.append(decimate(signals[-1], 2, pass_edge))
    return signals
