"""Spectra times banded frequency-domain kernels: a sparse kernel product as a few dense blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def banded_product(spectrum: torch.Tensor, blocks: Sequence[tuple[int, torch.Tensor]]) -> torch.Tensor:
    """``sum_k spectrum[..., k] * kernel[b, k]`` for kernels that are zero outside one band per block.

    A block ``(low, kernel)`` holds the rows of consecutive output bins whose non-zero entries all lie in
    columns ``low ... low + kernel.shape[0] - 1``; it costs one small complex GEMM instead of a product
    with the whole (mostly zero) kernel matrix.

    Args:
        spectrum: ``(..., n_freqs)`` complex tensor (e.g. the rfft of frames).
        blocks: ``(low, kernel)`` pairs in output order, ``kernel`` real of shape ``(width, rows, 2)``
            (real and imaginary parts, transposed for the product).

    Returns:
        ``(..., total_rows)`` complex tensor.
    """
    parts = []
    for low, kernel in blocks:
        weights = torch.view_as_complex(kernel.to(spectrum.real.dtype).contiguous())
        parts.append(spectrum[..., low : low + weights.shape[0]] @ weights)
    return torch.cat(parts, dim=-1)
