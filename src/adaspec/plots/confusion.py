"""Confusion-matrix images as PNG files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .figure import new_figure, save_figure


def confusion_figure_size(n_classes: int) -> tuple[float, float]:
    """Figure size in inches for ``n_classes`` classes (grows with the class count, 5 to 14 inches)."""
    side = float(np.clip(2.5 + 0.4 * n_classes, 5.0, 14.0))
    return side + 1.0, side


def save_confusion_matrix(
    matrix: np.ndarray,
    class_names: Sequence[str],
    path: str | Path,
    title: str | None = None,
    normalize: bool = True,
    *,
    dpi: int = 100,
) -> Path:
    """Write a confusion matrix (rows = true, columns = predicted) as a PNG.

    Every non-zero cell is annotated with its count. With ``normalize`` the colours show each row as a
    fraction of its true class (empty rows stay 0), else the raw counts. Fonts shrink and the figure grows
    with the class count so that about 30 classes stay readable.

    Args:
        matrix: ``(n_classes, n_classes)`` non-negative counts.
        class_names: one name per class.
        path: output file; parent folders are created.
        title: figure title.
        normalize: colour by row fraction instead of count.
        dpi: dots per inch (the image is :func:`confusion_figure_size` times ``dpi`` pixels).

    Returns:
        The path written.

    Raises:
        ValueError: if ``matrix`` is not square, does not match ``class_names`` or has negative entries.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    n = len(class_names)
    if counts.ndim != 2 or counts.shape != (n, n) or n == 0:
        raise ValueError(
            f"matrix must be square with one row and column per class ({n} x {n}), got shape {counts.shape}"
        )
    if np.any(counts < 0):
        raise ValueError("matrix must hold non-negative counts, got a negative entry")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        colours = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        vmax, label = 1.0, "fraction of true class"
    else:
        colours = counts
        vmax, label = max(float(counts.max()), 1.0), "count"
    font = float(np.clip(13.0 - 0.3 * n, 5.0, 11.0))
    figure = new_figure(confusion_figure_size(n), dpi)
    axis = figure.add_subplot(1, 1, 1)
    image = axis.imshow(colours, cmap="Blues", vmin=0.0, vmax=vmax, interpolation="nearest")
    for row, col in zip(*np.nonzero(counts), strict=True):
        dark = colours[row, col] > 0.5 * vmax
        colour = "white" if dark else "black"
        axis.text(col, row, f"{counts[row, col]:g}", ha="center", va="center", fontsize=font, color=colour)
    ticks = np.arange(n)
    axis.set_xticks(ticks, [str(name) for name in class_names], rotation=90, fontsize=font)
    axis.set_yticks(ticks, [str(name) for name in class_names], fontsize=font)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    if title:
        axis.set_title(title)
    figure.colorbar(image, ax=axis, fraction=0.046, pad=0.04, label=label)
    figure.tight_layout()
    return save_figure(figure, path, "png")
