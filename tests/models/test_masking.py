"""SpecMasking: mask counts and widths, per-example masks shared by channels, fill values, eval identity,
reproducibility."""

from __future__ import annotations

import pytest
import torch

from adaspec.models import SpecMasking


def positive_input(shape: tuple[int, ...]) -> torch.Tensor:
    """Values in [1, 2): a zero in the output can only come from a mask."""
    return 1.0 + torch.rand(shape, generator=torch.Generator().manual_seed(123))


def runs(row: torch.Tensor) -> list[tuple[int, int]]:
    """``(start, width)`` of every run of True in a 1-D boolean tensor."""
    found, start = [], None
    for i, value in enumerate([*row.tolist(), False]):
        if value and start is None:
            start = i
        elif not value and start is not None:
            found.append((start, i - start))
            start = None
    return found


def test_single_time_mask_is_one_contiguous_span_per_example():
    torch.manual_seed(0)
    batch, channels, freq, frames, width = 64, 3, 6, 20, 5
    x = positive_input((batch, channels, freq, frames))
    masked = SpecMasking(time_mask_width=width, freq_mask_width=0, fill="zero").train()(x) == 0
    widths = []
    for example in masked:
        assert torch.equal(example, example[:1].expand_as(example))  # same mask in every channel
        assert torch.equal(example[0], example[0, :1].expand_as(example[0]))  # whole frequency range
        spans = runs(example[0, 0])
        assert len(spans) <= 1 and all(w <= width for _, w in spans)
        widths.append(spans[0][1] if spans else 0)
    # 64 draws of a width uniform in 0..5: every value shows up, and examples differ
    assert set(widths) == set(range(width + 1))
    assert len({tuple(m[0, 0].tolist()) for m in masked}) > 10


def test_frequency_masks_count_and_width_bounds():
    torch.manual_seed(1)
    batch, freq, frames = 50, 40, 7
    x = positive_input((batch, freq, frames))  # 3-D input: (B, F, T)
    out = SpecMasking(time_mask_width=0, freq_mask_width=4, freq_masks=3, fill="zero").train()(x)
    masked = out == 0
    for example in masked:
        rows = example[:, 0]
        assert torch.equal(example, rows[:, None].expand_as(example))  # bands span all frames
        spans = runs(rows)
        assert len(spans) <= 3 and sum(w for _, w in spans) <= 12 and all(w <= 12 for _, w in spans)
    torch.testing.assert_close(out[~masked], x[~masked], rtol=0, atol=0)


def test_time_and_frequency_masks_combine():
    torch.manual_seed(2)
    x = positive_input((16, 2, 12, 15))
    masked = SpecMasking(time_mask_width=3, freq_mask_width=2, fill="zero").train()(x) == 0
    for example in masked[:, 0]:
        rows, cols = example.all(dim=1), example.all(dim=0)
        # every masked cell lies in a fully masked row or column, and they are at most 2 rows / 3 columns
        assert torch.equal(example, rows[:, None] | cols[None, :])
        assert rows.sum() <= 2 and cols.sum() <= 3


def test_mean_fill_is_the_example_channel_mean():
    torch.manual_seed(3)
    x = positive_input((8, 3, 10, 12)) * torch.arange(1.0, 9.0)[:, None, None, None]
    before = x.clone()
    out = SpecMasking(time_mask_width=6, freq_mask_width=5).train()(x)
    torch.testing.assert_close(x, before, rtol=0, atol=0)  # a masked copy; the input is left alone
    means = x.mean(dim=(-2, -1), keepdim=True).expand_as(x)
    changed = out != x
    assert changed.any()
    torch.testing.assert_close(out[changed], means[changed], rtol=0, atol=0)


def test_width_larger_than_axis_is_clipped():
    torch.manual_seed(4)
    x = positive_input((32, 1, 3, 4))
    masked = SpecMasking(time_mask_width=100, freq_mask_width=0, fill="zero").train()(x) == 0
    assert masked.all(dim=(1, 2, 3)).any()  # width 4 = whole axis is drawn for some example


def test_eval_mode_and_zero_widths_are_identity():
    x = positive_input((4, 3, 8, 9))
    assert SpecMasking(5, 5).eval()(x) is x
    assert SpecMasking(0, 0, time_masks=3, freq_masks=3).train()(x) is x
    assert SpecMasking(5, 5, time_masks=0, freq_masks=0).train()(x) is x


def test_manual_seed_reproduces_masks():
    x = positive_input((6, 2, 10, 10))
    module = SpecMasking(4, 4, time_masks=2, freq_masks=2).train()
    torch.manual_seed(7)
    first = module(x)
    torch.manual_seed(7)
    second = module(x)
    third = module(x)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    assert not torch.equal(first, third)


def test_gradient_flows_to_unmasked_cells_only():
    x = positive_input((2, 1, 6, 8)).requires_grad_(True)
    torch.manual_seed(5)
    out = SpecMasking(3, 2, fill="zero").train()(x)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).to(x.dtype), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"time_mask_width": -1, "freq_mask_width": 2}, "time_mask_width"),
        ({"time_mask_width": 2, "freq_mask_width": 1.5}, "freq_mask_width"),
        ({"time_mask_width": 2, "freq_mask_width": 2, "time_masks": -1}, "time_masks"),
        ({"time_mask_width": 2, "freq_mask_width": 2, "freq_masks": True}, "freq_masks"),
        ({"time_mask_width": 2, "freq_mask_width": 2, "fill": "nan"}, "fill"),
    ],
)
def test_wrong_parameters_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SpecMasking(**kwargs)


def test_wrong_rank_raises():
    with pytest.raises(ValueError, match="spectrogram must have shape"):
        SpecMasking(2, 2).train()(torch.ones(3, 4))
