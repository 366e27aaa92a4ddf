"""A run's ``splits.csv``: written at training, read back by evaluation, which then decodes only the
evaluated split's files and keeps the training split even after the dataset changed."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from adaspec.config import resolve_config
from adaspec.data import AudioItem
from adaspec.errors import UserError
from adaspec.training import catalog as catalog_module
from adaspec.training import evaluate_run, train
from adaspec.training.split_file import read_split_file
from tests.datasets import tiny_overrides


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def run_and_data(tone_dataset: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A one-epoch run trained on a private copy of the tone dataset: ``(run folder, dataset)``."""
    data = shutil.copytree(tone_dataset, tmp_path / "tones")
    config = resolve_config(None, tiny_overrides(data, **{"trainer.max_epochs": 1}))
    return train(config, name="run", runs_dir=tmp_path / "runs").paths.root, data


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[AudioItem]:
    """Every item the catalog decodes from now on."""
    seen: list[AudioItem] = []
    real_scan = catalog_module.scan_items

    def recording_scan(items, *args, **kwargs):
        seen.extend(items)
        return real_scan(items, *args, **kwargs)

    monkeypatch.setattr(catalog_module, "scan_items", recording_scan)
    return seen


def test_training_writes_every_file_once_with_its_split(run_and_data: tuple[Path, Path]) -> None:
    run, data = run_and_data
    rows = _rows(run / "splits.csv")
    on_disk = sorted(str(path) for path in data.rglob("*.wav"))
    assert sorted(row["path"] for row in rows) == on_disk
    assert {row["split"] for row in rows} == {"train", "val", "test"}
    assert all(Path(row["path"]).parent.name == row["label"] for row in rows)


def test_evaluation_decodes_only_the_recorded_split(
    run_and_data: tuple[Path, Path], scanned: list[AudioItem]
) -> None:
    """A file added after training would move the automatic split; the recorded one is used instead, and
    only its test files are decoded."""
    run, data = run_and_data
    scanned.clear()  # decoding from now on
    recorded = [row["path"] for row in _rows(run / "splits.csv") if row["split"] == "test"]
    extra = data / "low" / "low_99.wav"
    shutil.copy(data / "low" / "low_00.wav", extra)
    evaluate_run(run, split="test")
    assert sorted(str(item.path) for item in scanned) == sorted(recorded)
    predicted = [row["path"] for row in _rows(run / "predictions.csv")]
    assert sorted(predicted) == sorted(recorded)


def test_predictions_list_paths_as_the_split_file_does(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run trained on a relative data.root lists relative paths in splits.csv; its predictions.csv held
    them joined to the training folder (absolute), so the two files could not be joined by path."""
    project = tmp_path / "project"
    shutil.copytree(tone_dataset, project / "tones")
    monkeypatch.chdir(project)
    config = resolve_config(None, tiny_overrides(Path("tones"), **{"trainer.max_epochs": 1}))
    run = project / train(config, name="run", runs_dir="runs").paths.root
    recorded = {row["path"] for row in _rows(run / "splits.csv") if row["split"] == "test"}
    assert recorded and not any(Path(path).is_absolute() for path in recorded)
    for folder in (project, tmp_path):  # from the training folder and from another one
        monkeypatch.chdir(folder)
        evaluate_run(run, split="test")
        assert {row["path"] for row in _rows(run / "predictions.csv")} == recorded


def test_other_fractions_split_afresh(run_and_data: tuple[Path, Path], scanned: list[AudioItem]) -> None:
    run, _ = run_and_data
    scanned.clear()  # decoding from now on
    evaluate_run(run, split="test", overrides=["data.fractions={train: 0.5, val: 0.2, test: 0.3}"])
    assert len(scanned) == len(_rows(run / "splits.csv"))  # every file decoded to split them again


def test_read_split_file_refuses_other_csv(tmp_path: Path) -> None:
    other = tmp_path / "other.csv"
    other.write_text("path,label\na.wav,x\n")
    with pytest.raises(UserError, match="not a split file"):
        read_split_file(other)
    sf_path = tmp_path / "a.wav"
    sf.write(sf_path, [0.0] * 10, 8000)
    good = tmp_path / "splits.csv"
    good.write_text(f"path,label,split,group\n{sf_path},x,test,\n")
    assert read_split_file(good) == [AudioItem(sf_path, "x", "test", None)]
