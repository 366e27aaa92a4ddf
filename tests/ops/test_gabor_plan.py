"""The band plan of the Gabor energy op: fast band sizes, bands that cover every filter's needed bins, and
groups of neighbouring filters with equal bands and equally spaced starts."""

from __future__ import annotations

import math
import random

import pytest

import adaspec
from adaspec.ops.gabor import check_plan_covers
from adaspec.ops.gabor_plan import (
    FAST_ODD_FACTORS,
    GROUP_BINS,
    MERGE_RATIO,
    TAIL,
    _equal_spacing,
    band_layout,
    fast_size,
    group_filters,
    make_plan,
    merge_sizes,
)

SR, HOP = 16000, 160


def odd_part(n: int) -> int:
    while n % 2 == 0:
        n //= 2
    return n


def needed_bins(plan, widths, pools) -> list[float]:
    """Closed form of each filter's needed band (DFT bins): ``TAIL (sqrt(2) / sigma + 1 / s) N / (2 pi)``."""
    per_radian = plan.n_fft / (2 * math.pi)
    pairs = zip(widths.tolist(), pools.tolist(), strict=True)
    return [TAIL * per_radian * (math.sqrt(2) / width + 1 / pool) for width, pool in pairs]


def test_band_sizes_are_fast_and_at_most_a_fifth_too_large():
    for n in range(8, 6000):
        size = fast_size(n, 10**9)
        assert n <= size <= 1.2 * n, n
        assert odd_part(size) in FAST_ODD_FACTORS, size
    assert fast_size(5000, 4096) == 4096


def test_merge_sizes_raises_near_equal_neighbours_to_their_largest():
    assert merge_sizes((100, 110, 120, 200, 210, 400), 1.2, 10**6) == (120, 120, 120, 210, 210, 400)
    assert merge_sizes((100, 110, 120), 1.0, 10**6) == (100, 110, 120)
    assert merge_sizes((100, 110, 120), 1.2, 300) == (110, 110, 120)  # 3 x 120 bins would exceed 300
    assert merge_sizes((500, 100), 1.2, 300) == (500, 100)  # a lone band larger than a group stays


def runs(sizes: tuple[int, ...]) -> int:
    return sum(1 for i, size in enumerate(sizes) if i == 0 or size != sizes[i - 1])


def test_merged_sizes_grow_by_at_most_the_ratio_and_form_fewer_runs():
    rng = random.Random(0)
    choices = (64, 96, 112, 128, 160, 192, 256, 320, 384)
    for _ in range(200):
        bands = tuple(sorted(rng.choice(choices) for _ in range(rng.randint(1, 30))))
        merged = merge_sizes(bands, 1.3, 1024)
        assert all(b <= m <= 1.3 * b for m, b in zip(merged, bands, strict=True))
        assert set(merged) <= set(bands) and runs(merged) <= runs(bands)


def test_band_layout_numbers_the_bins_of_each_band():
    index, positions, lengths = band_layout((3, 1, 2))
    assert index.tolist() == [0, 0, 0, 1, 2, 2]
    assert positions.tolist() == [0.0, 1.0, 2.0, 0.0, 0.0, 1.0]
    assert lengths.tolist() == [3, 1, 2]


@pytest.mark.parametrize("n_filters", [40, 64, 128])
def test_plan_covers_every_band_without_wrap_around(n_filters):
    module = adaspec.LEAF(SR, n_filters=n_filters)
    centers, widths, pools = (
        t.detach().double() for t in (module.centers, module.filter_widths, module.pooling_widths)
    )
    plan = make_plan(SR, HOP, centers, widths, pools)
    assert plan.n_fft == plan.q * HOP and plan.q >= 1 + SR // HOP
    assert plan.n_fft >= SR + TAIL * (widths.max() + pools.max())
    per_radian = plan.n_fft / (2 * math.pi)
    for c, need in enumerate(needed_bins(plan, widths, pools)):
        band, start = plan.bands[c], plan.starts[c]
        centre = centers[c].item() * per_radian
        assert need <= band <= plan.n_fft
        # The band's bins (each standing for one bin's width) cover the needed range, to a bin.
        assert start - 0.5 <= centre - need / 2 + 1.0
        assert start + band - 0.5 >= centre + need / 2 - 1.0
        assert plan.valid[c] <= band // 2


@pytest.mark.parametrize("cap", [GROUP_BINS, None], ids=["eager", "onnx"])
@pytest.mark.parametrize("n_filters", [40, 64, 128])
def test_groups_are_neighbours_with_equal_bands_and_equally_spaced_starts(n_filters, cap):
    """The eager layout, and the ONNX export's (groups not capped)."""
    module = adaspec.LEAF(SR, n_filters=n_filters)
    filters = (module.centers, module.filter_widths, module.pooling_widths)
    plan = make_plan(SR, HOP, *filters, group_bins=cap)
    needs = needed_bins(plan, module.filter_widths, module.pooling_widths)
    own_sizes = [fast_size(math.ceil(need), plan.n_fft) for need in needs]
    assert [g.first for g in plan.groups] == [0, *(g.first + g.count for g in plan.groups[:-1])]
    assert sum(g.count for g in plan.groups) == n_filters
    offset = 0
    for group in plan.groups:
        members = range(group.first, group.first + group.count)
        assert {plan.bands[c] for c in members} == {group.band}
        assert group.count == 1 or cap is None or group.count * group.band <= cap
        own = [own_sizes[c] for c in members]  # sizes before merging: within MERGE_RATIO of the group's
        assert group.band <= MERGE_RATIO * min(own)
        if cap is None:  # an uncapped merged run may span several groups, cut where spacing fails
            assert max(own) <= group.band
        else:
            assert max(own) == group.band
        assert [plan.starts[c] for c in members] == list(group.starts())
        assert group.step >= 0 and group.offset == offset
        inside = all(s >= 0 and s + group.band <= plan.n_fft // 2 + 1 for s in group.starts())
        assert group.direct == inside
        offset += group.count * group.band
    # The mel layout has runs of equal bands: far fewer groups than filters (and fewer still for ONNX).
    assert len(plan.groups) < 0.6 * n_filters
    if cap is None:
        eager = make_plan(SR, HOP, *filters)
        assert len(plan.groups) <= len(eager.groups) and sum(plan.bands) >= sum(eager.bands)
    check_plan_covers(plan, SR, *filters)


def wide(centred: int, slack: int = 100) -> tuple[int, int, int]:
    return centred - slack, centred, centred + slack


def test_groups_are_runs_of_equal_bands_cut_to_a_size():
    windows = tuple(wide(10 * i) for i in range(5))
    assert [(g.first, g.count) for g in group_filters((8, 8, 8, 16, 8), windows, 1000)] == [
        (0, 3),
        (3, 1),
        (4, 1),
    ]
    big = GROUP_BINS // 2
    groups = group_filters((big,) * 5, windows, 10**6)
    assert [(g.first, g.count) for g in groups] == [(0, 2), (2, 2), (4, 1)]
    assert [g.count for g in group_filters((2 * GROUP_BINS,), windows[:1], 10**6)] == [1]


def test_groups_split_where_no_equal_spacing_fits():
    """Starts fixed (no slack) at 0, 10 and 30: the first two can share a step, the third cannot."""
    windows = ((0, 0, 0), (10, 10, 10), (30, 30, 30))
    groups = group_filters((8, 8, 8), windows, 1000)
    assert [(g.first, g.count, g.start, g.step) for g in groups] == [(0, 2, 0, 10), (2, 1, 30, 0)]


def test_equal_spacing_stays_within_every_window_and_near_the_centred_starts():
    windows = ((95, 100, 104), (118, 121, 125), (136, 140, 150), (160, 161, 170))
    (group,) = group_filters((16,) * 4, windows, 1000)
    for start, (low, centred, high) in zip(group.starts(), windows, strict=True):
        assert low <= start <= high
        assert abs(start - centred) <= 3


def test_equal_spacing_exists_exactly_when_some_step_fits():
    """The pairwise bounds on the step decide feasibility as trying every step and start does."""
    rng = random.Random(0)
    for _ in range(500):
        windows = []
        for i in range(rng.randint(2, 5)):
            centred = 10 * i + rng.randint(-6, 6)
            windows.append((centred - rng.randint(0, 4), centred, centred + rng.randint(0, 4)))
        windows = tuple(windows)
        brute = [
            (start, step)
            for step in range(0, 40)
            for start in range(-20, 60)
            if all(lo <= start + i * step <= hi for i, (lo, _, hi) in enumerate(windows))
        ]
        found = _equal_spacing(windows)
        assert (found is not None) == bool(brute), windows
        if found is not None:
            start, step = found
            assert all(lo <= start + i * step <= hi for i, (lo, _, hi) in enumerate(windows))
