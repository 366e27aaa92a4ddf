"""Spectrogram images as PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .figure import new_figure


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
    """Write a ``(freq, frames)`` real spectrogram (already compressed, e.g. in dB) as a PNG.

    Args:
        spectrogram: 2-D real array, frequency on the first axis (low frequencies drawn at the bottom).
        path: output file; parent folders are created.
        sample_rate: with ``hop_length``, labels the time axis in seconds (else frame index).
        hop_length: samples between frames.
        frequencies: centre frequency of each row in Hz, used to label the frequency axis (else bin index);
            rows that are not evenly spaced in Hz (mel, CQT, CWT) are drawn evenly with Hz tick labels.
        title: figure title.
        freq_label: frequency-axis label (default "frequency (Hz)" with ``frequencies``, else "bin").
        cmap: matplotlib colour map (``"gray"`` for grayscale).
        axes: draw axes, labels and a colour bar; ``False`` writes the bare image.
        size: figure size in inches.
        dpi: dots per inch.

    Returns:
        The path written.
    """
    values = spectrogram.detach().cpu().numpy() if isinstance(spectrogram, torch.Tensor) else spectrogram
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"spectrogram must be 2-D (freq, frames), got shape {values.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n_rows, n_frames = values.shape
    seconds = sample_rate is not None and hop_length is not None
    time_end = n_frames * hop_length / sample_rate if seconds else n_frames
    row_ticks = None
    if frequencies is not None:
        freqs = np.asarray(frequencies, dtype=np.float64)
        freq_extent, default_label = (freqs[0], freqs[-1]), "frequency (Hz)"
        steps = np.diff(freqs)
        if steps.size and not np.allclose(steps, steps[0], rtol=1e-6):
            freq_extent = (-0.5, n_rows - 0.5)
            row_ticks = np.unique(np.linspace(0, n_rows - 1, min(n_rows, 7)).round().astype(int))
    else:
        freq_extent, default_label = (0, n_rows), "bin"
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
        extent=(0, time_end, *freq_extent),
        interpolation="nearest",
    )
    if axes:
        axis.set_xlabel("time (s)" if seconds else "frame")
        axis.set_ylabel(default_label if freq_label is None else freq_label)
        if row_ticks is not None:
            axis.set_yticks(row_ticks, [f"{freqs[i]:.0f}" for i in row_ticks])
        if title:
            axis.set_title(title)
        figure.colorbar(image, ax=axis)
        figure.tight_layout()
    figure.savefig(path)
    return path
