"""Linear (not circular) convolution of signals with a bank of long filters, by FFT, evaluated only every
``hop_length`` samples.

For filters ``h_c`` and an offset ``o`` the result is ``y[b, c, k] = sum_m h_c[m] x_b[k hop + o - m]`` with
``x_b`` zero outside its samples. With ``N = Q * hop >= time + taps - 1`` (``Q`` 5-smooth) a DFT of length
``N`` makes the convolution circular without wrap-around: ``Z_c = X H_c`` where ``X`` is the DFT of the
signal advanced by ``o`` samples (circularly, into the zero padding). Sampling the inverse DFT every
``hop`` samples aliases the spectrum modulo ``Q``:

    ``y[k hop] = (1 / N) sum_{r < Q} (sum_p Z(p Q + r)) exp(2 pi i r k / Q)``

so each filter costs ``N`` multiply-adds (one batched matrix product over the ``hop`` bins that fold onto
each of the ``Q`` output bins) and an inverse FFT of size ``Q`` instead of ``N``. Real filters use the half
spectrum (the fold of the Hermitian-weighted bins ``0 ... N / 2``, then the real part). Every bin is kept,
so the result equals direct convolution to rounding, whatever the filters' spectra look like.
"""

from __future__ import annotations

import math

import torch

from .._validation import check_non_negative_int, check_positive_int
from .fft_sizes import next_smooth_size

#: Filters are transformed in chunks of at most this many spectrum values (bounds the working memory).
CHUNK_ELEMENTS = 1 << 22


def decimated_fft_convolution(
    waveform: torch.Tensor, taps: torch.Tensor, offset: int, hop_length: int
) -> torch.Tensor:
    """``y[b, c, k] = sum_m taps[c, m] waveform[b, k * hop_length + offset - m]`` (zero outside).

    Args:
        waveform: ``(batch, time)`` real tensor.
        taps: ``(n_filters, n_taps)`` real or complex filters (cast to ``waveform``'s precision).
        offset: output offset, ``0 <= offset < n_taps`` (``n_taps // 2`` for centred filters).
        hop_length: samples between outputs; ``k = 0 ... (time - 1) // hop_length``.

    Returns:
        ``(batch, n_filters, 1 + (time - 1) // hop_length)``, complex if ``taps`` is complex, else real;
        differentiable in ``waveform`` and ``taps``.
    """
    hop = check_positive_int("hop_length", hop_length)
    offset = check_non_negative_int("offset", offset)
    batch, length = waveform.shape
    n_filters, n_taps = taps.shape
    if offset >= n_taps:
        raise ValueError(f"offset must be < n_taps ({n_taps}), got {offset}")
    n_frames = 1 + (length - 1) // hop
    q = next_smooth_size(max(math.ceil((length + n_taps - 1) / hop), n_frames))
    n_fft = q * hop
    real = not taps.is_complex()
    taps = taps.to(
        device=waveform.device,
        dtype=waveform.dtype if real else torch.promote_types(waveform.dtype, torch.complex64),
    )
    transform = torch.fft.rfft if real else torch.fft.fft
    # The signal advanced by `offset`: its first `offset` samples wrap into the end of the zero padding.
    gap = waveform.new_zeros(batch, n_fft - length)
    advanced = torch.cat([waveform[:, offset:], gap, waveform[:, :offset]], dim=-1)
    spectrum = transform(advanced)
    n_bins = spectrum.shape[-1]
    if real:  # y = Re((1 / N) sum_{f <= N / 2} w_f Z(f) ...): weight 2 except DC and (even N) Nyquist
        weights = torch.full((n_bins,), 2.0, dtype=waveform.dtype, device=waveform.device)
        weights[0] = 1.0
        if n_fft % 2 == 0:
            weights[-1] = 1.0
        spectrum = spectrum * weights
    folds = -(-n_bins // q)
    spectrum = _fold_layout(spectrum, folds, q)  # (q, batch, folds)
    chunk = max(1, CHUNK_ELEMENTS // n_fft)
    outputs = []
    for start in range(0, n_filters, chunk):
        responses = _fold_layout(transform(taps[start : start + chunk], n=n_fft), folds, q)
        folded = _ContiguousGrad.apply(
            torch.matmul(spectrum, responses.transpose(1, 2))
        )  # (q, batch, filters)
        outputs.append(torch.fft.ifft(folded, dim=0)[:n_frames])
    result = torch.cat(outputs, dim=-1).permute(1, 2, 0) * (1.0 / hop)
    return result.real.contiguous() if real else result.contiguous()


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous: the inverse FFT over the first dimension
    hands back gradients strided along it, and batched matrix products over such strides (the backward
    of the fold) fall back to kernels about 100 times slower."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.view_as(tensor)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return grad.contiguous()


def _fold_layout(spectrum: torch.Tensor, folds: int, q: int) -> torch.Tensor:
    """``(rows, n_bins)`` -> contiguous ``(q, rows, folds)`` with bin ``p * q + r`` at ``[r, :, p]``
    (zero-padded): the layout batched matrix products need (permuted views fall back to slow kernels)."""
    padded = torch.nn.functional.pad(spectrum, (0, folds * q - spectrum.shape[-1]))
    return padded.reshape(spectrum.shape[0], folds, q).permute(2, 0, 1).contiguous()
