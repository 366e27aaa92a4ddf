"""CQT against librosa.cqt (the oracle) where librosa's window bandwidth table decides its Nyquist check and
its octave plan (``filter_cutoff``): float64, complex values on every frame, ``sparsity=0``."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

import adaspec

SR = 22050
SIGNAL = np.random.default_rng(11).standard_normal(SR)


def _librosa_cqt(**kwargs: float | int | str) -> np.ndarray:
    return librosa.cqt(SIGNAL, sr=SR, tuning=0.0, sparsity=0.0, **kwargs)


def _error(module: adaspec.CQT, expected: np.ndarray) -> float:
    with torch.no_grad():
        got = module(torch.from_numpy(SIGNAL)).numpy()
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("algorithm", ["multirate", "direct"])
@pytest.mark.parametrize(
    ("n_bins", "top", "hop_length"),
    [
        (36, 2530.0, 512),  # librosa decimates by 2 first: 2.3e-2 off when we did not
        (24, 10100.0, 256),  # librosa takes this top bin: refused as past Nyquist
    ],
)
def test_flattop_follows_librosas_cutoff(n_bins: int, top: float, hop_length: int, algorithm: str) -> None:
    """librosa takes flattop's bandwidth as 2.78 bins (its table), not the 3.77 of the formula."""
    f_min = top / 2 ** ((n_bins - 1) / 12)
    kwargs = dict(hop_length=hop_length, n_bins=n_bins, window="flattop")
    expected = _librosa_cqt(fmin=f_min, **kwargs)
    module = adaspec.CQT(SR, f_min=f_min, algorithm=algorithm, sparsity=0.0, dtype=torch.float64, **kwargs)
    assert _error(module, expected) <= (2e-6 if algorithm == "multirate" else 1e-4)  # 4e-7 and 2e-5


def test_hann_nyquist_limit_is_librosas() -> None:
    """A top bin whose Hann filter reaches past Nyquist with librosa's 1.50018 bins, not with 1.5."""
    alpha = 2 ** (1 / 6)
    alpha = (alpha - 1) / (alpha + 1)
    top = SR / 2 / (1 + 0.5 * 1.50009 * alpha)  # between the two cutoffs
    with pytest.raises(librosa.ParameterError, match="Nyquist"):
        _librosa_cqt(fmin=top / 2, n_bins=13)
    with pytest.raises(ValueError, match=r"n_bins=13 .*Nyquist.*at most 12 bins fit"):
        adaspec.CQT(SR, f_min=top / 2, n_bins=13)
