"""Fast FFT lengths: the next 5-smooth number, checked against a brute-force factorisation."""

from __future__ import annotations

import pytest
import sympy

from adaspec.ops.fft_sizes import next_smooth_size


@pytest.mark.parametrize(
    "n, expected", [(0, 1), (1, 1), (7, 8), (11, 12), (97, 100), (1001, 1024), (2187, 2187)]
)
def test_next_smooth_size_known_values(n: int, expected: int) -> None:
    assert next_smooth_size(n) == expected


def test_next_smooth_size_is_the_smallest_5_smooth_at_or_above() -> None:
    smooth = [m for m in range(1, 3000) if max(sympy.factorint(m) or {1: 1}) <= 5]
    for n in range(1, 2900):
        assert next_smooth_size(n) == min(m for m in smooth if m >= n)
