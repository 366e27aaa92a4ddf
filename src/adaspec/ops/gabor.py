"""Gaussian-pooled energies of a complex Gabor filterbank (LEAF's front half), computed band by band in the
frequency domain.

For filters ``h_c`` (untruncated Gabor atoms, see :mod:`adaspec.kernels.gabor`) and pooling windows
``g_c(n) = exp(-n^2 / (2 s_c^2))`` the result is ``y[c, t] = sum_n g_c(n - t hop) |(x * h_c)(n)|^2`` with
``x`` zero outside its samples. LEAF computes that with a stride-1 convolution of 25 ms filters on the
waveform, which costs ``40 x 401`` complex multiply-adds per sample. Here:

1. ``X``: one DFT of the zero-padded signal, of length ``N = Q * hop`` (``Q`` 5-smooth) long enough that
   nothing wraps around.
2. ``Z_c = X H_c`` is a Gaussian bump. An inverse DFT of just the ``M_c`` bins around its centre gives
   ``z_c`` (demodulated, which leaves its modulus unchanged) at ``M_c`` points ``N / M_c`` samples apart.
3. ``|z_c|^2`` is band-limited, so a real DFT of those ``M_c`` samples gives its spectrum exactly at the
   few low frequencies the pooling Gaussian ``G_c`` lets through.
4. ``Y = E G``; the output at ``t * hop`` is the inverse DFT of ``Y`` folded modulo ``Q`` (the folding is
   exactly the aliasing that sampling every ``hop`` samples causes).

``M_c >= sqrt(2) tail N / (2 pi sigma_c) + tail N / (2 pi s_c)`` keeps both the part of ``|z_c|^2``'s low
spectrum lost with the dropped bins of ``Z_c`` and its aliasing below ``exp(-tail^2 / 2)``; with
``tail = 4.5`` the result equals the direct stride-1 computation to about 1e-5 of each channel's maximum.
``M_c`` is rounded up to ``2^k`` or ``3 * 2^k`` (fast FFT sizes; measured faster than tighter 5-smooth
sizes), and filters with the same ``M_c`` share their FFT calls. A hand-written backward gives the
gradients of the Gaussian responses with one more FFT pair per group. For 40 filters over 1 s at 16 kHz
the bands hold about 3 times as many (complex) values as the signal has samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable

from .._validation import check_positive_int

#: Gaussians are treated as zero beyond this many standard deviations (exp(-4.5^2 / 2) ~ 4e-5).
TAIL = 4.5


@dataclass(frozen=True)
class _Group:
    """Filters sharing a band size ``M``."""

    channels: list[int]
    band: int
    starts: list[int]  # first DFT bin of each filter's band (may be negative; taken modulo N)
    n_bins: int  # low-frequency bins of |z|^2 that the pooling needs


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
        ``(batch, n_filters, 1 + time // hop_length)`` real tensor, differentiable in every input.
    """
    hop_length = check_positive_int("hop_length", hop_length)
    length = waveform.shape[-1]
    n_frames = 1 + length // hop_length
    q, n_fft, groups = _plan(length, hop_length, centers, widths, pool_widths)
    spectrum = torch.fft.fft(waveform, n=n_fft)
    device, dtype = waveform.device, waveform.dtype
    outputs, order = [], []
    for group in groups:
        index = torch.tensor(group.channels, device=device)
        band = group.band
        bins = torch.arange(band, device=device, dtype=dtype)
        starts = torch.tensor(group.starts, device=device, dtype=dtype)
        # Offset of each band bin from the filter centre in radians per sample (differentiable in centers).
        fraction = centers[index] * (n_fft / (2.0 * math.pi)) - starts
        offsets = (2.0 * math.pi / n_fft) * (bins - fraction[:, None])
        responses = torch.exp(-0.5 * (widths[index][:, None] * offsets) ** 2)
        # DTFT of the pooling Gaussian at the low bins, with the band's sampling scale folded in.
        pool = pool_widths[index][:, None]
        omega = (2.0 * math.pi / n_fft) * bins[: group.n_bins]
        pooling = (math.sqrt(2.0 * math.pi) * band / n_fft) * pool * torch.exp(-0.5 * (pool * omega) ** 2)
        layout = _Layout([s % n_fft for s in group.starts], group.n_bins, q, n_fft, n_frames)
        outputs.append(_BandPooledEnergy.apply(spectrum, responses, pooling, layout))
        order.extend(group.channels)
    result = torch.cat(outputs, dim=0)
    inverse = torch.empty(len(order), dtype=torch.long, device=device)
    inverse[torch.tensor(order, device=device)] = torch.arange(len(order), device=device)
    return result[inverse].transpose(0, 1).contiguous()


def _plan(
    length: int, hop: int, centers: torch.Tensor, widths: torch.Tensor, pool_widths: torch.Tensor
) -> tuple[int, int, list[_Group]]:
    """DFT length ``N = Q * hop`` and the filter groups, from the current (detached) parameters."""
    mus = centers.detach().double().cpu().tolist()
    sigmas = widths.detach().double().cpu().tolist()
    pools = pool_widths.detach().double().cpu().tolist()
    reach = TAIL * (max(sigmas) + max(pools))
    q = _next_smooth(max(math.ceil((length + reach) / hop), 1 + length // hop))
    n_fft = q * hop
    per_radian = n_fft / (2.0 * math.pi)
    bands = []
    for sigma, pool in zip(sigmas, pools, strict=True):
        need = math.sqrt(2.0) * TAIL * per_radian / sigma + TAIL * per_radian / pool
        bands.append(min(_band_size(math.ceil(need)), n_fft))
    groups = []
    for band in sorted(set(bands)):
        channels = [c for c, m in enumerate(bands) if m == band]
        starts = [round(mus[c] * per_radian) - band // 2 for c in channels]
        narrowest = min(pools[c] for c in channels)
        n_bins = max(1, min(math.ceil(TAIL * per_radian / narrowest) + 1, band // 2))
        groups.append(_Group(channels, band, starts, n_bins))
    return q, n_fft, groups


def _band_size(n: int) -> int:
    """The band size used for ``n`` needed bins: the next ``2^k`` or ``3 * 2^k`` (fast FFT sizes, few
    distinct sizes so that filters share FFT calls; at most 1.5 x ``n``)."""
    return min(_next_power_of_two(n), 3 * _next_power_of_two(-(-n // 3)))


def _next_power_of_two(n: int) -> int:
    return 1 << max(int(n) - 1, 0).bit_length()


def _next_smooth(n: int) -> int:
    """The smallest integer >= ``n`` with no prime factor above 5 (fast FFT sizes)."""
    n = max(int(n), 1)
    while True:
        rest = n
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return n
        n += 1


@dataclass(frozen=True)
class _Layout:
    """Static arguments of :class:`_BandPooledEnergy`."""

    starts: list[int]  # first bin of each filter's band, in [0, N)
    n_bins: int
    q: int  # frames per DFT period: N = q * hop
    n_fft: int
    n_frames: int


class _BandPooledEnergy(torch.autograd.Function):
    """Pooled energies of one group of filters (steps 2-4 of the module docstring) with a hand-written
    backward: ``(spectrum (batch, N), responses (channels, M), pooling (channels, n_bins), layout) ->
    (channels, batch, n_frames)``."""

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        spectrum: torch.Tensor,
        responses: torch.Tensor,
        pooling: torch.Tensor,
        layout: _Layout,
    ) -> torch.Tensor:
        channels, band = responses.shape
        bands = torch.empty(channels, spectrum.shape[0], band, dtype=spectrum.dtype, device=spectrum.device)
        for c, start in enumerate(layout.starts):
            for lo, hi, offset in _pieces(start, band, spectrum.shape[1]):
                torch.mul(
                    spectrum[:, lo:hi],
                    responses[c, offset : offset + hi - lo],
                    out=bands[c, :, offset : offset + hi - lo],
                )
        signal = torch.fft.ifft(bands, dim=-1)
        del bands
        parts = torch.view_as_real(signal)
        energy = parts[..., 0].square()
        energy.addcmul_(parts[..., 1], parts[..., 1])
        low = torch.fft.rfft(energy, dim=-1)[..., : layout.n_bins]  # (channels, batch, n_bins)
        del energy
        ctx.save_for_backward(spectrum, responses, pooling, signal, low)
        ctx.layout = layout
        return _fold_to_frames(low * pooling[:, None, :], layout)

    @staticmethod
    @once_differentiable
    def backward(ctx: torch.autograd.function.FunctionCtx, grad_frames: torch.Tensor) -> tuple:
        spectrum, responses, pooling, signal, low = ctx.saved_tensors
        layout = ctx.layout
        band, n_fft = responses.shape[1], layout.n_fft
        # Adjoint of _fold_to_frames: y[t] = (2 / N) Re sum_f P(f) e^{2 pi i f t / q} - Re P(0) / N.
        padded = torch.nn.functional.pad(grad_frames, (0, layout.q - layout.n_frames))
        periodic = torch.fft.fft(padded, dim=-1) * (2.0 / n_fft)
        repeats = -(-layout.n_bins // layout.q)
        grad_pooled = periodic.repeat(1, 1, repeats)[..., : layout.n_bins]
        grad_pooled[..., 0] -= grad_frames.sum(dim=-1) / n_fft
        grad_pooling = None
        if ctx.needs_input_grad[2]:
            grad_pooling = (grad_pooled * low.conj()).real.sum(dim=1)
        grad_spectrum = grad_responses = None
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            grad_low = grad_pooled * pooling[:, None, :]
            # d/d(energy) through the truncated rfft: a real inverse DFT of the zero-padded gradient;
            # doubling bin 0 makes irfft's Hermitian sum count it once. Its factor band / 2 and the
            # 2 / band of the adjoint of ifft cancel below.
            grad_low[..., 0] *= 2.0
            grad_energy = torch.fft.irfft(grad_low, n=band, dim=-1)
            weighted = torch.fft.fft(signal * grad_energy, dim=-1)  # (channels, batch, band)
            if ctx.needs_input_grad[1]:
                grad_responses = torch.empty_like(responses)
                for c, start in enumerate(layout.starts):
                    for lo, hi, offset in _pieces(start, band, spectrum.shape[1]):
                        product = torch.linalg.vecdot(
                            weighted[c, :, offset : offset + hi - lo], spectrum[:, lo:hi], dim=0
                        )
                        grad_responses[c, offset : offset + hi - lo] = product.real
            if ctx.needs_input_grad[0]:
                grad_spectrum = torch.zeros_like(spectrum)
                for c, start in enumerate(layout.starts):
                    for lo, hi, offset in _pieces(start, band, spectrum.shape[1]):
                        grad_spectrum[:, lo:hi] += (
                            weighted[c, :, offset : offset + hi - lo]
                            * responses[c, offset : offset + hi - lo]
                        )
        return grad_spectrum, grad_responses, grad_pooling, None


def _pieces(start: int, band: int, n_fft: int) -> list[tuple[int, int, int]]:
    """The band ``start ... start + band - 1`` (modulo ``n_fft``) as ``(lo, hi, offset)`` slices of the
    spectrum and where each begins in the band (``band <= n_fft``)."""
    if start + band <= n_fft:
        return [(start, start + band, 0)]
    head = n_fft - start
    return [(start, n_fft, 0), (0, band - head, head)]


def _fold_to_frames(pooled: torch.Tensor, layout: _Layout) -> torch.Tensor:
    """Frames ``y[t] = (1 / N) sum_{|f| < n_bins} Y(f) e^{2 pi i f t / q}`` from the low bins ``f >= 0`` of a
    real signal's spectrum ``Y`` (``N = q * hop``): fold modulo ``q``, one inverse DFT of size ``q``."""
    channels, batch, n_bins = pooled.shape
    repeats = -(-n_bins // layout.q)
    folded = torch.nn.functional.pad(pooled, (0, repeats * layout.q - n_bins))
    folded = folded.reshape(channels, batch, repeats, layout.q).sum(dim=2)
    frames = torch.fft.ifft(folded, dim=-1)[..., : layout.n_frames].real * (2.0 * layout.q / layout.n_fft)
    return frames - pooled[..., :1].real / layout.n_fft
