"""What WAV, RF64, Wave64, AIFF/AIFC, CAF and Ogg files declare about their length, to find truncated files.

libsndfile silently shortens such a file when its audio data chunk runs past the end of the file: the frame
count it reports is what is present. Each walker here reads the chunk headers only (seeking over the chunk
bodies, a few hundred bytes read in all) and returns a :class:`Header`: the frames a whole file would hold
and where its audio data chunk ends, whatever the encoding (ADPCM and GSM blocks hold no whole number of
frames, but the chunk still gives its size). ``None`` in either means the header does not say (a streamed
file of unknown length, a compressed encoding whose frame count is not given, an unexpected layout) and
never makes a file refused. An Ogg file declares no length: its last pages are walked instead (see
:func:`ogg_header`).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, NamedTuple

# Chunk headers read before giving up on finding the data chunk (each is 8 to 24 bytes).
_MAX_CHUNKS = 256
# Data-chunk sizes written by streaming WAV encoders that do not know the length in advance.
_RIFF_UNKNOWN_SIZE = 0x7FFFF000
# WAVE format tags whose block align is the frame size: PCM, IEEE float, A-law, mu-law, extensible (whose
# sub-formats libsndfile writes are these); an ADPCM or GSM block holds many frames.
_FRAME_SIZED_TAGS = (0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE)
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
# Ogg pages: a 27-byte header, then up to 255 lacing values of up to 255 bytes each.
_OGG_HEADER = 27
_OGG_MAX_PAGE = _OGG_HEADER + 255 + 255 * 255
# Bytes read at an Ogg file's end: 64 KiB, then, where no whole page is found there, enough for the last
# page (perhaps cut) and the whole page before it, however long.
_OGG_TAILS = (1 << 16, 2 * _OGG_MAX_PAGE)
# header_type flag of the last page of a logical stream (end of stream).
_OGG_EOS = 0x04
# Each byte with its bits in reverse order (for Ogg's CRC, computed with zlib's bit-reversed one).
_BIT_REVERSED = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


class Header(NamedTuple):
    """What a file's header declares about its length (``None``: it does not say).

    Attributes:
        frames: the frames a whole file holds.
        data: ``(offset, size)`` of the audio data its data chunk declares, whatever the encoding.
        cut: why the file is certainly truncated, in words (an Ogg file cut inside a page).
        doubt: why it may be truncated, in words (an Ogg stream without its end-of-stream page).
    """

    frames: int | None = None
    data: tuple[int, int] | None = None
    cut: str | None = None
    doubt: str | None = None


def _read(fh: BinaryIO, pos: int, n: int) -> bytes | None:
    """``n`` bytes at ``pos``, or ``None`` when the file ends first."""
    fh.seek(pos)
    data = fh.read(n)
    return data if len(data) == n else None


def _frame_bytes(fmt: bytes) -> int:
    """Bytes per frame from the first 14 bytes of a WAVE ``fmt`` chunk's body (0: not fixed)."""
    tag, block_align = struct.unpack("<H", fmt[:2])[0], struct.unpack("<H", fmt[12:14])[0]
    return block_align if tag in _FRAME_SIZED_TAGS else 0


def _data_header(start: int, data_size: int, frame_bytes: int) -> Header:
    """A data chunk's :class:`Header`: ``data_size`` bytes (0: unknown) at ``start`` of ``frame_bytes``-byte
    frames (0: not fixed)."""
    if data_size <= 0:
        return Header()
    return Header(data_size // frame_bytes if frame_bytes else None, (start, data_size))


def riff_frames(fh: BinaryIO, size: int) -> Header:
    """What a RIFF/WAVE, RF64 or BW64 header declares: the ``data`` chunk's size (for RF64/BW64, where it
    reads ``0xFFFFFFFF``, the ``ds64`` chunk's), in frames over the ``fmt`` block align for PCM, float, A-law
    and mu-law. A WAV ``data`` size of 0 or of at least :data:`_RIFF_UNKNOWN_SIZE` (a streaming encoder's)
    declares nothing.

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared length (empty when not applicable).
    """
    head = _read(fh, 0, 12)
    if head is None or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        return Header()
    riff = head[:4] == b"RIFF"
    block_align = 0
    ds64_data_size = 0
    pos = 12
    while pos + 8 <= size:  # every chunk up to the data chunk, as libsndfile reads them
        chunk = _read(fh, pos, 8)
        if chunk is None:
            return Header()
        chunk_id, chunk_size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if chunk_id == b"ds64" and not riff:
            ds64 = _read(fh, pos + 8, 16)
            if ds64 is not None:
                ds64_data_size = struct.unpack("<Q", ds64[8:16])[0]
        elif chunk_id == b"fmt ":
            fmt = _read(fh, pos + 8, 14)
            if fmt is not None:
                block_align = _frame_bytes(fmt)
        elif chunk_id == b"data":
            if riff:
                data_size = chunk_size if chunk_size < _RIFF_UNKNOWN_SIZE else 0
            else:
                data_size = ds64_data_size if chunk_size == _RF64_SIZE_IN_DS64 else chunk_size
            return _data_header(pos + 8, data_size, block_align)
        pos += 8 + chunk_size + (chunk_size & 1)
    return Header()


def w64_frames(fh: BinaryIO, size: int) -> Header:
    """What a Wave64 header declares: the ``data`` chunk's 64-bit size, in frames over the ``fmt`` block
    align (as in :func:`riff_frames`).

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared length (empty when not applicable).
    """
    head = _read(fh, 0, 40)
    if head is None or head[:16] != _W64_RIFF or head[24:40] != _W64_WAVE:
        return Header()
    block_align = 0
    pos = 40
    for _ in range(_MAX_CHUNKS):
        chunk = _read(fh, pos, 24)
        if chunk is None:
            return Header()
        guid, chunk_size = chunk[:16], struct.unpack("<Q", chunk[16:])[0]  # the size includes these 24
        if chunk_size < 24:
            return Header()
        if guid == _W64_FMT:
            fmt = _read(fh, pos + 24, 14)
            if fmt is not None:
                block_align = _frame_bytes(fmt)
        elif guid == _W64_DATA:
            return _data_header(pos + 24, chunk_size - 24, block_align)
        pos += (chunk_size + 7) & ~7
        if pos >= size:
            return Header()
    return Header()


def _aiff_comm(fields: bytes, aifc: bool) -> tuple[int, int]:
    """``(numSampleFrames, bytes per frame)`` from a ``COMM`` chunk's body (bytes per frame 0: not fixed,
    a compressed AIFC encoding among others)."""
    channels, frames, bits = struct.unpack(">hIh", fields[:8])
    compression = fields[18:22] if aifc else b"NONE"
    if compression not in _AIFC_SAMPLE_BYTES or channels <= 0:
        return frames, 0
    return frames, channels * max(0, _AIFC_SAMPLE_BYTES[compression] or (bits + 7) // 8)


def _aiff_header(comm: tuple[int, int] | None, ssnd: tuple[int, int]) -> Header:
    """The :class:`Header` of an AIFF file from its ``COMM`` (see :func:`_aiff_comm`) and ``SSND`` (offset
    and size of the sound data) chunks: the lesser of numSampleFrames and the ``SSND`` size in frames
    (libsndfile decodes what ``SSND`` holds; a whole file decodes to both)."""
    start, data_size = ssnd
    header = _data_header(start, data_size, 0)
    if comm is None or not comm[1] or header.data is None:
        return header
    return header._replace(frames=min(comm[0], data_size // comm[1]))


def aiff_frames(fh: BinaryIO, size: int) -> Header:
    """What an AIFF/AIFC header declares: the ``SSND`` chunk's size and, for an encoding of fixed frame size,
    frames (see :func:`_aiff_header`).

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared length (empty when not applicable).
    """
    head = _read(fh, 0, 12)
    if head is None or head[:4] != b"FORM" or head[8:12] not in (b"AIFF", b"AIFC"):
        return Header()
    aifc = head[8:12] == b"AIFC"
    comm: tuple[int, int] | None = None
    ssnd: tuple[int, int] | None = None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        chunk = _read(fh, pos, 8)
        if chunk is None:
            break
        chunk_id, chunk_size = chunk[:4], struct.unpack(">I", chunk[4:])[0]
        if chunk_id == b"COMM":
            fields = _read(fh, pos + 8, 22 if aifc else 18)
            if fields is None:
                return Header()
            comm = _aiff_comm(fields, aifc)
        elif chunk_id == b"SSND":
            offset = _read(fh, pos + 8, 4)
            if offset is None:
                return Header()
            skip = 8 + struct.unpack(">I", offset)[0]  # the offset and blockSize fields, then the offset
            ssnd = (pos + 8 + skip, chunk_size - skip)
        if comm is not None and ssnd is not None:
            break
        pos += 8 + chunk_size + (chunk_size & 1)
        if pos >= size:
            break
    return Header() if ssnd is None else _aiff_header(comm, ssnd)


def caf_frames(fh: BinaryIO, size: int) -> Header:
    """What a CAF header declares: the ``data`` size, in frames over ``desc``'s bytes per packet (times
    frames per packet), or, for variable-size packets (ALAC), ``pakt``'s valid frames when the ``data``
    chunk runs past the end of the file. A ``data`` size of -1 ("to the end of the file") declares nothing.

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The declared length (empty when not applicable).
    """
    head = _read(fh, 0, 8)
    if head is None or head[:4] != b"caff":
        return Header()
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
                return Header()
            packet = struct.unpack(">II", desc[16:24])
        elif chunk_id == b"pakt":
            pakt = _read(fh, pos + 12, 16)
            if pakt is not None:
                valid_frames = struct.unpack(">q", pakt[8:16])[0]
        elif chunk_id == b"data":
            if chunk_size < 0:  # -1: the data runs to the end of the file, whatever its length
                return Header()
            data = (pos + 12, chunk_size)
        if chunk_size < 0:
            return Header()
        pos += 12 + chunk_size
        if pos >= size:
            break
    if data is None or data[1] <= 4:  # the body starts with a 4-byte edit count
        return Header()
    header = Header(data=(data[0] + 4, data[1] - 4))
    packet_bytes, packet_frames = packet or (0, 0)
    if packet_bytes > 0 and packet_frames > 0:
        return header._replace(frames=(data[1] - 4) // packet_bytes * packet_frames)
    if valid_frames is not None and valid_frames > 0 and data[0] + data[1] > size:
        return header._replace(frames=valid_frames)
    return header


def _ogg_crc(page: bytes) -> int:
    """Ogg's CRC-32 of ``page`` (polynomial 0x04C11DB7, most significant bit first, no initial or final
    XOR), computed as zlib's bit-reversed CRC-32 of the bit-reversed bytes."""
    reflected = zlib.crc32(page.translate(_BIT_REVERSED), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{reflected:032b}"[::-1], 2)


def _ogg_page_length(buf: bytes, pos: int) -> int | None:
    """Length of the Ogg page whose header starts at ``pos`` (``None``: its header is not all in ``buf``)."""
    if pos + _OGG_HEADER > len(buf):
        return None
    lacing_end = pos + _OGG_HEADER + buf[pos + 26]
    if lacing_end > len(buf):
        return None
    return lacing_end - pos + sum(buf[pos + _OGG_HEADER : lacing_end])


def _is_ogg_page(buf: bytes, pos: int) -> bool:
    """Whether a whole Ogg page with a matching CRC starts at ``pos`` (bytes 22 to 25 hold the CRC)."""
    length = _ogg_page_length(buf, pos)
    if length is None or pos + length > len(buf) or buf[pos + 4] != 0:
        return False
    page = buf[pos : pos + 22] + bytes(4) + buf[pos + 26 : pos + length]
    return _ogg_crc(page) == struct.unpack("<I", buf[pos + 22 : pos + 26])[0]


def _last_ogg_page(buf: bytes) -> int | None:
    """Offset of the last whole Ogg page in ``buf`` (a capture pattern in packet data fails the CRC)."""
    pos = buf.rfind(b"OggS")
    while pos >= 0 and not _is_ogg_page(buf, pos):
        pos = buf.rfind(b"OggS", 0, pos)
    return pos if pos >= 0 else None


def _ogg_pages_end(buf: bytes, pos: int) -> Header:
    """Walk the Ogg pages from ``pos`` (a page) to the end of ``buf`` (the file's): a page that runs past
    it is cut; a last page without the end-of-stream flag leaves a doubt. Bytes that are not a page (a
    tag after the stream) say nothing."""
    flags = 0
    while pos < len(buf):
        if not b"OggS".startswith(buf[pos : pos + 4]) or buf[pos + 4 : pos + 5] not in (b"", b"\0"):
            return Header()
        length = _ogg_page_length(buf, pos)
        if length is None:
            return Header(cut="the file ends inside an Ogg page header")
        if pos + length > len(buf):
            return Header(cut=f"the file ends inside an Ogg page ({len(buf) - pos} of its {length} bytes)")
        flags = buf[pos + 5]
        pos += length
    if not flags & _OGG_EOS:
        return Header(doubt="the Ogg stream ends without its end-of-stream flag: cut at a page boundary?")
    return Header()


def ogg_header(fh: BinaryIO, size: int) -> Header:
    """What the end of an Ogg file says: its pages are walked from the last whole one within its last
    :data:`_OGG_TAILS` bytes (see :func:`_ogg_pages_end`).

    Args:
        fh: the file, opened for binary reading.
        size: its size in bytes.

    Returns:
        The file's :class:`Header` (``cut`` or ``doubt`` at most).
    """
    if _read(fh, 0, 4) != b"OggS":
        return Header()
    for tail_size in _OGG_TAILS:
        start = max(0, size - tail_size)
        tail = _read(fh, start, size - start)
        if tail is None:
            return Header()
        last = _last_ogg_page(tail)
        if last is not None or start == 0:  # (the file's first page is at 0)
            return _ogg_pages_end(tail, last or 0)
    return Header()


# libsndfile's major format names (``SoundFile.format``) to the parser of their header.
HEADERS: dict[str, Callable[[BinaryIO, int], Header]] = {
    "WAV": riff_frames,
    "WAVEX": riff_frames,
    "RF64": riff_frames,
    "W64": w64_frames,
    "AIFF": aiff_frames,
    "CAF": caf_frames,
    "OGG": ogg_header,
}


# Bytes a data chunk may declare beyond the file's end without the file being refused: sloppy writers get
# the size a few bytes wrong, and libsndfile loads such files; a cut copy lacks far more.
_DATA_SLACK = 64


def _data_cut(header: Header, size: int) -> Header:
    """``header`` with ``cut`` set when its data chunk runs more than :data:`_DATA_SLACK` bytes past the
    file's ``size`` bytes."""
    if header.data is None or sum(header.data) <= size + _DATA_SLACK:
        return header
    start, declared = header.data
    present = max(0, size - start)
    return header._replace(
        cut=f"the header declares {declared} bytes of audio data but only {present} are in the file"
    )


def read_header(path: Path, fmt: str) -> Header:
    """What the header of ``path`` (libsndfile major format ``fmt``) declares, see the module doc; ``cut``
    is set for a data chunk that runs past the end of the file.

    Returns:
        The file's :class:`Header` (empty for another format or a header that does not say).

    Raises:
        OSError: if the file cannot be opened or read.
    """
    parse = HEADERS.get(fmt)
    if parse is None:
        return Header()
    with open(path, "rb", buffering=0) as fh:  # unbuffered: only the header bytes are read
        size = os.fstat(fh.fileno()).st_size
        return _data_cut(parse(fh, size), size)
