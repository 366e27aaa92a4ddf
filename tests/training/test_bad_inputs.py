"""Bad files in a dataset: reported with path and reason and skipped, or refused with data.strict."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.config import resolve_config
from adaspec.training import AudioDataModule, train
from tests.datasets import add_problem_files, tiny_overrides


@pytest.fixture(scope="module")
def messy_dataset(
    tone_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("messy") / "data"
    shutil.copytree(tone_dataset, root)
    return root, add_problem_files(root / "low")


def test_scan_reports_each_bad_file_and_keeps_the_rest(
    messy_dataset: tuple[Path, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    root, bad = messy_dataset
    data = AudioDataModule(resolve_config(None, tiny_overrides(root)))
    with caplog.at_level(logging.WARNING, logger="adaspec"):
        data.setup()
    assert data.catalog is not None
    reported = {item.path.name: reason for item, reason in data.catalog.bad}
    assert set(reported) == set(bad)
    for name, fragment in bad.items():
        assert fragment in reported[name], (name, reported[name])
        assert any(
            name in record.getMessage() and fragment in record.getMessage() for record in caplog.records
        )
    used = {item.path.name for split in data.catalog.splits.values() for item in split.items}
    assert {"six_channels.wav", "eight_bit.wav", "hi_rate.wav"} <= used
    assert len(used) == 30 + 3


def test_training_runs_on_the_good_files(messy_dataset: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, _ = messy_dataset
    result = train(resolve_config(None, tiny_overrides(root, **{"trainer.max_epochs": 1})), "messy", tmp_path)
    assert result.paths.best.is_file()


def test_strict_refuses_with_one_line(
    messy_dataset: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = messy_dataset
    config = tmp_path / "c.yaml"
    config.write_text("seed: 0\n")
    runs = str(tmp_path / "runs")
    code = main(["-q", "train", str(config), *tiny_overrides(root), "--runs-dir", runs, "--strict"])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert error[0].startswith("adaspec: error: 5 of 38 audio files cannot be used (strict)")
    assert "empty.wav: empty file" in error[0]


def test_predict_reports_bad_files_and_goes_on(
    messy_dataset: tuple[Path, dict[str, str]], trained_run, capsys: pytest.CaptureFixture[str]
) -> None:
    root, bad = messy_dataset
    paths = [str(root / "low" / name) for name in sorted(bad)] + [str(root / "low" / "low_00.wav")]
    code = main(["-q", "predict", str(trained_run.paths.root), *paths, "--format", "csv"])
    assert code == 1
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert lines[0].startswith("path,label")
    assert len(lines) == 1 + len(paths)
    for name, fragment in bad.items():
        row = next(line for line in lines if name in line)
        assert fragment in row
    good = next(line for line in lines if "low_00.wav" in line)
    assert ",low," in good or ",high," in good or ",noise," in good


def test_evaluate_strict_refuses_bad_files(
    messy_dataset: tuple[Path, dict[str, str]], trained_run, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _ = messy_dataset
    target = str(trained_run.paths.root)
    options = ["--data", str(root), "--split", "all", "--strict", "--out", str(root.parent / "eval")]
    code = main(["-q", "evaluate", target, *options])
    assert code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "(strict)" in error[0]


def test_predict_says_why_a_path_is_not_a_file(
    trained_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.wav").symlink_to(tmp_path / "gone.wav")
    paths = ["/dev/null", str(tmp_path / "missing.wav"), str(tmp_path / "broken.wav")]
    assert main(["-q", "predict", str(trained_run.paths.root), *paths, "--format", "json"]) == 2
    errors = {row["path"]: row["error"] for row in json.loads(capsys.readouterr().out)}
    assert errors == {
        "/dev/null": "not a regular file (a device, pipe or socket)",
        str(tmp_path / "missing.wav"): "no such file",
        str(tmp_path / "broken.wav"): "a broken link",
    }
