"""Confusion-matrix PNGs."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from adaspec.plots.confusion import confusion_figure_size, save_confusion_matrix

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_small_matrix(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 0]])
    path = save_confusion_matrix(
        matrix, ["cat", "dog", "bird"], tmp_path / "deep" / "cm.png", title="t", dpi=50
    )
    assert path == tmp_path / "deep" / "cm.png"
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    width, height = confusion_figure_size(3)
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (round(height * 50), round(width * 50))
    assert image[..., :3].std() > 0.05  # not a blank canvas


def test_thirty_classes_with_counts(tmp_path):
    rng = np.random.default_rng(0)
    matrix = rng.integers(0, 20, size=(30, 30)) + np.diag(np.full(30, 200))
    names = [f"class with a long name {i}" for i in range(30)]
    path = save_confusion_matrix(matrix, names, tmp_path / "cm30.png", normalize=False, dpi=40)
    width, height = confusion_figure_size(30)
    assert (width, height) == (15.0, 14.0)
    assert matplotlib.image.imread(path).shape[:2] == (round(height * 40), round(width * 40))


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="matrix must be square"):
        save_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="matrix must be square"):
        save_confusion_matrix(np.zeros((2, 2)), ["a", "b", "c"], tmp_path / "x.png")
    with pytest.raises(ValueError, match="non-negative"):
        save_confusion_matrix(-np.eye(2), ["a", "b"], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
