"""One render at a time per dataset folder: a second render into a folder being rendered is refused at
once (each removed the other's manifest and clips being written, so the first failed on a rename), and
renders into other folders go on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.data import soundfont
from adaspec.data.soundfont import RenderSpec, render_dataset
from adaspec.errors import UserError
from tests.data.soundfont_files import write_sf2
from tests.data.test_soundfont import needs_fluidsynth

pytestmark = [
    needs_fluidsynth,
    pytest.mark.skipif(os.name != "posix", reason="renders are locked with flock"),
]

SPEC = RenderSpec(pitches=(60, 72), velocities=(80,))
GRID = {"workers": 1, "programs": [0], "splits": {"testfont": "train"}, "progress": False}
LOCK = ".render.lock"

# A render that stops after writing its first clip's temporary file (before renaming it into place) until
# it reads a line: it then holds the folder, with a clip being written, as a long render would.
_RENDER_PAUSED_MID_CLIP = textwrap.dedent(
    """
    import sys, soundfile
    from adaspec.data.soundfont import RenderSpec, render_dataset

    real_write = soundfile.write
    def write(file, *args, **kwargs):
        real_write(file, *args, **kwargs)
        if not written:
            written.append(file)
            print("writing", flush=True)
            sys.stdin.readline()
    written = []
    soundfile.write = write
    spec = RenderSpec(pitches=(60, 72), velocities=(80,))
    summary = render_dataset([sys.argv[1]], sys.argv[2], spec, workers=1, programs=[0],
                             splits={"testfont": "train"}, progress=False)
    print(summary.clips_written)
    """
)


@pytest.fixture
def font(tmp_path: Path) -> Path:
    return write_sf2(tmp_path / "fonts" / "testfont.sf2", {0: (0, 127)})


def _busy(out: Path, pid: int) -> str:
    return (
        f"{out} is being rendered into by another process (process {pid}); wait for it to end, or stop it "
        f"(its lock is {out / LOCK})"
    )


def test_a_second_render_into_a_folder_being_rendered_is_refused(tmp_path: Path, font: Path) -> None:
    """The second render removed the first one's clip being written, and the first then failed on its
    rename; now it is refused, touching nothing, and the first completes."""
    out = tmp_path / "out"
    first = subprocess.Popen(
        [sys.executable, "-c", _RENDER_PAUSED_MID_CLIP, str(font), str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "writing"
        being_written = sorted(p.name for p in out.rglob("*"))
        assert any(name.endswith(".tmp") for name in being_written), being_written
        with pytest.raises(UserError) as refused:
            render_dataset([font], out, SPEC, **GRID)
        assert str(refused.value) == _busy(out, first.pid)
        assert sorted(p.name for p in out.rglob("*")) == being_written  # nothing removed
        stdout, _ = first.communicate("go\n", timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=30)
    assert (first.returncode, stdout.strip()) == (0, "2")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "keyboard",
        "keyboard/testfont_p000_n060_v080.flac",
        "keyboard/testfont_p000_n072_v080.flac",
        "manifest.csv",
    ]  # the lock file removed with the lock
    assert render_dataset([font], out, SPEC, **GRID).clips_written == 2  # free again


def test_the_cli_refuses_a_folder_being_rendered_in_one_line(
    tmp_path: Path, font: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    grid = ["--pitches", "60", "--velocities", "80", "--workers", "1", "--split", "testfont=train"]
    with soundfont.render_locked(out):  # as another process would hold it
        code = main(["-q", "data", "instruments", "--soundfont", str(font), "--out", str(out), *grid])
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"adaspec: error: {_busy(out, os.getpid())}"]
    assert os.listdir(out) == []


def test_the_same_folder_under_another_path_is_refused_and_other_folders_render(
    tmp_path: Path, font: Path
) -> None:
    out = tmp_path / "out"
    link = tmp_path / "link"
    link.symlink_to(out, target_is_directory=True)
    with soundfont.render_locked(out):
        with pytest.raises(
            UserError, match=rf"is being rendered into by another process \(process {os.getpid()}\)"
        ):
            render_dataset([font], link, SPEC, **GRID)
        assert render_dataset([font], tmp_path / "other", SPEC, **GRID).clips_written == 2
    assert not (out / LOCK).exists() and not (tmp_path / "other" / LOCK).exists()


def test_without_flock_renders_are_not_locked(tmp_path: Path, font: Path, monkeypatch) -> None:
    """As runs: where ``fcntl`` is missing (Windows), a render takes no lock and leaves no lock file."""
    from adaspec import _locks

    monkeypatch.setattr(_locks, "fcntl", None)
    out = tmp_path / "out"
    with soundfont.render_locked(out):
        assert render_dataset([font], out, SPEC, **GRID).clips_written == 2
    assert not (out / LOCK).exists()
