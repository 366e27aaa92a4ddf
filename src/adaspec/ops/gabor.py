"""Gaussian-pooled energies of a complex Gabor filterbank (LEAF's front half), computed band by band in the
frequency domain at a decimated rate.

For filters ``h_c`` (untruncated Gabor atoms, see :mod:`adaspec.kernels.gabor`) and pooling windows
``g_c(n) = exp(-n^2 / (2 s_c^2))`` the result is ``y[c, t] = sum_n g_c(n - t hop) |(x * h_c)(n)|^2`` with
``x`` zero outside its samples. LEAF computes that with a stride-1 convolution of 25 ms filters on the
waveform, which costs ``40 x 401`` complex multiply-adds per sample. Here:

1. ``X``: one real DFT of the zero-padded signal, of length ``N = Q * hop`` (``Q`` 5-smooth) long enough
   that nothing wraps around; negative frequencies are its complex conjugates.
2. ``Z_c = X H_c`` is a Gaussian bump. An inverse DFT of just the ``M_c`` bins around its centre gives
   ``z_c`` (demodulated, which leaves its modulus unchanged) at ``M_c`` points ``N / M_c`` samples apart:
   the band-pass output at the rate its bandwidth needs, not the signal's.
3. ``|z_c|^2`` is band-limited, so a real DFT of those ``M_c`` samples gives its spectrum exactly at the
   few low frequencies the pooling Gaussian ``G_c`` lets through.
4. ``Y = E G``; the output at ``t * hop`` is the inverse DFT of ``Y`` folded modulo ``Q`` (the folding is
   exactly the aliasing that sampling every ``hop`` samples causes).

Accuracy: ``M_c >= TAIL (sqrt(2) / sigma_c + 1 / s_c) N / (2 pi)`` keeps every part of ``|z_c|^2``'s low
spectrum that the dropped bins of ``Z_c`` or aliasing could change below ``exp(-TAIL^2 / 2)`` of the
band's peak. With ``TAIL = 4.5`` the pooled energies equal a direct stride-1 computation with the
untruncated filters to about 1e-5 of each channel's maximum (``tests/frontends/test_leaf.py`` checks
<= 1e-4 on noise, tones 30 dB above a noise floor and a click, and the gradients; ``bench_leaf.py``
reports the error on its batch).

Speed: the work is about four FFTs of the bands per step (an inverse FFT and a real FFT forward, an
inverse real FFT and an FFT backward); for 40 filters over 1 s at 16 kHz the bands hold about 2.4 times
as many complex values as the signal has samples. Band sizes are ``2^a k`` with ``k`` in
:data:`FAST_ODD_FACTORS`. Neighbouring filters with equal band sizes (the mel layout has runs of them) are
transformed together, in groups of at most :data:`GROUP_BINS` bins, each FFT batched over the group's
filters and signals, with work buffers reused from group to group. Each band is read straight from the
signal's half spectrum (bands across 0 Hz or Nyquist are gathered through its Hermitian symmetry).
Everything runs in one autograd node with a hand-written backward; the pooling is applied as each group's
low bins are written, and the folding and the inverse DFT of the frames run once for all filters. The fixed
cost of a tensor operation (a few microseconds) matters here: a step makes about six operations per group
and two per filter each way.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .._validation import check_positive_int
from .fft_sizes import next_smooth_size

#: Gaussians are treated as zero beyond this many standard deviations (exp(-4.5^2 / 2) ~ 4e-5).
TAIL = 4.5
#: Odd parts of the band sizes ``2^a k``: fast FFT sizes (MKL is several times slower on ``3^5``, ``3^6``).
FAST_ODD_FACTORS = (1, 3, 5, 7, 9, 15)
#: Most band bins per group of filters transformed together. Groups make fewer, larger FFT calls and
#: elementwise passes than one filter at a time, while each group's arrays stay within a few MB: for LEAF
#: with 40 / 64 filters a step was 6-8% / 16-17% faster than filter by filter (interleaved runs, 2 threads;
#: 2048 to 4608 bins measured, 3072 best or near it with and without the glibc allocator retaining memory).
GROUP_BINS = 3072


@dataclass(frozen=True)
class _Plan:
    """Static layout of one call: DFT length ``n_fft = q * hop`` and each filter's band."""

    q: int
    n_fft: int
    bands: tuple[int, ...]  # band size M of each filter
    starts: tuple[int, ...]  # DFT bin of each band's first bin (below 0 or above n_fft // 2 at the edges)
    valid: tuple[int, ...]  # low bins of each filter's |z|^2 spectrum that are used (<= M // 2)
    n_bins: int  # low bins kept for every filter (the most any filter's pooling needs)


def gabor_pooled_energy(
    waveform: torch.Tensor,
    centers: torch.Tensor,
    widths: torch.Tensor,
    pool_widths: torch.Tensor,
    hop_length: int,
) -> torch.Tensor:
    """Gaussian-pooled squared modulus of complex Gabor filter outputs, every ``hop_length`` samples.

    ``y[b, c, t] = sum_n exp(-(n - t hop)^2 / (2 pool_widths[c]^2)) |(x_b * h_c)(n)|^2`` for
    ``t = 0 ... time // hop_length`` (frame ``t`` centred on sample ``t * hop_length``, as torchaudio with
    ``center=True``), ``x_b`` zero outside its samples and ``h_c`` the untruncated Gabor atom of
    :func:`adaspec.kernels.gabor_impulse_responses`.

    Args:
        waveform: ``(batch, time)`` real tensor.
        centers: ``(n_filters,)`` centres in radians per sample.
        widths: ``(n_filters,)`` Gabor widths in samples (>= about 1.5).
        pool_widths: ``(n_filters,)`` pooling Gaussian widths in samples (>= about 1).
        hop_length: samples between output frames.

    Returns:
        ``(batch, n_filters, 1 + time // hop_length)`` real tensor, ``>= 0`` (rounding below zero is set to
        zero), differentiable in every input.
    """
    hop_length = check_positive_int("hop_length", hop_length)
    length = waveform.shape[-1]
    n_frames = 1 + length // hop_length
    plan = _plan(length, hop_length, centers, widths, pool_widths)
    half = torch.fft.rfft(waveform, n=plan.n_fft)
    responses, pooling = _responses(plan, centers, widths), _pooling(plan, pool_widths)
    energy = _PooledBandEnergy.apply(half, responses, pooling, plan, n_frames)
    # Energies are >= 0, but where they are about 0 (silence) the FFTs' rounding leaves values of either
    # sign (about 1e-7 of the signal's energy); a negative one would make PCEN's powers and logs NaN.
    return energy.clamp_min(0.0)


def _plan(
    length: int, hop: int, centers: torch.Tensor, widths: torch.Tensor, pool_widths: torch.Tensor
) -> _Plan:
    """DFT length and band layout from the current (detached) parameters."""
    mus = centers.detach().double().cpu().tolist()
    sigmas = widths.detach().double().cpu().tolist()
    pools = pool_widths.detach().double().cpu().tolist()
    reach = TAIL * (max(sigmas) + max(pools))
    q = next_smooth_size(max(math.ceil((length + reach) / hop), 1 + length // hop))
    n_fft = q * hop
    per_radian = n_fft / (2.0 * math.pi)
    bands = [
        _fast_size(math.ceil(TAIL * per_radian * (math.sqrt(2.0) / sigma + 1.0 / pool)), n_fft)
        for sigma, pool in zip(sigmas, pools, strict=True)
    ]
    starts = [round(mu * per_radian) - band // 2 for mu, band in zip(mus, bands, strict=True)]
    needed = [math.ceil(TAIL * per_radian / pool) + 1 for pool in pools]
    valid = tuple(max(1, min(n, m // 2)) for n, m in zip(needed, bands, strict=True))
    return _Plan(q, n_fft, tuple(bands), tuple(starts), valid, max(valid))


def _fast_size(n: int, limit: int) -> int:
    """The smallest ``2^a k >= n`` with ``k`` in :data:`FAST_ODD_FACTORS` (``limit`` if that is smaller)."""
    return min(min(k * _next_power_of_two(-(-n // k)) for k in FAST_ODD_FACTORS), limit)


def _next_power_of_two(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


def _is_direct(start: int, band: int, n_fft: int) -> bool:
    """Whether bins ``start ... start + band - 1`` all lie in the half spectrum ``0 ... n_fft // 2``."""
    return start >= 0 and start + band <= n_fft // 2 + 1


@functools.lru_cache(maxsize=256)
def _runs(start: int, band: int, n_fft: int) -> tuple[tuple[int, int, int, bool], ...]:
    """Where a band's bins come from in the half spectrum of a real signal: ``(lo, hi, source, mirrored)``
    runs, band positions ``lo ... hi - 1`` holding half-spectrum bins ``source, source + 1, ...`` or, for
    bins below 0 Hz or above ``n_fft // 2``, the conjugates of ``source, source - 1, ...``."""
    top = n_fft // 2
    runs = []
    j = 0
    while j < band:
        b = (start + j) % n_fft
        if b <= top:
            n = min(band - j, top - b + 1)
            runs.append((j, j + n, b, False))
        else:  # bin b is the conjugate of bin n_fft - b
            n = min(band - j, n_fft - b)
            runs.append((j, j + n, n_fft - b, True))
        j += n
    return tuple(runs)


def _band_values(half: torch.Tensor, start: int, band: int, n_fft: int, out: torch.Tensor) -> torch.Tensor:
    """``X[start ... start + band - 1]`` (``X`` Hermitian): a view of ``half`` where the band lies inside it,
    else gathered into ``out`` (for a band that crosses 0 Hz or Nyquist)."""
    if _is_direct(start, band, n_fft):
        return half[:, start : start + band]
    for lo, hi, source, mirrored in _runs(start, band, n_fft):
        if mirrored:
            out[:, lo:hi] = half[:, source - (hi - lo) + 1 : source + 1].flip(-1).conj()
        else:
            out[:, lo:hi] = half[:, source : source + hi - lo]
    return out


def _scatter_band(grad_half: torch.Tensor, start: int, band: int, n_fft: int, values: torch.Tensor) -> None:
    """Adjoint of :func:`_band_values`: add ``values`` (``(batch, band)``) into the half-spectrum gradient."""
    for lo, hi, source, mirrored in _runs(start, band, n_fft):
        if mirrored:
            grad_half[:, source - (hi - lo) + 1 : source + 1] += values[:, lo:hi].conj().flip(-1)
        else:
            grad_half[:, source : source + hi - lo] += values[:, lo:hi]


def _responses(plan: _Plan, centers: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """The Gaussian responses on every band bin, flattened filter after filter (differentiable)."""
    index, bins = _band_layout(plan.bands, plan.starts)
    index = index.to(centers.device)
    omega = bins.to(centers.device, centers.dtype) * (2.0 * math.pi / plan.n_fft)
    # index_select rather than indexing: its backward is an index_add, several times faster than the
    # accumulating index_put that indexing's backward is.
    width, center = (torch.index_select(p, 0, index) for p in (widths, centers))
    return torch.exp(-0.5 * (width * (omega - center)).square())


@functools.lru_cache(maxsize=16)
def _band_layout(bands: tuple[int, ...], starts: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The filter of every band bin and its DFT bin (not wrapped, float64), flattened filter after filter;
    cached (the layout changes only when a band's size or first bin does). Callers must not modify them."""
    index = np.repeat(np.arange(len(bands)), bands)
    bins = np.concatenate([np.arange(s, s + m) for s, m in zip(starts, bands, strict=True)])
    return torch.from_numpy(index), torch.from_numpy(bins.astype(np.float64))


def _pooling(plan: _Plan, pool_widths: torch.Tensor) -> torch.Tensor:
    """``(n_filters, n_bins)``: the DTFT of the pooling Gaussians sampled at whole samples (the continuous
    transform plus its first aliases at ``+-2 pi``, which matter for widths near one sample) at the low bins,
    times each band's sampling scale ``M / N``, with weight 1/2 on the DC bin (the frames count the real
    part of the positive bins twice) and 0 on bins a band does not resolve."""
    device, dtype = pool_widths.device, pool_widths.dtype
    scale = np.zeros((len(plan.bands), plan.n_bins))
    for c, (band, valid) in enumerate(zip(plan.bands, plan.valid, strict=True)):
        scale[c, :valid] = band * math.sqrt(2.0 * math.pi) / plan.n_fft
    scale[:, 0] *= 0.5
    omega = torch.arange(plan.n_bins, device=device, dtype=dtype) * (2.0 * math.pi / plan.n_fft)
    pool = pool_widths[:, None]
    spectrum = sum(
        torch.exp(-0.5 * (pool * (omega + shift)).square()) for shift in (0.0, -2 * math.pi, 2 * math.pi)
    )
    return torch.from_numpy(scale).to(device, dtype) * pool * spectrum


def _fold(values: torch.Tensor, q: int) -> torch.Tensor:
    """Sum the last axis modulo ``q`` (as if zero-padded to a multiple of ``q``)."""
    if values.shape[-1] <= q:
        return torch.nn.functional.pad(values, (0, q - values.shape[-1]))
    folded = values[..., :q].clone()
    for start in range(q, values.shape[-1], q):
        piece = values[..., start : start + q]
        folded[..., : piece.shape[-1]] += piece
    return folded


class _PooledBandEnergy(torch.autograd.Function):
    """Steps 2-4 of the module docstring with a hand-written backward: ``(half spectrum (batch, bins),
    responses (flat), pooling (n_filters, n_bins), plan, n_frames) -> (batch, n_filters, n_frames)``.

    Group by group (see :func:`_groups`): each FFT and elementwise pass covers every filter of a group, so
    that a step makes few operations (their fixed cost is a large part of the time) while each group's
    arrays stay small; the folding and the inverse DFT of the frames run once for all filters."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        half: torch.Tensor,
        responses: torch.Tensor,
        pooling: torch.Tensor,
        plan: _Plan,
        n_frames: int,
    ) -> torch.Tensor:
        batch = half.shape[0]
        groups = _groups(plan.bands)
        buffers = _Buffers(half, batch, max(count * band for _, count, band in groups))
        filters = _filters(plan, responses)
        keep = any(ctx.needs_input_grad)
        signals = []
        # The pooled low bins, filter-major (n_filters, batch, n_bins): each group writes its own block.
        # Bins from a filter's `valid` count on have pooling weight 0; bands too small to have them get 0.
        pooled = half.new_empty(len(plan.bands), batch, plan.n_bins)
        for first, count, band in groups:
            bands, squares, power = buffers.views(count, band)
            for i, (_, start, response) in enumerate(filters[first : first + count]):
                torch.mul(_band_values(half, start, band, plan.n_fft, bands[i]), response, out=bands[i])
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
            ctx.save_for_backward(half, responses, pooling, pooled, *signals)
        ctx.plan = plan
        result = frames.new_empty(batch, len(plan.bands), n_frames)
        return torch.mul(frames.transpose(0, 1), 2.0 * plan.q / plan.n_fft, out=result)

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_frames: torch.Tensor) -> tuple:
        half, responses, pooling, pooled, *signals = ctx.saved_tensors
        plan = ctx.plan
        need_half, need_responses, need_pooling = ctx.needs_input_grad[:3]
        grad_low, grad_pooling = _frames_backward(grad_frames, pooling, pooled, plan, need_pooling)
        if not (need_half or need_responses):
            return None, None, grad_pooling, None, None
        grad_half = torch.zeros_like(half) if need_half else None
        groups = _groups(plan.bands)
        buffers = _Buffers(half, half.shape[0], max(count * band for _, count, band in groups))
        filters = _filters(plan, responses)
        grad_parts = []
        for (first, count, band), signal in zip(groups, signals, strict=True):
            product, parts, _ = buffers.views(count, band)
            # d/d(energy) through the truncated rfft: a real inverse DFT of the zero-padded (or, past the
            # band's half, trimmed: those bins have pooling weight 0) gradient; its factor M / 2 and the
            # 2 / M of the adjoint of ifft cancel.
            grad_energy = torch.fft.irfft(grad_low[first : first + count], n=band)
            weighted = torch.fft.fft(torch.mul(signal, grad_energy, out=product))
            weighted_parts = torch.view_as_real(weighted)
            for i, (_, start, response) in enumerate(filters[first : first + count]):
                if need_responses:  # Re(conj(X) W), summed over the batch below, as (band, 2) parts
                    window = _band_values(half, start, band, plan.n_fft, product[i])
                    torch.mul(weighted_parts[i], torch.view_as_real(window), out=parts[i])
                if need_half:
                    _scatter_band(grad_half, start, band, plan.n_fft, weighted[i] * response)
            if need_responses:
                grad_parts.append(parts.sum(dim=1).reshape(-1, 2))
        grad_responses = torch.add(*torch.cat(grad_parts).unbind(-1)) if need_responses else None
        return grad_half, grad_responses, grad_pooling, None, None


def _frames_backward(
    grad_frames: torch.Tensor, pooling: torch.Tensor, pooled: torch.Tensor, plan: _Plan, need_pooling: bool
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


@functools.lru_cache(maxsize=16)
def _groups(bands: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """``(first filter, count, band)`` of runs of neighbouring filters with equal band sizes, each cut to
    at most :data:`GROUP_BINS` bins (LEAF's mel layout over 1 s: 22 to 24 groups for 40 to 128 filters)."""
    groups = []
    first = 0
    for band, run in itertools.groupby(bands):
        length = len(list(run))
        per_group = max(1, GROUP_BINS // band)
        for offset in range(0, length, per_group):
            count = min(per_group, length - offset)
            groups.append((first, count, band))
            first += count
    return tuple(groups)


def _filters(plan: _Plan, responses: torch.Tensor) -> list[tuple[int, int, torch.Tensor]]:
    """``(band, first bin, response (band,))`` of every filter."""
    parts = torch.split(responses, list(plan.bands))
    return list(zip(plan.bands, plan.starts, parts, strict=True))
