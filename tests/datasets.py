"""Tiny labelled audio datasets that tests write themselves: one class per kind of sound."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

TONE_CLASSES = ("high", "low", "noise")


def tone_clip(kind: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One clip of a class: a low tone (~300 Hz), a high tone (~2 kHz) or white noise, with jitter."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    if kind == "noise":
        wave = rng.normal(0.0, 0.3, t.size)
    else:
        base = {"low": 300.0, "high": 2000.0}[kind] * rng.uniform(0.95, 1.05)
        wave = 0.5 * np.sin(2 * np.pi * base * t + rng.uniform(0, 2 * np.pi))
        wave += 0.02 * rng.normal(size=t.size)
    return (wave * rng.uniform(0.5, 1.0)).astype(np.float32)


def make_tone_dataset(
    root: Path, files_per_class: int = 10, seconds: float = 1.0, sample_rate: int = 8000, seed: int = 0
) -> Path:
    """Write ``root/<class>/<class>_<i>.wav`` for the classes of :data:`TONE_CLASSES`; returns ``root``."""
    rng = np.random.default_rng(seed)
    for kind in TONE_CLASSES:
        folder = root / kind
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(files_per_class):
            sf.write(
                folder / f"{kind}_{index:02d}.wav", tone_clip(kind, seconds, sample_rate, rng), sample_rate
            )
    return root


def tiny_overrides(root: Path, **extra: Any) -> list[str]:
    """Overrides that make a run on a tone dataset take a few seconds on a CPU."""
    values: dict[str, Any] = {
        "data.root": str(root),
        "data.sample_rate": 8000,
        "data.clip_seconds": 0.5,
        "data.batch_size": 8,
        "data.num_workers": 0,
        "data.fractions": "{train: 0.6, val: 0.2, test: 0.2}",
        "eval.n_parts": 2,
        "frontend.name": "stft",
        "frontend.n_fft": 256,
        "frontend.hop_length": 128,
        "frontend.output": "magnitude",
        "model.backbone": "small_cnn",
        "model.adapter": "stem",
        "model.image_size": 32,
        "model.hidden": 32,
        "optim.lr": 0.01,
        "trainer.max_epochs": 2,
        "trainer.progress_bar": False,
    }
    values.update(extra)
    return [f"{key}={value}" for key, value in values.items()]


def add_problem_files(folder: Path, sample_rate: int = 8000) -> dict[str, str]:
    """Write every kind of awkward file into ``folder``.

    Returns:
        ``{file name: expected reason fragment}`` for the files that must be reported and skipped; the
        unusual-but-valid files (6 channels, 8-bit, 96 kHz) are written too and must be used.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "text.wav").write_text("this is not audio\n")
    sf.write(folder / "zero_samples.wav", np.zeros(0, dtype=np.float32), sample_rate)
    nan_wave = tone_clip("low", 1.0, sample_rate, rng)
    nan_wave[100:110] = np.nan
    sf.write(folder / "nan.wav", nan_wave, sample_rate, subtype="FLOAT")
    sf.write(folder / "whole.wav", tone_clip("low", 1.0, sample_rate, rng), sample_rate, subtype="PCM_16")
    data = (folder / "whole.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    (folder / "whole.wav").unlink()
    six = np.stack([tone_clip("low", 1.0, sample_rate, rng) for _ in range(6)], axis=1)
    sf.write(folder / "six_channels.wav", six, sample_rate)
    sf.write(folder / "eight_bit.wav", tone_clip("low", 1.0, sample_rate, rng), sample_rate, subtype="PCM_U8")
    sf.write(folder / "hi_rate.wav", tone_clip("low", 1.0, 96000, rng), 96000)
    return {
        "empty.wav": "empty file",
        "text.wav": "not a decodable audio file",
        "zero_samples.wav": "no audio samples",
        "nan.wav": "non-finite",
        "truncated.wav": "truncated",
    }
