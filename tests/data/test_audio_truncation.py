"""Truncated files that frame counts cannot show: compressed encodings (their data chunk's size) and Ogg
streams (their last page), refused with their path; whole files load as soundfile reads them."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest
import soundfile as sf

from adaspec.data import AudioDecodeError, load_audio
from adaspec.data._headers import _ogg_crc, read_header

# (format, file name, subtype, bytes per block): libsndfile loaded these shortened when cut
_COMPRESSED = [
    ("WAV", "cut.wav", "IMA_ADPCM", 256),
    ("WAV", "cut.wav", "MS_ADPCM", 256),
    ("WAV", "cut.wav", "GSM610", 65),
    ("WAV", "cut.wav", "G721_32", 60),
    ("WAV", "cut.wav", "NMS_ADPCM_16", 84),
    ("W64", "cut.w64", "IMA_ADPCM", 256),
    ("W64", "cut.w64", "MS_ADPCM", 256),
    ("W64", "cut.w64", "GSM610", 65),
    ("AIFF", "cut.aifc", "IMA_ADPCM", 34),
    ("AIFF", "cut.aifc", "GSM610", 33),
]
_DATA_CUT = re.compile(
    r"truncated: the header declares (\d+) bytes of audio data but only (\d+) are in the file"
)


def _reason(path) -> str:
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path, 16000)
    assert info.value.path == path and str(info.value) == f"{path}: {info.value.reason}"
    return info.value.reason


def _loads_as_soundfile_reads(path) -> None:
    expected, rate = sf.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(load_audio(path, rate), expected.mean(axis=1, dtype=np.float32))


def _write_noise(path, fmt, subtype, frames=8000, channels=1, rate=16000):
    data = 0.3 * np.random.default_rng(0).standard_normal((frames, channels))
    with sf.SoundFile(path, "w", rate, channels, format=fmt, subtype=subtype) as fh:
        for at in range(0, frames, rate):  # (a long Vorbis write at once crashes libvorbis)
            fh.write(data[at : at + rate])
    return path


@pytest.mark.parametrize(("fmt", "name", "subtype", "block"), _COMPRESSED)
def test_a_cut_compressed_file_is_refused(tmp_path, fmt, name, subtype, block):
    path = _write_noise(tmp_path / name, fmt, subtype)
    raw = path.read_bytes()
    _loads_as_soundfile_reads(path)
    start, size = read_header(path, fmt).data
    assert start + size <= len(raw) < start + size + 8  # (padded to 2 bytes, or to 8 in a Wave64 file)
    for keep in (int(len(raw) * 0.6), start + size // block // 2 * block):  # anywhere; at a block's end
        path.write_bytes(raw[:keep])
        declared, present = map(int, _DATA_CUT.fullmatch(_reason(path)).groups())
        assert (declared, present) == (size, keep - start)


@pytest.mark.parametrize(("fmt", "name", "subtype", "block"), _COMPRESSED[:3])
def test_a_data_size_a_few_bytes_too_large_is_tolerated(tmp_path, fmt, name, subtype, block):
    """Writers that get the size a few bytes wrong make files libsndfile loads: they are not refused."""
    path = _write_noise(tmp_path / name, fmt, subtype)
    raw = path.read_bytes()
    start, size = read_header(path, fmt).data
    path.write_bytes(raw[: start + size - 10])
    expected, rate = sf.read(path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(load_audio(path, rate), expected.mean(axis=1, dtype=np.float32))


def _set_data_size(raw: bytes, fmt: str, size: int) -> bytes:
    """``raw`` with its data chunk's size field set to ``size``."""
    out = bytearray(raw)
    at = out.index(b"data")
    if fmt == "CAF":
        out[at + 4 : at + 12] = struct.pack(">q", size)
    else:
        out[at + 4 : at + 8] = struct.pack("<I", size)
    return bytes(out)


@pytest.mark.parametrize(("fmt", "name", "size"), [("WAV", "s.wav", 0), ("WAV", "s.wav", 0xFFFFFFFF)])
def test_a_streamed_data_size_declares_nothing(tmp_path, fmt, name, size):
    path = _write_noise(tmp_path / name, fmt, "IMA_ADPCM")
    path.write_bytes(_set_data_size(path.read_bytes(), fmt, size)[:-100])
    header = read_header(path, fmt)
    assert header.data is None and header.cut is None


def test_rf64_declares_its_data_size_in_ds64(tmp_path):
    path = _write_noise(tmp_path / "a.rf64", "RF64", "ULAW")
    raw = path.read_bytes()
    assert raw[raw.index(b"data") + 4 : raw.index(b"data") + 8] == b"\xff" * 4
    path.write_bytes(raw[:-100])
    assert read_header(path, "RF64").data[1] == 8000
    assert _reason(path) == f"truncated: header declares 8000 frames but only {8000 - 100} could be decoded"


def _ogg_pages(raw: bytes) -> list[tuple[int, int]]:
    """``(offset, length)`` of every page of a whole Ogg file."""
    pages, pos = [], 0
    while pos < len(raw):
        assert raw[pos : pos + 4] == b"OggS"
        lacing = raw[pos + 27 : pos + 27 + raw[pos + 26]]
        pages.append((pos, 27 + len(lacing) + sum(lacing)))
        pos += pages[-1][1]
    return pages


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
@pytest.mark.parametrize("seconds", [0.5, 8.0])  # within the 64 KiB read at the end, and beyond it
def test_an_ogg_file_cut_inside_a_page_is_refused(tmp_path, subtype, seconds):
    path = _write_noise(tmp_path / "cut.ogg", "OGG", subtype, int(seconds * 48000), 2, 48000)
    raw = path.read_bytes()
    _loads_as_soundfile_reads(path)
    pages = _ogg_pages(raw)
    assert raw[pages[-1][0] + 5] & 0x04  # libsndfile sets end-of-stream on the last page
    inside = [(int(len(raw) * 0.6), None), (len(raw) - 100, None), (pages[-1][0] + 10, "header")]
    for keep, where in inside:
        path.write_bytes(raw[:keep])
        start, length = next(page for page in pages if page[0] <= keep < sum(page))
        if where is None and keep - start >= 27 + raw[start + 26]:
            expected = f"truncated: the file ends inside an Ogg page ({keep - start} of its {length} bytes)"
        else:
            expected = "truncated: the file ends inside an Ogg page header"
        assert _reason(path) == expected


@pytest.mark.parametrize("subtype", ["VORBIS", "OPUS"])
def test_an_ogg_file_cut_at_a_page_boundary_loads_with_one_warning(tmp_path, subtype, caplog):
    # no length to hold it to; Android's OggWriter writes whole files without the end-of-stream flag
    path = _write_noise(tmp_path / "paged.ogg", "OGG", subtype, 96000, 1, 48000)
    raw = path.read_bytes()
    path.write_bytes(raw[: _ogg_pages(raw)[-1][0]])
    with caplog.at_level("WARNING", logger="adaspec.data.audio"):
        _loads_as_soundfile_reads(path)
        load_audio(path, 16000)
    assert caplog.messages == [
        f"{path}: the Ogg stream ends without its end-of-stream flag: cut at a page boundary? "
        "(loaded as it is)"
    ]


def test_a_whole_ogg_file_loads_without_a_warning(tmp_path, caplog):
    path = _write_noise(tmp_path / "whole.ogg", "OGG", "VORBIS", 48000, 1, 48000)
    with caplog.at_level("WARNING", logger="adaspec.data.audio"):
        _loads_as_soundfile_reads(path)
    assert caplog.messages == []


def test_ogg_crc_matches_libogg(tmp_path):
    raw = _write_noise(tmp_path / "a.ogg", "OGG", "OPUS", 48000, 1, 48000).read_bytes()
    for start, length in _ogg_pages(raw):
        page = raw[start : start + 22] + bytes(4) + raw[start + 26 : start + length]
        assert _ogg_crc(page) == struct.unpack("<I", raw[start + 22 : start + 26])[0]


def test_a_capture_pattern_inside_the_last_page_is_not_a_page(tmp_path):
    path = _write_noise(tmp_path / "a.ogg", "OGG", "VORBIS", 48000, 1, 48000)
    raw = bytearray(path.read_bytes())
    start, length = _ogg_pages(bytes(raw))[-1]
    raw[start + length - 40 : start + length - 36] = b"OggS"  # packet data that looks like a page
    raw[start + 22 : start + 26] = bytes(4)
    raw[start + 22 : start + 26] = struct.pack("<I", _ogg_crc(bytes(raw[start:])))
    path.write_bytes(bytes(raw))
    assert read_header(path, "OGG")[2:] == (None, None)  # (cut, doubt)
    path.write_bytes(bytes(raw[:-30]))  # cut after that pattern
    assert (
        read_header(path, "OGG").cut
        == f"the file ends inside an Ogg page ({length - 30} of its {length} bytes)"
    )


def test_bytes_after_the_last_ogg_page_say_nothing(tmp_path):
    path = _write_noise(tmp_path / "a.ogg", "OGG", "VORBIS", 48000, 1, 48000)
    raw = path.read_bytes()
    path.write_bytes(raw[: _ogg_pages(raw)[-1][0]] + b"TAG" + bytes(125))  # an ID3v1 tag after the stream
    assert read_header(path, "OGG")[2:] == (None, None)  # (cut, doubt)


def _ogg_page(body: bytes, sequence: int, flags: int = 0) -> bytes:
    """One Ogg page holding ``body`` (a single packet of up to 65,025 bytes) with its CRC."""
    lacing = bytes([255] * (len(body) // 255) + ([len(body) % 255] if len(body) < 255 * 255 else []))
    page = bytearray(b"OggS\0" + bytes([flags]) + bytes(8) + struct.pack("<II", 7, sequence) + bytes(4))
    page += bytes([len(lacing)]) + lacing + body
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def test_a_cut_after_two_long_ogg_pages_is_found(tmp_path):
    # the last 64 KiB hold no whole page: the last 2 x 65,307 bytes are read instead
    body = np.random.default_rng(0).integers(0, 256, 60_000, dtype=np.uint8).tobytes()
    raw = _ogg_page(b"head", 0, 0x02) + b"".join(_ogg_page(body, n) for n in (1, 2, 3))
    path = tmp_path / "long_pages.ogg"
    path.write_bytes(raw)
    assert read_header(path, "OGG").doubt is not None  # (no end-of-stream flag)
    path.write_bytes(raw[:-20_000])
    length = len(_ogg_page(body, 3))
    assert (
        read_header(path, "OGG").cut
        == f"the file ends inside an Ogg page ({length - 20_000} of its {length} bytes)"
    )
