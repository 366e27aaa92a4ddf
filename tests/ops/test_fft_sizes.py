"""Fast FFT lengths: the next 5-smooth number, checked against a brute-force factorisation (the next
power of two under ONNX export)."""

from __future__ import annotations

import pytest
import sympy

from adaspec.ops import fft_sizes
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


def test_smooth_sizes_are_powers_of_two_under_onnx_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """onnxruntime's DFT is exact only for powers of two (see adaspec.ops.onnx_fft)."""
    assert fft_sizes.next_smooth_size(4001) == 4050  # 2 * 3^4 * 5^2
    monkeypatch.setattr(fft_sizes, "is_exporting_onnx", lambda: True)
    assert [fft_sizes.next_smooth_size(n) for n in (1, 4000, 4096, 4097)] == [1, 4096, 4096, 8192]
