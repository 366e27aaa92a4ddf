"""The SoundFont renderer: option parsing, the silence and no-clipping rules, font checks, determinism
across runs and worker counts, the manifest, missing programs and splits.

Real-font tests use TimGM6mb (and sf_GMbank when present); the others use tiny generated fonts.
"""

from __future__ import annotations

import csv
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from adaspec.cli import build_parser
from adaspec.data import soundfont
from adaspec.data.fluid import INSTALL_HINT, fluidsynth_available
from adaspec.data.gm_families import PROGRAM_FAMILY
from adaspec.data.instruments import (
    APT_PACKAGES,
    DEFAULT_SOUNDFONTS,
    missing_default_soundfonts,
    render_instruments,
)
from adaspec.data.soundfont import (
    MANIFEST_COLUMNS,
    RenderSpec,
    SoundFontError,
    check_soundfont,
    is_silent,
    parse_pitches,
    parse_velocities,
    peak_dbfs,
    render_dataset,
    render_job,
)
from adaspec.data.sources import read_manifest, scan_class_folders
from adaspec.errors import UserError
from tests.data.soundfont_files import write_sf2

TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
GMBANK = Path("/usr/share/sounds/sf2/sf_GMbank.sf2")

needs_fluidsynth = pytest.mark.skipif(
    not fluidsynth_available(), reason=f"FluidSynth missing: {INSTALL_HINT}"
)
needs_timgm = pytest.mark.skipif(
    not fluidsynth_available() or not TIMGM.is_file(),
    reason=f"needs FluidSynth and {TIMGM}: apt-get install fluidsynth timgm6mb-soundfont "
    "(and csound-soundfont for sf_GMbank)",
)

# TimGM6mb's baritone sax (program 67) has no sample above about MIDI note 80: note 84 is silent.
TINY_PROGRAMS = (0, 67)
TINY = {"pitches": (60, 84), "velocities": (80,)}
FULL_SCALE = 32767


def tiny_fonts() -> list[Path]:
    return [TIMGM, GMBANK] if GMBANK.is_file() else [TIMGM]


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def manifest_rows(folder: Path) -> list[dict[str, str]]:
    with open(folder / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    """The tiny grid rendered once in this process (workers=1): (folder, summary)."""
    if not fluidsynth_available() or not TIMGM.is_file():
        pytest.skip(f"needs FluidSynth and {TIMGM}: apt-get install fluidsynth timgm6mb-soundfont")
    out = tmp_path_factory.mktemp("tiny") / "data"
    summary = render_dataset(
        tiny_fonts(), out, RenderSpec(**TINY), workers=1, programs=TINY_PROGRAMS, progress=False
    )
    return out, summary


@pytest.fixture
def test_font(tmp_path):
    """A generated font: program 0 sounds on every key, 40 only on keys 60..72, every other program absent."""
    return write_sf2(tmp_path / "fonts" / "testfont.sf2", {0: (0, 127), 40: (60, 72)})


# --- option parsing -----------------------------------------------------------------------------------


def test_parse_pitches_forms():
    assert parse_pitches("36:96:3") == list(range(36, 97, 3))
    assert len(parse_pitches("36:96:3")) == 21
    assert parse_pitches("36:95:3")[-1] == 93  # stop is included only when it is on the grid
    assert parse_pitches("36:40") == [36, 37, 38, 39, 40]
    assert parse_pitches("60") == [60]
    assert parse_pitches("72,48,60,60") == [48, 60, 72]
    assert parse_pitches([64, 60]) == [60, 64]
    assert parse_pitches("0,127") == [0, 127]


@pytest.mark.parametrize("text", ["", "abc", "96:36", "36:96:0", "1:2:3:4", "60,", "128", "-1", "36:130:3"])
def test_parse_pitches_rejects_with_the_option_name(text):
    with pytest.raises(UserError, match="--pitches"):
        parse_pitches(text)


def test_parse_velocities():
    assert parse_velocities("50,80,110") == [50, 80, 110]
    assert parse_velocities("40:120:40") == [40, 80, 120]
    for bad in ("0", "128", "fast", "50;80"):
        with pytest.raises(UserError, match="--velocities"):
            parse_velocities(bad)


# --- the silence and no-clipping rules ----------------------------------------------------------------


def test_silence_rule_on_synthetic_arrays():
    t = np.arange(16000) / 16000
    assert peak_dbfs(0.5 * np.sin(2 * np.pi * 440 * t)) == pytest.approx(-6.0206, abs=1e-3)
    assert peak_dbfs(np.zeros(100)) == -np.inf
    assert is_silent(np.zeros(100))
    assert is_silent(0.00099 * np.sin(2 * np.pi * 440 * t))  # -60.1 dBFS
    assert not is_silent(0.00101 * np.sin(2 * np.pi * 440 * t))  # -59.9 dBFS
    quiet = np.zeros(16000)
    quiet[8000] = -0.002  # a single sample above the threshold keeps a clip
    assert not is_silent(quiet)
    assert is_silent(0.01 * np.ones(10), silence_dbfs=-30.0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"pitches": ()}, "pitches"),
        ({"pitches": (128,)}, "pitches"),
        ({"velocities": (0,)}, "velocities"),
        ({"sample_rate": 4000}, "sample_rate"),
        ({"hold_seconds": 5.0}, "hold_seconds"),
        ({"silence_dbfs": 3.0}, "silence_dbfs"),
        ({"max_peak_dbfs": 0.0}, "max_peak_dbfs"),
        ({"synth_gain": 0.0}, "synth_gain"),
        ({"audio_format": "mp3"}, "audio_format"),
    ],
)
def test_render_spec_names_the_wrong_parameter(kwargs, name):
    base = {"pitches": (60,), "velocities": (80,)}
    with pytest.raises(ValueError, match=name):
        RenderSpec(**{**base, **kwargs})


@needs_fluidsynth
def test_loud_clips_are_scaled_to_the_ceiling_and_recorded(tmp_path, test_font):
    spec = RenderSpec(pitches=(60,), velocities=(127,), synth_gain=10.0, max_peak_dbfs=-1.0)
    summary = render_dataset([test_font], tmp_path / "out", spec, workers=1, programs=[0], progress=False)
    (row,) = manifest_rows(tmp_path / "out")
    assert summary.attenuated == 1 and 0 < float(row["gain"]) < 1
    samples, _ = sf.read(tmp_path / "out" / row["path"], dtype="int16")
    assert np.abs(samples.astype(np.int32)).max() == round(10 ** (-1 / 20) * FULL_SCALE)


# --- font checks --------------------------------------------------------------------------------------


def test_missing_font_names_the_path_and_the_package(tmp_path):
    with pytest.raises(SoundFontError, match=r"nothere\.sf2: file not found$"):
        check_soundfont(tmp_path / "nothere.sf2")
    with pytest.raises(SoundFontError, match=r"TimGM6mb\.sf2: file not found \(apt-get install timgm6mb"):
        check_soundfont(tmp_path / "TimGM6mb.sf2")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"this is a text file, not a SoundFont\n", "no RIFF 'sfbk' header"),
        (b"RIFF\x04\x00\x00\x00WAVE", "no RIFF 'sfbk' header"),
    ],
)
def test_not_a_soundfont(tmp_path, content, reason):
    path = tmp_path / "fake.sf2"
    path.write_bytes(content)
    with pytest.raises(SoundFontError, match=reason) as info:
        check_soundfont(path)
    assert str(info.value).startswith(f"{path}: ")


def test_a_directory_is_not_a_font(tmp_path):
    with pytest.raises(SoundFontError, match="not a regular file"):
        check_soundfont(tmp_path)


@needs_timgm
def test_truncated_copy_of_timgm(tmp_path):
    path = tmp_path / "TimGM6mb_cut.sf2"
    path.write_bytes(TIMGM.read_bytes()[: TIMGM.stat().st_size // 2])
    with pytest.raises(SoundFontError, match="truncated") as info:
        check_soundfont(path)
    assert str(path) in str(info.value)


@needs_fluidsynth
def test_garbage_body_is_refused_by_fluidsynth_in_one_line(tmp_path, capfd):
    body = b"sfbk" + b"LIST" + (200).to_bytes(4, "little") + bytes(200)
    path = tmp_path / "garbage.sf2"
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    capfd.readouterr()
    with pytest.raises(SoundFontError, match="FluidSynth cannot load it"):
        check_soundfont(path)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""  # FluidSynth's own chatter went to the log


@needs_fluidsynth
def test_generated_font_passes_and_error_pickles(tmp_path, test_font):
    assert check_soundfont(test_font) == test_font
    error = pickle.loads(pickle.dumps(SoundFontError(test_font, "why")))
    assert (error.path, error.reason, str(error)) == (test_font, "why", f"{test_font}: why")


@needs_fluidsynth
def test_bad_font_stops_before_any_rendering(tmp_path, test_font):
    out = tmp_path / "out"
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    with pytest.raises(SoundFontError, match=r"missing\.sf2: file not found"):
        render_dataset([test_font, tmp_path / "missing.sf2"], out, spec, workers=1, progress=False)
    assert not out.exists()
    copy = shutil.copy(test_font, tmp_path / "testfont.sf2")
    with pytest.raises(SoundFontError, match="same file stem"):
        render_dataset([test_font, copy], out, spec, workers=1, progress=False)
    with pytest.raises(SoundFontError, match="given twice"):
        render_dataset([test_font, test_font], out, spec, workers=1, progress=False)


# --- generated fonts: missing programs, key-range silence, splits ------------------------------------


@needs_fluidsynth
def test_missing_programs_are_skipped_and_counted(tmp_path, test_font, caplog):
    spec = RenderSpec(pitches=(48, 66), velocities=(100,))
    assert render_job(test_font, 73, spec).missing
    assert render_job(test_font, 41, spec).clips == ()
    with caplog.at_level(logging.WARNING, logger="adaspec.data.soundfont"):
        summary = render_dataset(
            [test_font], tmp_path / "out", spec, workers=1, programs=[0, 40, 73, 41], progress=False
        )
    assert summary.missing_programs == {"testfont": (41, 73)}
    # Program 40 sounds only on keys 60..72: note 48 is silent.
    assert summary.silent_dropped == 1
    assert summary.clips_written == 3
    rows = manifest_rows(tmp_path / "out")
    assert [(r["program"], r["pitch"]) for r in rows] == [("0", "48"), ("0", "66"), ("40", "66")]
    assert "programs missing: testfont 2 (41 73)" in summary.format()
    # An unknown font has no default split: empty cells, its own stem as lineage, and a warning.
    assert {r["split"] for r in rows} == {""} and {r["lineage"] for r in rows} == {"testfont"}
    assert "without a split" in caplog.text and "testfont" in caplog.text


@needs_fluidsynth
def test_splits_by_stem_or_lineage(tmp_path, test_font):
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    render_dataset(
        [test_font],
        tmp_path / "a",
        spec,
        workers=1,
        programs=[0],
        progress=False,
        splits={"testfont": "test"},
    )
    assert manifest_rows(tmp_path / "a")[0]["split"] == "test"
    with pytest.raises(ValueError, match="splits"):
        render_dataset(
            [test_font], tmp_path / "b", spec, programs=[0], progress=False, splits={"testfont": "dev"}
        )
    with pytest.raises(ValueError, match="programs"):
        render_dataset([test_font], tmp_path / "b", spec, programs=[47], progress=False)


def test_a_split_for_an_unknown_font_is_refused_before_rendering(tmp_path, test_font):
    """A misspelt font stem would leave its split empty; it is refused, naming the known stems."""
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    with pytest.raises(ValueError, match=r"'testfnt'.*known: testfont"):
        render_dataset(
            [test_font], tmp_path / "c", spec, programs=[0], progress=False, splits={"testfnt": "val"}
        )
    assert not (tmp_path / "c").exists()


@needs_fluidsynth
def test_every_note_silent_is_an_error(tmp_path, test_font):
    spec = RenderSpec(pitches=(30,), velocities=(80,))
    with pytest.raises(UserError, match="no clip rendered"):
        render_dataset([test_font], tmp_path / "out", spec, workers=1, programs=[40], progress=False)


@needs_fluidsynth
def test_wav_output_and_render_instruments(tmp_path, test_font):
    summary = render_instruments(
        [test_font],
        tmp_path / "out",
        pitches="60,72",
        velocities="90",
        audio_format="wav",
        workers=1,
        programs=[0],
        progress=False,
    )
    assert summary.clips_written == 2
    info = sf.info(tmp_path / "out" / "keyboard" / "testfont_p000_n072_v090.wav")
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (
        "WAV",
        "PCM_16",
        16000,
        1,
        64000,
    )


def test_default_soundfonts_and_packages():
    assert [p.stem for p in DEFAULT_SOUNDFONTS] == [
        "FluidR3_GM",
        "MuseScore_General_Lite",
        "TimGM6mb",
        "sf_GMbank",
    ]
    assert set(missing_default_soundfonts()) == {p for p in DEFAULT_SOUNDFONTS if not p.is_file()}
    assert APT_PACKAGES[0] == "fluidsynth" and len(APT_PACKAGES) == 5


# --- TimGM6mb (and sf_GMbank): determinism and the manifest -------------------------------------------


def test_same_bytes_twice(tmp_path, tiny_dataset):
    first, _ = tiny_dataset
    render_dataset(
        tiny_fonts(),
        tmp_path / "again",
        RenderSpec(**TINY),
        workers=1,
        programs=TINY_PROGRAMS,
        progress=False,
    )
    assert files_of(tmp_path / "again") == files_of(first)


def test_same_bytes_with_two_workers(tmp_path, tiny_dataset):
    first, summary = tiny_dataset
    other = render_dataset(
        tiny_fonts(), tmp_path / "two", RenderSpec(**TINY), workers=2, programs=TINY_PROGRAMS, progress=False
    )
    assert files_of(tmp_path / "two") == files_of(first)
    assert (other.clips_written, other.silent_dropped) == (summary.clips_written, summary.silent_dropped)


def test_a_clip_does_not_depend_on_the_rest_of_the_grid(tmp_path, tiny_dataset):
    first, _ = tiny_dataset
    render_dataset(
        [TIMGM],
        tmp_path / "one",
        RenderSpec(pitches=(60,), velocities=(80,)),
        workers=1,
        programs=[0],
        progress=False,
    )
    name = "keyboard/TimGM6mb_p000_n060_v080.flac"
    assert (tmp_path / "one" / name).read_bytes() == (first / name).read_bytes()


def test_silent_notes_dropped_and_counted(tiny_dataset):
    folder, summary = tiny_dataset
    tim = [r for r in manifest_rows(folder) if r["soundfont"] == "TimGM6mb"]
    assert [(r["program"], r["pitch"]) for r in tim] == [("0", "60"), ("0", "84"), ("67", "60")]
    assert summary.silent_dropped == 1  # TimGM6mb program 67, note 84 (sf_GMbank has a sample there)
    assert summary.clips_written == len(manifest_rows(folder))
    assert summary.missing_programs == {}


def test_manifest_columns_values_and_files(tiny_dataset):
    folder, summary = tiny_dataset
    rows = manifest_rows(folder)
    with open(folder / "manifest.csv", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == MANIFEST_COLUMNS
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    splits = {"TimGM6mb": "val", "sf_GMbank": "test"}
    for row in rows:
        assert row["label"] == PROGRAM_FAMILY[int(row["program"])]
        assert row["path"] == (
            f"{row['label']}/{row['soundfont']}_p{int(row['program']):03d}_n{int(row['pitch']):03d}"
            f"_v{int(row['velocity']):03d}.flac"
        )
        assert (row["lineage"], row["split"], row["gain"]) == ("small-GM", splits[row["soundfont"]], "1")
        samples, rate = sf.read(folder / row["path"], dtype="int16", always_2d=True)
        assert rate == 16000 and samples.shape == (64000, 1)
        peak = np.abs(samples.astype(np.int32)).max()
        assert 0.001 * FULL_SCALE <= peak < FULL_SCALE  # above -60 dBFS, never at full scale
    items = read_manifest(folder / "manifest.csv")  # the training data layer reads it as is
    assert len(items) == summary.clips_written and {i.split for i in items} <= {"val", "test"}


# --- review fixes: block alignment, interrupted renders, odd names, one file twice, programs ----------


@needs_fluidsynth
@pytest.mark.parametrize("rate", [22050, 44100])
def test_a_clip_does_not_depend_on_the_grid_at_any_sample_rate(test_font, rate):
    """A note's frames are not a whole number of FluidSynth blocks at these rates: every note must still
    start on a block boundary, else it depends on the notes rendered before it."""
    alone = render_job(test_font, 0, RenderSpec(pitches=(60,), velocities=(80,), sample_rate=rate))
    after = render_job(test_font, 0, RenderSpec(pitches=(48, 60), velocities=(80,), sample_rate=rate))
    assert np.array_equal(alone.clips[0].samples, after.clips[1].samples)


def _interrupting_write(real_write, after: int):
    """An ``sf.write`` that writes ``after`` clips, then half of one and raises KeyboardInterrupt."""
    calls = {"n": 0}

    def write(file, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            with open(file, "wb") as fh:
                fh.write(b"fLaC half")
            raise KeyboardInterrupt
        return real_write(file, *args, **kwargs)

    return write


@needs_fluidsynth
def test_an_interrupted_rerender_leaves_no_manifest_and_no_half_clip(tmp_path, test_font, monkeypatch):
    out = tmp_path / "out"
    grid = {"workers": 1, "programs": [0], "progress": False}
    render_dataset([test_font], out, RenderSpec(pitches=(60, 72), velocities=(80,)), **grid)
    first = files_of(out)
    again = RenderSpec(pitches=(60, 72), velocities=(80,), sample_rate=22050)
    monkeypatch.setattr(sf, "write", _interrupting_write(sf.write, after=1))
    with pytest.raises(KeyboardInterrupt):
        render_dataset([test_font], out, again, **grid)
    left = files_of(out)
    # The old manifest no longer lists clips of which some are new: it is gone, and the clip being
    # written when Ctrl-C came is still the complete earlier one.
    assert "manifest.csv" not in left
    assert set(left) == set(first) - {"manifest.csv"}
    assert left["keyboard/testfont_p000_n072_v080.flac"] == first["keyboard/testfont_p000_n072_v080.flac"]
    monkeypatch.undo()
    summary = render_dataset([test_font], out, again, **grid)
    assert summary.clips_written == 2 and _temporary_files(out) == []
    assert {sf.info(out / r["path"]).samplerate for r in manifest_rows(out)} == {22050}


def _temporary_files(folder: Path) -> list[str]:
    """Clips' temporary files under ``folder``: ``.<clip>.<pid>.tmp`` (``<clip>.partial`` before)."""
    return [p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]


def test_two_workers_writing_one_clip_do_not_share_a_temporary_file(tmp_path, monkeypatch):
    """Every writer used ``<clip>.partial``: a second render (or worker) writing the same clip while the
    first was mid-write renamed its own file into place, and the first then renamed a file holding only
    the end of its clip over it."""
    clip = tmp_path / "keyboard" / "testfont_p000_n060_v080.flac"
    clip.parent.mkdir()
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    samples = np.zeros(100, dtype=np.int16)
    pids = [101]  # the process writing: the first worker, then (nested) the other one
    monkeypatch.setattr(os, "getpid", lambda: pids[-1])

    def write(file, *args, **kwargs):
        pid = pids[-1]
        with open(file, "wb") as handle:
            handle.write(b"start of %d" % pid)
        if pid == 101:  # the other worker writes the same clip, whole, while this one is mid-write
            pids.append(202)
            soundfont._write_clip(clip, samples, spec)
            pids.pop()
        with open(file, "ab") as handle:
            handle.write(b", end of %d" % pid)

    monkeypatch.setattr(sf, "write", write)
    soundfont._write_clip(clip, samples, spec)
    assert clip.read_bytes() == b"start of 101, end of 101"  # the last one renamed, whole
    assert os.listdir(clip.parent) == [clip.name]


def test_a_failed_clip_write_keeps_the_earlier_clip_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    clip = tmp_path / "testfont_p000_n060_v080.wav"
    clip.write_bytes(b"the earlier clip")

    def write(file, *args, **kwargs):
        with open(file, "wb") as handle:
            handle.write(b"RIFF half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf, "write", write)
    spec = RenderSpec(pitches=(60,), velocities=(80,), audio_format="wav")
    with pytest.raises(OSError, match="No space left"):
        soundfont._write_clip(clip, np.zeros(100, dtype=np.int16), spec)
    assert clip.read_bytes() == b"the earlier clip" and os.listdir(tmp_path) == [clip.name]


@needs_fluidsynth
def test_clips_left_half_written_by_a_killed_render_are_ignored_then_removed(tmp_path, test_font):
    """A SIGKILLed worker leaves its temporary file: no dataset scan takes it for audio, and the next
    render into the folder removes it (and ``<clip>.partial`` files of earlier versions)."""
    out = tmp_path / "out"
    grid = {"workers": 1, "programs": [0], "progress": False}
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    render_dataset([test_font], out, spec, **grid)
    killed = out / "keyboard" / ".testfont_p000_n072_v080.flac.4242.tmp"
    killed.write_bytes(b"fLaC half")
    (out / "keyboard" / "testfont_p000_n084_v080.flac.partial").write_bytes(b"fLaC half")
    assert [item.path.name for item in scan_class_folders(out)] == ["testfont_p000_n060_v080.flac"]
    render_dataset([test_font], out, spec, **grid)
    assert _temporary_files(out) == []
    assert sorted(files_of(out)) == ["keyboard/testfont_p000_n060_v080.flac", "manifest.csv"]


@needs_fluidsynth
def test_non_utf8_folders_render_and_a_non_utf8_stem_is_refused(tmp_path, test_font):
    odd = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9"))
    try:
        odd.mkdir()
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    font = Path(shutil.copy(test_font, odd / "testfont.sf2"))
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    summary = render_dataset([font], odd / "out", spec, workers=1, programs=[0], progress=False)
    assert (
        summary.clips_written == 1 and (odd / "out" / "keyboard" / "testfont_p000_n060_v080.flac").is_file()
    )
    assert "caf\\xe9" in summary.format()
    summary.format().encode("utf-8")  # printable on a UTF-8 terminal
    bad = Path(shutil.copy(test_font, odd / "caf\udce9.sf2"))
    with pytest.raises(SoundFontError, match="not valid UTF-8") as caught:
        render_dataset([bad], tmp_path / "o2", spec, workers=1, programs=[0], progress=False)
    assert caught.value.path == bad and not (tmp_path / "o2").exists()


@needs_fluidsynth
def test_one_file_under_two_names_is_refused(tmp_path, test_font):
    """Debian's default-GM.sf2 is a link to FluidR3_GM.sf2: both would add the same recordings twice."""
    link = tmp_path / "default-GM.sf2"
    link.symlink_to(test_font)
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    with pytest.raises(SoundFontError, match=r"same file as .*testfont\.sf2") as caught:
        render_dataset([test_font, link], tmp_path / "out", spec, workers=1, programs=[0], progress=False)
    assert caught.value.path == link and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("programs", "shown"),
    [("40", "'40'"), ([0, 1.5], "1.5"), ([True], "True"), ([], r"\[\]"), ([0, 47], "47")],
)
def test_programs_must_be_family_integers(tmp_path, programs, shown):
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    with pytest.raises(ValueError, match=rf"programs must .*; got {shown}"):
        render_dataset([tmp_path / "x.sf2"], tmp_path / "out", spec, programs=programs, progress=False)
    assert not (tmp_path / "out").exists()


@needs_fluidsynth
def test_ctrl_c_with_workers_prints_one_line_and_no_worker_traceback(tmp_path, test_font):
    """Ctrl-C reaches the whole process group, as from a terminal: only the parent may report it, and
    the clips that the killed workers were writing are removed."""
    out = tmp_path / "out"
    grid = ["--pitches", "0:127", "--velocities", "1:127:8", "--workers", "2", "--split", "testfont=train"]
    command = [sys.executable, "-m", "adaspec.cli", "data", "instruments", "--soundfont", str(test_font)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "-q", *grid], stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60  # until program 0's 2,048 clips are being written
    while not (out / "keyboard").is_dir() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "adaspec: interrupted"
    assert not (out / "manifest.csv").exists()
    assert _temporary_files(out) == []


@needs_fluidsynth
def test_one_font_path_is_one_font_not_its_characters(tmp_path, test_font):
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    grid = {"workers": 1, "programs": [0], "progress": False, "splits": {"testfont": "train"}}
    assert render_dataset(str(test_font), tmp_path / "a", spec, **grid).fonts == 1
    summary = render_instruments(str(test_font), tmp_path / "b", pitches="60", velocities="80", **grid)
    assert (summary.fonts, summary.clips_written) == (1, 1)


@needs_fluidsynth
def test_a_file_where_a_family_folder_goes_is_refused_before_rendering(tmp_path, test_font):
    out = tmp_path / "out"
    out.mkdir()
    (out / "string").write_text("not a folder")
    spec = RenderSpec(pitches=(66,), velocities=(80,))
    with pytest.raises(UserError, match=r"out/string: is a file, but the clips of the family 'string'"):
        render_dataset([test_font], out, spec, workers=1, programs=[0, 40], progress=False)
    assert sorted(path.name for path in out.iterdir()) == ["string"]


# --- memory and processes of a render -----------------------------------------------------------------


@needs_fluidsynth
def test_a_worker_holds_one_clip_not_the_whole_grid(tmp_path, test_font):
    """Each clip is written as soon as it is rendered: the memory of a job does not grow with its grid
    (it once kept every clip of the job until the end, 12.5 GB for a 128 x 127 grid at 96 kHz)."""
    spec = RenderSpec(
        pitches=tuple(range(0, 128)),
        velocities=(40, 100),
        sample_rate=8000,
        note_seconds=2.0,
        hold_seconds=1.5,
    )
    grid = {"workers": 1, "programs": [0], "progress": False, "splits": {"testfont": "train"}}
    tracemalloc.start()
    try:
        summary = render_dataset([test_font], tmp_path / "out", spec, **grid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.clips_written > 250  # (the top note, above Nyquist at 8 kHz, may be silent)
    grid_bytes = summary.clips_written * spec.note_frames * 2  # the int16 clips: 8 MB
    assert peak < grid_bytes / 4, f"peak {peak / 2**20:.1f} MiB for a grid of {grid_bytes / 2**20:.1f} MiB"


@needs_fluidsynth
def test_render_job_hands_each_clip_over_instead_of_keeping_it(test_font):
    spec = RenderSpec(pitches=(30, 60, 90), velocities=(50, 110))
    kept = render_job(test_font, 0, spec)
    handed = []
    streamed = render_job(test_font, 0, spec, on_clip=handed.append)
    assert streamed.clips == () and streamed.silent == kept.silent and len(handed) == len(kept.clips) == 6
    for a, b in zip(handed, kept.clips, strict=True):
        assert (a.pitch, a.velocity, a.gain) == (b.pitch, b.velocity, b.gain)
        np.testing.assert_array_equal(a.samples, b.samples)


@needs_fluidsynth
def test_workers_are_capped_at_the_cpus_and_the_jobs(tmp_path, test_font, monkeypatch, caplog):
    used = []
    run_jobs = soundfont._run_jobs

    def spy(jobs, workers, progress):
        used.append(workers)
        return run_jobs(jobs, workers, progress)

    monkeypatch.setattr(soundfont, "_run_jobs", spy)
    monkeypatch.setattr(soundfont, "_available_cpus", lambda: 2)
    spec = RenderSpec(pitches=(60,), velocities=(80,))
    grid = {"progress": False, "splits": {"testfont": "train"}}
    with caplog.at_level(logging.INFO, logger="adaspec.data.soundfont"):
        render_dataset([test_font], tmp_path / "a", spec, workers=10**6, programs=[0, 1, 2, 40], **grid)
    render_dataset([test_font], tmp_path / "b", spec, workers=None, programs=[0, 1, 2, 40], **grid)
    render_dataset([test_font], tmp_path / "c", spec, workers=2, programs=[0], **grid)
    assert used == [2, 2, 1]
    assert "workers: 1000000 asked, capped at the 2 CPUs this process may run on" in caplog.text
    assert files_of(tmp_path / "a") == files_of(tmp_path / "b")


def test_cli_help_states_the_grid_syntax_and_the_worker_cap(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["data", "instruments", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    velocities = text[text.rindex("--velocities VELOCITIES") :]  # its help, not the usage line
    assert "MIDI velocities 1..127" in velocities and "start:stop[:step]" in velocities
    assert "MIDI notes 0..127: start:stop[:step]" in text
    assert "capped at the CPUs available and the number of jobs" in text
    # the forms the help names
    assert parse_velocities("40:120:40") == [40, 80, 120] and parse_velocities("100") == [100]
