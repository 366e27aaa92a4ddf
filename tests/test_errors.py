"""``adaspec.errors``: why a path cannot be read as a file, and a config read from a pipe."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from adaspec.config import load_config_file
from adaspec.errors import UserError, not_a_file_reason, plural


def test_not_a_file_reason_names_each_kind_of_path(tmp_path: Path) -> None:
    regular = tmp_path / "a.yaml"
    regular.write_text("seed: 1\n")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "broken").symlink_to(tmp_path / "gone")
    assert not_a_file_reason(regular) is None
    assert not_a_file_reason(tmp_path / "missing") == "no such file"
    assert not_a_file_reason(tmp_path / "broken") == "a broken link"
    assert not_a_file_reason(tmp_path) == "is a folder"
    assert not_a_file_reason(pipe) == "not a regular file (a device, pipe or socket)"
    assert not_a_file_reason(pipe, allow_pipe=True) is None
    assert not_a_file_reason("/dev/null") == "not a regular file (a device, pipe or socket)"


def test_a_config_is_read_from_a_pipe_and_a_device_is_refused(tmp_path: Path) -> None:
    pipe = tmp_path / "config"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text("seed: 7\ntrainer: {max_epochs: 2}\n"))
    writer.start()
    try:
        assert load_config_file(pipe) == {"seed": 7, "trainer": {"max_epochs": 2}}
    finally:
        writer.join(timeout=10)
    with pytest.raises(UserError, match=r"^/dev/null: not a regular file .*give a YAML or JSON config file$"):
        load_config_file("/dev/null")
    with pytest.raises(UserError, match="config file not found"):
        load_config_file(tmp_path / "missing.yaml")


def test_plural_follows_the_count() -> None:
    assert [plural(n, "file") for n in (0, 1, 2)] == ["files", "file", "files"]
    assert [plural(n, "class") for n in (1, 3)] == ["class", "classes"]
    assert plural(2, "process") == "processes"
