"""Matplotlib figures that leave pyplot's global state alone (no backend switch, nothing to close), written
atomically."""

from __future__ import annotations

import os
from pathlib import Path

from .._atomic import replaced_atomically
from ..errors import install_hint


def new_figure(size: tuple[float, float], dpi: int):
    """A matplotlib ``Figure`` not registered with pyplot; ``savefig`` renders it with the Agg canvas.

    Args:
        size: width and height in inches.
        dpi: dots per inch.

    Raises:
        ImportError: matplotlib is not installed (with the hint to install the ``plots`` extra).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"plots need matplotlib: {install_hint('plots')}") from err
    return Figure(figsize=size, dpi=dpi)


def figure_format(path: str | os.PathLike[str]) -> str:
    """The matplotlib format named by ``path``'s suffix (``"png"`` for a path without one).

    Raises:
        ValueError: naming the suffix and the formats matplotlib writes.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix
    name = suffix[1:].lower() or "png"
    supported = FigureCanvasBase.get_supported_filetypes()
    if name not in supported:
        raise ValueError(
            f"path {os.fspath(path)!r} has the suffix {suffix!r}, which matplotlib cannot write; "
            f"use one of: {', '.join(sorted(supported))}"
        )
    return name


def save_figure(figure, path: str | os.PathLike[str], format: str) -> Path:
    """Write ``figure`` to ``path`` in ``format`` through :func:`~adaspec._atomic.replaced_atomically`: an
    error or Ctrl-C while rendering leaves the old file (or none), never half of one, and no temporary
    file. Parent folders are created.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp:
        figure.savefig(tmp, format=format)
    return path
