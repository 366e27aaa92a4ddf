"""Writing tiny SoundFont 2 files for the renderer tests: one looped sine sample, one instrument, and a
preset per chosen program with an optional key range (notes outside it start no voice, hence are silent).

The layout follows the SoundFont 2.04 specification: ``RIFF sfbk`` with ``INFO``, ``sdta`` (16-bit
samples, each followed by 46 zero samples) and ``pdta`` (``phdr pbag pmod pgen inst ibag imod igen
shdr``, every table closed by a terminal record).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np

# Generator operators (SoundFont 2.04, section 8.1.2).
_GEN_RELEASE_VOL_ENV = 38
_GEN_INSTRUMENT = 41
_GEN_KEY_RANGE = 43
_GEN_SAMPLE_ID = 53
_GEN_SAMPLE_MODES = 54
_GEN_ROOT_KEY = 58


def _chunk(tag: bytes, data: bytes) -> bytes:
    pad = b"\0" if len(data) % 2 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def _list(tag: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", tag + b"".join(chunks))


def _name(text: str) -> bytes:
    return text.encode("ascii")[:19].ljust(20, b"\0")


def _gen(oper: int, amount: int | tuple[int, int]) -> bytes:
    if isinstance(amount, tuple):
        return struct.pack("<HBB", oper, *amount)
    return struct.pack("<Hh", oper, amount)


def write_sf2(
    path: Path,
    presets: Mapping[int, tuple[int, int]],
    sample_rate: int = 22050,
    amplitude: float = 0.5,
) -> Path:
    """Write a SoundFont whose bank-0 presets are exactly ``presets``.

    Args:
        path: the file to write.
        presets: program -> ``(lowest key, highest key)`` that sounds; other programs are absent.
        sample_rate: rate of the stored sine sample (A4, 440 Hz, looped on whole periods).
        amplitude: peak of the stored sample, 0..1.

    Returns:
        ``path``.
    """
    period = sample_rate // 440
    n = period * 200
    wave = np.round(amplitude * 32767 * np.sin(2 * np.pi * np.arange(n) / period)).astype("<i2")
    smpl = wave.tobytes() + bytes(2 * 46)
    info = _list(
        b"INFO",
        _chunk(b"ifil", struct.pack("<HH", 2, 1)),
        _chunk(b"isng", b"EMU8000\0"),
        _chunk(b"INAM", b"adaspec test font\0"),
    )
    sdta = _list(b"sdta", _chunk(b"smpl", smpl))

    phdr, pbag, pgen = b"", b"", b""
    for index, (program, (low, high)) in enumerate(sorted(presets.items())):
        phdr += _name(f"test {program}") + struct.pack("<HHHIII", program, 0, index, 0, 0, 0)
        pbag += struct.pack("<HH", 2 * index, 0)
        pgen += _gen(_GEN_KEY_RANGE, (low, high)) + _gen(_GEN_INSTRUMENT, 0)
    count = len(presets)
    phdr += _name("EOP") + struct.pack("<HHHIII", 0, 0, count, 0, 0, 0)
    pbag += struct.pack("<HH", 2 * count, 0)
    pgen += _gen(0, 0)
    igen = (
        _gen(_GEN_KEY_RANGE, (0, 127))
        + _gen(_GEN_RELEASE_VOL_ENV, -3600)
        + _gen(_GEN_ROOT_KEY, 69)
        + _gen(_GEN_SAMPLE_MODES, 1)
        + _gen(_GEN_SAMPLE_ID, 0)
        + _gen(0, 0)
    )
    inst = _name("sine") + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", 1)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 5, 0)
    shdr = _name("sine") + struct.pack("<IIIIIBbHH", 0, n, period, n - period, sample_rate, 69, 0, 0, 1)
    shdr += _name("EOS") + bytes(26)
    pdta = _list(
        b"pdta",
        _chunk(b"phdr", phdr),
        _chunk(b"pbag", pbag),
        _chunk(b"pmod", bytes(10)),
        _chunk(b"pgen", pgen),
        _chunk(b"inst", inst),
        _chunk(b"ibag", ibag),
        _chunk(b"imod", bytes(10)),
        _chunk(b"igen", igen),
        _chunk(b"shdr", shdr),
    )
    body = b"sfbk" + info + sdta + pdta
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path
