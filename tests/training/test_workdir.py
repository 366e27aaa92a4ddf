"""Where a run's relative data paths are found: the recorded training folder, moved with the run or not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adaspec.errors import UserError
from adaspec.training.workdir import (
    check_relative_data_found,
    comparable_data_paths,
    rebase_data_paths,
    record_workdir,
    recorded_folders,
    training_folder,
)


def test_the_training_folder_is_recorded_relative_to_the_run_and_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert record_workdir(Path("runs/a")) == {"relative_to_run": "../..", "absolute": str(tmp_path)}


def test_a_run_folder_reached_through_a_link_still_moves_with_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--runs-dir "$HOME/..."`` where home is a link: the current folder is the resolved path, the run
    folder is not; both are resolved, so the project is found where it moved."""
    (tmp_path / "real" / "project" / "tones").mkdir(parents=True)
    (tmp_path / "home").symlink_to(tmp_path / "real")
    monkeypatch.chdir(tmp_path / "home" / "project")
    recorded = record_workdir(tmp_path / "home" / "project" / "runs" / "a")
    assert recorded["relative_to_run"] == "../.."
    (tmp_path / "real" / "project").rename(tmp_path / "real" / "moved")
    (tmp_path / "real" / "moved" / "runs" / "a").mkdir(parents=True)
    found = training_folder({"root": "tones"}, tmp_path / "home" / "moved" / "runs" / "a", recorded)
    assert found == tmp_path / "real" / "moved"


def test_relative_paths_are_found_where_the_run_moved_then_where_it_was(tmp_path: Path) -> None:
    data = {"root": "tones", "manifest": None, "split_lists": {"test": "lists/test.txt"}}
    recorded = {"relative_to_run": "../..", "absolute": str(tmp_path / "old")}
    for project in ("old", "new"):
        (tmp_path / project / "tones").mkdir(parents=True)
        (tmp_path / project / "lists").mkdir()
        (tmp_path / project / "lists" / "test.txt").touch()
    assert training_folder(data, tmp_path / "new" / "runs" / "a", recorded) == tmp_path / "new"
    assert training_folder(data, tmp_path / "gone" / "runs" / "a", recorded) == tmp_path / "old"
    (tmp_path / "old" / "lists" / "test.txt").unlink()  # every relative path must be there
    assert training_folder(data, tmp_path / "gone" / "runs" / "a", recorded) is None
    assert training_folder(data, tmp_path / "new" / "runs" / "a", None) is None  # an older checkpoint
    (tmp_path / "old" / "lists" / "test.txt").touch()
    assert training_folder(data, None, recorded) == tmp_path / "old"  # a checkpoint outside its run
    absolute = {"root": str(tmp_path / "new" / "tones"), "split_lists": None}
    assert training_folder(absolute, tmp_path / "new" / "runs" / "a", recorded) is None


def test_rebasing_joins_only_the_relative_paths(tmp_path: Path) -> None:
    data = {"root": "tones", "manifest": str(tmp_path / "m.csv"), "split_lists": {"val": "v.txt"}, "x": 1}
    rebased = rebase_data_paths(data, tmp_path)
    assert rebased == {
        "root": str(tmp_path / "tones"),
        "manifest": str(tmp_path / "m.csv"),
        "split_lists": {"val": str(tmp_path / "v.txt")},
        "x": 1,
    }
    assert rebase_data_paths(data, None) == data and os.path.isabs(rebased["root"])


def test_configs_compare_with_their_data_paths_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    spellings = ("tones", "./tones", "../project/tones", f"{tmp_path}/project/tones/")
    compared = [comparable_data_paths({"seed": 0, "data": {"root": root}}) for root in spellings]
    assert [config["data"]["root"] for config in compared] == [str(tmp_path / "project" / "tones")] * 4


def test_a_run_folder_no_relative_path_leads_to_records_the_absolute_folder_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows, a runs dir on another drive than the current folder has no relative path to it."""

    def other_drive(path: str, start: str | None = None) -> str:
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tones").mkdir()
    monkeypatch.setattr(os.path, "relpath", other_drive)
    recorded = record_workdir(tmp_path / "runs" / "a")
    assert recorded == {"absolute": str(tmp_path)}
    assert training_folder({"root": "tones"}, tmp_path / "elsewhere", recorded) == tmp_path


def test_relative_data_found_nowhere_is_refused_naming_every_folder_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data moved but the run did not: the message names the current folder and the recorded ones."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    recorded = {"relative_to_run": "../..", "absolute": str(tmp_path / "old")}
    searched = recorded_folders(tmp_path / "project" / "runs" / "a", recorded)
    assert searched == [str(tmp_path / "project"), str(tmp_path / "old")]
    data = {"root": "tones", "split_lists": None}
    with pytest.raises(UserError) as refused:
        check_relative_data_found(data, searched)
    message = str(refused.value)
    assert "'tones'" in message and "--data" in message
    assert (
        message.index(str(tmp_path / "here"))
        < message.index(str(tmp_path / "project"))
        < message.index(str(tmp_path / "old"))
    )
    (tmp_path / "here" / "tones").mkdir()  # found from the current folder: nothing to say
    check_relative_data_found(data, searched)
    check_relative_data_found({"root": str(tmp_path / "gone")}, searched)  # absolute: the loader's message
