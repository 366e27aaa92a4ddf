"""Spectrogram images as PNG (or any other matplotlib) files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .figure import figure_format, new_figure, save_figure


def _drawable(text: str) -> str:
    """``text`` as matplotlib can draw it: a file name's undecodable bytes (surrogate escapes, as Python
    gives a non-UTF-8 name) become U+FFFD, which the font renderer would otherwise refuse."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _extent(n: int, centres: np.ndarray | None = None) -> tuple[float, float]:
    """Edges of ``n`` cells centred on ``0, 1, ..., n - 1`` (or on the evenly spaced ``centres``)."""
    if centres is None or n < 2:
        return -0.5, n - 0.5
    step = (centres[-1] - centres[0]) / (n - 1)
    return centres[0] - 0.5 * step, centres[-1] + 0.5 * step


def save_spectrogram(
    spectrogram: torch.Tensor | np.ndarray,
    path: str | Path,
    *,
    sample_rate: float | None = None,
    hop_length: int | None = None,
    frequencies: torch.Tensor | np.ndarray | None = None,
    title: str | None = None,
    freq_label: str | None = None,
    cmap: str = "magma",
    axes: bool = True,
    size: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
) -> Path:
    """Write a ``(freq, frames)`` real spectrogram (already compressed, e.g. in dB) as an image.

    Cells are centred on their coordinates, as with librosa's ``specshow``: frame ``t`` on
    ``t * hop_length / sample_rate`` seconds (the frames of a ``center=True`` transform), row ``k`` on
    ``frequencies[k]``. The file is written atomically (a temporary file renamed over ``path``), so an
    error or an interrupt leaves no half-written image.

    Args:
        spectrogram: 2-D real array, frequency on the first axis (low frequencies drawn at the bottom).
        path: output file; parent folders are created. Its suffix picks the format (``.png``, ``.pdf``,
            ``.svg``, ... any that matplotlib writes); a path without one is written as PNG.
        sample_rate: with ``hop_length``, labels the time axis in seconds (else frame index).
        hop_length: samples between frames.
        frequencies: centre frequency of each row in Hz, used to label the frequency axis (else bin index);
            rows that are not evenly spaced in Hz (mel, CQT, CWT) are drawn evenly with Hz tick labels.
        title: figure title (drawn as plain text: ``$`` is not mathtext).
        freq_label: frequency-axis label (default "frequency (Hz)" with ``frequencies``, else "bin").
        cmap: matplotlib colour map (``"gray"`` for grayscale).
        axes: draw axes, labels and a colour bar; ``False`` writes the bare image.
        size: figure size in inches.
        dpi: dots per inch.

    Returns:
        The path written.

    Raises:
        ValueError: a spectrogram that is not 2-D and real, a ``sample_rate`` or ``hop_length`` that is not
            positive, ``frequencies`` that are not one finite value per row, or a suffix that matplotlib
            cannot write; nothing is written then.
    """
    if isinstance(spectrogram, torch.Tensor):
        spectrogram = spectrogram.detach().cpu()
        if spectrogram.is_complex():
            raise ValueError(f"spectrogram must be real, got a complex tensor ({spectrogram.dtype})")
        values = spectrogram.double().numpy()
    else:
        values = np.asarray(spectrogram)
        if np.iscomplexobj(values):
            raise ValueError(f"spectrogram must be real, got a complex array ({values.dtype})")
        values = values.astype(np.float64)
    if values.ndim != 2:
        raise ValueError(f"spectrogram must be 2-D (freq, frames), got shape {values.shape}")
    if sample_rate is not None and not (math.isfinite(sample_rate) and sample_rate > 0):
        raise ValueError(f"sample_rate must be a positive number of Hz, got {sample_rate!r}")
    if hop_length is not None and (isinstance(hop_length, bool) or not hop_length > 0):
        raise ValueError(f"hop_length must be a positive number of samples, got {hop_length!r}")
    n_rows, n_frames = values.shape
    freqs = None
    if frequencies is not None:
        freqs = np.asarray(torch.as_tensor(frequencies).detach().cpu(), dtype=np.float64).reshape(-1)
        if freqs.size != n_rows or not np.all(np.isfinite(freqs)):
            raise ValueError(
                f"frequencies must hold one finite value per row ({n_rows}), got {freqs.size} values"
                + ("" if freqs.size != n_rows else " with a NaN or infinity")
            )
    file_format = figure_format(path)
    seconds = sample_rate is not None and hop_length is not None
    time_extent = _extent(n_frames)
    if seconds:
        time_extent = tuple(edge * hop_length / sample_rate for edge in time_extent)
    row_ticks = None
    if freqs is not None:
        freq_extent, default_label = _extent(n_rows, freqs), "frequency (Hz)"
        steps = np.diff(freqs)
        if not steps.size or not np.allclose(steps, steps[0], rtol=1e-6) or steps[0] == 0:
            freq_extent = _extent(n_rows)
            row_ticks = np.unique(np.linspace(0, n_rows - 1, min(n_rows, 7)).round().astype(int))
    else:
        freq_extent, default_label = _extent(n_rows), "bin"
    figure = new_figure(size, dpi)
    if axes:
        axis = figure.add_subplot(1, 1, 1)
    else:
        axis = figure.add_axes((0.0, 0.0, 1.0, 1.0))
        axis.set_axis_off()
    image = axis.imshow(
        values,
        origin="lower",
        aspect="auto",
        cmap=cmap,
        extent=(*time_extent, *freq_extent),
        interpolation="nearest",
    )
    if axes:
        axis.set_xlabel("time (s)" if seconds else "frame")
        axis.set_ylabel(_drawable(default_label if freq_label is None else freq_label), parse_math=False)
        if row_ticks is not None:
            axis.set_yticks(row_ticks, [f"{freqs[i]:.0f}" for i in row_ticks])
        if title:
            axis.set_title(_drawable(title), parse_math=False)
        figure.colorbar(image, ax=axis)
        figure.tight_layout()
    return save_figure(figure, path, file_format)
