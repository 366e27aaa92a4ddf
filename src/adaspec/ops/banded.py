"""Spectra times banded frequency-domain kernels: a sparse kernel product as a few dense blocks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def interleaved_weights(real_weights: np.ndarray, imag_weights: np.ndarray) -> torch.Tensor:
    """One block's weights for :func:`banded_product`: output row ``r`` is ``sum_k real_weights[r, k]
    Re X[k] + imag_weights[r, k] Im X[k]``.

    Args:
        real_weights: ``(rows, width)`` complex weights of the spectrum's real parts.
        imag_weights: ``(rows, width)`` complex weights of its imaginary parts.

    Returns:
        ``(2 width, 2 rows)`` real float64 tensor: row ``2k`` (``2k + 1``) multiplies ``Re X[k]`` (``Im
        X[k]``), column ``2r`` (``2r + 1``) gives the real (imaginary) part of output ``r``, the order of
        ``torch.view_as_real``.
    """
    rows, width = real_weights.shape
    weights = np.empty((width, 2, rows, 2), dtype=np.float64)
    for part, values in enumerate((real_weights, imag_weights)):
        weights[:, part, :, 0] = values.real.T
        weights[:, part, :, 1] = values.imag.T
    return torch.from_numpy(weights.reshape(2 * width, 2 * rows))


def banded_product(spectrum: torch.Tensor, blocks: Sequence[tuple[int, torch.Tensor]]) -> torch.Tensor:
    """``sum_k P[b, k] Re spectrum[..., k] + Q[b, k] Im spectrum[..., k]`` for weights that are zero
    outside one band per block (a complex product ``K X`` is ``P = K``, ``Q = iK``; a product with the
    conjugate as well, as real frames' two-sided kernels need, is any other pair).

    A block ``(low, weights)`` holds the rows of consecutive output bins whose non-zero weights all lie in
    columns ``low ... low + width - 1``; it costs one real matrix product of the spectrum's band, viewed
    as reals, instead of a product with the whole (mostly zero) kernel matrix.

    Args:
        spectrum: ``(..., n_freqs)`` complex tensor (e.g. the rfft of frames).
        blocks: ``(low, weights)`` pairs in output order, ``weights`` from :func:`interleaved_weights`.

    Returns:
        ``(..., total_rows)`` complex tensor.
    """
    parts = []
    for low, weights in blocks:
        width = weights.shape[0] // 2
        band = torch.view_as_real(spectrum[..., low : low + width]).flatten(-2)
        parts.append(band @ weights.to(band.dtype))
    return torch.view_as_complex(torch.cat(parts, dim=-1).unflatten(-1, (-1, 2)))
