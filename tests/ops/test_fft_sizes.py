"""Fast FFT lengths: the next 5-smooth number and the next length of the fast form, checked against a
brute-force factorisation."""

from __future__ import annotations

import pytest
import sympy

from adaspec.ops.fft_sizes import next_fast_size, next_smooth_size


@pytest.mark.parametrize(
    "n, expected", [(0, 1), (1, 1), (7, 8), (11, 12), (97, 100), (1001, 1024), (2187, 2187)]
)
def test_next_smooth_size_known_values(n: int, expected: int) -> None:
    assert next_smooth_size(n) == expected


def test_next_smooth_size_is_the_smallest_5_smooth_at_or_above() -> None:
    smooth = [m for m in range(1, 3000) if max(sympy.factorint(m) or {1: 1}) <= 5]
    for n in range(1, 2900):
        assert next_smooth_size(n) == min(m for m in smooth if m >= n)


def test_next_fast_size_is_the_smallest_power_of_two_times_a_fast_odd_part() -> None:
    """``2^a 3^b 5^c`` with ``b <= 3`` and ``c <= 1``, at most 12.5 % above the length asked for (from 22)."""

    def fast(m: int) -> bool:
        factors = sympy.factorint(m)
        return set(factors) <= {2, 3, 5} and factors.get(3, 0) <= 3 and factors.get(5, 0) <= 1

    sizes = [m for m in range(1, 40000) if fast(m)]
    for n in [*range(1, 3000), 33331, 33750, 34561]:
        expected = min(m for m in sizes if m >= n)
        assert next_fast_size(n) == expected and (expected <= 1.125 * n or n < 22)
    assert next_fast_size(0) == 1 and next_fast_size(33331) == 34560  # not 33750 = 2 3^3 5^4
