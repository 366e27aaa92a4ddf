"""Writing small audio files for the data tests (every test makes its own, in tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def tone(seconds: float, sample_rate: int, freq: float = 440.0, channels: int = 1) -> np.ndarray:
    """``(frames, channels)`` float64: a sine per channel, channel ``c`` at ``freq * (c + 1)``."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return np.stack([0.5 * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)], axis=1)


def write(path: Path, data: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """Write ``data`` with soundfile (format from the extension) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), data, sample_rate, subtype=subtype)
    return path


def write_tone(
    path: Path, seconds: float = 0.25, sample_rate: int = 16000, subtype: str | None = None, **kwargs
) -> Path:
    """Write :func:`tone` to ``path``."""
    return write(path, tone(seconds, sample_rate, **kwargs), sample_rate, subtype)


def rename_to_bytes(path: Path, name: bytes) -> Path:
    """Rename ``path`` to the file name ``name`` (bytes that need not be UTF-8) in the same folder.

    Python holds such a name with surrogate escapes (``os.fsdecode``); the test is skipped where the
    file system refuses it (Windows, macOS).
    """
    target = path.parent / os.fsdecode(name)
    try:
        os.rename(path, target)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses file names that are not UTF-8")
    return target
