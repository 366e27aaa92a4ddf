"""Learned front-end parameters before vs after training, as a PNG."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .figure import new_figure, save_figure

logger = logging.getLogger(__name__)

_ROW_HEIGHT = 2.8
_WIDTH = 13.0


def frontend_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """Detached CPU copies of all parameters of ``module`` and its sub-modules (dotted names).

    Take one before and one after training and pass both to :func:`save_frontend_comparison`.
    """
    return {name: p.detach().to("cpu", copy=True) for name, p in module.named_parameters()}


def _as_array(tensor: torch.Tensor) -> np.ndarray:
    """float64 numpy view for drawing: complex as magnitude, 0-D as one value, >2-D as (dim 0, rest)."""
    values = tensor.detach().cpu()
    values = values.abs() if values.is_complex() else values
    values = values.double().numpy()
    if values.ndim == 0:
        return values.reshape(1)
    return values.reshape(values.shape[0], -1) if values.ndim > 2 else values


def _pairs(
    before: Mapping[str, torch.Tensor], after: Mapping[str, torch.Tensor]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Names in both mappings with equal, non-empty shapes, as float arrays (others logged and skipped)."""
    pairs = []
    for name, old in before.items():
        if name not in after:
            continue
        new = after[name]
        if tuple(old.shape) != tuple(new.shape):
            shapes = tuple(old.shape), tuple(new.shape)
            logger.info("front-end plot: skipping %s, shape %s before and %s after", name, *shapes)
        elif old.numel() > 0:
            pairs.append((name, _as_array(old), _as_array(new)))
    return pairs


def comparison_figure_size(n_rows: int) -> tuple[float, float]:
    """Figure size in inches for ``n_rows`` parameters (one row each, at least one row)."""
    return _WIDTH, 0.8 + _ROW_HEIGHT * max(n_rows, 1)


def _draw_curve(axis, name: str, old: np.ndarray, new: np.ndarray, note: str) -> None:
    axis.plot(old, label="before", color="tab:blue")
    axis.plot(new, label="after", color="tab:orange", linestyle="--")
    axis.set_title(f"{name} ({note})", fontsize=9)
    axis.set_xlabel("index", fontsize=8)
    axis.legend(fontsize=8)


def _draw_images(figure, axes, name: str, old: np.ndarray, new: np.ndarray, note: str) -> None:
    low, high = float(min(old.min(), new.min())), float(max(old.max(), new.max()))
    diff = new - old
    spread = float(np.abs(diff).max()) or 1.0
    panels = (
        (old, "before", "viridis", low, high),
        (new, "after", "viridis", low, high),
        (diff, f"after - before ({note})", "RdBu_r", -spread, spread),
    )
    for axis, (values, label, cmap, vmin, vmax) in zip(axes, panels, strict=True):
        image = axis.imshow(
            values, aspect="auto", origin="lower", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
        )
        axis.set_title(f"{name}: {label}", fontsize=9)
        axis.tick_params(labelsize=7)
        figure.colorbar(image, ax=axis)


def save_frontend_comparison(
    before: Mapping[str, torch.Tensor],
    after: Mapping[str, torch.Tensor],
    path: str | Path,
    title: str | None = None,
    *,
    dpi: int = 100,
) -> Path:
    """Draw front-end parameters before and after training, one row per parameter.

    A 1-D parameter (a window) is drawn as two curves on one axis; a 2-D one (Fourier kernels
    ``(freq, n_fft)``, a mel filterbank ``(n_mels, freq)``) as three images: before, after and
    after - before. 0-D parameters count as 1-D, >2-D ones are flattened to ``(dim 0, rest)``, complex
    ones are drawn as magnitudes. Names missing from either mapping, empty tensors and names whose shapes
    differ are skipped (logged at INFO). When nothing changed, the title says "unchanged (nothing learned)".

    Args:
        before: ``{name: tensor}`` before training (see :func:`frontend_state`).
        after: ``{name: tensor}`` after training.
        path: output file; parent folders are created.
        title: figure title (default "front-end parameters before vs after training").
        dpi: dots per inch (the image is :func:`comparison_figure_size` times ``dpi`` pixels).

    Returns:
        The path written.
    """
    pairs = _pairs(before, after)
    changed = [name for name, old, new in pairs if not np.array_equal(old, new)]
    heading = title or "front-end parameters before vs after training"
    if not pairs:
        heading += "\nno parameters to compare"
    elif not changed:
        heading += "\nunchanged (nothing learned)"
        logger.info("front-end plot: no parameter changed (nothing learned)")
    figure = new_figure(comparison_figure_size(len(pairs)), dpi)
    figure.suptitle(heading)
    grid = figure.add_gridspec(max(len(pairs), 1), 3)
    for row, (name, old, new) in enumerate(pairs):
        note = f"max |change| {np.abs(new - old).max():.3g}" if name in changed else "unchanged"
        if old.ndim == 1:
            _draw_curve(figure.add_subplot(grid[row, :]), name, old, new, note)
        else:
            axes = [figure.add_subplot(grid[row, col]) for col in range(3)]
            _draw_images(figure, axes, name, old, new, note)
    figure.tight_layout()
    return save_figure(figure, path, "png")
