"""Atomic text files: a whole new file or the old one, never half of one, and no temporary file left."""

from __future__ import annotations

import os
from fnmatch import fnmatch
from pathlib import Path

import pytest

from adaspec._atomic import replaced_atomically, temporary_glob, write_text_atomic


def test_writes_the_text_as_given_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "trials.csv"
    path.write_text("old\n", encoding="utf-8")
    assert write_text_atomic(path, "a,b\r\n1,2\r\nü\n") == path
    assert path.read_bytes() == "a,b\r\n1,2\r\nü\n".encode()  # line endings kept, UTF-8
    assert [p.name for p in tmp_path.iterdir()] == ["trials.csv"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary_one(tmp_path: Path) -> None:
    path = tmp_path / "search.md"
    path.write_text("the old report\n", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "half written, then a lone surrogate \udcfe")
    assert path.read_text(encoding="utf-8") == "the old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["search.md"]


def test_a_reader_holding_the_old_file_keeps_reading_it_whole(tmp_path: Path) -> None:
    # Replaced by a rename, not rewritten in place: an open reader still sees every byte of the old file
    # (rewritten in place, it read the new file's start, or an empty file while a worker was writing).
    path = tmp_path / "results.csv"
    path.write_text("old,old\n" * 100_000, encoding="utf-8")
    with path.open(encoding="utf-8") as reader:
        first = reader.read(8)
        write_text_atomic(path, "new\n")
        rest = reader.read()
    assert first + rest == "old,old\n" * 100_000
    assert path.read_text(encoding="utf-8") == "new\n"
    assert os.listdir(tmp_path) == ["results.csv"]


def test_temporary_glob_finds_the_temporary_files_of_matching_names_only(tmp_path: Path) -> None:
    """A render's cleanup had to spell out replaced_atomically's naming to find what killed workers left."""
    with replaced_atomically(tmp_path / "piano_n060.flac") as tmp:
        assert tmp.parent == tmp_path  # beside the file: the rename is atomic
        assert fnmatch(tmp.name, temporary_glob("*.flac")) and not fnmatch(tmp.name, "*.flac")
        assert not fnmatch(tmp.name, temporary_glob("*.wav"))
        tmp.write_bytes(b"fLaC")
    assert not fnmatch("piano_n060.flac", temporary_glob("*.flac"))


def test_an_error_about_the_temporary_file_names_the_file_asked_for(tmp_path: Path) -> None:
    """Before, an unwritable or missing folder was reported as '<folder>/.x.csv.<pid>.tmp: ...'."""
    target = tmp_path / "missing" / "x.csv"
    with pytest.raises(FileNotFoundError) as caught:
        write_text_atomic(target, "a\n")
    assert caught.value.filename == str(target)


def test_a_failed_rename_names_the_file_asked_for_once(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    (target / "inside").mkdir(parents=True)  # a folder in the way: the rename fails
    with pytest.raises(OSError) as caught:
        write_text_atomic(target, "a\n")
    assert (caught.value.filename, caught.value.filename2) == (str(target), None)
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
