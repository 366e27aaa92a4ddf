"""The low-pass of librosa's resampler (soxr 'HQ') as gain tables for the multirate transforms' FFT
decimation.

soxr's filters are measured on an impulse, once, for decimation by 2, 4, ..., ``MAX_TABLE_FACTOR``, and
shipped in ``soxr_hq_response.npz`` next to this file, so that the front-ends need no soxr (nor network)
at run time. ``python -m adaspec.kernels.resampling`` measures them again with the installed soxr and
rewrites the file; ``tests/kernels/test_resampling.py`` checks the shipped tables against soxr itself.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch

from .._validation import check_positive_int

#: Frequencies of a response, evenly spaced from 0 to the new Nyquist frequency (both included).
RESPONSE_POINTS = 8193
#: Below this fraction of the new Nyquist frequency soxr's gain is 1 to 5e-7: only the rest is stored.
TABLE_START = 0.85
#: Largest factor measured; larger ones use its table (responses of neighbouring factors differ by about
#: 1e-3 of the gain, in the transition band only).
MAX_TABLE_FACTOR = 1024
TABLE_FILE = Path(__file__).with_name("soxr_hq_response.npz")
_FIRST_STORED = math.ceil(TABLE_START * (RESPONSE_POINTS - 1))


def measure_soxr_hq_response(factor: int) -> np.ndarray:
    """Magnitude response of soxr's 'HQ' decimation by ``factor`` (librosa's ``res_type="soxr_hq"``),
    measured with the installed soxr on an impulse (soxr compensates its delay, so the impulse stays
    centred and the response is real to 2e-4 radians: its magnitude is the gain).

    Returns:
        ``(RESPONSE_POINTS,)`` float64 gains at frequencies evenly spaced from 0 to the new Nyquist.
    """
    import soxr

    length = 2 * (RESPONSE_POINTS - 1)  # output samples
    impulse = np.zeros(length * factor)
    impulse[length * factor // 2] = 1.0
    output = soxr.resample(impulse, factor, 1, quality="HQ") * factor
    return np.abs(np.fft.rfft(output, n=length))


def write_tables(path: Path = TABLE_FILE) -> None:
    """Measure every power-of-two factor up to ``MAX_TABLE_FACTOR`` and store the gains from
    ``TABLE_START`` on (what the front-ends read)."""
    factors = [2**k for k in range(1, MAX_TABLE_FACTOR.bit_length())]
    np.savez_compressed(path, **{f"factor_{f}": measure_soxr_hq_response(f)[_FIRST_STORED:] for f in factors})


@functools.cache
def _stored_response(factor: int) -> np.ndarray:
    with np.load(TABLE_FILE) as tables:
        stored = tables[f"factor_{factor}"]
    response = np.ones(RESPONSE_POINTS)
    response[_FIRST_STORED:] = stored
    response.setflags(write=False)
    return response


def soxr_hq_response(factor: int) -> np.ndarray:
    """Magnitude response of soxr's 'HQ' decimation by ``factor``: 1 to 5e-7 up to about 92 % of the new
    Nyquist frequency, then falling to about 1e-6 at it (the shape differs slightly with the factor: up to
    1.6e-2 of the gain between 2 and 128).

    Args:
        factor: decimation factor, a power of two >= 2 (above ``MAX_TABLE_FACTOR``, that factor's table).

    Returns:
        ``(RESPONSE_POINTS,)`` read-only float64 gains at frequencies evenly spaced from 0 to the new
        Nyquist frequency.

    Raises:
        ValueError: naming ``factor`` when it is not a power of two >= 2.
    """
    factor = check_positive_int("factor", factor)
    if factor < 2 or factor & (factor - 1):
        raise ValueError(f"factor must be a power of two >= 2 (soxr's responses are tabulated), got {factor}")
    return _stored_response(min(factor, MAX_TABLE_FACTOR))


def interpolated_gain(response: torch.Tensor, relative: torch.Tensor) -> torch.Tensor:
    """A tabulated response at frequencies ``relative`` (fractions of the new Nyquist frequency), linearly
    interpolated; 0 beyond the table (above the new Nyquist frequency). Only tensor operations: it traces
    under ``torch.compile`` and ``torch.export``.

    Args:
        response: ``(points,)`` gains evenly spaced from 0 to 1 (as :func:`soxr_hq_response`).
        relative: non-negative frequencies, any shape.

    Returns:
        Gains of ``relative``'s shape, in ``response``'s dtype.
    """
    last = response.shape[0] - 1
    position = relative.to(response.dtype).clamp(0.0, 1.0) * last
    below = position.floor().clamp(max=last - 1)
    index = below.long()
    gain = torch.lerp(response[index], response[index + 1], position - below)
    return torch.where(relative > 1.0, torch.zeros_like(gain), gain)


if __name__ == "__main__":
    write_tables()
    print(f"wrote {TABLE_FILE}")
