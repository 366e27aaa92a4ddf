"""A small synthetic instrument-family dataset (4 classes of harmonic notes), written as WAV folders.

The classes differ in harmonic content and envelope, not in pitch (every class spans the same two octaves):
``flute`` (fundamental, weak 2nd harmonic, breath noise, slow attack), ``clarinet`` (odd harmonics),
``violin`` (all harmonics 1/n with vibrato) and ``guitar`` (all harmonics, plucked, decaying faster the
higher they are). A stand-in until the SoundFont dataset lands; every file is deterministic given the seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

FAMILIES = ("clarinet", "flute", "guitar", "violin")


def _harmonics(family: str, n: int) -> np.ndarray:
    k = np.arange(1, n + 1)
    if family == "flute":
        return np.where(k == 1, 1.0, np.where(k == 2, 0.25, 0.02 / k))
    if family == "clarinet":
        return np.where(k % 2 == 1, 1.0 / k, 0.03 / k)
    return 1.0 / k


def synth_note(family: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One note of ``family`` at a random pitch (MIDI 52-76), random level and a little noise."""
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    f0 = 440.0 * 2 ** ((rng.uniform(52, 76) - 69) / 12)
    n_harmonics = max(1, int(0.45 * sample_rate / f0))
    amplitudes = _harmonics(family, n_harmonics)
    vibrato = np.zeros_like(t)
    if family == "violin":
        vibrato = 0.006 * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t)
    phase = 2 * np.pi * f0 * np.cumsum(1.0 + vibrato) / sample_rate
    wave = np.zeros_like(t)
    for k, amplitude in enumerate(amplitudes, start=1):
        partial = amplitude * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        if family == "guitar":
            partial *= np.exp(-t * (1.5 + 0.8 * k))
        wave += partial
    attack = {"flute": 0.12, "violin": 0.08, "clarinet": 0.03, "guitar": 0.003}[family]
    envelope = np.minimum(1.0, t / attack) * np.minimum(1.0, (t[-1] - t) / 0.05 + 1e-3)
    wave *= envelope
    if family == "flute":
        wave += 0.03 * rng.normal(size=t.size) * envelope
    wave /= np.max(np.abs(wave)) + 1e-9
    noise = rng.normal(size=t.size) * 10 ** (-rng.uniform(20, 40) / 20)
    return (0.8 * rng.uniform(0.3, 1.0) * wave + noise).astype(np.float32)


def write_dataset(
    root: Path, files_per_class: int = 40, seconds: float = 1.5, sample_rate: int = 16000
) -> Path:
    """Write ``root/<family>/<family>_<i>.wav`` (the same bytes every time); returns ``root``."""
    for index_family, family in enumerate(FAMILIES):
        folder = root / family
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([2026, index_family])
        for index in range(files_per_class):
            note = synth_note(family, seconds, sample_rate, rng)
            sf.write(folder / f"{family}_{index:03d}.wav", note, sample_rate, subtype="PCM_16")
    return root
