"""Figures of a front-end study: validation curves, confusion matrices and learned front-ends per variant."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .figure import new_figure, save_figure


@dataclass
class LearnedFrontend:
    """What one variant learned, ready to draw.

    Attributes:
        variant: the variant's name (row title).
        initial_window: the window before training (``None`` when no window was learned).
        windows: ``{label: learned window}``, e.g. one per channel.
        changes: ``{label: mean |after - before| per row}`` of 2-D parameters (DFT kernels per frequency
            bin, mel filters per band).
        change_axis: x label of the change panel.
    """

    variant: str
    initial_window: np.ndarray | None = None
    windows: dict[str, np.ndarray] = field(default_factory=dict)
    changes: dict[str, np.ndarray] = field(default_factory=dict)
    change_axis: str = "row"


def _save(figure, path: str | Path, rect: tuple[float, float, float, float] | None = None) -> Path:
    """Lay out (within ``rect`` of the figure, default all of it) and write a PNG (atomically)."""
    figure.tight_layout(rect=rect)
    return save_figure(figure, path, "png")


def save_validation_curves(
    curves: Mapping[str, Sequence[Sequence[float]]],
    path: str | Path,
    title: str | None = None,
    *,
    dpi: int = 100,
) -> Path:
    """Validation accuracy per epoch: the mean over seeds per variant, with a min-max band.

    Args:
        curves: ``{variant: [per-seed values per epoch, ...]}``; seeds may have run different numbers of
            epochs (early stopping): each epoch averages the seeds that reached it.
        path: output PNG; parent folders are created.
        title: figure title.

    Raises:
        ValueError: when ``curves`` is empty.
    """
    if not curves:
        raise ValueError("curves must hold at least one variant, got none")
    from matplotlib.ticker import MaxNLocator

    figure = new_figure((9.0, 5.5), dpi)
    axis = figure.add_subplot(1, 1, 1)
    for index, (variant, seeds) in enumerate(curves.items()):
        length = max((len(values) for values in seeds), default=0)
        if length == 0:
            continue
        table = np.full((len(seeds), length), np.nan)
        for row, values in enumerate(seeds):
            table[row, : len(values)] = values
        epochs = np.arange(1, length + 1)
        colour = f"C{index % 10}"
        mean = np.nanmean(table, axis=0)
        axis.plot(epochs, mean, marker="o", markersize=3, color=colour, label=f"{variant} (n={len(seeds)})")
        axis.fill_between(
            epochs, np.nanmin(table, axis=0), np.nanmax(table, axis=0), color=colour, alpha=0.15
        )
    axis.set_xlabel("epoch")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("validation accuracy (file level)")
    axis.set_ylim(-0.02, 1.02)
    axis.grid(alpha=0.3)
    if axis.lines:  # no run has a validation curve yet: no legend (matplotlib warns on an empty one)
        axis.legend(fontsize=8, loc="lower right")
    axis.set_title(title or "validation accuracy: mean over seeds, band = min to max")
    return _save(figure, path)


def save_confusion_grid(
    matrices: Mapping[str, np.ndarray],
    class_names: Sequence[str],
    path: str | Path,
    title: str | None = None,
    *,
    dpi: int = 100,
) -> Path:
    """One row-normalised confusion matrix (rows = true class) per variant, counts annotated.

    Raises:
        ValueError: when ``matrices`` is empty or a matrix does not match ``class_names``.
    """
    n = len(class_names)
    if not matrices:
        raise ValueError("matrices must hold at least one variant, got none")
    for variant, matrix in matrices.items():
        if np.shape(matrix) != (n, n):
            raise ValueError(
                f"matrix of {variant!r} must be {n} x {n} (one per class), got {np.shape(matrix)}"
            )
    columns = min(len(matrices), 3)
    rows = math.ceil(len(matrices) / columns)
    side = float(np.clip(1.5 + 0.35 * n, 3.5, 9.0))
    figure = new_figure((side * columns + 1.0, side * rows + 0.6), dpi)
    font = float(np.clip(11.0 - 0.3 * n, 4.0, 9.0))
    ticks = np.arange(n)
    names = [str(name) for name in class_names]
    for index, (variant, matrix) in enumerate(matrices.items()):
        counts = np.asarray(matrix, dtype=np.float64)
        totals = counts.sum(axis=1, keepdims=True)
        fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
        axis = figure.add_subplot(rows, columns, index + 1)
        axis.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
        if n <= 15:
            for row, col in zip(*np.nonzero(counts), strict=True):
                colour = "white" if fractions[row, col] > 0.5 else "black"
                axis.text(
                    col, row, f"{counts[row, col]:g}", ha="center", va="center", fontsize=font, color=colour
                )
        accuracy = np.trace(counts) / max(counts.sum(), 1.0)
        axis.set_title(f"{variant} (accuracy {accuracy:.3f})", fontsize=9)
        axis.set_xticks(ticks, names, rotation=90, fontsize=font)
        axis.set_yticks(ticks, names, fontsize=font)
        axis.set_xlabel("predicted", fontsize=8)
        axis.set_ylabel("true", fontsize=8)
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def save_learned_frontends(
    learned: Sequence[LearnedFrontend], path: str | Path, title: str | None = None, *, dpi: int = 100
) -> Path:
    """One row per variant: learned windows against the initial one, and the mean kernel/filter change.

    Raises:
        ValueError: when there is nothing to draw.
    """
    rows = [item for item in learned if item.windows or item.changes]
    if not rows:
        raise ValueError("learned must hold at least one variant with a learned window or kernel")
    figure = new_figure((12.0, 0.6 + 3.0 * len(rows)), dpi)
    grid = figure.add_gridspec(len(rows), 2)
    for row, item in enumerate(rows):
        both = bool(item.windows) and bool(item.changes)
        if item.windows:
            axis = figure.add_subplot(grid[row, 0] if both else grid[row, :])
            if item.initial_window is not None:
                axis.plot(item.initial_window, color="black", linestyle="--", label="initial")
            for label, window in item.windows.items():
                axis.plot(window, label=label, alpha=0.85, marker="o" if len(window) < 3 else None)
            is_window = item.initial_window is not None  # else 1-D parameters (centres, bandwidths, ...)
            axis.set_title(f"{item.variant}: {'window' if is_window else 'learned parameters'}", fontsize=9)
            axis.set_xlabel("sample" if is_window else "index", fontsize=8)
            axis.legend(fontsize=7)
        if item.changes:
            axis = figure.add_subplot(grid[row, 1] if both else grid[row, :])
            for label, change in item.changes.items():
                axis.plot(change, label=label, alpha=0.85, marker="o" if len(change) < 3 else None)
            axis.set_title(f"{item.variant}: mean |after - before|", fontsize=9)
            axis.set_xlabel(item.change_axis, fontsize=8)
            axis.legend(fontsize=7)
    figure.suptitle(title or "learned front-ends (first seed)")
    top = 1.0 - 0.45 / figure.get_figheight()  # room for the title above the first row's titles
    return _save(figure, path, rect=(0.0, 0.0, 1.0, top))
