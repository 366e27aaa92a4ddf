"""Gaussian-pooled energies of a complex Gabor filterbank (LEAF's front half), computed band by band in the
frequency domain at a decimated rate.

For filters ``h_c`` (untruncated Gabor atoms, see :mod:`adaspec.kernels.gabor`) and pooling windows
``g_c(n) = exp(-n^2 / (2 s_c^2))`` the result is ``y[c, t] = sum_n g_c(n - t hop) |(x * h_c)(n)|^2`` with
``x`` zero outside its samples. LEAF computes that with a stride-1 convolution of 25 ms filters on the
waveform, which costs ``40 x 401`` complex multiply-adds per sample. Here:

1. ``X``: one real DFT of the zero-padded signal, of length ``N = Q * hop`` (``Q`` 5-smooth) long enough
   that nothing wraps around; negative frequencies are its complex conjugates.
2. ``Z_c = X H_c`` is a Gaussian bump. An inverse DFT of just ``M_c`` bins around its centre gives
   ``z_c`` (demodulated, which leaves its modulus unchanged) at ``M_c`` points ``N / M_c`` samples apart:
   the band-pass output at the rate its bandwidth needs, not the signal's.
3. ``|z_c|^2`` is band-limited, so a real DFT of those ``M_c`` samples gives its spectrum exactly at the
   few low frequencies the pooling Gaussian ``G_c`` lets through.
4. ``Y = E G``; the output at ``t * hop`` is the inverse DFT of ``Y`` folded modulo ``Q`` (the folding is
   exactly the aliasing that sampling every ``hop`` samples causes).

Accuracy: a band of ``M_c`` bins covering the ``need_c = TAIL (sqrt(2) / sigma_c + 1 / s_c) N / (2 pi)``
bins centred on the filter drops, or lets alias onto the pooled lags, only products of two parts of
``Z_c`` whose responses ``H_c`` multiply to at most ``exp(-TAIL^2 / 2)`` (about 4e-5 with ``TAIL = 4.5``).
The error is therefore bounded relative to the input's spectrum near the band's edges, not to the
channel's own output: it is at most about 4e-5 of the largest pooled energy of any channel (pure tones at
random frequencies, 22.05 kHz: <= 7e-6 measured), and on signals whose spectrum is not much louder beside a
band than inside it (noise, a click, tones 30 dB above a noise floor) about 1e-5 of each channel's own
maximum. A quiet channel next to a tone 50-60 dB louder just outside its band is off by up to a few 1e-3 of
its own maximum (the tone's dropped tail). ``tests/frontends/test_leaf.py`` checks both bounds and the
gradients; ``bench_leaf.py`` reports the error on its batch. Where exactly a band's edges fall (its size
and start, see :mod:`adaspec.ops.gabor_plan`) moves the error about within the bound: larger bands are not
more exact for a given input, only differently placed.

Speed: the work is about four FFTs of the bands per step (an inverse FFT and a real FFT forward, an inverse
real FFT and an FFT backward); for 40 filters over 1 s at 16 kHz the bands hold about 2.5 times as many
complex values as the padded signal has samples. The band layout (:mod:`adaspec.ops.gabor_plan`) gives
neighbouring filters with near-equal band sizes the largest of them and puts runs with equal, fast band sizes
and equally spaced starts into groups, transformed together: each FFT and elementwise pass is batched over a
group's filters and signals, with work buffers reused from group to group, and a group's bands are one strided
view of the signal's half spectrum (groups with bands across 0 Hz or Nyquist are gathered through its
Hermitian symmetry). Everything runs in one autograd node with a hand-written backward, which also forms the
centre and width gradients from those of the responses; the pooling is applied as each group's low bins are
written, and the folding and the inverse DFT of the frames run once for all filters. The fixed cost of a
tensor operation (a few microseconds) matters here: a step makes about ten operations per group each way.
Second-order gradients (``create_graph=True``) differentiate a plain-ops recomputation of the forward
instead (slower, only then).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from .._validation import check_positive_int
from . import onnx_fft
from ._batch import map_signals
from ._tracing import is_exporting, is_exporting_onnx, require_static_length, tensor_cache, untraced
from .gabor_plan import (
    GROUP_BINS,
    TAIL,
    FilterValues,
    Group,
    Plan,
    band_layout,
    band_runs,
    make_plan,
)
from .padding import pad_end


# Not traced by torch.compile: the band layout is planned from the parameters' current values, so a traced
# graph would be specialised to them and recompiled after every optimiser step (until Dynamo's cache limit).
@untraced
def gabor_pooled_energy(
    waveform: torch.Tensor,
    centers: torch.Tensor,
    widths: torch.Tensor,
    pool_widths: torch.Tensor,
    hop_length: int,
    *,
    plan_values: tuple[FilterValues, FilterValues, FilterValues] | None = None,
) -> torch.Tensor:
    """Gaussian-pooled squared modulus of complex Gabor filter outputs, every ``hop_length`` samples.

    ``y[b, c, t] = sum_n exp(-(n - t hop)^2 / (2 pool_widths[c]^2)) |(x_b * h_c)(n)|^2`` for
    ``t = 0 ... time // hop_length`` (frame ``t`` centred on sample ``t * hop_length``, as torchaudio with
    ``center=True``), ``x_b`` zero outside its samples and ``h_c`` the untruncated Gabor atom of
    :func:`adaspec.kernels.gabor_impulse_responses`.

    Args:
        waveform: ``(..., time)`` real tensor.
        centers: ``(n_filters,)`` centres in radians per sample.
        widths: ``(n_filters,)`` Gabor widths in samples (>= about 1.5).
        pool_widths: ``(n_filters,)`` pooling Gaussian widths in samples (>= about 1).
        hop_length: samples between output frames.
        plan_values: ``(centers, widths, pool_widths)`` to plan the band layout from, as numbers (default:
            the tensors' own values). Needed under ``torch.export`` and on the meta device, whose tensors
            have no values: the layout is then fixed in the exported program, which checks on every call
            that it still covers the filters it is given (on the meta device nothing is checked). When
            given, the filters must lie within the layout they plan.

    Returns:
        ``(..., n_filters, 1 + time // hop_length)`` real tensor, ``>= 0`` (rounding below zero is set to
        zero), differentiable in every input.

    Raises:
        ValueError: for a bad ``hop_length`` or filter parameters (see
            :func:`~adaspec.ops.gabor_plan.make_plan`), a 0-d or complex ``waveform``, no ``plan_values``
            under ``torch.export``, or filters outside the layout ``plan_values`` plan (eagerly; an exported
            program raises ``RuntimeError``).
    """
    hop_length = check_positive_int("hop_length", hop_length)
    if waveform.ndim == 0 or waveform.is_complex():
        raise ValueError(f"waveform must be a real (..., time) tensor, got shape {tuple(waveform.shape)}")
    length = waveform.shape[-1]
    require_static_length(length, "LEAF's band layout (gabor_pooled_energy)")
    if plan_values is None:
        if is_exporting():
            raise ValueError(
                "gabor_pooled_energy needs plan_values under torch.export: the filter tensors have no values "
                "to plan the band layout from"
            )
        plan = make_plan(length, hop_length, centers, widths, pool_widths)
    else:
        # Under ONNX export every group is its own subgraph of matrix-product FFTs, and tracing them is most
        # of an export's time: groups are not capped there (LEAF 40 at 22.05 kHz x 3 s: 8 groups instead of
        # 32 for 7 % more bins). Merging more sizes (a ratio of 1.5) leaves 4-5 groups for another 10-12 %
        # more bins; its accuracy is within the same bound (see the module docstring), its speed in
        # onnxruntime was not measured, and it is not used.
        group_bins = None if is_exporting_onnx() else GROUP_BINS
        plan = make_plan(length, hop_length, *plan_values, group_bins=group_bins)
        check_plan_covers(plan, length, centers, widths, pool_widths)
    pooling = _pooling(plan, pool_widths)

    n_frames = 1 + length // hop_length
    # torch.export needs a graph without the op's out= work buffers: it traces the same sums written plainly.
    pooled_energy = _traced_pooled_band_energy if is_exporting() else _PooledBandEnergy.apply

    def transform(signals: torch.Tensor) -> torch.Tensor:
        half = onnx_fft.rfft(signals, n=plan.n_fft)
        return pooled_energy(half, centers, widths, pooling, plan, n_frames)

    # Energies are >= 0, but where they are about 0 (silence) the FFTs' rounding leaves values of either
    # sign (about 1e-7 of the signal's energy); a negative one would make PCEN's powers and logs NaN.
    rows = waveform.reshape(-1, length)
    energy = map_signals(transform, rows).clamp_min(0.0)
    return energy.reshape(*waveform.shape[:-1], *energy.shape[1:])


def check_plan_covers(
    plan: Plan, length: int, centers: torch.Tensor, widths: torch.Tensor, pool_widths: torch.Tensor
) -> None:
    """Check that ``plan`` (made from other values) still covers these filters: every band spans the bins
    its filter needs (to within one bin, as :func:`~adaspec.ops.gabor_plan.make_plan`'s centred starts do),
    every pooling keeps the low bins it needs, and the DFT is long enough not to wrap. Eagerly a failure is
    a ``ValueError``; under ``torch.export`` the check becomes an assertion of the exported program.

    Args:
        plan: the band layout.
        length: signal length in samples.
        centers, widths, pool_widths: the filters, as in :func:`gabor_pooled_energy`.

    Raises:
        ValueError: eagerly, when the plan does not cover the filters (not checked on the meta device,
            whose tensors have no values).
    """
    if centers.is_meta:
        return
    dtype, device = torch.float64, centers.device
    mus, sigmas, pools = (values.detach().to(dtype) for values in (centers, widths, pool_widths))
    per_radian = plan.n_fft / (2.0 * math.pi)
    need = TAIL * per_radian * (math.sqrt(2.0) / sigmas + 1.0 / pools)
    centre = mus * per_radian
    starts = torch.tensor(plan.starts, dtype=dtype, device=device)
    bands = torch.tensor(plan.bands, dtype=dtype, device=device)
    valid = torch.tensor(plan.valid, dtype=dtype, device=device)
    spanned = (starts <= centre - 0.5 * need + 1.5) & (starts + bands >= centre + 0.5 * need - 0.5)
    pooled = (valid >= TAIL * per_radian / pools + 1.0) | (valid >= torch.floor(bands / 2))
    unwrapped = plan.n_fft >= length + TAIL * (sigmas.max() + pools.max())
    covered = (bands >= need).all() & spanned.all() & pooled.all() & unwrapped
    message = (
        "the Gabor filters lie outside the band layout planned from plan_values (for LEAF: its parameters "
        "changed after its layout was last taken; run it once eagerly or call refresh_plan())"
    )
    if is_exporting():
        torch._assert_async(covered, message)
    elif not bool(covered):
        raise ValueError(message)


def _group_bands(half: torch.Tensor, group: Group, n_fft: int, out: torch.Tensor) -> torch.Tensor:
    """``(count, batch, band)``: the bands of a group's filters, ``X[start ... start + band - 1]`` (``X`` the
    Hermitian full spectrum of which ``half`` is the first half). A strided view of ``half`` when every band
    lies inside it (the starts are equally spaced), else gathered into ``out``."""
    if group.direct:
        size = (group.count, half.shape[0], group.band)
        return half.as_strided(size, (group.step, half.stride(0), 1), half.storage_offset() + group.start)
    for i, start in enumerate(group.starts()):
        _gather_band(half, start, group.band, n_fft, out[i])
    return out


def _band_pieces(
    half: torch.Tensor, start: int, band: int, n_fft: int
) -> Iterator[tuple[int, int, torch.Tensor]]:
    """``(lo, hi, values)`` runs of ``X[start ... start + band - 1]`` (``X`` Hermitian, ``half`` its first
    half): band positions ``lo ... hi - 1`` hold ``values`` (``(batch, hi - lo)``), the conjugates of
    mirrored bins for those below 0 Hz or above Nyquist."""
    for lo, hi, source, mirrored in band_runs(start, band, n_fft):
        if mirrored:
            yield lo, hi, half[:, source - (hi - lo) + 1 : source + 1].flip(-1).conj()
        else:
            yield lo, hi, half[:, source : source + hi - lo]


def _gather_band(half: torch.Tensor, start: int, band: int, n_fft: int, out: torch.Tensor) -> torch.Tensor:
    """Write ``X[start ... start + band - 1]`` (see :func:`_band_pieces`) into ``out`` (``(batch, band)``);
    returns ``out``."""
    for lo, hi, values in _band_pieces(half, start, band, n_fft):
        out[:, lo:hi] = values
    return out


def _scatter_band(grad_half: torch.Tensor, start: int, band: int, n_fft: int, values: torch.Tensor) -> None:
    """Adjoint of :func:`_gather_band`: add ``values`` (``(batch, band)``) into the half-spectrum gradient."""
    for lo, hi, source, mirrored in band_runs(start, band, n_fft):
        if mirrored:
            grad_half[:, source - (hi - lo) + 1 : source + 1] += values[:, lo:hi].conj().flip(-1)
        else:
            grad_half[:, source : source + hi - lo] += values[:, lo:hi]


def _responses(plan: Plan, centers: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian responses ``exp(-(widths (w - centers))^2 / 2)`` on every band bin and the offsets
    ``w - centers``, flattened filter after filter (not differentiable: the op's backward uses both).

    ``w - centers`` is formed as the bin's offset in its band plus ``w(start) - centers`` per filter, so
    that only the per-filter part depends on the plan's starts (the per-bin part is cached by band sizes)."""
    index, positions, _ = _layout_on(plan.bands, plan.n_fft, centers.device, centers.dtype)
    radians = 2.0 * math.pi / plan.n_fft
    starts = torch.tensor(plan.starts, dtype=torch.float64) * radians
    shifts = starts.to(centers.device, centers.dtype) - centers
    offsets = torch.index_select(shifts, 0, index).add_(positions)
    scaled = offsets * torch.index_select(widths, 0, index)
    return torch.exp(scaled.square_().mul_(-0.5)), offsets


@tensor_cache(maxsize=16)
def _layout_on(
    bands: tuple[int, ...], n_fft: int, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`~adaspec.ops.gabor_plan.band_layout` on ``device``, with the positions in radians per sample
    (``2 pi / n_fft`` per bin) in ``dtype``; cached. Callers must not modify them."""
    index, positions, lengths = band_layout(bands)
    radians = positions * (2.0 * math.pi / n_fft)
    return index.to(device), radians.to(device, dtype), lengths.to(device)


def _filter_gradients(
    plan: Plan, dots: torch.Tensor, responses: torch.Tensor, offsets: torch.Tensor, widths: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of the centres and widths from ``dots`` (the gradient of every response): with ``H =
    exp(-(sigma (w - mu))^2 / 2)``, ``dH/dmu = H sigma^2 (w - mu)`` and ``dH/dsigma = -H sigma (w - mu)^2``,
    summed over each filter's bins."""
    first = dots.mul_(responses).mul_(offsets)  # dots H (w - mu)
    moments = torch.stack((first, first * offsets), dim=-1)
    _, _, lengths = _layout_on(plan.bands, plan.n_fft, moments.device, moments.dtype)
    sums = torch.segment_reduce(moments, "sum", lengths=lengths, axis=0)
    return widths.square() * sums[:, 0], -widths * sums[:, 1]


def _pooling(plan: Plan, pool_widths: torch.Tensor) -> torch.Tensor:
    """``(n_filters, n_bins)``: the DTFT of the pooling Gaussians sampled at whole samples (the continuous
    transform plus its first aliases at ``+-2 pi``, which matter for widths near one sample) at the low bins,
    times each band's sampling scale ``M / N``, with weight 1/2 on the DC bin (the frames count the real
    part of the positive bins twice) and 0 on bins a band does not resolve."""
    device, dtype = pool_widths.device, pool_widths.dtype
    scale = _pooling_scale(plan.bands, plan.valid, plan.n_bins, plan.n_fft).to(device, dtype)
    omega = torch.arange(plan.n_bins, device=device, dtype=dtype) * (2.0 * math.pi / plan.n_fft)
    pool = pool_widths[:, None]
    spectrum = sum(
        torch.exp(-0.5 * (pool * (omega + shift)).square()) for shift in (0.0, -2 * math.pi, 2 * math.pi)
    )
    return scale * pool * spectrum


@tensor_cache(maxsize=16)
def _pooling_scale(bands: tuple[int, ...], valid: tuple[int, ...], n_bins: int, n_fft: int) -> torch.Tensor:
    """``(n_filters, n_bins)`` float64: ``sqrt(2 pi) M / N`` on each filter's valid bins (half on the DC
    bin), 0 beyond; cached (by the plan's sizes, not its starts). Callers must not modify it."""
    scale = torch.zeros(len(bands), n_bins, dtype=torch.float64)
    for c, (band, count) in enumerate(zip(bands, valid, strict=True)):
        scale[c, :count] = band * math.sqrt(2.0 * math.pi) / n_fft
    scale[:, 0] *= 0.5
    return scale


def _fold(values: torch.Tensor, q: int) -> torch.Tensor:
    """Sum the last axis modulo ``q`` (as if zero-padded to a multiple of ``q``)."""
    if values.shape[-1] <= q:
        return pad_end(values, q - values.shape[-1])
    if is_exporting():  # an exported graph must be functional: pad to whole periods and sum them
        pieces = -(-values.shape[-1] // q)
        padded = pad_end(values, pieces * q - values.shape[-1])
        return padded.unflatten(-1, (pieces, q)).sum(dim=-2)
    folded = values[..., :q].clone()
    for start in range(q, values.shape[-1], q):
        piece = values[..., start : start + q]
        folded[..., : piece.shape[-1]] += piece
    return folded


def _traced_pooled_band_energy(
    half: torch.Tensor,
    centers: torch.Tensor,
    widths: torch.Tensor,
    pooling: torch.Tensor,
    plan: Plan,
    n_frames: int,
) -> torch.Tensor:
    """:class:`_PooledBandEnergy`'s forward without work buffers, ``out=`` arguments or in-place writes, for
    ``torch.export`` (whose graphs must be functional): the same sums, group by group. Autograd
    differentiates it, should an exported program be trained."""
    responses, _ = _responses(plan, centers, widths)
    blocks = []
    for group in plan.groups:
        # Slices, not _group_bands' strided view of `half` (step may be 0) nor its in-place gathering.
        window = torch.stack([_band(half, start, group.band, plan.n_fft) for start in group.starts()])
        signal = onnx_fft.ifft(window * _group_responses(responses, group))
        spectrum = onnx_fft.rfft(torch.view_as_real(signal).square().sum(dim=-1))[..., : plan.n_bins]
        weights = pooling[group.first : group.first + group.count, None, : spectrum.shape[-1]]
        blocks.append(pad_end(spectrum * weights, plan.n_bins - spectrum.shape[-1]))
    frames = onnx_fft.ifft(_fold(torch.cat(blocks), plan.q))[..., :n_frames].real
    return frames.transpose(0, 1) * (2.0 * plan.q / plan.n_fft)


def _band(half: torch.Tensor, start: int, band: int, n_fft: int) -> torch.Tensor:
    """:func:`_gather_band` as a new tensor, built without in-place writes."""
    return torch.cat([values for _, _, values in _band_pieces(half, start, band, n_fft)], dim=-1)


class _PooledBandEnergy(torch.autograd.Function):
    """Steps 2-4 of the module docstring with a hand-written backward: ``(half spectrum (batch, bins),
    centres, widths, pooling (n_filters, n_bins), plan, n_frames) -> (batch, n_filters, n_frames)``.

    Group by group (see :mod:`adaspec.ops.gabor_plan`): each FFT and elementwise pass covers every filter of
    a group, so that a step makes few operations (their fixed cost is a large part of the time) while each
    group's arrays stay small; the folding and the inverse DFT of the frames run once for all filters. The
    centre and width gradients are formed here from the responses' gradients (no autograd graph over the
    band bins).

    Double backward (``create_graph=True``) is supported, to any order: the backward then recomputes the
    forward with differentiable operations (:func:`_traced_pooled_band_energy`, the same sums) and returns
    ``torch.autograd.grad`` of it with ``create_graph=True``. Without ``create_graph`` (grad mode off in the
    backward) it is the hand-written one."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        half: torch.Tensor,
        centers: torch.Tensor,
        widths: torch.Tensor,
        pooling: torch.Tensor,
        plan: Plan,
        n_frames: int,
    ) -> torch.Tensor:
        batch = half.shape[0]
        responses, offsets = _responses(plan, centers, widths)
        buffers = _Buffers(half, batch, plan.largest_group)
        keep = any(ctx.needs_input_grad)
        signals = []
        # The pooled low bins, filter-major (n_filters, batch, n_bins): each group writes its own block.
        # Bins from a filter's `valid` count on have pooling weight 0; bands too small to have them get 0.
        pooled = half.new_empty(len(plan.bands), batch, plan.n_bins)
        for group in plan.groups:
            first, count, band = group.first, group.count, group.band
            bands, squares, power = buffers.views(count, band)
            response = _group_responses(responses, group)
            torch.mul(_group_bands(half, group, plan.n_fft, bands), response, out=bands)
            signal = torch.fft.ifft(bands)
            torch.square(torch.view_as_real(signal), out=squares)
            spectrum_low = torch.fft.rfft(torch.add(*squares.unbind(-1), out=power))
            kept = min(plan.n_bins, spectrum_low.shape[-1])
            block, weights = pooled[first : first + count], pooling[first : first + count, None]
            torch.mul(spectrum_low[..., :kept], weights[..., :kept], out=block[..., :kept])
            if kept < plan.n_bins:
                block[..., kept:] = 0
            if keep:  # the backward needs each group's output; inference drops it at once
                signals.append(signal)
        frames = torch.fft.ifft(_fold(pooled, plan.q), dim=-1)[..., :n_frames].real
        if keep:
            ctx.save_for_backward(half, centers, widths, responses, offsets, pooling, pooled, *signals)
        ctx.plan, ctx.n_frames = plan, n_frames
        result = frames.new_empty(batch, len(plan.bands), n_frames)
        return torch.mul(frames.transpose(0, 1), 2.0 * plan.q / plan.n_fft, out=result)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_frames: torch.Tensor) -> tuple:
        half, centers, widths, responses, offsets, pooling, pooled, *signals = ctx.saved_tensors
        plan = ctx.plan
        if torch.is_grad_enabled():  # create_graph=True: differentiate a differentiable recomputation
            arguments = (half, centers, widths, pooling)
            return (
                *_recomputed_gradients(arguments, ctx.needs_input_grad[:4], grad_frames, plan, ctx.n_frames),
                None,
                None,
            )
        need_half, need_centers, need_widths, need_pooling = ctx.needs_input_grad[:4]
        need_filters = need_centers or need_widths
        grad_low, grad_pooling = _frames_backward(grad_frames, pooling, pooled, plan, need_pooling)
        if not (need_half or need_filters):
            return None, None, None, grad_pooling, None, None
        grad_half = torch.zeros_like(half) if need_half else None
        buffers = _Buffers(half, half.shape[0], plan.largest_group)
        dots = []
        for group, signal in zip(plan.groups, signals, strict=True):
            first, count, band = group.first, group.count, group.band
            product, parts, _ = buffers.views(count, band)
            # d/d(energy) through the truncated rfft: a real inverse DFT of the zero-padded (or, past the
            # band's half, trimmed: those bins have pooling weight 0) gradient; its factor M / 2 and the
            # 2 / M of the adjoint of ifft cancel.
            grad_energy = torch.fft.irfft(grad_low[first : first + count], n=band)
            weighted = torch.fft.fft(torch.mul(signal, grad_energy, out=product))
            if need_filters:  # Re(conj(X) W) per response, summed over the batch below, as (band, 2) parts
                window = _group_bands(half, group, plan.n_fft, product)
                torch.mul(torch.view_as_real(weighted), torch.view_as_real(window), out=parts)
                dots.append(parts.sum(dim=1).view(-1, 2))
            if need_half:
                response = _group_responses(responses, group)
                for i, start in enumerate(group.starts()):
                    _scatter_band(grad_half, start, band, plan.n_fft, weighted[i] * response[i])
        grad_centers = grad_widths = None
        if need_filters:
            dot = torch.add(*torch.cat(dots).unbind(-1))
            grad_centers, grad_widths = _filter_gradients(plan, dot, responses, offsets, widths)
        return (
            grad_half,
            grad_centers if need_centers else None,
            grad_widths if need_widths else None,
            grad_pooling,
            None,
            None,
        )


def _recomputed_gradients(
    arguments: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    needs: tuple[bool, ...],
    grad_frames: torch.Tensor,
    plan: Plan,
    n_frames: int,
) -> list[torch.Tensor | None]:
    """:class:`_PooledBandEnergy`'s backward for ``create_graph=True``: the gradients of ``(half, centers,
    widths, pooling)`` (``None`` where not needed) from the forward recomputed with differentiable
    operations, themselves differentiable (in ``grad_frames`` too)."""
    wanted = [tensor for tensor, need in zip(arguments, needs, strict=True) if need]
    if not wanted:
        return [None] * len(arguments)
    frames = _traced_pooled_band_energy(*arguments, plan, n_frames)
    found = iter(torch.autograd.grad(frames, wanted, grad_frames, create_graph=True, allow_unused=True))
    grads: list[torch.Tensor | None] = []
    for tensor, need in zip(arguments, needs, strict=True):
        grad = next(found) if need else None
        grads.append(torch.zeros_like(tensor) if need and grad is None else grad)
    return grads


def _group_responses(responses: torch.Tensor, group: Group) -> torch.Tensor:
    """``(count, 1, band)``: a group's slice of the flattened responses."""
    size = group.count * group.band
    return responses[group.offset : group.offset + size].view(group.count, 1, group.band)


def _frames_backward(
    grad_frames: torch.Tensor, pooling: torch.Tensor, pooled: torch.Tensor, plan: Plan, need_pooling: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Adjoint of ``frames = (2 q / N) Re(ifft_q(fold(low * pooling)))[:n_frames]``, filter-major.

    Returns the gradient of ``low`` with its DC bin doubled (so that ``irfft``'s Hermitian sum counts it
    once), ``(n_filters, batch, n_bins)``, and that of ``pooling`` (``None`` unless asked for), which uses
    ``Re(g conj(low)) = Re(g conj(low * pooling)) / pooling`` (``pooling`` is 0 only on bins whose weight is
    0 whatever the pooling widths)."""
    n_filters, batch, n_bins = pooled.shape
    padded = torch.nn.functional.pad(grad_frames.transpose(0, 1), (0, plan.q - grad_frames.shape[-1]))
    spectrum = torch.fft.fft(padded, dim=-1)  # (n_filters, batch, q); unfolded: bin k reads bin k mod q
    scale = 2.0 / plan.n_fft
    weights = pooling * scale
    weights[:, 0] *= 2.0
    grad_low = spectrum.new_empty(n_filters, batch, n_bins)
    dots = pooling.new_empty(n_filters, n_bins) if need_pooling else None
    for lo in range(0, n_bins, plan.q):
        hi = min(lo + plan.q, n_bins)
        torch.mul(spectrum[..., : hi - lo], weights[:, None, lo:hi], out=grad_low[..., lo:hi])
        if dots is not None:
            dots[:, lo:hi] = _real_dot(spectrum[..., : hi - lo], pooled[..., lo:hi], dim=1)
    if dots is None:
        return grad_low, None
    positive = pooling > 0
    grad_pooling = torch.where(positive, dots * scale / torch.where(positive, pooling, 1.0), 0.0)
    return grad_low, grad_pooling


class _Buffers:
    """Work arrays reused from group to group: views of one allocation for each group shape."""

    def __init__(self, like: torch.Tensor, batch: int, size: int) -> None:
        self.batch = batch
        self.complex = like.new_empty(batch * size)
        self.real = like.real.new_empty(batch * size * 3)
        self.cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def views(self, count: int, band: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(complex (count, batch, band), real (count, batch, band, 2), real (count, batch, band))``
        without overlap."""
        key = (count, band)
        if key not in self.cache:
            size = count * self.batch * band
            self.cache[key] = (
                self.complex[:size].view(count, self.batch, band),
                self.real[: 2 * size].view(count, self.batch, band, 2),
                self.real[2 * size : 3 * size].view(count, self.batch, band),
            )
        return self.cache[key]


def _real_dot(a: torch.Tensor, b: torch.Tensor, dim: int) -> torch.Tensor:
    """``Re(sum(a * conj(b), dim))`` for complex ``a`` and ``b``."""
    return (torch.view_as_real(a) * torch.view_as_real(b)).sum(dim=dim).sum(dim=-1)
