"""Crops and parts against closed-form expectations on ramps (sample k has value k)."""

from __future__ import annotations

import numpy as np
import pytest

from adaspec.data import fit_length, part_bounds, part_length, random_crop, split_parts


def ramp(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32)


def test_fit_length_cuts_at_offset():
    np.testing.assert_array_equal(fit_length(ramp(10), 4, offset=3), [3, 4, 5, 6])
    np.testing.assert_array_equal(fit_length(ramp(10), 10), ramp(10))


def test_fit_length_pads_with_trailing_zeros():
    np.testing.assert_array_equal(fit_length(ramp(3), 6), [0, 1, 2, 0, 0, 0])
    np.testing.assert_array_equal(fit_length(ramp(10), 4, offset=8), [8, 9, 0, 0])
    np.testing.assert_array_equal(fit_length(ramp(0), 2), [0, 0])
    assert fit_length(ramp(3), 6).dtype == np.float32


def test_fit_length_returns_a_copy():
    wave = ramp(5)
    fit_length(wave, 5)[0] = 99
    assert wave[0] == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"wave": np.zeros((2, 3)), "length": 2}, "wave must be a 1-D"),
        ({"wave": ramp(5), "length": 0}, "length"),
        ({"wave": ramp(5), "length": 2, "offset": 6}, r"offset must be an integer in \[0, 5\]"),
        ({"wave": ramp(5), "length": 2, "offset": -1}, "offset"),
    ],
)
def test_fit_length_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_length(**kwargs)


def test_random_crop_is_a_contiguous_slice_and_reaches_both_ends():
    rng = np.random.default_rng(0)
    starts = set()
    for _ in range(400):
        crop = random_crop(ramp(12), 8, rng)
        start = int(crop[0])
        np.testing.assert_array_equal(crop, np.arange(start, start + 8))
        starts.add(start)
    assert starts == set(range(5))  # offsets 0..len-length, all of them


def test_random_crop_uses_the_generator():
    expected = int(np.random.default_rng(7).integers(0, 100 - 10 + 1))
    assert random_crop(ramp(100), 10, np.random.default_rng(7))[0] == expected


def test_random_crop_pads_short_waves():
    np.testing.assert_array_equal(random_crop(ramp(3), 5, np.random.default_rng(0)), [0, 1, 2, 0, 0])
    np.testing.assert_array_equal(random_crop(ramp(5), 5, np.random.default_rng(0)), ramp(5))


@pytest.mark.parametrize(
    ("n", "parts", "expected"),
    [
        (10, 3, [(0, 3), (3, 7), (7, 10)]),  # 3.33 -> 3, 6.67 -> 7
        (10, 4, [(0, 3), (3, 5), (5, 8), (8, 10)]),  # 2.5 -> 3, 7.5 -> 8 (half up)
        (6, 6, [(k, k + 1) for k in range(6)]),
        (7, 1, [(0, 7)]),
    ],
)
def test_part_bounds_closed_form(n, parts, expected):
    assert part_bounds(n, parts) == expected


def test_part_bounds_cover_every_sample_once():
    for n in range(1, 60):
        for parts in range(1, n + 1):
            bounds = part_bounds(n, parts)
            covered = np.concatenate([np.arange(start, end) for start, end in bounds])
            np.testing.assert_array_equal(covered, np.arange(n))
            lengths = {end - start for start, end in bounds}
            assert lengths <= {n // parts, -(-n // parts)}


def test_part_bounds_errors():
    with pytest.raises(ValueError, match="n_parts"):
        part_bounds(10, 0)
    with pytest.raises(ValueError, match=r"n_samples must be an integer >= n_parts \(4\)"):
        part_bounds(3, 4)


def test_split_parts_takes_the_start_of_each_range():
    parts = split_parts(ramp(10), 3, min_length=1)
    np.testing.assert_array_equal(parts, [[0, 1, 2], [3, 4, 5], [7, 8, 9]])  # sample 6 left out
    assert parts.dtype == np.float32 and part_length(10, 3, 1) == 3


def test_split_parts_drops_fewer_than_n_parts_samples():
    for n in range(4, 80):
        for n_parts in range(1, 5):
            parts = split_parts(ramp(n), n_parts, min_length=1)
            assert parts.shape == (n_parts, n // n_parts) == (n_parts, part_length(n, n_parts, 1))
            kept = parts.ravel()
            assert len(set(kept.tolist())) == kept.size  # no sample twice
            assert n - kept.size < n_parts


def test_split_parts_pads_short_waves():
    np.testing.assert_array_equal(split_parts(ramp(5), 2, min_length=8), [[0, 1, 2, 3], [4, 0, 0, 0]])
    np.testing.assert_array_equal(split_parts(ramp(2), 3, min_length=1), [[0], [1], [0]])
    assert part_length(5, 2, 8) == 4 and part_length(2, 3, 1) == 1


def test_split_parts_errors():
    with pytest.raises(ValueError, match="n_parts"):
        split_parts(ramp(5), 0, 1)
    with pytest.raises(ValueError, match="min_length"):
        split_parts(ramp(5), 2, 0)
    with pytest.raises(ValueError, match="wave"):
        split_parts(np.zeros((2, 2)), 2, 1)
