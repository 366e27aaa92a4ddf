"""Spectrogram images of audio files (``adaspec spectrogram``): one PNG per file, mirroring the folders.

Each file is decoded with the data layer (mono, resampled), transformed by a front-end from the registry
(``stft``, ``mel``, ``cqt``, ``cwt`` or any other registered one), converted to dB (``10 log10`` of power,
``20 log10`` of magnitude, relative to the image's maximum, 80 dB of range; front-ends whose output is
already compressed, ``leaf``, ``mfcc``, ``degram``, are drawn as they are) and written with
:func:`~adaspec.plots.spectrogram.save_spectrogram`. Files that cannot be decoded, transformed or written
are collected with their reason; the others go on.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data.audio import AudioDecodeError, load_audio
from ..data.walk import find_audio_files
from ..errors import UserError
from ..frontends.registry import frontend_class, takes_spectrogram
from ..ops.compression import amplitude_to_db
from .spectrogram import save_spectrogram

#: Display parameters per front-end (only those its class accepts are passed; ``sample_rate`` is added).
FRONTEND_DEFAULTS: dict[str, dict[str, Any]] = {
    "stft": {"n_fft": 1024, "hop_length": 256, "output": "power"},
    "mel": {"n_fft": 1024, "hop_length": 256, "n_mels": 128, "power": 2.0},
    "cqt": {"hop_length": 256, "f_min": 32.70, "n_bins": 84, "bins_per_octave": 12, "output": "magnitude"},
    "cwt": {"hop_length": 256, "f_min": 32.70, "n_bins": 96, "output": "magnitude"},
    "vqt": {"hop_length": 256, "f_min": 32.70, "n_bins": 84, "bins_per_octave": 12, "output": "magnitude"},
}
TOP_DB = 80.0
AXES_SIZE = (800, 400)  # pixels, when --axes is given without --size
_DPI = 100
_SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
#: Largest image side matplotlib's Agg renderer draws (it refuses 2^16), and the largest image in pixels
#: (2^28, 1 GiB as RGBA: --size 100000x100000 ran out of memory with a traceback).
MAX_SIDE = 2**16 - 1
MAX_PIXELS = 2**28


@dataclass
class ImageReport:
    """What :func:`write_spectrogram_images` did.

    Attributes:
        written: the PNG files written, in input order.
        failed: ``(audio file, reason)`` for each file without an image.
    """

    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


def parse_size(text: str) -> tuple[int, int]:
    """``"WIDTHxHEIGHT"`` in pixels -> ``(width, height)``.

    Raises:
        UserError: unless both are positive integers, at most :data:`MAX_SIDE` each and
            :data:`MAX_PIXELS` in all.
    """
    match = _SIZE_PATTERN.match(text)
    if not match or min(int(match.group(1)), int(match.group(2))) < 1:
        raise UserError(f"--size {text!r} must be WIDTHxHEIGHT in pixels, e.g. 512x256")
    width, height = int(match.group(1)), int(match.group(2))
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise UserError(
            f"--size {text!r} is too large: at most {MAX_SIDE} pixels a side and {MAX_PIXELS:,} in all"
        )
    return width, height


def check_colormap(name: str) -> str:
    """Return ``name`` if it is a matplotlib colour map ("gray" for grayscale).

    Raises:
        UserError: naming the map and a few valid ones.
    """
    import matplotlib

    if name not in matplotlib.colormaps:
        raise UserError(f"--cmap {name!r} is not a matplotlib colour map; e.g. gray, magma, viridis, inferno")
    return name


def build_display_frontend(name: str, sample_rate: int) -> nn.Module:
    """The registered front-end ``name`` with the display parameters of :data:`FRONTEND_DEFAULTS`
    (semitone rows from ``f_min`` are cut at 0.9 x Nyquist).

    Raises:
        UserError: an unknown front-end (the known ones listed) or parameters it refuses.
    """
    try:
        cls = frontend_class(name, waveform_only=True)
    except ValueError as err:
        raise UserError(f"--frontend: {err}") from None
    if takes_spectrogram(name):
        raise UserError(
            f"--frontend {name} takes spectrograms, not audio; use a waveform front-end (stft, mel, ...)"
        )
    accepted = inspect.signature(cls.__init__).parameters
    params = {k: v for k, v in FRONTEND_DEFAULTS.get(name, {}).items() if k in accepted}
    if "sample_rate" in accepted:
        params["sample_rate"] = sample_rate
    if "f_min" in params and "n_bins" in params:
        top = 12.0 * np.log2(max(0.45 * sample_rate, params["f_min"]) / params["f_min"])
        params["n_bins"] = max(1, min(params["n_bins"], int(top) + 1))
        if "f_max" in accepted and params["n_bins"] > 1:
            params["f_max"] = params["f_min"] * 2.0 ** ((params["n_bins"] - 1) / 12.0)
    try:
        return cls(**params).eval()
    except (TypeError, ValueError) as err:
        raise UserError(f"--frontend {name}: {err} (at --sample-rate {sample_rate})") from None


def in_db(frontend: nn.Module) -> bool:
    """Whether the front-end's output is a magnitude or power (drawn in dB), not an already compressed one
    (PCEN, log, cepstra: negative values and all, drawn as they are)."""
    power = getattr(frontend, "power", None)
    is_number = isinstance(power, (int, float)) and not isinstance(power, bool)
    return getattr(frontend, "output", None) in ("power", "magnitude", "complex") or is_number


def spectrogram_db(frontend: nn.Module, waveform: np.ndarray) -> np.ndarray:
    """The front-end's ``(rows, frames)`` output of one waveform in dB (80 dB below its maximum), or as it
    is for a front-end whose output is already compressed (see :func:`in_db`).

    Raises:
        ValueError: whatever the front-end refuses (e.g. a signal shorter than its longest filter).
    """
    with torch.inference_mode():
        values = frontend(torch.from_numpy(waveform)[None])[0]
    if not in_db(frontend):
        return values.double().numpy()
    if values.is_complex():
        values = values.abs()
    power = getattr(frontend, "output", None) == "power" or getattr(frontend, "power", None) == 2.0
    amin = 1e-10 if power else 1e-5
    db = amplitude_to_db(
        values.float(), multiplier=10.0 if power else 20.0, amin=amin, ref="max", top_db=TOP_DB, log_base=10.0
    )
    return db.numpy()


def row_frequencies(frontend: nn.Module, n_rows: int) -> np.ndarray | None:
    """Centre frequency of each output row in Hz where the front-end tells (``frequencies``,
    ``center_frequencies``, or a mel filterbank's peaks), else ``None``."""
    frequencies = getattr(frontend, "frequencies", None)
    if frequencies is None:
        frequencies = getattr(frontend, "center_frequencies", None)
    stft = getattr(frontend, "stft", None)
    filters = getattr(frontend, "filters", None)
    if frequencies is None and stft is not None and isinstance(filters, torch.Tensor) and filters.ndim == 2:
        frequencies = stft.frequencies[filters.detach().argmax(dim=1).cpu()]
    if frequencies is None:
        return None
    values = np.asarray(torch.as_tensor(frequencies).detach().cpu(), dtype=np.float64).reshape(-1)
    return values if values.size == n_rows else None


def _hop_length(frontend: nn.Module) -> int | None:
    """The front-end's hop, or that of its first sub-module with one (MFCC -> mel -> STFT)."""
    for module in frontend.modules():
        hop = getattr(module, "hop_length", None)
        if isinstance(hop, int) and not isinstance(hop, bool):
            return hop
    return None


def _pixels(n_frames: int, n_rows: int) -> tuple[int, int]:
    """One pixel per frame and row, cut to :data:`MAX_SIDE` a side and :data:`MAX_PIXELS` in all (longer
    files, about 12 minutes at 22050 Hz, are drawn with fewer pixels than frames)."""
    height = max(1, min(n_rows, MAX_SIDE))
    width = max(1, min(n_frames, MAX_SIDE, MAX_PIXELS // height))
    return width, height


def write_spectrogram_images(
    inputs: Sequence[str | Path],
    out: str | Path,
    frontend: str = "stft",
    *,
    sample_rate: int = 22050,
    size: tuple[int, int] | None = None,
    cmap: str = "gray",
    axes: bool = False,
) -> ImageReport:
    """Write ``out/<path relative to its input>.png`` for every audio file under ``inputs``.

    Args:
        inputs: audio files and folders (walked recursively for :data:`adaspec.data.AUDIO_EXTENSIONS`).
        out: output folder; sub-folders mirror each input folder's structure.
        frontend: a registered front-end name (``stft``, ``mel``, ``cqt``, ``cwt``, ...).
        sample_rate: rate the files are decoded at.
        size: ``(width, height)`` in pixels; default one pixel per frame and row (at most :data:`MAX_SIDE`
            a side), or 800 x 400 with ``axes``.
        cmap: matplotlib colour map (``"gray"``: grayscale).
        axes: draw time (s) and frequency (Hz) axes, a title and a colour bar (dB).

    Returns:
        The images written and the files that failed with their reasons.

    Raises:
        UserError: bad arguments (front-end, colour map, size) or no file under ``inputs``.
    """
    check_colormap(cmap)
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise UserError(f"size must be (width, height) in positive pixels, got {size!r}")
    module = build_display_frontend(frontend, sample_rate)
    files = find_audio_files([Path(p) for p in inputs])
    if not files:
        raise UserError(f"no audio file under {', '.join(map(str, inputs))}")
    out = Path(out)
    report = ImageReport()
    sources: dict[Path, Path] = {}
    for path, relative in files:
        target = out / relative.with_suffix(".png")
        if target in sources:
            report.failed.append((path, f"{target} is already written from {sources[target]}"))
            continue
        try:
            values = spectrogram_db(module, load_audio(path, sample_rate))
        except AudioDecodeError as err:
            report.failed.append((path, err.reason))
            continue
        except ValueError as err:
            report.failed.append((path, f"{frontend}: {err}"))
            continue
        width, height = size or (AXES_SIZE if axes else _pixels(values.shape[1], values.shape[0]))
        unit = ", dB" if in_db(module) else ""
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Tight layout not applied")
                save_spectrogram(
                    values,
                    target,
                    sample_rate=sample_rate,
                    hop_length=_hop_length(module),
                    frequencies=row_frequencies(module, values.shape[0]),
                    title=f"{relative} ({frontend}{unit})",
                    cmap=cmap,
                    axes=axes,
                    size=(width / _DPI, height / _DPI),
                    dpi=_DPI,
                )
        except OSError as err:  # a folder in the way, no permission, a full disk: this file only
            report.failed.append((path, f"cannot write {target}: {err.strerror or err}"))
            continue
        sources[target] = path
        report.written.append(target)
    return report
