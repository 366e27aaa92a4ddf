"""Matplotlib figures that leave pyplot's global state alone (no backend switch, nothing to close)."""

from __future__ import annotations

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
