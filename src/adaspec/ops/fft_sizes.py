"""FFT lengths that the FFT libraries (MKL, pocketfft, cuFFT) transform fast."""

from __future__ import annotations


def next_smooth_size(n: int) -> int:
    """The smallest integer >= ``n`` (and >= 1) with no prime factor above 5.

    Args:
        n: the length needed.

    Returns:
        A length of the form ``2^a 3^b 5^c``.
    """
    n = max(int(n), 1)
    while True:
        rest = n
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return n
        n += 1
