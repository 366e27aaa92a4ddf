"""What a render may find in its output folder: a new or empty folder, or an earlier render's (resumed or
rendered again with other options). A ``manifest.csv`` that no render wrote (it was replaced) and audio
files of another dataset (mixed into the rendered one without a word) are refused, touching nothing."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from adaspec.cli import main
from adaspec.data.soundfont import MANIFEST_COLUMNS, RenderSpec, render_dataset
from adaspec.errors import FileProblem, UserError
from tests.data.soundfont_files import write_sf2
from tests.data.test_soundfont import files_of, manifest_rows, needs_fluidsynth

pytestmark = needs_fluidsynth

SPEC = RenderSpec(pitches=(60,), velocities=(80,))
GRID = {"workers": 1, "programs": [0], "splits": {"testfont": "train"}, "progress": False}
CLIP = "keyboard/testfont_p000_n060_v080"
HEADER = ",".join(MANIFEST_COLUMNS)
A_ROW = "keyboard/testfont_p000_n060_v080.flac,keyboard,0,60,80,testfont,testfont,train,1"


@pytest.fixture
def font(tmp_path: Path) -> Path:
    return write_sf2(tmp_path / "fonts" / "testfont.sf2", {0: (0, 127)})


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``, hidden ones included: path -> bytes (``None`` for a folder)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def _write_wav(path: Path, seed: int) -> None:
    """A short WAV file at ``path``, whatever its extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    samples = np.random.default_rng(seed).integers(-1000, 1000, 800, dtype=np.int16)
    sf.write(path, samples, 8000, subtype="PCM_16", format="WAV")


# --- a manifest.csv that no render wrote --------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"path,label,split\na.wav,x,train\n", f"its header is not {HEADER}"),
        (f"{HEADER}\nmine/a.wav,x,0,60,80,f,f,train,1\n".encode(), "line 2 is no clip of a render"),
        (f"{HEADER}\n{A_ROW}\nkeyboard/mine.flac,keyboard,0,60,80,f,f,train,1\n".encode(), "line 3 is"),
        (f"{HEADER}\n{A_ROW},extra\n".encode(), "line 2 is no clip of a render"),
        (b"", "it is empty"),
        (b"path,label\n\xff\xfe\n", "it cannot be read"),
    ],
    ids=["own-header", "own-rows", "one-own-row", "extra-cell", "empty", "not-utf8"],
)
def test_a_manifest_no_render_wrote_is_refused_and_kept(
    tmp_path: Path, font: Path, content: bytes, reason: str
) -> None:
    """It was removed, and the render's written in its place."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.csv").write_bytes(content)
    before = _tree(out)
    with pytest.raises(FileProblem) as refused:
        render_dataset([font], out, SPEC, **GRID)
    message = str(refused.value)
    assert message.startswith(f"{out / 'manifest.csv'}: not a manifest that adaspec data instruments wrote")
    assert reason in message and message.endswith("choose another --out, or remove that file")
    assert _tree(out) == before


def test_a_folder_named_manifest_csv_is_refused(tmp_path: Path, font: Path) -> None:
    out = tmp_path / "out"
    (out / "manifest.csv").mkdir(parents=True)
    (out / "manifest.csv" / "notes.txt").write_text("mine")
    before = _tree(out)
    with pytest.raises(FileProblem, match=r"manifest\.csv: not a manifest .* \(is a folder\)"):
        render_dataset([font], out, SPEC, **GRID)
    assert _tree(out) == before


def test_the_cli_refuses_a_users_manifest_in_one_line(
    tmp_path: Path, font: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The audit's case: ``data instruments --out DIR`` exited 0 with the user's manifest replaced."""
    out = tmp_path / "userds"
    out.mkdir()
    (out / "manifest.csv").write_text("path,label,split\na.wav,x,train\n")
    grid = ["--pitches", "60", "--velocities", "80", "--workers", "1", "--split", "testfont=train"]
    code = main(["-q", "data", "instruments", "--soundfont", str(font), "--out", str(out), *grid])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"adaspec: error: {out / 'manifest.csv'}: not a manifest")
    assert err[0].endswith("choose another --out, or remove that file")
    assert _tree(out) == {"manifest.csv": b"path,label,split\na.wav,x,train\n"}


# --- audio files of another dataset -------------------------------------------------------------------


def test_a_folders_dataset_is_refused_and_kept(tmp_path: Path, font: Path) -> None:
    """The audit's case: 18 WAVs of a folders dataset, then a FLAC render, made one mixed dataset."""
    out = tmp_path / "out"
    for number, label in enumerate(("low", "high", "noise")):
        for index in range(6):
            _write_wav(out / label / f"{label}_{index}.wav", 6 * number + index)
    before = _tree(out)
    with pytest.raises(UserError) as refused:
        render_dataset([font], out, SPEC, **GRID)
    assert str(refused.value) == (
        f"{out} holds 18 audio files that no render wrote (high/high_0.wav, high/high_1.wav, "
        "high/high_2.wav and 15 more); rendering there would mix them with its clips into one dataset: "
        "choose another --out (a new or empty folder, or an earlier render's), or move them out"
    )
    assert _tree(out) == before


@pytest.mark.parametrize(
    "foreign",
    [
        "keyboard/mine.wav",  # in a family folder, not a clip's name
        "keyboard/take/testfont_p000_n072_v080.wav",  # a clip's name in a sub-folder
        "low/testfont_p000_n072_v080.flac",  # a clip's name in no family folder
        "keyboard/testfont_p040_n072_v080.flac",  # program 40 is a string, not a keyboard
        "keyboard/testfont_p000_n072_v080.ogg",  # a format no render writes
        "keyboard/testfont_p000_n072_v080.FLAC",  # a scan takes any case; a render writes lower case
        "keyboard/testfont_p000_n200_v080.wav",  # no MIDI note
    ],
)
def test_foreign_audio_in_an_earlier_render_is_refused_and_kept(
    tmp_path: Path, font: Path, foreign: str
) -> None:
    out = tmp_path / "out"
    render_dataset([font], out, SPEC, **GRID)
    _write_wav(out / foreign, 0)
    before = _tree(out)
    with pytest.raises(UserError, match=rf"holds 1 audio file that no render wrote \({foreign}\); "):
        render_dataset([font], out, RenderSpec(pitches=(60,), velocities=(80,), audio_format="wav"), **GRID)
    assert _tree(out) == before


def test_hidden_and_top_level_files_are_not_refused(tmp_path: Path, font: Path) -> None:
    """Only what a class-folder scan would take counts: hidden files and folders, and files at the top."""
    out = tmp_path / "out"
    for name in ("keyboard/.mine.wav", ".trash/a.wav", "keyboard/.take/a.wav", "top.wav"):
        _write_wav(out / name, 0)
    (out / "keyboard" / "notes.txt").write_text("not audio")
    summary = render_dataset([font], out, SPEC, **GRID)
    assert summary.clips_written == 1 and (out / "top.wav").is_file() and (out / ".trash/a.wav").is_file()


# --- an earlier render's folder: rendered again, resumed ----------------------------------------------


def test_an_earlier_render_is_rendered_again_with_other_options(tmp_path: Path, font: Path, caplog) -> None:
    out = tmp_path / "out"
    render_dataset([font], out, SPEC, **GRID)
    flac = (out / f"{CLIP}.flac").read_bytes()
    other = RenderSpec(pitches=(60, 72), velocities=(80,), audio_format="wav")
    with caplog.at_level(logging.WARNING, logger="adaspec.data.soundfont"):
        summary = render_dataset([font], out, other, **GRID)
    assert summary.clips_written == 2
    assert [row["path"] for row in manifest_rows(out)] == [
        f"{CLIP}.wav",
        "keyboard/testfont_p000_n072_v080.wav",
    ]
    # The earlier render's FLAC clip is kept, and counted: a class-folder scan would take it too.
    assert (out / f"{CLIP}.flac").read_bytes() == flac
    assert "1 audio files in" in caplog.text and "not in manifest.csv" in caplog.text
    # ... and its manifest (of WAVs) is an earlier render's: a FLAC render goes on.
    assert render_dataset([font], out, SPEC, **GRID).clips_written == 1
    assert [row["path"] for row in manifest_rows(out)] == [f"{CLIP}.flac"]


def test_an_interrupted_render_is_completed(tmp_path: Path, font: Path) -> None:
    """An interrupted render leaves clips without a manifest (and a killed worker a temporary file): a
    render again completes it, with the same bytes."""
    out = tmp_path / "out"
    two = RenderSpec(pitches=(60, 72), velocities=(80,))
    render_dataset([font], out, two, **GRID)
    complete = files_of(out)
    (out / "manifest.csv").unlink()
    (out / "keyboard" / "testfont_p000_n072_v080.flac").unlink()
    (out / "keyboard" / ".testfont_p000_n072_v080.flac.4242.tmp").write_bytes(b"fLaC half")
    assert render_dataset([font], out, two, **GRID).clips_written == 2
    assert files_of(out) == complete


def test_an_earlier_render_of_other_fonts_is_rendered_into(tmp_path: Path, font: Path) -> None:
    """Clips of another font (an earlier render with more fonts) are a render's, not a foreign dataset's."""
    out = tmp_path / "out"
    other = write_sf2(tmp_path / "fonts" / "otherfont.sf2", {0: (0, 127)})
    render_dataset([other], out, SPEC, **{**GRID, "splits": {"otherfont": "val"}})
    assert render_dataset([font], out, SPEC, **GRID).clips_written == 1
    assert (out / "keyboard" / "otherfont_p000_n060_v080.flac").is_file()


def test_a_link_to_an_earlier_render_is_rendered_into(tmp_path: Path, font: Path) -> None:
    out = tmp_path / "out"
    render_dataset([font], out, SPEC, **GRID)
    link = tmp_path / "link"
    link.symlink_to(out, target_is_directory=True)
    assert render_dataset([font], link, SPEC, **GRID).clips_written == 1
    assert sorted(os.listdir(out)) == ["keyboard", "manifest.csv"]
