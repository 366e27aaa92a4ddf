"""The band-wise Gabor energy op: the band gathering, the fold, its hand-written backward against finite
differences and float32 against float64 (its band plan is tested in ``test_gabor_plan.py``). Agreement
with a direct stride-1 computation is tested through LEAF in ``tests/frontends/test_leaf.py``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import adaspec
from adaspec.ops import gabor_pooled_energy
from adaspec.ops.gabor import _fold, _gather_band, _group_bands, _responses
from adaspec.ops.gabor_plan import band_runs, make_plan
from tests.frontends.test_leaf import direct_pooled_energy

SR, HOP = 16000, 160


@pytest.mark.parametrize("n_bins", [5, 12, 12 * 2 + 7])
def test_fold_sums_bins_modulo_q(n_bins):
    rng = np.random.default_rng(n_bins)
    a = torch.from_numpy(rng.standard_normal((2, 3, n_bins)) + 1j * rng.standard_normal((2, 3, n_bins)))
    folded = _fold(a, 12)
    assert folded.shape == (2, 3, 12)
    for r in range(12):
        expected = sum((a[..., k].numpy() for k in range(n_bins) if k % 12 == r), np.zeros((2, 3)))
        np.testing.assert_allclose(folded[..., r].numpy(), expected)


@pytest.mark.parametrize("n_fft", [30, 31])
@pytest.mark.parametrize(("start", "band"), [(-7, 12), (-15, 30), (10, 6), (12, 10), (0, 31), (20, 12)])
def test_gathered_bands_are_the_full_spectrum_from_the_half(n_fft, start, band):
    """Bands below 0 Hz, across Nyquist, inside and covering everything read the bins of numpy's full FFT."""
    band = min(band, n_fft)
    x = np.random.default_rng(3).standard_normal((2, n_fft))
    half = torch.fft.rfft(torch.from_numpy(x))
    out = torch.empty(2, band, dtype=half.dtype)
    expected = np.fft.fft(x)[:, np.arange(start, start + band) % n_fft]
    np.testing.assert_allclose(_gather_band(half, start, band, n_fft, out).numpy(), expected, atol=1e-12)
    assert sum(hi - lo for lo, hi, _, _ in band_runs(start, band, n_fft)) == band


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_responses_are_the_gaussians_on_every_band_bin(dtype):
    """Offsets ``w - mu`` and responses ``exp(-(sigma (w - mu))^2 / 2)`` on bins ``start ... start + M - 1``
    of each filter's band, flattened filter after filter (closed form in float64)."""
    module = adaspec.LEAF(SR, n_filters=40, dtype=dtype)
    centers, widths = module.centers.detach(), module.filter_widths.detach()
    plan = make_plan(SR, HOP, centers, widths, module.pooling_widths)
    responses, offsets = _responses(plan, centers, widths)
    bins = np.concatenate([np.arange(s, s + m) for s, m in zip(plan.starts, plan.bands, strict=True)])
    mus = np.repeat(centers.double().numpy(), plan.bands)
    sigmas = np.repeat(widths.double().numpy(), plan.bands)
    expected = bins * (2 * np.pi / plan.n_fft) - mus
    tolerance = 1e-6 if dtype == torch.float32 else 1e-13
    assert offsets.dtype == responses.dtype == dtype
    np.testing.assert_allclose(offsets.double().numpy(), expected, rtol=0, atol=tolerance)
    np.testing.assert_allclose(
        responses.double().numpy(),
        np.exp(-0.5 * (sigmas * expected) ** 2),
        rtol=0,
        atol=10 * tolerance * sigmas.max(),
    )


@pytest.mark.parametrize("n_filters", [40, 64])
def test_group_bands_are_the_full_spectrum_from_the_half(n_filters):
    """Every group of LEAF's plan, strided views and gathered groups alike, holds its filters' bands."""
    module = adaspec.LEAF(SR, n_filters=n_filters)
    plan = make_plan(SR, HOP, module.centers, module.filter_widths, module.pooling_widths)
    x = np.random.default_rng(4).standard_normal((2, SR))
    half = torch.fft.rfft(torch.from_numpy(x), n=plan.n_fft)
    full = np.fft.fft(x, n=plan.n_fft)
    assert any(group.direct for group in plan.groups) and not all(group.direct for group in plan.groups)
    for group in plan.groups:
        out = torch.empty(group.count, 2, group.band, dtype=half.dtype)
        bands = _group_bands(half, group, plan.n_fft, out).numpy()
        for i, start in enumerate(group.starts()):
            expected = full[:, np.arange(start, start + group.band) % plan.n_fft]
            np.testing.assert_allclose(bands[i], expected, atol=1e-9)


def test_backward_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((2, 240))).requires_grad_()
    centers = torch.tensor([0.05, 1.1, 2.9], dtype=torch.float64, requires_grad=True)
    widths = torch.tensor([12.0, 3.0, 1.8], dtype=torch.float64, requires_grad=True)
    pools = torch.tensor([6.0, 20.0, 2.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda *args: gabor_pooled_energy(*args, 40), (x, centers, widths, pools), atol=1e-6, rtol=1e-4
    )


def test_backward_of_a_group_across_both_edges_matches_finite_differences():
    """Equal widths give equal band sizes and equally spaced centres equally spaced starts, so the three
    filters (below 0 Hz, inside, across Nyquist) are transformed as one gathered group."""
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.standard_normal((2, 200))).requires_grad_()
    centers = torch.tensor([0.02, 1.57, 3.12], dtype=torch.float64, requires_grad=True)
    widths = torch.full((3,), 4.0, dtype=torch.float64, requires_grad=True)
    pools = torch.tensor([5.0, 5.0, 5.0], dtype=torch.float64, requires_grad=True)
    plan = make_plan(200, 25, centers, widths, pools)
    assert [(group.count, group.direct) for group in plan.groups] == [(3, False)]
    assert plan.starts[0] < 0 < plan.starts[2] + plan.bands[2] - plan.n_fft // 2 - 1
    assert torch.autograd.gradcheck(
        lambda *args: gabor_pooled_energy(*args, 25), (x, centers, widths, pools), atol=1e-6, rtol=1e-4
    )


def test_backward_of_strided_groups_matches_finite_differences():
    """Four filters with equal widths and equally spaced centres inside the half spectrum: one group read
    as a strided view of it."""
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((2, 300))).requires_grad_()
    centers = torch.tensor([0.9, 1.2, 1.5, 1.8], dtype=torch.float64, requires_grad=True)
    widths = torch.full((4,), 12.0, dtype=torch.float64, requires_grad=True)
    pools = torch.full((4,), 8.0, dtype=torch.float64, requires_grad=True)
    plan = make_plan(300, 25, centers, widths, pools)
    assert [(group.count, group.direct) for group in plan.groups] == [(4, True)]
    assert torch.autograd.gradcheck(
        lambda *args: gabor_pooled_energy(*args, 25), (x, centers, widths, pools), atol=1e-6, rtol=1e-4
    )


def test_float32_agrees_with_float64():
    module = adaspec.LEAF(SR, n_filters=40)
    rng = np.random.default_rng(1)
    t = np.arange(8000) / SR
    tone = np.sin(2 * np.pi * 700 * t) + 0.01 * rng.standard_normal(t.size)
    x = torch.from_numpy(np.stack([rng.standard_normal(t.size), tone]))
    params = [p.detach().double() for p in (module.centers, module.filter_widths, module.pooling_widths)]
    exact = gabor_pooled_energy(x, *params, HOP)
    single = gabor_pooled_energy(x.float(), *(p.float() for p in params), HOP)
    assert single.dtype == torch.float32
    error = (single.double() - exact).abs().amax(-1) / exact.abs().amax(-1)
    assert error.max() < 1e-4


def test_bands_too_small_for_the_common_bins_are_padded_and_exact():
    """A narrow pooling on one filter makes the kept low bins outnumber another filter's half band; that
    filter's spectrum is zero-padded (its pooling weights there are 0) and the result stays exact."""
    centers = torch.tensor([0.3, 2.0], dtype=torch.float64)
    widths = torch.tensor([40.0, 20.0], dtype=torch.float64)
    pools = torch.tensor([1.5, 60.0], dtype=torch.float64)
    plan = make_plan(1500, 50, centers, widths, pools)
    assert plan.bands[1] // 2 + 1 < plan.n_bins
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.standard_normal((2, 1500)))
    ours = gabor_pooled_energy(x, centers, widths, pools, 50)
    expected = direct_pooled_energy(x, centers, widths, pools, 50)
    error = (ours - expected).abs().amax(-1) / expected.abs().amax(-1)
    assert error.max() < 1e-4


def test_any_leading_shape_gives_each_signal_its_own_result() -> None:
    """``(..., time)``: a 1-D signal and a ``(2, 3, time)`` batch give the rows of the 2-D batch."""
    signals = torch.randn(6, 2000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    centers = torch.tensor([0.3, 0.9], dtype=torch.float64)
    widths = torch.tensor([8.0, 6.0], dtype=torch.float64)
    pools = torch.tensor([20.0, 15.0], dtype=torch.float64)
    flat = gabor_pooled_energy(signals, centers, widths, pools, 100)
    batched = gabor_pooled_energy(signals.reshape(2, 3, -1), centers, widths, pools, 100)
    torch.testing.assert_close(batched, flat.reshape(2, 3, *flat.shape[1:]))
    torch.testing.assert_close(gabor_pooled_energy(signals[0], centers, widths, pools, 100), flat[0])


@pytest.mark.parametrize(
    ("widths", "pools", "name"),
    [
        ([0.0, 6.0], [20.0, 15.0], "widths"),
        ([8.0, 6.0], [20.0, float("nan")], "pool_widths"),
        ([8.0], [20.0, 15.0], "n_filters"),
    ],
)
def test_bad_filter_parameters_are_named(widths, pools, name) -> None:
    with pytest.raises(ValueError, match=name):
        gabor_pooled_energy(
            torch.zeros(1, 2000), torch.tensor([0.3, 0.9]), torch.tensor(widths), torch.tensor(pools), 100
        )


# --------------------------------------------------------------------------- second order


def tiny_filters() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Three filters (float64): on a few hundred samples a gathered group of two (one band across 0 Hz)
    and a band across Nyquist."""
    centers = torch.tensor([0.05, 1.1, 2.9], dtype=torch.float64)
    widths = torch.tensor([12.0, 8.0, 6.0], dtype=torch.float64)
    pools = torch.tensor([8.0, 12.0, 6.0], dtype=torch.float64)
    return centers, widths, pools


@pytest.mark.parametrize("argument", ["waveform", "centers", "widths", "pool_widths"])
def test_double_backward_matches_finite_differences(argument):
    """``gradgradcheck`` in each argument (the others fixed), on one signal of 64 samples."""
    rng = np.random.default_rng(0)
    arguments = [torch.from_numpy(rng.standard_normal((1, 64))), *tiny_filters()]
    index = ("waveform", "centers", "widths", "pool_widths").index(argument)
    wrt = arguments[index].requires_grad_()

    def energy(value: torch.Tensor) -> torch.Tensor:
        return gabor_pooled_energy(*arguments[:index], value, *arguments[index + 1 :], 16)

    assert torch.autograd.gradgradcheck(energy, (wrt,), atol=1e-6, rtol=1e-4)


def test_double_backward_of_a_strided_group_matches_finite_differences():
    """Four filters transformed as one group read as a strided view, every filter parameter at once."""
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.standard_normal((1, 120)))
    centers = torch.tensor([0.9, 1.2, 1.5, 1.8], dtype=torch.float64, requires_grad=True)
    widths = torch.full((4,), 6.0, dtype=torch.float64, requires_grad=True)
    pools = torch.full((4,), 8.0, dtype=torch.float64, requires_grad=True)
    plan = make_plan(120, 30, centers, widths, pools)
    assert [(group.count, group.direct) for group in plan.groups] == [(4, True)]
    assert torch.autograd.gradgradcheck(
        lambda *args: gabor_pooled_energy(x, *args, 30), (centers, widths, pools), atol=1e-6, rtol=1e-4
    )


def test_second_order_gradients_match_direct_convolution():
    """A gradient penalty on the waveform gradient, differentiated in every argument, against the direct
    stride-1 convolution of ``test_leaf.py`` (autograd through it), within the op's accuracy."""
    rng = np.random.default_rng(6)
    x = torch.from_numpy(rng.standard_normal((2, 400))).requires_grad_()
    params = [p.requires_grad_() for p in tiny_filters()]
    arguments = [x, *params]
    weights = torch.from_numpy(rng.standard_normal((2, 3, 1 + 400 // 50)))

    def second_order(function) -> tuple[torch.Tensor, ...]:
        out = function(*arguments, 50)
        (grad_x,) = torch.autograd.grad((out * weights).sum(), x, create_graph=True)
        return torch.autograd.grad(grad_x.square().sum(), arguments)

    ours = second_order(gabor_pooled_energy)
    expected = second_order(direct_pooled_energy)
    for name, a, b in zip(("waveform", "centers", "widths", "pool_widths"), ours, expected, strict=True):
        assert (a - b).abs().max() <= 1e-4 * b.abs().max(), name  # 2e-6 to 2e-5 measured


def test_first_order_gradients_are_the_same_with_create_graph():
    """The differentiable backward (``create_graph=True``) and the hand-written one give equal gradients."""
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.standard_normal((2, 400))).requires_grad_()
    arguments = [x, *(p.requires_grad_() for p in tiny_filters())]
    out = gabor_pooled_energy(*arguments, 50)
    weights = torch.from_numpy(rng.standard_normal(out.shape))
    fast = torch.autograd.grad((out * weights).sum(), arguments, retain_graph=True)
    graph = torch.autograd.grad((out * weights).sum(), arguments, create_graph=True)
    assert not any(g.requires_grad for g in fast) and all(g.requires_grad for g in graph)
    for a, b in zip(fast, graph, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12 * b.abs().max().item())
