"""Orthonormal DCT-II matrix (scipy.fft.dct(type=2, norm="ortho") as a matrix)."""

from __future__ import annotations

import numpy as np
import torch

from .._validation import check_dtype, check_positive_int


def dct_matrix(n_out: int, n_in: int, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """First ``n_out`` rows of the orthonormal DCT-II of length ``n_in``.

    Args:
        n_out: number of coefficients kept (<= ``n_in``).
        n_in: transform length.
        dtype: real floating-point result dtype (built in float64).

    Returns:
        ``(n_out, n_in)`` matrix ``D`` with ``D @ x == scipy.fft.dct(x, type=2, norm="ortho")[:n_out]``.
    """
    dtype = check_dtype(dtype)
    check_positive_int("n_in", n_in)
    check_positive_int("n_out", n_out)
    if n_out > n_in:
        raise ValueError(f"n_out (n_mfcc) must be <= n_in (n_mels, {n_in}), got {n_out}")
    k = np.arange(n_out, dtype=np.float64)[:, None]
    n = np.arange(n_in, dtype=np.float64)[None, :]
    matrix = np.cos(np.pi * k * (2.0 * n + 1.0) / (2.0 * n_in)) * np.sqrt(2.0 / n_in)
    matrix[0] /= np.sqrt(2.0)
    return torch.from_numpy(matrix).to(dtype)
