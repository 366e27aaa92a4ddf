"""The validation scan: bad files reported and skipped, or refused in strict mode."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from adaspec.data import AudioItem, DataError, scan_items
from tests.data.audio_files import rename_to_bytes, write_tone


def _dataset(tmp_path):
    good = [
        AudioItem(write_tone(tmp_path / "a.wav", subtype="FLOAT"), "a"),
        AudioItem(write_tone(tmp_path / "b.flac", seconds=0.1), "b"),
    ]
    text = tmp_path / "c.wav"
    text.write_text("not audio")
    empty = tmp_path / "d.wav"
    empty.write_bytes(b"")
    bad = [AudioItem(text, "a"), AudioItem(empty, "b"), AudioItem(tmp_path / "gone.wav", "b")]
    return [good[0], bad[0], good[1], bad[1], bad[2]], good, bad


def test_scan_reports_and_skips_bad_files(tmp_path, caplog):
    items, good, bad = _dataset(tmp_path)
    with caplog.at_level("WARNING", logger="adaspec.data.scan"):
        result = scan_items(items, 16000)
    assert result.items == good
    assert result.waves is None
    assert [item for item, _ in result.bad] == bad
    reasons = [reason for _, reason in result.bad]
    assert reasons[1:] == ["empty file (0 bytes)", "file not found"]
    assert reasons[0].startswith("not a decodable audio file")
    for item, reason in result.bad:
        assert f"{item.path}: {reason}" in caplog.messages


def test_scan_cache_keeps_waves_aligned(tmp_path):
    items, _, _ = _dataset(tmp_path)
    result = scan_items(items, 16000, cache=True)
    assert len(result.waves) == len(result.items) == 2
    for item, wave in zip(result.items, result.waves, strict=True):
        np.testing.assert_allclose(wave, sf.read(item.path, dtype="float32")[0], atol=1e-7)


def test_strict_refuses_with_count_and_reasons(tmp_path):
    items, _, bad = _dataset(tmp_path)
    with pytest.raises(DataError) as info:
        scan_items(items, 16000, strict=True)
    message = str(info.value)
    assert message.startswith("3 of 5 audio files cannot be used")
    assert f"{bad[1].path}: empty file (0 bytes)" in message
    assert isinstance(info.value, ValueError)


def test_strict_listing_is_truncated(tmp_path):
    items = [AudioItem(tmp_path / f"{k}.wav", "a") for k in range(8)]
    with pytest.raises(DataError, match=r"none of the 8 audio files can be used") as info:
        scan_items(items, 16000)
    assert "... and 3 more" in str(info.value)


def test_nothing_usable_or_nothing_given(tmp_path):
    with pytest.raises(DataError, match="no audio files"):
        scan_items([], 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        scan_items([], 0)


def test_file_name_that_is_not_utf8_is_reported_escaped_and_skipped(tmp_path, caplog):
    """The run's split file is UTF-8 text and cannot record such a name, so the scan skips the file."""
    good = AudioItem(write_tone(tmp_path / "a.wav"), "a")
    odd = AudioItem(rename_to_bytes(write_tone(tmp_path / "b.wav"), b"fl\xfbte.wav"), "a")
    with caplog.at_level("WARNING", logger="adaspec.data.scan"):
        result = scan_items([odd, good], 16000)
    assert result.items == [good]
    assert [item for item, _ in result.bad] == [odd]
    shown = f"{tmp_path}{os.sep}fl\\xfbte.wav: {result.bad[0][1]}"
    assert "not valid UTF-8" in result.bad[0][1] and shown in caplog.messages
    with pytest.raises(DataError, match=r"1 of 2 audio files cannot be used \(strict\): .*fl\\xfbte\.wav"):
        scan_items([odd, good], 16000, strict=True)
