"""Decoding audio files: soundfile to float32, mono by averaging channels, soxr resampling, and one
human-readable reason for every way a file can be unusable."""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from .._validation import check_positive_int
from ..errors import FileProblem
from ._headers import Header, read_header
from ._stderr import captured_stderr

logger = logging.getLogger(__name__)

#: File name extensions found by default (what libsndfile decodes: WAV, FLAC, Ogg Vorbis and Opus, MP3, AIFF,
#: CAF, Wave64, RF64).
AUDIO_EXTENSIONS: tuple[str, ...] = (
    "wav",
    "flac",
    "ogg",
    "oga",
    "opus",
    "mp3",
    "aiff",
    "aif",
    "aifc",
    "caf",
    "w64",
    "rf64",
)

# libmpg123 may estimate an MP3's length from its bitrate when the file has no Xing/Info header; allow
# that estimate to be a little long before calling the file truncated.
_MP3_LENGTH_SLACK = 0.01
_MP3_FRAME = 1152
# libsndfile's SFE_BAD_FILE, "File does not exist or is not a regular file (possibly a pipe?)": also what
# sf_open returns when its MPEG decoder finds no frame in a file that exists (checked before opening).
_SFE_BAD_FILE = 7
# Largest sample magnitude accepted (full scale is 1). A float file holds any value; integer samples
# written to a float file unscaled reach 2**31 at most, while samples of 1e17 or more overflow a float32
# spectrogram into inf and NaN (one such file makes every training loss NaN). Beyond this limit a file is
# refused like one holding NaN.
MAX_ABS_SAMPLE = 2.0**32
# Most samples a file may decode to (frames x channels) or resample to: 2**29 float32 samples are 2 GiB,
# 9.3 hours at 16 kHz. A header with a tiny sample rate (a 400 kB WAV "at 1 Hz" is 3.2e9 samples at 16 kHz,
# 12.8 GB) or absurd lengths would otherwise take the machine's memory before any error could be given.
MAX_SAMPLES = 2**29
# The frame count libsndfile reports when a header leaves the length out (SF_COUNT_MAX): a FLAC stream whose
# STREAMINFO says 0 samples, as an encoder writing to a pipe leaves it. libsndfile 1.2 decodes such a file
# but fails ("Internal psf_fseek() failed") on reaching its end, so how much it holds cannot be known.
_UNKNOWN_FRAMES = 2**63 - 1


class AudioDecodeError(FileProblem):
    """A file that cannot be used as audio (``path`` and ``reason``, see :class:`FileProblem`)."""


def resampled_length(n_samples: int, in_rate: int, out_rate: int) -> int:
    """Number of samples ``soxr.resample`` returns for ``n_samples`` input samples.

    libsoxr flushes ``(int64)(n / (in_rate / out_rate) + 0.5)`` samples in total (``_soxr_flush`` in
    ``cr.c``): round-half-up in double precision, which differs from Python's ``round`` on exact halves.

    Returns:
        The output length (``n_samples`` itself when the rates are equal).
    """
    if in_rate == out_rate:
        return int(n_samples)
    return int(n_samples / (in_rate / out_rate) + 0.5)


def _libsndfile_message(err: Exception) -> str:
    """soundfile's error text without the ``Error opening '<path>': `` prefix."""
    text = getattr(err, "error_string", None) or str(err)
    text = text.split("': ", 1)[-1].strip()
    return text.removeprefix("Error : ").rstrip(".")


def _check_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:  # (a link to nothing does not exist either: named as predict names it)
        raise AudioDecodeError(path, "a broken link" if path.is_symlink() else "file not found") from None
    except OSError as err:  # a loop of links, a component that is a file, no permission
        raise AudioDecodeError(path, err.strerror or str(err)) from None
    if not stat.S_ISREG(info.st_mode):
        raise AudioDecodeError(path, "not a regular file")
    if info.st_size == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")
    try:  # libsndfile says only "System error" for a file it may not open
        open(path, "rb").close()
    except OSError as err:
        raise AudioDecodeError(path, f"cannot be opened ({err.strerror or err})") from None


def _sf_name(path: Path) -> str | bytes:
    """The name to open with soundfile: the bytes on disk outside Windows, so that a name that is not
    valid UTF-8 (a str with surrogate escapes in Python) opens instead of failing to encode."""
    return str(path) if sys.platform == "win32" else os.fsencode(path)


def _looks_like_mpeg(path: Path) -> bool:
    """Whether libsndfile would hand ``path`` to libmpg123: an ``.mp3`` name, an ID3 tag or a frame sync."""
    if path.suffix.lower() == ".mp3":
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(3)
    except OSError:  # unreadable: soundfile reports why
        return False
    return head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


@contextmanager
def _quiet_decoder(path: Path, mpeg: bool) -> Iterator[None]:
    """Keep libmpg123's notes on fd 2 ("Illegal Audio-MPEG-Header", "Trying to resync") out of the
    terminal while an MPEG file is opened or decoded (they go to the debug log); other files run as is."""
    if not mpeg:
        yield
        return
    with captured_stderr(logger, f"libmpg123 decoding {path}"):
        yield


def _open_reason(err: Exception, mpeg: bool) -> str:
    """Why soundfile could not open a file that exists, in words."""
    message = _libsndfile_message(err)
    if getattr(err, "code", None) == _SFE_BAD_FILE:
        message = "no valid MPEG audio frame found" if mpeg else "libsndfile cannot read it"
    return f"not a decodable {'MP3' if mpeg else 'audio'} file ({message})"


def _check_length_known(path: Path, frames: int) -> None:
    """Refuse a file whose header leaves its length out (libsndfile reports SF_COUNT_MAX frames).

    Raises:
        AudioDecodeError: for such a file, saying why.
    """
    if frames == _UNKNOWN_FRAMES:
        raise AudioDecodeError(
            path,
            "the header does not give the length (a FLAC stream written to a pipe?), and libsndfile "
            "cannot decode such a file to its end; re-encode it to a file",
        )


def audio_frames(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Frame count and sample rate from the file header, without decoding.

    Returns:
        ``(frames, sample_rate)`` as stored in the file.

    Raises:
        AudioDecodeError: if the file is missing, empty or not a readable audio file.
    """
    path = Path(path)
    _check_file(path)
    mpeg = _looks_like_mpeg(path)
    try:
        with _quiet_decoder(path, mpeg):
            info = sf.info(_sf_name(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioDecodeError(path, _open_reason(err, mpeg)) from None
    _check_length_known(path, int(info.frames))
    return int(info.frames), int(info.samplerate)


def audio_duration(path: str | os.PathLike[str]) -> float:
    """Duration in seconds from the file header (``soundfile.info``), without decoding.

    Raises:
        AudioDecodeError: if the file is missing, empty or not a readable audio file.
    """
    frames, rate = audio_frames(path)
    return frames / rate


def _is_short(decoded: int, declared: int, fmt: str) -> bool:
    """Whether ``decoded`` frames fall short of the ``declared`` ones beyond the format's slack."""
    if fmt == "MP3":
        return decoded < declared - max(2 * _MP3_FRAME, int(_MP3_LENGTH_SLACK * declared))
    return decoded < declared


# Files already warned about (see _check_header_end): a dataset reads each file once per epoch.
_DOUBTED: set[Path] = set()


def _check_header_end(path: Path, header: Header) -> None:
    """Refuse a file whose data chunk or last Ogg page runs past its end; warn once about an Ogg stream
    without its end-of-stream flag (Android's recorder writes whole files so), which is loaded.

    Raises:
        AudioDecodeError: for a file cut short, saying where.
    """
    if header.cut is not None:
        raise AudioDecodeError(path, f"truncated: {header.cut}")
    if header.doubt is not None and path not in _DOUBTED:
        _DOUBTED.add(path)
        logger.warning("%s: %s (loaded as it is)", path, header.doubt)


def _decode(path: Path) -> tuple[np.ndarray, int]:
    """Read all frames as ``(frames, channels)`` float32 and check them (see :data:`MAX_ABS_SAMPLE`)."""
    mpeg = _looks_like_mpeg(path)
    try:
        with _quiet_decoder(path, mpeg), sf.SoundFile(_sf_name(path)) as fh:
            declared, rate, fmt = int(fh.frames), int(fh.samplerate), fh.format
            _check_length_known(path, declared)
            if declared * fh.channels > MAX_SAMPLES:
                raise AudioDecodeError(
                    path,
                    f"too long: {declared} frames x {fh.channels} channels, more than the {MAX_SAMPLES} "
                    "samples a file may hold (split it)",
                )
            # float64 samples are checked before float32 would turn a huge one into inf
            dtype = "float64" if fh.subtype == "DOUBLE" else "float32"
            # Files libsndfile cannot seek in (GSM 6.10, G.721, NMS ADPCM) are read by their declared count
            frames = -1 if fh.seekable() else declared
            try:
                data = fh.read(frames, dtype=dtype, always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as err:
                raise AudioDecodeError(
                    path,
                    f"decoding failed, the file is truncated or corrupt ({_libsndfile_message(err)}); "
                    f"header declares {declared} frames",
                ) from None
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioDecodeError(path, _open_reason(err, mpeg)) from None
    try:
        header = read_header(path, fmt)
    except OSError as err:  # gone or replaced since it was decoded
        raise AudioDecodeError(path, f"cannot be read again ({err.strerror or err})") from None
    declared = max(declared, header.frames or 0)
    if _is_short(len(data), declared, fmt):
        raise AudioDecodeError(
            path, f"truncated: header declares {declared} frames but only {len(data)} could be decoded"
        )
    _check_header_end(path, header)
    if len(data) == 0:
        raise AudioDecodeError(path, "contains no audio samples (0 frames)")
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        first = int(np.argmin(finite.all(axis=1)))
        raise AudioDecodeError(
            path, f"contains {bad} non-finite samples (NaN or inf), first at frame {first}"
        )
    peak = float(np.abs(data).max())
    if peak > MAX_ABS_SAMPLE:
        first = int(np.argmax((np.abs(data) > MAX_ABS_SAMPLE).any(axis=1)))
        raise AudioDecodeError(
            path,
            f"samples reach {peak:.3g}, first at frame {first}: beyond the +-{MAX_ABS_SAMPLE:.3g} accepted "
            "(full scale is +-1)",
        )
    return data.astype(np.float32, copy=False), rate


def load_audio(path: str | os.PathLike[str], sample_rate: int) -> np.ndarray:
    """Decode a file to a mono float32 waveform at ``sample_rate``.

    Channels are averaged; a file at another rate is resampled with ``soxr`` (``quality="HQ"``).

    Args:
        path: an audio file soundfile can read (wav, flac, ogg, opus, mp3, aiff, caf, ...).
        sample_rate: the rate of the returned waveform in Hz.

    Returns:
        A contiguous 1-D float32 array.

    Raises:
        ValueError: if ``sample_rate`` is not a positive integer.
        AudioDecodeError: if the file is missing, empty, not decodable, truncated, has no samples, has
            non-finite samples or samples beyond :data:`MAX_ABS_SAMPLE` in magnitude, or holds or
            resamples to more than :data:`MAX_SAMPLES` samples.
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    path = Path(path)
    _check_file(path)
    data, file_rate = _decode(path)
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    if file_rate != sample_rate:
        length = resampled_length(len(mono), file_rate, sample_rate)
        if length > MAX_SAMPLES:
            raise AudioDecodeError(
                path,
                f"too long at {sample_rate} Hz: {len(mono)} samples at {file_rate} Hz would resample to "
                f"{length}, more than the {MAX_SAMPLES} accepted (is its sample rate right?)",
            )
        mono = soxr.resample(np.ascontiguousarray(mono), file_rate, sample_rate, quality="HQ")
        if mono.size == 0:
            raise AudioDecodeError(
                path, f"too short: {len(data)} samples at {file_rate} Hz leave none at {sample_rate} Hz"
            )
    return np.ascontiguousarray(mono, dtype=np.float32)
