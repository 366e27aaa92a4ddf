"""Expanding command-line inputs into audio files."""

from __future__ import annotations

from pathlib import Path

from adaspec.data.walk import find_audio_files


def test_folders_are_walked_sorted_and_files_kept_as_given(tmp_path: Path) -> None:
    root = tmp_path / "in"
    for name in ("b/2.wav", "a/1.FLAC", "a/deep/3.ogg", "a/.hidden.wav", "a/notes.txt"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    missing = tmp_path / "gone.wav"
    found = find_audio_files([root, missing])
    assert found == [
        (root / "a/1.FLAC", Path("a/1.FLAC")),
        (root / "a/deep/3.ogg", Path("a/deep/3.ogg")),
        (root / "b/2.wav", Path("b/2.wav")),
        (missing, Path("gone.wav")),
    ]
    assert [f for f, _ in find_audio_files([root], extensions=["wav"])] == [root / "b/2.wav"]


def test_files_in_hidden_folders_are_skipped(tmp_path: Path) -> None:
    """A USB stick's ``.Trashes`` or a ``.git`` folder holds no inputs; a hidden input folder is walked."""
    root = tmp_path / ".in"
    for name in ("keep.wav", "sub/keep.wav", ".Trashes/501/old.wav", "sub/.cache/x.wav"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    assert find_audio_files([root]) == [
        (root / "keep.wav", Path("keep.wav")),
        (root / "sub/keep.wav", Path("sub/keep.wav")),
    ]
