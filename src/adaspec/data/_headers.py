"""Frame counts that WAV, RF64, Wave64, AIFF/AIFC and CAF headers declare, to find truncated files.

libsndfile silently shortens such a file when its audio data chunk runs past the end of the file: the frame
count it reports is what is present. Each function here walks the chunk headers only (seeking over the
chunk bodies, a few hundred bytes read in all) and returns the frames a whole file would hold, or ``None``
when the header does not say (a streamed file of unknown length, a compressed encoding whose frame count
is not given, an unexpected layout); ``None`` never makes a file refused.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# Chunk headers read before giving up on finding the data chunk (each is 8 to 24 bytes).
_MAX_CHUNKS = 256
# Data-chunk sizes written by streaming WAV encoders that do not know the length in advance.
_RIFF_UNKNOWN_SIZE = 0x7FFFF000
# The 32-bit sizes an RF64 file gives as "see the ds64 chunk".
_RF64_SIZE_IN_DS64 = 0xFFFFFFFF
# Wave64 chunk GUIDs (little-endian fields, as stored): "riff", "wave", "fmt ", "data".
_W64_RIFF = bytes.fromhex("726966662e91cf11a5d628db04c10000")
_W64_WAVE = bytes.fromhex("77617665f3acd3118cd100c04f8edb8a")
_W64_FMT = bytes.fromhex("666d7420f3acd3118cd100c04f8edb8a")
_W64_DATA = bytes.fromhex("64617461f3acd3118cd100c04f8edb8a")
# AIFC compression types with a fixed number of bytes per sample (None: the COMM sample size gives it).
_AIFC_SAMPLE_BYTES: dict[bytes, int | None] = {
    b"NONE": None,
    b"twos": None,
    b"sowt": None,
    b"raw ": None,
    b"fl32": 4,
    b"FL32": 4,
    b"fl64": 8,
    b"FL64": 8,
    b"ulaw": 1,
    b"ULAW": 1,
    b"alaw": 1,
    b"ALAW": 1,
    b"in24": 3,
    b"42ni": 3,
    b"in32": 4,
    b"23ni": 4,
}


def _read(fh: BinaryIO, pos: int, n: int) -> bytes | None:
    """``n`` bytes at ``pos``, or ``None`` when the file ends first."""
    fh.seek(pos)
    data = fh.read(n)
    return data if len(data) == n else None


def riff_frames(fh: BinaryIO, size: int) -> int | None:
    """Frames a RIFF/WAVE, RF64 or BW64 header declares: the ``data`` chunk's size (for RF64/BW64, where it
    reads ``0xFFFFFFFF``, the ``ds64`` chunk's) over the ``fmt`` block align. A WAV ``data`` size of 0 or of
    at least :data:`_RIFF_UNKNOWN_SIZE` (a streaming encoder's) declares nothing.

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared frames, or ``None`` when not applicable.
    """
    head = _read(fh, 0, 12)
    if head is None or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        return None
    riff = head[:4] == b"RIFF"
    block_align = 0
    ds64_data_size = 0
    pos = 12
    while pos + 8 <= size:  # every chunk up to the data chunk, as libsndfile reads them
        chunk = _read(fh, pos, 8)
        if chunk is None:
            return None
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"ds64" and not riff:
            ds64 = _read(fh, pos + 8, 16)
            if ds64 is not None:
                ds64_data_size = struct.unpack("<Q", ds64[8:16])[0]
        elif chunk_id == b"fmt ":
            fmt = _read(fh, pos + 8, 14)
            if fmt is not None:
                block_align = struct.unpack("<H", fmt[12:14])[0]
        elif chunk_id == b"data":
            if riff:
                data_size = chunk_size if chunk_size < _RIFF_UNKNOWN_SIZE else 0
            else:
                data_size = ds64_data_size if chunk_size == _RF64_SIZE_IN_DS64 else chunk_size
            return data_size // block_align if block_align and data_size else None
        pos += 8 + chunk_size + (chunk_size & 1)
    return None


def w64_frames(fh: BinaryIO, size: int) -> int | None:
    """Frames a Wave64 header declares: the ``data`` chunk's 64-bit size over the ``fmt`` block align.

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared frames, or ``None`` when not applicable.
    """
    head = _read(fh, 0, 40)
    if head is None or head[:16] != _W64_RIFF or head[24:40] != _W64_WAVE:
        return None
    block_align = 0
    pos = 40
    for _ in range(_MAX_CHUNKS):
        chunk = _read(fh, pos, 24)
        if chunk is None:
            return None
        guid, chunk_size = chunk[:16], struct.unpack("<Q", chunk[16:])[0]  # the size includes these 24
        if chunk_size < 24:
            return None
        if guid == _W64_FMT:
            fmt = _read(fh, pos + 24, 14)
            if fmt is not None:
                block_align = struct.unpack("<H", fmt[12:14])[0]
        elif guid == _W64_DATA:
            data_size = chunk_size - 24
            return data_size // block_align if block_align and data_size else None
        pos += (chunk_size + 7) & ~7
        if pos >= size:
            return None
    return None


def aiff_frames(fh: BinaryIO, size: int) -> int | None:
    """Frames an AIFF/AIFC header declares: the lesser of ``COMM``'s numSampleFrames and the ``SSND`` size
    in frames (libsndfile decodes what ``SSND`` holds; a whole file decodes to both).

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared frames, or ``None`` when not applicable (a compressed AIFC encoding among others).
    """
    head = _read(fh, 0, 12)
    if head is None or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
        return None
    comm: tuple[int, int] | None = None  # (numSampleFrames, bytes per frame)
    ssnd_size: int | None = None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        chunk = _read(fh, pos, 8)
        if chunk is None:
            break
        chunk_id, chunk_size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if chunk_id == b"COMM":
            fields = _read(fh, pos + 8, 22 if head[8:12] == b"AIFC" else 18)
            if fields is None:
                return None
            channels, frames, bits = struct.unpack(">hIh", fields[:8])
            compression = fields[18:22] if head[8:12] == b"AIFC" else b"NONE"
            if compression not in _AIFC_SAMPLE_BYTES or channels <= 0:
                return None
            sample_bytes = _AIFC_SAMPLE_BYTES[compression] or (bits + 7) // 8
            if sample_bytes <= 0:
                return None
            comm = (frames, channels * sample_bytes)
        elif chunk_id == b"SSND":
            offset = _read(fh, pos + 8, 4)
            if offset is None:
                return None
            ssnd_size = chunk_size - 8 - struct.unpack(">I", offset)[0]
        if comm is not None and ssnd_size is not None:
            frames, frame_bytes = comm
            return min(frames, ssnd_size // frame_bytes) if ssnd_size > 0 else None
        pos += 8 + chunk_size + (chunk_size & 1)
        if pos >= size:
            break
    return None


def caf_frames(fh: BinaryIO, size: int) -> int | None:
    """Frames a CAF header declares: the ``data`` size over ``desc``'s bytes per packet (times frames per
    packet), or, for variable-size packets (ALAC), ``pakt``'s valid frames when the ``data`` chunk runs
    past the end of the file. A ``data`` size of -1 ("to the end of the file") declares nothing.

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared frames, or ``None`` when not applicable.
    """
    head = _read(fh, 0, 8)
    if head is None or head[:4] != b"caff":
        return None
    packet: tuple[int, int] | None = None  # (bytes per packet, frames per packet)
    valid_frames: int | None = None
    data: tuple[int, int] | None = None  # (offset of its body, size)
    pos = 8
    for _ in range(_MAX_CHUNKS):
        chunk = _read(fh, pos, 12)
        if chunk is None:
            break
        chunk_id, chunk_size = chunk[:4], struct.unpack(">q", chunk[4:])[0]
        if chunk_id == b"desc":
            desc = _read(fh, pos + 12, 24)
            if desc is None:
                return None
            packet = struct.unpack(">II", desc[16:24])
        elif chunk_id == b"pakt":
            pakt = _read(fh, pos + 12, 16)
            if pakt is not None:
                valid_frames = struct.unpack(">q", pakt[8:16])[0]
        elif chunk_id == b"data":
            if chunk_size < 0:  # -1: the data runs to the end of the file, whatever its length
                return None
            data = (pos + 12, chunk_size)
        if chunk_size < 0:
            return None
        pos += 12 + chunk_size
        if pos >= size:
            break
    if packet is None or data is None or data[1] <= 4:  # the body starts with a 4-byte edit count
        return None
    packet_bytes, packet_frames = packet
    if packet_bytes > 0 and packet_frames > 0:
        return (data[1] - 4) // packet_bytes * packet_frames
    if valid_frames is not None and valid_frames > 0 and data[0] + data[1] > size:
        return valid_frames
    return None


# libsndfile's major format names (``SoundFile.format``) to the parser of their header.
DECLARED_FRAMES: dict[str, Callable[[BinaryIO, int], int | None]] = {
    "WAV": riff_frames,
    "WAVEX": riff_frames,
    "RF64": riff_frames,
    "W64": w64_frames,
    "AIFF": aiff_frames,
    "CAF": caf_frames,
}


def declared_frames(path: Path, fmt: str) -> int | None:
    """Frames the header of ``path`` (libsndfile major format ``fmt``) declares, see the module doc.

    Returns:
        The declared frames, or ``None`` for another format or a header that does not say.

    Raises:
        OSError: if the file cannot be opened or read.
    """
    parse = DECLARED_FRAMES.get(fmt)
    if parse is None:
        return None
    with open(path, "rb", buffering=0) as fh:  # unbuffered: only the header bytes are read
        return parse(fh, os.fstat(fh.fileno()).st_size)
