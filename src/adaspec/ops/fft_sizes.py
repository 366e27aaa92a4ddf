"""FFT lengths that the FFT libraries (MKL, pocketfft, cuFFT) transform fast."""

from __future__ import annotations

from ._tracing import is_exporting_onnx


def next_smooth_size(n: int) -> int:
    """The smallest integer >= ``n`` (and >= 1) with no prime factor above 5; under ONNX export the next
    power of two, the only lengths onnxruntime transforms exactly (see :mod:`adaspec.ops.onnx_fft`).

    Args:
        n: the length needed.

    Returns:
        A length of the form ``2^a 3^b 5^c`` (``2^a`` under ONNX export).
    """
    n = max(int(n), 1)
    if is_exporting_onnx():
        return 1 << (n - 1).bit_length()
    while True:
        rest = n
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return n
        n += 1
