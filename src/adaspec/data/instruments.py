"""The instrument-family dataset rendered from SoundFonts: what ``adaspec data instruments`` calls.

The default dataset uses four Debian SoundFonts and splits by sample lineage: FluidR3_GM and
MuseScore_General_Lite (Fluid lineage) train, TimGM6mb validates, sf_GMbank tests (small-GM lineage).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .soundfont import RenderSpec, RenderSummary, parse_pitches, parse_velocities, render_dataset

DEFAULT_SOUNDFONTS: tuple[Path, ...] = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/sf_GMbank.sf2"),
)
"""The fonts of the default dataset, at the paths their Debian packages install."""

APT_PACKAGES: tuple[str, ...] = (
    "fluidsynth",
    "fluid-soundfont-gm",
    "musescore-general-soundfont-small",
    "timgm6mb-soundfont",
    "csound-soundfont",
)
"""Debian packages for the default dataset: FluidSynth (with libfluidsynth3) and the four fonts."""


def missing_default_soundfonts() -> list[Path]:
    """The fonts of :data:`DEFAULT_SOUNDFONTS` that are not installed (empty when all are)."""
    return [path for path in DEFAULT_SOUNDFONTS if not path.is_file()]


def render_instruments(
    soundfonts: Sequence[str | os.PathLike[str]] | str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    pitches: str | Iterable[int] = "36:96:3",
    velocities: str | Iterable[int] = "50,80,110",
    sample_rate: int = 16000,
    audio_format: str = "flac",
    workers: int | None = None,
    splits: Mapping[str, str] | None = None,
    programs: Iterable[int] | None = None,
    progress: bool = True,
) -> RenderSummary:
    """Render 4 s notes (held 3 s) of the 81 family programs from each font into ``out``.

    Args:
        soundfonts: sf2/sf3 files, or one; ``None`` or empty for :data:`DEFAULT_SOUNDFONTS`.
        out: the dataset folder: ``<family>/<font>_p<program>_n<pitch>_v<velocity>.<format>`` and
            ``manifest.csv``.
        pitches: ``--pitches`` text (``"36:96:3"``, ``"60"``, ``"48,60,72"``) or a list of MIDI notes.
        velocities: ``--velocities`` text (``"50,80,110"``) or a list of velocities.
        sample_rate: output rate in Hz.
        audio_format: ``"flac"`` or ``"wav"`` (16-bit PCM).
        workers: processes; ``None`` for one per CPU (capped at the CPUs available and the number of jobs).
        splits: font stem or lineage -> split; ``None`` for the default lineage split.
        programs: 0-based GM programs to render; ``None`` for all 81.
        progress: show a progress bar.

    Returns:
        The summary; ``summary.format()`` is the paragraph to print.

    Raises:
        UserError: for a bad ``--pitches``/``--velocities`` value, a missing or corrupt SoundFont
            (``SoundFontError``), or nothing rendered.
        ValueError: for a bad ``sample_rate``, ``audio_format``, ``workers``, ``splits`` or ``programs``.
    """
    spec = RenderSpec(
        pitches=tuple(parse_pitches(pitches)),
        velocities=tuple(parse_velocities(velocities)),
        sample_rate=sample_rate,
        audio_format=audio_format,
    )
    if isinstance(soundfonts, (str, os.PathLike)):  # one font, not a sequence of characters
        soundfonts = [soundfonts]
    fonts = list(soundfonts) if soundfonts else list(DEFAULT_SOUNDFONTS)
    return render_dataset(
        fonts, out, spec, workers=workers, splits=splits, programs=programs, progress=progress
    )
