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
from collections.abc import Iterator

import torch

from .._validation import check_non_negative_int, check_positive_int
from . import onnx_fft
from ._batch import map_signals
from .fft_sizes import next_smooth_size
from .padding import pad_end

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
    taps = taps.to(waveform.device)
    spectra = FilterSpectra(taps, offset, waveform.shape[-1], hop_length, dtype=waveform.dtype, keep=False)
    return spectra.apply(waveform)


class FilterSpectra:
    """The filters' DFTs in the folded layout :func:`decimated_fft_convolution` multiplies with, for
    signals of one length, hop and dtype: build once and :meth:`apply` to many batches while the filters
    stay the same (a CWT with fixed wavelets), which skips the filters' FFTs (most of the work for one
    batch). Built from taps that require grad, :meth:`apply` is differentiable in them as well.

    Memory: about ``n_filters x N`` values (complex, or real filters' half spectra) with
    ``N >= time + n_taps - 1``; with ``keep=False`` nothing is precomputed and each :meth:`apply` transforms
    the filters chunk by chunk (at most :data:`CHUNK_ELEMENTS` values at a time).

    Args:
        taps: ``(n_filters, n_taps)`` real or complex filters.
        offset: output offset, ``0 <= offset < n_taps``.
        length: samples per signal.
        hop_length: samples between outputs.
        dtype: real floating dtype of the signals (the taps are cast to its precision).
        keep: precompute and hold the spectra (default); ``False`` computes them in every :meth:`apply`.
    """

    def __init__(
        self,
        taps: torch.Tensor,
        offset: int,
        length: int,
        hop_length: int,
        dtype: torch.dtype,
        keep: bool = True,
    ) -> None:
        self.hop = check_positive_int("hop_length", hop_length)
        self.offset = check_non_negative_int("offset", offset)
        self.length = check_positive_int("length", length)
        n_filters, n_taps = taps.shape
        if self.offset >= n_taps:
            raise ValueError(f"offset must be < n_taps ({n_taps}), got {offset}")
        self.dtype, self.device = dtype, taps.device
        self.n_frames = 1 + (self.length - 1) // self.hop
        self.q = next_smooth_size(max(math.ceil((self.length + n_taps - 1) / self.hop), self.n_frames))
        self.n_fft = self.q * self.hop
        self.real = not taps.is_complex()
        taps = taps.to(dtype=dtype if self.real else torch.promote_types(dtype, torch.complex64))
        self.n_bins = self.n_fft // 2 + 1 if self.real else self.n_fft
        self.folds = -(-self.n_bins // self.q)
        self.n_filters = n_filters
        self._taps = taps
        self.chunks: list[torch.Tensor] | None = None
        if keep:
            self.hold()

    def hold(self) -> None:
        """Compute the spectra now and hold them for every later :meth:`apply` (:attr:`n_elements` values)."""
        if self.chunks is None:
            self.chunks = list(self._spectra())

    def _spectra(self) -> Iterator[torch.Tensor]:
        """The folded filter spectra, ``(q, filters, folds)`` per chunk of filters."""
        transform = onnx_fft.rfft if self.real else onnx_fft.fft
        chunk = max(1, CHUNK_ELEMENTS // self.n_fft)
        for start in range(0, self.n_filters, chunk):
            taps = self._taps[start : start + chunk]
            # Padded by hand, not by the transform's n=: an exported program then pads complex filters as
            # real pairs (see pad_end), which ONNX can express.
            padded = pad_end(taps, self.n_fft - taps.shape[-1])
            yield _fold_layout(transform(padded), self.folds, self.q)

    @property
    def n_elements(self) -> int:
        """Spectrum values the kept spectra take (the memory cost of ``keep=True``)."""
        return self.n_filters * self.q * self.folds

    def apply(self, waveform: torch.Tensor) -> torch.Tensor:
        """Convolve ``(batch, length)`` signals of the dtype and device given at construction.

        Returns:
            ``(batch, n_filters, 1 + (length - 1) // hop_length)``, as :func:`decimated_fft_convolution`.
        """
        length = waveform.shape[-1]
        if length != self.length or waveform.dtype != self.dtype or waveform.device != self.device:
            raise ValueError(
                f"waveform must have {self.length} samples, dtype {self.dtype} and device {self.device} "
                f"(the filter spectra's), got {length}, {waveform.dtype} and {waveform.device}"
            )
        return map_signals(self._convolve, waveform)

    def _convolve(self, waveform: torch.Tensor) -> torch.Tensor:
        """:meth:`apply` to a non-empty ``(batch, length)`` batch."""
        batch, length = waveform.shape
        # The zero-padded signal advanced circularly by `offset` (< n_fft): its first `offset` samples wrap
        # into the end. Rotating the padded signal, not the signal, keeps an offset above the signal's
        # length right (then zeros of the padding wrap too, and the signal starts n_fft - offset in).
        padded = torch.cat([waveform, waveform.new_zeros(batch, self.n_fft - length)], dim=-1)
        advanced = torch.cat([padded[:, self.offset :], padded[:, : self.offset]], dim=-1)
        spectrum = (onnx_fft.rfft if self.real else onnx_fft.fft)(advanced)
        # Real filters: y = Re((1 / N) sum_{f <= N / 2} w_f Z(f) ...), w_f = 2 except DC and (even N) Nyquist.
        if self.real:
            weights = torch.full((self.n_bins,), 2.0, dtype=waveform.dtype, device=waveform.device)
            weights[0] = 1.0
            if self.n_fft % 2 == 0:
                weights[-1] = 1.0
            spectrum = spectrum * weights
        spectrum = _fold_layout(spectrum, self.folds, self.q)  # (q, batch, folds)
        outputs = []
        for responses in self.chunks if self.chunks is not None else self._spectra():
            folded = _ContiguousGrad.apply(
                torch.matmul(spectrum, responses.transpose(1, 2))
            )  # (q, batch, filters)
            outputs.append(onnx_fft.ifft(folded, dim=0)[: self.n_frames])
        result = torch.cat(outputs, dim=-1).permute(1, 2, 0) * (1.0 / self.hop)
        return result.real.contiguous() if self.real else result.contiguous()


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
    padded = pad_end(spectrum, folds * q - spectrum.shape[-1])
    return padded.reshape(spectrum.shape[0], folds, q).permute(2, 0, 1).contiguous()
