"""Rendering single notes of one SoundFont program: the font check, the render spec, and one
(font, program) job.

A job uses a fresh FluidSynth synthesizer (reverb and chorus off) and discards one warm-up note, so each
clip's samples depend only on (font, program, pitch, velocity, spec), never on the job order or on the
other notes of the grid. Clips whose peak is below ``silence_dbfs`` (a pitch outside every key range of
the preset) are dropped and counted; a program the font lacks in bank 0 is reported as missing: FluidSynth's
``program_select`` fails for it (it does not fall back to another preset, unlike a MIDI program change).

No clipping, deterministically: FluidSynth renders float32 (``fluid_synth_write_float``, no internal
int16 clipping or dither) at a fixed ``synth_gain``; a clip whose mono peak exceeds ``max_peak_dbfs``
is scaled down to exactly that peak and the factor is kept with the clip (1 for all others). Samples are
then rounded to int16, so no sample reaches full scale.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_choice, check_positive_int
from ..errors import FileProblem
from .fluid import FontSynth, captured_stderr
from .gm_families import FONT_PACKAGES

AUDIO_FORMATS: tuple[str, ...] = ("flac", "wav")

_INT16_SCALE = 32767.0
_WARM_UP = (60, 80)  # (pitch, velocity) of the discarded first note of every job


class SoundFontError(FileProblem):
    """A SoundFont that is missing, unreadable or not loadable by FluidSynth (see :class:`FileProblem`)."""


def _not_found(path: Path) -> str:
    package = FONT_PACKAGES.get(path.stem)
    return f"file not found (apt-get install {package})" if package else "file not found"


def check_soundfont(path: str | os.PathLike[str]) -> Path:
    """Check that ``path`` is a complete SoundFont 2/3 file that FluidSynth loads.

    The RIFF header is checked first (``sfbk`` form, declared size not beyond the file), then the font is
    loaded once by FluidSynth with its stderr chatter captured into the log.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        SoundFontError: "PATH: reason" for a missing, empty, unreadable, truncated or unloadable file.
        FluidSynthUnavailable: if FluidSynth itself cannot be imported.
    """
    path = Path(path)
    if not path.exists():
        raise SoundFontError(path, _not_found(path))
    if not path.is_file():
        raise SoundFontError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise SoundFontError(path, "empty file (0 bytes)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as err:
        raise SoundFontError(path, f"cannot be read ({err.strerror or err})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise SoundFontError(path, "not a SoundFont 2/3 file (no RIFF 'sfbk' header)")
    declared = int.from_bytes(head[4:8], "little") + 8
    if declared > size:
        raise SoundFontError(path, f"truncated: the header declares {declared} bytes but the file has {size}")
    try:
        with captured_stderr():
            FontSynth(path, sample_rate=16000, gain=1.0).close()
    except OSError:
        raise SoundFontError(path, "FluidSynth cannot load it (corrupt or unsupported SoundFont)") from None
    return path


@dataclass(frozen=True)
class RenderSpec:
    """What to render for every (font, program): the note grid, clip timing, level and file format.

    Attributes:
        pitches: MIDI notes, 0..127.
        velocities: MIDI velocities, 1..127.
        sample_rate: output rate in Hz, 8000..96000 (FluidSynth's range).
        note_seconds: clip length; the note is held for ``hold_seconds`` and then released.
        hold_seconds: time between note-on and note-off, ``0 < hold_seconds <= note_seconds``.
        silence_dbfs: clips whose peak is below this level are dropped as silent.
        audio_format: ``"flac"`` or ``"wav"``, both 16-bit PCM.
        synth_gain: FluidSynth's master gain (0 < gain <= 10). At 1.0 with effects off the fonts of the
            default dataset peak well below full scale (mono mix, grid 36:96:3 x 50,80,110: FluidR3_GM
            -3.8 dBFS at most, the others lower).
        max_peak_dbfs: ceiling of every clip, below 0; a louder clip is scaled down to it (per-clip
            ``gain`` in the manifest).
    """

    pitches: tuple[int, ...]
    velocities: tuple[int, ...]
    sample_rate: int = 16000
    note_seconds: float = 4.0
    hold_seconds: float = 3.0
    silence_dbfs: float = -60.0
    audio_format: str = "flac"
    synth_gain: float = 1.0
    max_peak_dbfs: float = -0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "pitches", _check_notes("pitches", self.pitches, 0))
        object.__setattr__(self, "velocities", _check_notes("velocities", self.velocities, 1))
        rate = check_positive_int("sample_rate", self.sample_rate)
        if not 8000 <= rate <= 96000:
            raise ValueError(f"sample_rate must be in 8000..96000 Hz (FluidSynth's range), got {rate}")
        if not 0 < self.hold_seconds <= self.note_seconds:
            raise ValueError(
                f"hold_seconds must be in (0, note_seconds={self.note_seconds!r}], got {self.hold_seconds!r}"
            )
        if not self.note_seconds * rate >= 1:
            raise ValueError(f"note_seconds must give at least one sample, got {self.note_seconds!r}")
        if not math.isfinite(self.silence_dbfs) or self.silence_dbfs >= 0:
            raise ValueError(f"silence_dbfs must be a negative level in dBFS, got {self.silence_dbfs!r}")
        if not self.silence_dbfs < self.max_peak_dbfs < 0:
            raise ValueError(
                f"max_peak_dbfs must be in (silence_dbfs={self.silence_dbfs!r}, 0) dBFS, "
                f"got {self.max_peak_dbfs!r}"
            )
        if not 0 < self.synth_gain <= 10:
            raise ValueError(f"synth_gain must be in (0, 10] (FluidSynth's range), got {self.synth_gain!r}")
        check_choice("audio_format", self.audio_format, AUDIO_FORMATS)

    @property
    def hold_frames(self) -> int:
        """Frames from note-on to note-off."""
        return round(self.hold_seconds * self.sample_rate)

    @property
    def note_frames(self) -> int:
        """Frames per clip."""
        return round(self.note_seconds * self.sample_rate)


def _check_notes(name: str, values: Iterable[int], low: int) -> tuple[int, ...]:
    result = tuple(values)
    if not result:
        raise ValueError(f"{name} must not be empty")
    for value in result:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= 127:
            raise ValueError(f"{name} must hold integers in {low}..127, got {value!r}")
    return tuple(sorted({int(value) for value in result}))


@dataclass(frozen=True)
class Clip:
    """One rendered note: mono int16 samples and what produced them.

    Attributes:
        pitch: MIDI note.
        velocity: MIDI velocity.
        samples: ``(note_frames,)`` int16, never at full scale.
        gain: factor applied after FluidSynth to stay below ``max_peak_dbfs`` (1.0 for most clips).
        peak_dbfs: peak of the mono mix before that factor.
    """

    pitch: int
    velocity: int
    samples: np.ndarray
    gain: float
    peak_dbfs: float


@dataclass(frozen=True)
class JobResult:
    """The clips of one (font, program) job.

    Attributes:
        font: the SoundFont.
        program: 0-based GM program (bank 0).
        clips: the kept clips, in (pitch, velocity) order.
        silent: (pitch, velocity) of the clips dropped as silent.
        missing: ``True`` when the font has no bank-0 preset for ``program`` (then nothing was rendered).
    """

    font: Path
    program: int
    clips: tuple[Clip, ...] = ()
    silent: tuple[tuple[int, int], ...] = ()
    missing: bool = False


def peak_dbfs(samples: np.ndarray) -> float:
    """Peak level of ``samples`` (full scale 1.0) in dBFS; ``-inf`` for an all-zero clip."""
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def is_silent(samples: np.ndarray, silence_dbfs: float = -60.0) -> bool:
    """Whether the peak of ``samples`` (full scale 1.0) is below ``silence_dbfs``."""
    return peak_dbfs(samples) < silence_dbfs


def _to_clip(stereo: np.ndarray, pitch: int, velocity: int, spec: RenderSpec) -> Clip | None:
    mono = (stereo[:, 0].astype(np.float64) + stereo[:, 1]) * 0.5
    level = peak_dbfs(mono)
    if level < spec.silence_dbfs:
        return None
    gain = 1.0 if level <= spec.max_peak_dbfs else 10.0 ** ((spec.max_peak_dbfs - level) / 20.0)
    samples = np.round(mono * (gain * _INT16_SCALE)).astype(np.int16)
    return Clip(pitch=pitch, velocity=velocity, samples=samples, gain=gain, peak_dbfs=level)


def render_job(
    font_path: str | os.PathLike[str],
    program: int,
    spec: RenderSpec,
    on_clip: Callable[[Clip], None] | None = None,
) -> JobResult:
    """Render every (pitch, velocity) of ``spec`` for one program of one font.

    A fresh synthesizer plays one discarded warm-up note, then each note: on for ``hold_seconds``, off
    until ``note_seconds``, then all voices are cut. The stereo output is averaged to mono.

    Args:
        font_path: a SoundFont (checked with :func:`check_soundfont` beforehand by callers).
        program: 0-based GM program, 0..127, looked up in bank 0.
        spec: the grid and format.
        on_clip: called with each kept clip, in (pitch, velocity) order, as soon as it is rendered; the
            clip is then not kept, so the memory of a job is that of one clip whatever the grid (the
            result's ``clips`` is empty). ``None`` keeps every clip in the result.

    Returns:
        The kept clips (none with ``on_clip``), the silent (pitch, velocity) pairs, or ``missing=True``.

    Raises:
        SoundFontError: if FluidSynth cannot load the font.
        ValueError: if ``program`` is not in 0..127.
        Exception: whatever ``on_clip`` raises (the synthesizer is freed first).
    """
    font = Path(font_path)
    if isinstance(program, bool) or not isinstance(program, (int, np.integer)) or not 0 <= program <= 127:
        raise ValueError(f"program must be an integer in 0..127, got {program!r}")
    try:
        synth = FontSynth(font, spec.sample_rate, spec.synth_gain)
    except OSError:
        raise SoundFontError(font, "FluidSynth cannot load it (corrupt or unsupported SoundFont)") from None
    hold, release = spec.hold_frames, spec.note_frames - spec.hold_frames
    clips: list[Clip] = []
    silent: list[tuple[int, int]] = []
    with synth:
        if not synth.select(int(program)):
            return JobResult(font=font, program=int(program), missing=True)
        synth.note(*_WARM_UP, hold, release)
        for pitch in spec.pitches:
            for velocity in spec.velocities:
                clip = _to_clip(synth.note(pitch, velocity, hold, release), pitch, velocity, spec)
                if clip is None:
                    silent.append((pitch, velocity))
                elif on_clip is not None:
                    on_clip(clip)
                else:
                    clips.append(clip)
    return JobResult(font=font, program=int(program), clips=tuple(clips), silent=tuple(silent))
