"""What a run folder protects: folders that are not runs, a damaged checkpoint, the recorded split."""

from __future__ import annotations

import importlib
import logging
import shutil
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.config import load_config_file, resolve_config, save_config
from adaspec.errors import UserError
from adaspec.training import TrainResult, prepare_run_dir, train
from adaspec.training.run_dir import RunPaths, foreign_entries
from tests.datasets import make_tone_dataset, tiny_overrides

# the module (adaspec.training.train is the function of that name)
train_module = importlib.import_module("adaspec.training.train")


def _config(root: Path) -> dict:
    return resolve_config(None, tiny_overrides(root, **{"trainer.max_epochs": 1}))


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_is_not_a_run_is_left_alone(tmp_path: Path, overwrite: bool) -> None:
    victim = tmp_path / "runs" / "victim"
    (victim / "important").mkdir(parents=True)
    (victim / "thesis.tex").write_text("years of work")
    with pytest.raises(UserError, match="not an adaspec run"):
        prepare_run_dir(tmp_path / "runs", "victim", _config(tmp_path), overwrite=overwrite)
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in victim.iterdir()) == ["important", "thesis.tex"]


def test_checkpoints_without_their_config_are_not_replaced(tmp_path: Path) -> None:
    checkpoints = tmp_path / "runs" / "nocfg" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "last.ckpt").write_bytes(b"someone's weights")
    with pytest.raises(UserError, match=r"no config\.yaml"):
        prepare_run_dir(tmp_path / "runs", "nocfg", _config(tmp_path))
    assert (checkpoints / "last.ckpt").read_bytes() == b"someone's weights"


def test_an_empty_folder_becomes_a_run(tmp_path: Path) -> None:
    (tmp_path / "runs" / "empty").mkdir(parents=True)
    paths, resume = prepare_run_dir(tmp_path / "runs", "empty", _config(tmp_path))
    assert resume is None and paths.config.is_file()


def test_the_cli_refuses_a_non_run_folder_in_one_line(
    tone_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "notes.txt").write_text("mine")
    config = tmp_path / "tiny.yaml"
    config.write_text("trainer: {max_epochs: 1}\n")
    args = ["train", str(config), *tiny_overrides(tone_dataset), "--runs-dir", str(tmp_path)]
    assert main(["-q", *args, "--name", "victim", "--overwrite"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "is not an adaspec run" in error[0]
    assert (tmp_path / "victim" / "notes.txt").read_text() == "mine"


def _copy_of(run: TrainResult, runs: Path) -> tuple[dict, Path]:
    """A copy of a finished run under ``runs`` and its config."""
    shutil.copytree(run.paths.root, runs / run.paths.root.name)
    return resolve_config(load_config_file(run.paths.config)), runs / run.paths.root.name


def test_a_damaged_last_checkpoint_is_refused_not_resumed(
    trained_run: TrainResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    last = root / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # cut short, as by a full disk
    with pytest.raises(UserError, match=r"cannot resume .*--overwrite"):
        train(config, name=root.name, runs_dir=tmp_path)
    assert last.stat().st_size == 1000  # nothing replaced

    saved = tmp_path / "saved.yaml"
    shutil.copy(root / "config.yaml", saved)
    assert main(["-q", "train", str(saved), "--runs-dir", str(tmp_path), "--name", root.name]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"adaspec: error: cannot resume {root}")


def test_a_resumed_run_keeps_its_split_when_the_dataset_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_tone_dataset(tmp_path / "data", files_per_class=8, seconds=0.6)
    config = _config(data)
    first = train(config, name="grow", runs_dir=tmp_path / "runs")
    recorded = first.paths.splits.read_text()
    (data / "low" / "low_00.wav").unlink()
    make_tone_dataset(tmp_path / "more", files_per_class=3, seconds=0.6, seed=1)
    for wav in (tmp_path / "more" / "high").iterdir():
        shutil.copy(wav, data / "high" / f"new_{wav.name}")

    with caplog.at_level(logging.WARNING):
        again = train(config, name="grow", runs_dir=tmp_path / "runs")
    assert again.resumed
    assert again.paths.splits.read_text() == recorded  # not split afresh (files would change split)
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "3 file(s) not in it (added to the dataset since, or unusable when the run started" in messages
    assert "low_00.wav" in messages  # the deleted file is reported, not silently re-split

    caplog.clear()  # the other processes of a distributed run read the split without saying it again
    monkeypatch.setattr(train_module, "process_rank", lambda: 1)
    with caplog.at_level(logging.WARNING):
        assert train_module.recorded_split(again.paths, config) is not None
    assert "not in it" not in " ".join(record.getMessage() for record in caplog.records)


def test_a_run_resumes_with_other_machine_settings(trained_run: TrainResult, tmp_path: Path) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    config["trainer"]["progress_bar"] = not config["trainer"]["progress_bar"]
    config["data"]["num_workers"] = 1
    result = train(config, name=root.name, runs_dir=tmp_path)
    assert result.resumed  # finished: not redone, and not refused as another config
    config["optim"]["lr"] *= 2
    with pytest.raises(UserError, match=r"another config \(optim\.lr"):
        train(config, name=root.name, runs_dir=tmp_path)


def test_more_processes_than_validation_files_is_said_once_before_launching(
    tone_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text("trainer: {max_epochs: 1}\n")
    many = ["trainer.accelerator=cpu", "trainer.devices=8", "trainer.strategy=ddp"]
    args = ["train", str(config), *tiny_overrides(tone_dataset), *many, "--runs-dir", str(tmp_path)]
    assert main(["-q", *args]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["adaspec: error: split 'val' has 6 files, fewer than the 8 training processes"]


def test_a_run_folder_with_the_user_s_files_is_never_deleted(tmp_path: Path) -> None:
    config = _config(tmp_path)
    project = tmp_path / "runs" / "exp1"
    project.mkdir(parents=True)
    (project / "config.yaml").write_text("optim: {lr: 0.5}\n")  # the user's own config, no checkpoint
    (project / "notes.md").write_text("mine")
    with pytest.raises(
        UserError, match=r"holds files adaspec did not write \(notes\.md\); it is not deleted"
    ):
        prepare_run_dir(tmp_path / "runs", "exp1", config)  # would replace a failed start
    with pytest.raises(UserError, match=r"holds files adaspec did not write"):
        prepare_run_dir(tmp_path / "runs", "exp1", config, overwrite=True)
    assert (project / "notes.md").read_text() == "mine"
    assert (project / "config.yaml").read_text() == "optim: {lr: 0.5}\n"


def test_what_a_killed_write_leaves_is_not_foreign(trained_run: TrainResult, tmp_path: Path) -> None:
    """A process killed in an atomic write leaves its temporary file (``.splits.csv.<pid>.tmp``, an export's
    ``.model.onnx.<pid>.partial``): ``--overwrite`` refused the run as holding files adaspec did not write."""
    config, root = _copy_of(trained_run, tmp_path)
    left = (".splits.csv.123.tmp", ".frontend.png.9.tmp", ".model.onnx.77.partial", ".config.yaml.5.tmp")
    for name in left:
        (root / name).write_bytes(b"half")
    assert not foreign_entries(RunPaths(root))
    (root / ".notes.md.1.tmp").write_text("not adaspec's")
    assert foreign_entries(RunPaths(root)) == [".notes.md.1.tmp"]
    (root / ".notes.md.1.tmp").unlink()
    paths, resume = prepare_run_dir(tmp_path, root.name, config, overwrite=True)
    assert paths.root == root and resume is None
    assert sorted(p.name for p in root.iterdir()) == ["config.yaml"]


def test_a_linked_run_folder_is_not_deleted_through_the_link(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    config, root = _copy_of(trained_run, tmp_path / "real")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / root.name).symlink_to(root)
    with pytest.raises(UserError, match=r"is a link; adaspec does not delete through links"):
        prepare_run_dir(tmp_path / "runs", root.name, config, overwrite=True)
    assert (root / "checkpoints" / "last.ckpt").is_file()


def test_checkpoints_without_last_ckpt_are_not_trained_over(trained_run: TrainResult, tmp_path: Path) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    (root / "checkpoints" / "last.ckpt").unlink()
    best = (root / "checkpoints" / "best.ckpt").read_bytes()
    with pytest.raises(UserError, match=r"has checkpoints but no checkpoints/last\.ckpt to resume from"):
        prepare_run_dir(tmp_path, root.name, config)
    assert (root / "checkpoints" / "best.ckpt").read_bytes() == best


def test_resuming_without_a_split_file_says_it_splits_afresh(
    trained_run: TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    (root / "splits.csv").unlink()
    with caplog.at_level(logging.WARNING):
        assert train(config, name=root.name, runs_dir=tmp_path).resumed
    assert any("splits.csv is missing: the dataset is split afresh" in r.getMessage() for r in caplog.records)


def test_a_broken_last_checkpoint_is_named_when_resuming(trained_run: TrainResult, tmp_path: Path) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    last = root / "checkpoints" / "last.ckpt"
    last.unlink()
    last.symlink_to(tmp_path / "gone.ckpt")
    with pytest.raises(UserError, match=r"has checkpoints but a last\.ckpt \(a broken link\) to resume from"):
        train(config, name=root.name, runs_dir=tmp_path)


def _files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes."""
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _strict_on_a_bad_file(tone_dataset: Path, tmp_path: Path) -> list[str]:
    shutil.copytree(tone_dataset, tmp_path / "bad")
    (tmp_path / "bad" / "low" / "text.wav").write_text("not audio")
    return [f"data.root={tmp_path / 'bad'}", "data.strict=true"]


REFUSED_NEW_RUNS = {
    "missing data.root": (lambda data, tmp: [f"data.root={tmp / 'dta'}"], "does not exist"),
    "strict, a bad file": (_strict_on_a_bad_file, r"cannot be used \(strict\)"),
    "parts too short": (lambda data, tmp: ["eval.n_parts=64"], "too short for the front-end"),
    "more processes than files": (
        lambda data, tmp: ["trainer.accelerator=cpu", "trainer.devices=8", "trainer.strategy=ddp"],
        "fewer than the 8 training processes",
    ),
}


@pytest.mark.parametrize("case", REFUSED_NEW_RUNS)
def test_a_refused_overwrite_loses_nothing_of_the_old_run(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, case: str
) -> None:
    config, root = _copy_of(trained_run, tmp_path / "runs")
    before = _files(root)
    make_overrides, message = REFUSED_NEW_RUNS[case]
    new = resolve_config(config, make_overrides(tone_dataset, tmp_path))
    with pytest.raises(UserError, match=message):
        train(new, name=root.name, runs_dir=tmp_path / "runs", overwrite=True)
    assert _files(root) == before  # checkpoints, metrics, splits.csv and config.yaml as they were


def test_the_cli_refuses_an_overwrite_with_a_mistyped_root_and_keeps_the_run(
    trained_run: TrainResult,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, root = _copy_of(trained_run, tmp_path)
    before = _files(root)
    monkeypatch.chdir(tmp_path)
    args = [
        "-q",
        "train",
        "runs-config.yaml",
        "--name",
        root.name,
        "--runs-dir",
        ".",
        "--overwrite",
        "data.root=dta",
    ]
    shutil.copy(root / "config.yaml", tmp_path / "runs-config.yaml")
    assert main(args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "adaspec: error: root 'dta' does not exist or is not a folder"
    ]
    assert _files(root) == before


def test_a_failed_start_creates_no_run_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        train(_config(tmp_path / "dta"), name="typo", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs" / "typo").exists()


@pytest.fixture
def four_epochs(tmp_path: Path) -> tuple[dict, Path]:
    """A tone dataset of its own, a run of one epoch trained on it, and the config that trains it further."""
    data = make_tone_dataset(tmp_path / "data", files_per_class=8, seconds=0.6)
    first = train(_config(data), name="classes", runs_dir=tmp_path / "runs")
    further = resolve_config(None, tiny_overrides(data, **{"trainer.max_epochs": 4}))
    return further, first.paths.root


def test_resuming_without_a_class_of_the_run_is_refused_in_one_line(
    four_epochs: tuple[dict, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, root = four_epochs
    for wav in (tmp_path / "data" / "noise").iterdir():
        wav.unlink()
    before = _files(root)
    message = (
        f"cannot resume {root}: it was trained with classes 'high', 'low', 'noise', but the dataset has no "
        "usable file of class 'noise' any more; restore their files, or start the run afresh with --overwrite"
    )
    with pytest.raises(UserError) as refused:
        train(config, name=root.name, runs_dir=root.parent)
    assert str(refused.value) == message
    assert _files(root) == before  # not even the larger max_epochs is saved

    saved = tmp_path / "further.yaml"
    save_config(config, saved)
    assert main(["-q", "train", str(saved), "--runs-dir", str(root.parent), "--name", root.name]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"adaspec: error: {message}"


def test_resuming_with_a_new_class_split_afresh_is_refused(
    four_epochs: tuple[dict, Path], tmp_path: Path
) -> None:
    config, root = four_epochs
    shutil.copytree(tmp_path / "data" / "low", tmp_path / "data" / "hum")
    (root / "splits.csv").unlink()  # the dataset is split afresh, new class and all
    with pytest.raises(
        UserError, match=r"but the dataset has new class 'hum'; restore the dataset the run was"
    ):
        train(config, name=root.name, runs_dir=root.parent)
