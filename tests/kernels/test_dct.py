"""The DCT-II matrix at the smallest sizes and its parameter checks (the usual sizes against scipy are in
tests/frontends/test_mfcc.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
import torch

from adaspec.kernels import dct_matrix


@pytest.mark.parametrize(("n_out", "n_in"), [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3)])
def test_smallest_dct_matrices_are_scipys(n_out, n_in):
    expected = scipy.fft.dct(np.eye(n_in), type=2, norm="ortho", axis=0)[:n_out]
    np.testing.assert_allclose(dct_matrix(n_out, n_in, dtype=torch.float64).numpy(), expected, atol=1e-15)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 4), {}, "n_out must be a positive integer"),
        ((2, 0), {}, "n_in must be a positive integer"),
        ((2.0, 4), {}, "n_out must be a positive integer"),
        ((5, 4), {}, r"n_out \(n_mfcc\) must be <= n_in"),
        ((2, 4), {"dtype": torch.int64}, "dtype must be None or a real floating-point"),
    ],
)
def test_dct_matrix_refuses_bad_parameters(args, kwargs, match):
    """``dtype=torch.int64`` truncated the matrix (entries below 1) to zeros."""
    with pytest.raises(ValueError, match=match):
        dct_matrix(*args, **kwargs)
