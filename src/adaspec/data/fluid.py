"""A thin FluidSynth binding for offline note rendering: pyfluidsynth's ``Synth`` for setup and MIDI
events, plus ``fluid_synth_write_float`` through ctypes so that samples come back as float32, before any
16-bit conversion (pyfluidsynth's ``get_samples`` returns dithered int16 that clips inside the synth).

pyfluidsynth is imported lazily: the rest of adaspec works without libfluidsynth. FluidSynth's own log
messages go to this module's logger at DEBUG level; callers report failures in their own words.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
from contextlib import AbstractContextManager, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import UserError
from ._stderr import captured_stderr as _captured_stderr

logger = logging.getLogger(__name__)

INSTALL_HINT = "install libfluidsynth (apt-get install fluidsynth) and the Python package pyfluidsynth"

_FLUID_OK = 0
_BLOCK = 64  # FluidSynth renders in blocks of this many frames (FLUID_BUFSIZE); events act between blocks
_LOG_LEVELS = range(5)  # FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG
_LOG_FUNCTION = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)

# Settings of every synth: effects off, one render thread, samples of a preset loaded when it is
# selected (an sf3 font decodes only the Ogg samples it needs), no mlock of sample memory.
_SETTINGS: dict[str, int] = {
    "synth.reverb.active": 0,
    "synth.chorus.active": 0,
    "synth.cpu-cores": 1,
    "synth.audio-channels": 1,
    "synth.midi-channels": 16,
    "synth.dynamic-sample-loading": 1,
    "synth.lock-memory": 0,
}

_state: dict[str, Any] = {}


class FluidSynthUnavailable(UserError):
    """pyfluidsynth or the FluidSynth library cannot be imported."""


def _log_to_logger(level: int, message: bytes | None, _data: Any) -> None:
    text = (message or b"").decode("utf-8", errors="replace").strip()
    logger.debug("fluidsynth (level %d): %s", level, text)


def fluidsynth_module() -> ModuleType:
    """Import pyfluidsynth once, route FluidSynth's log into :mod:`logging` and bind the float writer.

    Returns:
        The ``fluidsynth`` module.

    Raises:
        FluidSynthUnavailable: if pyfluidsynth is not installed or libfluidsynth cannot be found.
    """
    if "module" in _state:
        return _state["module"]
    chatter = io.StringIO()
    try:
        with redirect_stdout(chatter):  # pyfluidsynth prints where it found the library when $CI is set
            import fluidsynth
    except (ImportError, OSError) as err:
        raise FluidSynthUnavailable(f"FluidSynth is not available ({err}); {INSTALL_HINT}") from None
    if chatter.getvalue().strip():
        logger.debug("pyfluidsynth: %s", chatter.getvalue().strip())
    library = fluidsynth._fl
    set_log = library.fluid_set_log_function
    set_log.argtypes = [ctypes.c_int, _LOG_FUNCTION, ctypes.c_void_p]
    set_log.restype = ctypes.c_void_p
    callback = _LOG_FUNCTION(_log_to_logger)
    for level in _LOG_LEVELS:
        set_log(level, callback, None)
    write_float = library.fluid_synth_write_float
    write_float.argtypes = [ctypes.c_void_p, ctypes.c_int] + [ctypes.c_void_p, ctypes.c_int, ctypes.c_int] * 2
    write_float.restype = ctypes.c_int
    _state.update(module=fluidsynth, callback=callback, write_float=write_float)
    return fluidsynth


def fluidsynth_available() -> bool:
    """Whether pyfluidsynth and libfluidsynth can be imported."""
    try:
        fluidsynth_module()
    except FluidSynthUnavailable:
        return False
    return True


def captured_stderr() -> AbstractContextManager[None]:
    """Send file descriptor 2 to the debug log for the block (see :func:`._stderr.captured_stderr`).

    libinstpatch, one of FluidSynth's loaders, prints GLib warnings straight to stderr when a file is not
    a SoundFont; the command line must print one line instead.
    """
    return _captured_stderr(logger, "FluidSynth")


class FontSynth:
    """One FluidSynth synthesizer with one SoundFont loaded, rendering on MIDI channel 0.

    Args:
        font: the SoundFont file.
        sample_rate: output rate in Hz (FluidSynth allows 8000..96000).
        gain: FluidSynth's master gain (``synth.gain``, 0..10).

    Raises:
        FluidSynthUnavailable: if FluidSynth cannot be imported.
        OSError: if FluidSynth cannot load ``font`` (callers turn this into their own error).
    """

    def __init__(self, font: Path, sample_rate: int, gain: float) -> None:
        fluidsynth = fluidsynth_module()
        self._write_float = _state["write_float"]
        self._synth = fluidsynth.Synth(gain=float(gain), samplerate=int(sample_rate), **_SETTINGS)
        # The file name as bytes: pyfluidsynth's sfload would encode it as UTF-8, failing on other names.
        self._font_id = fluidsynth.fluid_synth_sfload(self._synth.synth, os.fsencode(font), 0)
        if self._font_id < 0:
            self.close()
            raise OSError(f"FluidSynth cannot load {font}")

    def select(self, program: int, bank: int = 0) -> bool:
        """Select ``(bank, program)`` of the loaded font on channel 0.

        Returns:
            ``False`` when the font has no such preset (FluidSynth's ``program_select`` fails; it does
            not fall back to another preset, unlike a MIDI program change).
        """
        return self._synth.program_select(0, self._font_id, bank, program) == _FLUID_OK

    def write(self, frames: int) -> np.ndarray:
        """Render ``frames`` stereo frames as a ``(frames, 2)`` float32 array (no clipping, no dither)."""
        buffer = np.zeros((frames, 2), dtype=np.float32)
        address = buffer.ctypes.data
        if self._write_float(self._synth.synth, frames, address, 0, 2, address + 4, 0, 2) != _FLUID_OK:
            raise RuntimeError("fluid_synth_write_float failed")
        return buffer

    def note(self, pitch: int, velocity: int, hold_frames: int, release_frames: int) -> np.ndarray:
        """Play one note: on for ``hold_frames``, off for ``release_frames``, then silence every voice.

        Every note starts on a FluidSynth block boundary (the frames written since the synth was made are
        padded to a whole number of blocks), so its samples do not depend on the notes played before it.

        Returns:
            ``(hold_frames + release_frames, 2)`` float32.
        """
        self._synth.noteon(0, pitch, velocity)
        held = self.write(hold_frames)
        self._synth.noteoff(0, pitch)
        released = self.write(release_frames)
        self._synth.all_sounds_off(0)  # cut release tails that outlast the clip
        # At least one whole block, so the voices are really freed, and up to the next block boundary.
        self.write(_BLOCK + (-(hold_frames + release_frames)) % _BLOCK)
        return np.concatenate([held, released])

    def close(self) -> None:
        """Free the synthesizer (idempotent)."""
        if self._synth is not None:
            self._synth.delete()
            self._synth = None

    def __enter__(self) -> FontSynth:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
