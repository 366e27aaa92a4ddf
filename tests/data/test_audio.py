"""load_audio against soundfile/soxr oracles, and one reason per kind of unusable file."""

from __future__ import annotations

import io
import itertools
import os
import pickle
import struct

import numpy as np
import pytest
import soundfile as sf
import soxr

from adaspec.data import AudioDecodeError, audio_duration, audio_frames, load_audio, resampled_length
from adaspec.data import audio as audio_module
from tests.data.audio_files import rename_to_bytes, tone, write, write_tone


def test_mono_file_matches_soundfile(tmp_path):
    path = write_tone(tmp_path / "a.wav", subtype="FLOAT")
    wave = load_audio(path, 16000)
    expected, rate = sf.read(path, dtype="float32")
    assert rate == 16000
    assert wave.dtype == np.float32 and wave.ndim == 1 and wave.flags.c_contiguous
    np.testing.assert_array_equal(wave, expected)


def test_stereo_is_the_average_of_the_channels(tmp_path):
    rng = np.random.default_rng(0)
    data = np.stack([tone(0.1, 16000)[:, 0], 0.3 * rng.standard_normal(1600)], axis=1)
    path = write(tmp_path / "stereo.wav", data, 16000, subtype="FLOAT")
    expected = sf.read(path, dtype="float64")[0]
    np.testing.assert_allclose(load_audio(path, 16000), (expected[:, 0] + expected[:, 1]) / 2, atol=1e-7)


def test_resampling_matches_soxr_and_keeps_the_frequency(tmp_path):
    path = write_tone(tmp_path / "a.wav", seconds=1.0, sample_rate=44100, subtype="FLOAT", freq=1000.0)
    wave = load_audio(path, 16000)
    original = sf.read(path, dtype="float32")[0]
    expected = soxr.resample(original, 44100, 16000, quality="HQ")
    assert wave.shape == expected.shape == (16000,)
    np.testing.assert_allclose(wave, expected, atol=1e-6)
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(wave.size)))
    assert np.argmax(spectrum) * 16000 / wave.size == pytest.approx(1000.0, abs=1.0)


def test_resampled_length_matches_soxr_including_exact_halves():
    # 800 * 11025 / 24000 = 367.5 -> soxr gives 367; 3 * 24000 / 16000 = 4.5 -> soxr gives 5:
    # neither Python's round (half to even) nor exact half-up fits both; libsoxr rounds in floating point.
    rates = (8000, 11025, 16000, 22050, 24000, 44100, 48000, 96000)
    sizes = (1, 2, 3, 5, 800, 1601, 12345)
    for (a, b), n in itertools.product(itertools.permutations(rates, 2), sizes):
        produced = soxr.resample(np.zeros(n, dtype=np.float32), a, b, quality="HQ").size
        assert resampled_length(n, a, b) == produced, (n, a, b)
    assert resampled_length(800, 24000, 11025) == 367
    assert resampled_length(3, 16000, 24000) == 5
    assert resampled_length(123, 16000, 16000) == 123


@pytest.mark.parametrize(
    ("name", "rate", "subtype", "channels"),
    [
        ("six.wav", 16000, "PCM_16", 6),
        ("u8.wav", 16000, "PCM_U8", 1),
        ("s24.wav", 96000, "PCM_24", 2),
        ("a.flac", 22050, "PCM_16", 2),
        ("a.ogg", 16000, "VORBIS", 1),
    ],
)
def test_unusual_but_valid_files_load(tmp_path, name, rate, subtype, channels):
    path = write_tone(tmp_path / name, sample_rate=rate, subtype=subtype, channels=channels, freq=300.0)
    assert sf.info(path).subtype == subtype and sf.info(path).channels == channels
    decoded = sf.read(path, dtype="float64", always_2d=True)[0]
    mono = decoded.mean(axis=1).astype(np.float32)
    expected = mono if rate == 16000 else soxr.resample(mono, rate, 16000, quality="HQ")
    np.testing.assert_allclose(load_audio(path, 16000), expected, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "fmt", "subtype"),
    [
        ("gsm.wav", "WAV", "GSM610"),
        ("g721.wav", "WAV", "G721_32"),
        ("nms.wav", "WAV", "NMS_ADPCM_16"),
        ("gsm.aiff", "AIFF", "GSM610"),
        ("gsm.w64", "W64", "GSM610"),
    ],
)
def test_encodings_libsndfile_cannot_seek_in_load(tmp_path, name, fmt, subtype):
    # soundfile reads such files only by a frame count (without one it raised ValueError out of load_audio)
    path = tmp_path / name
    sf.write(path, tone(1.0, 8000, 300.0), 8000, format=fmt, subtype=subtype)
    with sf.SoundFile(path) as fh:
        assert not fh.seekable()
        expected = fh.read(fh.frames, dtype="float32")
    np.testing.assert_array_equal(load_audio(path, 8000), expected)


def test_mp3_loads_when_soundfile_supports_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("libsndfile without MP3")
    path = write_tone(tmp_path / "a.mp3", seconds=0.5)
    expected = sf.read(path, dtype="float32")[0]
    np.testing.assert_allclose(load_audio(path, 16000), expected, atol=1e-6)


def test_streamed_wav_with_unknown_data_size_loads(tmp_path):
    path = write_tone(tmp_path / "a.wav", subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"data")
    raw[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(raw))
    assert load_audio(path, 16000).size == 4000


def _reason(path, sample_rate=16000) -> str:
    with pytest.raises(AudioDecodeError) as info:
        load_audio(path, sample_rate)
    assert info.value.path == path
    assert str(info.value) == f"{path}: {info.value.reason}"
    return info.value.reason


def test_missing_file(tmp_path):
    assert _reason(tmp_path / "nope.wav") == "file not found"
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    assert _reason(tmp_path / "dangling.wav") == "a broken link"  # as predict says


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert _reason(path) == "empty file (0 bytes)"


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n")
    reason = _reason(path)
    assert reason.startswith("not a decodable audio file (") and "not recognised" in reason


def test_zero_sample_wav(tmp_path):
    path = write(tmp_path / "zero.wav", np.zeros((0, 1)), 16000)
    assert _reason(path) == "contains no audio samples (0 frames)"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_wav(tmp_path, bad):
    data = tone(0.01, 16000)
    data[7, 0] = bad
    data[9, 0] = bad
    path = write(tmp_path / "nan.wav", data, 16000, subtype="FLOAT")
    assert _reason(path) == "contains 2 non-finite samples (NaN or inf), first at frame 7"


@pytest.mark.parametrize(("subtype", "huge"), [("FLOAT", 1e30), ("DOUBLE", 1e30), ("DOUBLE", 1e39)])
def test_samples_too_large_for_float32_maths_are_refused(tmp_path, subtype, huge):
    # 1e30 is finite but its spectrogram is not (every training loss became NaN); 1e39 is finite in a
    # float64 file but inf once read as float32, and is named by its value rather than as "inf"
    data = tone(0.01, 16000)
    data[3:6, 0] = huge
    path = write(tmp_path / "huge.wav", data, 16000, subtype=subtype)
    assert _reason(path) == (
        f"samples reach {huge:.3g}, first at frame 3: beyond the +-4.29e+09 accepted (full scale is +-1)"
    )


def test_float_samples_scaled_like_integers_are_kept(tmp_path):
    data = tone(0.01, 16000) * 2.0**31  # 32-bit integers written unscaled to a float file
    path = write(tmp_path / "int_scaled.wav", data, 16000, subtype="DOUBLE")
    np.testing.assert_array_equal(load_audio(path, 16000), data[:, 0].astype(np.float32))


def test_truncated_wav(tmp_path):
    path = write_tone(tmp_path / "cut.wav", seconds=0.5, subtype="PCM_16")  # 8000 frames, 44-byte header
    path.write_bytes(path.read_bytes()[: 44 + 2 * 3000])
    assert _reason(path) == "truncated: header declares 8000 frames but only 3000 could be decoded"


def test_truncated_flac(tmp_path):
    rng = np.random.default_rng(0)
    path = write(tmp_path / "cut.flac", 0.3 * rng.standard_normal((16000, 2)), 16000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    reason = _reason(path)
    assert "16000 frames" in reason and ("truncated" in reason or "corrupt" in reason)


# (format, file name, subtype): libsndfile shortened these silently when cut (and reports the cut length)
_HEADER_LENGTH_CASES = [
    ("RF64", "cut.wav", "PCM_16"),
    ("RF64", "cut.wav", "FLOAT"),
    ("W64", "cut.w64", "PCM_24"),
    ("W64", "cut.w64", "FLOAT"),
    ("AIFF", "cut.aiff", "PCM_16"),
    ("AIFF", "cut.aifc", "FLOAT"),  # an AIFC file, compression "fl32"
    ("CAF", "cut.caf", "PCM_24"),
    ("CAF", "cut.caf", "ALAC_16"),  # variable-size packets: the length is pakt's valid frames
]


def _write_noise(path, fmt, subtype, frames=8000):
    data = 0.3 * np.random.default_rng(0).standard_normal(frames)
    sf.write(path, data, 16000, format=fmt, subtype=subtype)
    return path


def _with_a_chunk_after_the_data(raw: bytes, fmt: str) -> bytes:
    """``raw`` with one more chunk at its end (and the RIFF/FORM size grown to match)."""
    out = bytearray(raw)
    if fmt == "RF64":
        out += b"junk" + struct.pack("<I", 4) + b"abcd"
        out[20:28] = struct.pack("<Q", len(out) - 8)  # ds64 riffSize
    elif fmt == "W64":
        out += b"junk" + bytes.fromhex("f3acd3118cd100c04f8edb8a") + struct.pack("<Q", 32) + b"abcdefgh"
        out[16:24] = struct.pack("<Q", len(out))
    elif fmt == "AIFF":
        out += b"ANNO" + struct.pack(">I", 4) + b"note"
        out[4:8] = struct.pack(">I", len(out) - 8)
    else:
        out += b"free" + struct.pack(">q", 8) + bytes(8)
    return bytes(out)


@pytest.mark.parametrize(("fmt", "name", "subtype"), _HEADER_LENGTH_CASES)
def test_truncated_rf64_w64_aiff_caf(tmp_path, fmt, name, subtype):
    # libsndfile reported the frames present, so a cut file loaded shortened without a word
    if subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"libsndfile without {fmt} {subtype}")
    path = _write_noise(tmp_path / name, fmt, subtype)
    raw = path.read_bytes()
    expected = sf.read(path, dtype="float32")[0]
    assert len(expected) == 8000
    np.testing.assert_array_equal(load_audio(path, 16000), expected)  # a whole file loads as before
    if fmt != "W64":  # libsndfile 1.2 decodes a W64 to the end of the file, a chunk after the data too
        path.write_bytes(_with_a_chunk_after_the_data(raw, fmt))
        np.testing.assert_array_equal(load_audio(path, 16000), expected)  # and with a chunk after its data
    path.write_bytes(raw[:-100])
    present = sf.info(path).frames
    assert present < 8000
    assert _reason(path) == f"truncated: header declares 8000 frames but only {present} could be decoded"


def test_caf_data_running_to_the_end_of_the_file_declares_no_length(tmp_path):
    # a data chunk size of -1 means "to the end of the file" (a streamed CAF): no length to hold it to
    path = _write_noise(tmp_path / "cut.caf", "CAF", "PCM_16")
    raw = bytearray(path.read_bytes())
    path.write_bytes(bytes(raw[:-100]))
    assert (
        _reason(path)
        == f"truncated: header declares 8000 frames but only {sf.info(path).frames} could be decoded"
    )
    at = raw.index(b"data")
    assert struct.unpack(">q", raw[at + 4 : at + 12])[0] == 16004  # 8000 frames and a 4-byte edit count
    raw[at + 4 : at + 12] = struct.pack(">q", -1)
    path.write_bytes(bytes(raw[:-100]))
    from adaspec.data._headers import read_header

    assert read_header(path, "CAF").frames is None  # (libsndfile 1.2.2 itself refuses such a file)


def _without_total_samples(path):
    """Set the FLAC file's STREAMINFO total-samples field to 0 ("unknown"), as a FLAC encoder writing to
    a pipe leaves it (the 36 low bits of the 8 bytes at offset 18: 4 for "fLaC", 4 of block header, 10)."""
    data = bytearray(path.read_bytes())
    field = int.from_bytes(data[18:26], "big") & ~((1 << 36) - 1)
    data[18:26] = field.to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def test_flac_without_its_length_in_the_header_is_named_as_such(tmp_path):
    # libsndfile reports 2**63 - 1 frames: the file was refused as "too long: 9223372036854775807 frames",
    # and audio_frames returned that length. libsndfile fails at the end of such a file, so it is refused.
    path = _without_total_samples(write_tone(tmp_path / "piped.flac", seconds=0.5, subtype="PCM_16"))
    assert sf.info(path).frames == 2**63 - 1
    assert _reason(path).startswith("the header does not give the length")
    with pytest.raises(AudioDecodeError, match=r"piped\.flac: the header does not give the length"):
        audio_frames(path)


def test_a_file_that_cannot_be_opened_is_named_with_the_system_reason(tmp_path, monkeypatch):
    # Without read permission libsndfile says only "System error"; a file that could not be opened again
    # after decoding (to read its WAV header) raised PermissionError out of the scan.
    path = write_tone(tmp_path / "locked.wav")

    def refuse(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", os.fspath(file))

    monkeypatch.setattr(audio_module, "open", refuse, raising=False)
    assert _reason(path) == "cannot be opened (Permission denied)"


def test_a_wav_gone_right_after_decoding_is_reported(tmp_path, monkeypatch):
    path = write_tone(tmp_path / "gone.wav")

    def gone(_path):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(_path))

    monkeypatch.setattr(audio_module, "read_header", lambda _path, _fmt: gone(_path))
    assert _reason(path) == "cannot be read again (No such file or directory)"


def test_too_short_to_resample(tmp_path):
    path = write(tmp_path / "one.wav", np.full((1, 1), 0.5), 96000)
    assert _reason(path) == "too short: 1 samples at 96000 Hz leave none at 16000 Hz"


def test_a_header_with_a_tiny_sample_rate_is_refused_before_resampling(tmp_path):
    # 200,000 frames "at 1 Hz" (400 kB) resample to 3.2e9 samples at 16 kHz: 12.8 GB were allocated.
    path = tmp_path / "one_hertz.wav"
    sf.write(path, np.zeros(200_000, dtype=np.float32), 1, subtype="PCM_16")
    with pytest.raises(
        AudioDecodeError, match=r"one_hertz\.wav: too long at 16000 Hz: 200000 samples at 1 Hz"
    ):
        load_audio(path, 16000)


def test_resampling_beyond_the_sample_cap_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "slow.wav"
    sf.write(path, np.zeros(1000, dtype=np.float32), 100, subtype="PCM_16")
    monkeypatch.setattr(audio_module, "MAX_SAMPLES", 100_000)
    with pytest.raises(AudioDecodeError, match=r"would resample to 160000, more than the 100000 accepted"):
        load_audio(path, 16000)
    assert load_audio(path, 8000).shape == (80_000,)  # within the cap


def test_a_file_holding_more_than_the_sample_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros((1000, 2), dtype=np.float32), 8000, subtype="PCM_16")
    monkeypatch.setattr(audio_module, "MAX_SAMPLES", 1999)
    monkeypatch.setattr(sf.SoundFile, "read", lambda *args, **kwargs: pytest.fail("decoded anyway"))
    with pytest.raises(
        AudioDecodeError, match=r"long\.wav: too long: 1000 frames x 2 channels, more than the 1999"
    ):
        load_audio(path, 8000)


def test_loop_of_links_is_named_as_such(tmp_path):
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")  # not "a broken link": nothing is missing
    assert _reason(tmp_path / "loop.wav") == "Too many levels of symbolic links"


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "dir.wav").mkdir()
    assert _reason(tmp_path / "dir.wav") == "not a regular file"


@pytest.mark.parametrize("rate", [0, -16000, 16000.0, True, None])
def test_bad_sample_rate(tmp_path, rate):
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(tmp_path / "a.wav", rate)


def test_duration_and_frames_from_the_header(tmp_path):
    path = write_tone(tmp_path / "a.flac", seconds=0.75, sample_rate=22050)
    assert audio_frames(path) == (sf.info(path).frames, 22050) == (16538, 22050)
    assert audio_duration(path) == pytest.approx(16538 / 22050)
    text = tmp_path / "x.wav"
    text.write_text("no")
    with pytest.raises(AudioDecodeError, match="not a decodable audio file"):
        audio_duration(text)
    with pytest.raises(AudioDecodeError, match="file not found"):
        audio_duration(tmp_path / "missing.wav")


def test_error_is_a_value_error_and_pickles(tmp_path):
    err = AudioDecodeError(tmp_path / "a.wav", "file not found")
    assert isinstance(err, ValueError)
    again = pickle.loads(pickle.dumps(err))
    assert (again.path, again.reason, str(again)) == (err.path, err.reason, str(err))


def test_file_name_that_is_not_utf8_loads(tmp_path):
    """A name like b'fl\\xfbte.wav' (Latin-1) reaches libsndfile as its bytes on disk."""
    path = rename_to_bytes(write_tone(tmp_path / "a.wav", subtype="FLOAT"), b"fl\xfbte.wav")
    expected, rate = sf.read(io.BytesIO(path.read_bytes()), dtype="float32")
    np.testing.assert_array_equal(load_audio(path, rate), expected)
    assert audio_frames(path) == (len(expected), rate)


def _fake_mp3(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("libsndfile without MP3")
    path = tmp_path / "fake.mp3"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    return path


def test_mp3_without_frames_is_named_as_such_and_stays_quiet(tmp_path, capfd):
    path = _fake_mp3(tmp_path)
    with pytest.raises(sf.LibsndfileError):
        sf.info(path)  # the oracle: libsndfile cannot open it either
    capfd.readouterr()
    assert _reason(path) == "not a decodable MP3 file (no valid MPEG audio frame found)"
    with pytest.raises(AudioDecodeError, match=r"not a decodable MP3 file \(no valid MPEG audio frame"):
        audio_frames(path)
    os.write(2, b"fd 2 is back\n")
    assert capfd.readouterr().err == "fd 2 is back\n"  # libmpg123's "Note: ..." lines stayed out


def test_mp3_decoder_notes_go_to_the_debug_log(tmp_path, capfd, caplog):
    path = _fake_mp3(tmp_path)
    with pytest.raises(sf.LibsndfileError):
        sf.info(path)
    printed = capfd.readouterr().err.strip()
    with caplog.at_level("DEBUG", logger="adaspec.data.audio"):
        _reason(path)
    if printed:
        assert f"stderr of libmpg123 decoding {path}: {printed}" in caplog.messages
    assert capfd.readouterr().err == ""
