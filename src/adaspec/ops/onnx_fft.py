"""FFTs that stay exact in ONNX: ``torch.fft``'s eagerly, and under ONNX export a decomposition into
power-of-two FFTs for other lengths.

onnxruntime's CPU DFT is exact only for power-of-two lengths: in float32 it is about 4e-4 (of the largest
value) off for a length of 4000 or 4800 (onnx/onnx#4798), against 1e-7 for torch's FFTs. A length
``n = p * m`` with ``m`` a power of two and ``p`` odd is transformed here as ``p`` FFTs of length ``m`` (of
the samples ``j = r, r + p, r + 2p, ...``), twiddle factors, and a ``p``-point DFT written as real matrix
products (one Cooley-Tukey step): exact in onnxruntime to float precision. Front-ends keep ``p`` small under
ONNX export by choosing power-of-two FFT lengths where they can (see
:func:`adaspec.ops.fft_sizes.next_smooth_size`); ``p`` is then the odd part of the hop or FFT size.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._tracing import is_exporting_onnx


def rfft(signal: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """``torch.fft.rfft(signal, n)`` over the last axis.

    Args:
        signal: real ``(..., time)`` tensor.
        n: transform length (the signal is cut or zero-padded to it); default its length.

    Returns:
        ``(..., n // 2 + 1)`` complex tensor.
    """
    n = signal.shape[-1] if n is None else n
    if not _decomposed(n):
        return torch.fft.rfft(signal, n=n)
    fitted = _fit(signal, n)
    real, imag = _transform(fitted, torch.zeros_like(fitted), inverse=False)
    return torch.complex(real[..., : n // 2 + 1], imag[..., : n // 2 + 1])


def fft(signal: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``torch.fft.fft(signal, dim=dim)`` (real or complex input).

    Args:
        signal: ``(..., n, ...)`` tensor.
        dim: the axis to transform.

    Returns:
        The complex transform, same shape.
    """
    return _complex_transform(signal, dim, inverse=False)


def ifft(spectrum: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``torch.fft.ifft(spectrum, dim=dim)`` (normalised by ``1 / n``).

    Args:
        spectrum: ``(..., n, ...)`` tensor.
        dim: the axis to transform.

    Returns:
        The complex inverse transform, same shape.
    """
    return _complex_transform(spectrum, dim, inverse=True)


def _decomposed(n: int) -> bool:
    """Whether a transform of length ``n`` takes the power-of-two decomposition (ONNX export, ``n`` not a
    power of two)."""
    return n & (n - 1) != 0 and is_exporting_onnx()


def _complex_transform(values: torch.Tensor, dim: int, inverse: bool) -> torch.Tensor:
    n = values.shape[dim]
    if not _decomposed(n):
        return torch.fft.ifft(values, dim=dim) if inverse else torch.fft.fft(values, dim=dim)
    moved = values.movedim(dim, -1)
    if moved.is_complex():
        real, imag = moved.real, moved.imag
    else:
        real, imag = moved, torch.zeros_like(moved)
    real, imag = _transform(real, imag, inverse)
    return torch.complex(real, imag).movedim(-1, dim)


def _fit(signal: torch.Tensor, n: int) -> torch.Tensor:
    """``signal`` cut or zero-padded to ``n`` samples."""
    if signal.shape[-1] >= n:
        return signal[..., :n]
    return torch.nn.functional.pad(signal, (0, n - signal.shape[-1]))


def _transform(real: torch.Tensor, imag: torch.Tensor, inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The DFT (``inverse``: the inverse DFT, with ``1 / n``) of ``real + i imag`` along the last axis, as
    real and imaginary parts, through FFTs of its largest power-of-two factor ``m``."""
    n = real.shape[-1]
    m = n & -n
    p = n // m
    sign = 1.0 if inverse else -1.0
    # Row r holds samples r, r + p, r + 2p, ...: (..., p, m).
    rows = torch.complex(real, imag).unflatten(-1, (m, p)).transpose(-1, -2)
    inner = torch.fft.ifft(rows, norm="forward") if inverse else torch.fft.fft(rows)
    inner_real, inner_imag = inner.real, inner.imag
    dtype, device = real.dtype, real.device
    twiddle = sign * 2.0 * math.pi / n * np.outer(np.arange(p), np.arange(m))
    cos, sin = (torch.from_numpy(f(twiddle)).to(device, dtype) for f in (np.cos, np.sin))
    turned_real = inner_real * cos - inner_imag * sin
    turned_imag = inner_real * sin + inner_imag * cos
    # The p-point DFT across rows: output bin k1 + m k2 sits at [k2, k1].
    outer = sign * 2.0 * math.pi / p * np.outer(np.arange(p), np.arange(p))
    dft_cos, dft_sin = (torch.from_numpy(f(outer)).to(device, dtype) for f in (np.cos, np.sin))
    out_real = dft_cos @ turned_real - dft_sin @ turned_imag
    out_imag = dft_sin @ turned_real + dft_cos @ turned_imag
    scale = 1.0 / n if inverse else 1.0
    return (out_real * scale).flatten(-2), (out_imag * scale).flatten(-2)
