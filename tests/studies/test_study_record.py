"""A search folder holds the trials of one study: a search of a study of that name in another storage is
refused before anything is touched (it replaced the other study's trial folders and reports), while the
same storage continues the study and a study deleted and re-created there takes its old folder over."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import optuna
import pytest

from adaspec.cli import main
from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.studies import search
from adaspec.studies.study_record import STUDY_RECORD_FILE, STUDY_UID_ATTR, read_study_record


def _args(config: Path, space: Path, runs: Path, *extra: str) -> list[str]:
    return ["-q", "search", str(config), "--space", str(space), "--runs-dir", str(runs), *extra]


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: its bytes and modification time."""
    return {
        str(path.relative_to(folder)): (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _trials(url: str, name: str = "tiny") -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials()


@pytest.mark.parametrize("other_exists", [False, True], ids=["new-file", "file-of-another-study"])
def test_a_study_of_that_name_in_another_storage_is_refused_and_the_folder_left_alone(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    other_exists: bool,
) -> None:
    """The audit's reproducer: the second search deleted ``trial-0000`` of the first study and rewrote
    its ``best_config.yaml``, ``trials.csv`` and ``search.md``, while that study lived on in ``optuna.db``."""
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny"
    other = tmp_path / "other.db"
    assert main(_args(config, space, runs, "--trials", "1", "--sampler-seed", "1")) == 0
    if other_exists:  # a storage that must be opened to tell: it holds another study
        optuna.create_study(study_name="unrelated", storage=f"sqlite:///{other}")
    before = _snapshot(folder)
    capsys.readouterr()

    code = main(
        _args(config, space, runs, "--trials", "1", "--sampler-seed", "2", "--storage", f"sqlite:///{other}")
    )

    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"adaspec: error: {folder} holds the trials of study 'tiny' in its own {folder / 'optuna.db'}, "
        f"not in sqlite:///{other}: leave --storage out to continue that study, or give another --study "
        "or --runs-dir"
    ]
    assert _snapshot(folder) == before  # trial folder, reports, record and database untouched
    assert len(_trials(f"sqlite:///{folder / 'optuna.db'}")) == 1
    if other_exists:
        assert optuna.get_all_study_names(f"sqlite:///{other}") == ["unrelated"]  # no study made there
    else:
        assert not list(tmp_path.glob("other.db*"))  # not even the database or its lock file


def test_the_default_storage_is_refused_for_a_folder_of_another_storage(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny"
    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert main(_args(config, space, runs, "--trials", "1", "--storage", url)) == 0
    before = _snapshot(folder)
    capsys.readouterr()
    assert main(_args(config, space, runs, "--trials", "1")) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert f"{folder} holds the trials of study 'tiny' in {url}, not in sqlite:///" in error
    assert f": pass --storage {url} to continue that study, or give another --study or --runs-dir" in error
    assert _snapshot(folder) == before and not (folder / "optuna.db").exists()


def test_the_same_storage_continues_the_study_however_its_url_names_it(
    search_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same storage, also by a relative path from another folder or by a link to its file (another
    name of the same database, as another host name of a PostgreSQL server), goes on with the study and
    leaves its earlier trials' folders alone."""
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny"
    database = tmp_path / "db" / "study.db"
    assert main(_args(config, space, runs, "--trials", "1", "--storage", f"sqlite:///{database}")) == 0
    record = read_study_record(folder)
    assert record is not None and record.storage == f"sqlite:///{database}" and not record.default
    assert record.study_id == 1 and record.study == "tiny"
    first = _snapshot(folder / "trial-0000")

    monkeypatch.chdir(tmp_path)
    assert main(_args(config, space, runs, "--trials", "2", "--storage", "sqlite:///db/study.db")) == 0
    (tmp_path / "link.db").symlink_to(database)
    assert (
        main(_args(config, space, runs, "--trials", "3", "--storage", f"sqlite:///{tmp_path / 'link.db'}"))
        == 0
    )

    trials = _trials(f"sqlite:///{database}")
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert sorted(p.name for p in folder.glob("trial-*")) == ["trial-0000", "trial-0001", "trial-0002"]
    assert _snapshot(folder / "trial-0000") == first
    assert read_study_record(folder) == record  # recorded once


def test_the_default_storage_continues_the_study(search_files: tuple[Path, Path], tmp_path: Path) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    assert main(_args(config, space, runs, "--trials", "1")) == 0
    record = read_study_record(runs / "search-tiny")
    assert record is not None and record.default
    # the folder reached by another path (a link to the runs folder) is the same default storage
    (tmp_path / "elsewhere").symlink_to(runs)
    assert main(_args(config, space, tmp_path / "elsewhere", "--trials", "2")) == 0
    assert len(_trials(f"sqlite:///{runs / 'search-tiny' / 'optuna.db'}")) == 2
    assert read_study_record(runs / "search-tiny") == record


def test_a_study_deleted_and_created_again_in_its_storage_replaces_its_old_trials(
    search_files: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny"
    url = f"sqlite:///{folder / 'optuna.db'}"
    base = resolve_config(config)
    search.run_search(
        base, 1, "tiny", runs_dir=runs, space=space, settings=search.SearchSettings(sampler_seed=1)
    )
    old = read_study_record(folder)
    old_lr = json.dumps(_trials(url)[0].params)
    optuna.delete_study(study_name="tiny", storage=url)

    with caplog.at_level(logging.WARNING, logger="adaspec"):
        result = search.run_search(
            base, 1, "tiny", runs_dir=runs, space=space, settings=search.SearchSettings(sampler_seed=2)
        )
    assert len(result.trials) == 1 and result.trials[0].state == optuna.trial.TrialState.COMPLETE
    assert (
        f"{folder / 'trial-0000'} holds a run of an earlier study of that name; replacing it" in caplog.text
    )
    new = read_study_record(folder)
    assert old is not None and new is not None and new.uid != old.uid and new.default
    assert new.uid == optuna.load_study(study_name="tiny", storage=url).user_attrs[STUDY_UID_ATTR]
    assert json.dumps(result.trials[0].params) != old_lr  # the folder now holds the new study's trial


def test_a_folder_of_an_older_adaspec_is_accepted_and_recorded(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder without a record (and a study without its identity) goes on and is recorded; one whose
    own ``optuna.db`` holds the study is still refused for another storage."""
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny"
    url = f"sqlite:///{folder / 'optuna.db'}"
    assert main(_args(config, space, runs, "--trials", "1")) == 0
    (folder / STUDY_RECORD_FILE).unlink()  # as an older adaspec left it
    study = optuna.load_study(study_name="tiny", storage=url)
    study._storage.set_study_user_attr(study._study_id, STUDY_UID_ATTR, None)
    before = _snapshot(folder)

    capsys.readouterr()
    assert (
        main(_args(config, space, runs, "--trials", "1", "--storage", f"sqlite:///{tmp_path / 'x.db'}")) == 2
    )
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert f"holds the trials of study 'tiny' in its own {folder / 'optuna.db'}, not in" in error
    assert _snapshot(folder) == before

    assert main(_args(config, space, runs, "--trials", "2")) == 0
    record = read_study_record(folder)
    assert record is not None and record.default
    assert record.uid == optuna.load_study(study_name="tiny", storage=url).user_attrs[STUDY_UID_ATTR]
    assert len(_trials(url)) == 2


def test_an_unreadable_study_record_is_one_line(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, space = search_files
    folder = tmp_path / "runs" / "search-tiny"
    folder.mkdir(parents=True)
    (folder / STUDY_RECORD_FILE).write_text("{not json")
    assert main(_args(config, space, tmp_path / "runs", "--trials", "1")) == 2
    (error,) = capsys.readouterr().err.strip().splitlines()
    assert error.startswith(f"adaspec: error: {folder / STUDY_RECORD_FILE} is not a readable study record (")
    assert os.listdir(folder) == [STUDY_RECORD_FILE]


def test_the_study_record_is_refused_through_the_python_api_too(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    base = resolve_config(config)
    search.run_search(base, 1, "tiny", runs_dir=runs, space=space)
    with pytest.raises(UserError, match="holds the trials of study 'tiny' in its own"):
        search.run_search(
            base, 1, "tiny", runs_dir=runs, space=space, storage=f"sqlite:///{tmp_path / 'o.db'}"
        )
