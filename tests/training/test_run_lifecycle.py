"""Run lifecycle: last.ckpt after every epoch, finished runs kept, Ctrl-C, failed starts."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import soundfile as sf
import torch

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.training import evaluate_run, train
from tests.datasets import tiny_overrides
from tests.training.test_resume import _config, assert_same_weights


def _twin_dataset(root: Path, files_per_split: dict[str, int] | None = None) -> Path:
    """Two classes whose files are byte-identical twins (``a/x_i.wav`` == ``b/x_i.wav``), split by a manifest.

    A model gives twins the same prediction, so exactly one of each pair is right: the file accuracy of
    every split is 0.5 in every epoch, whatever was learned.

    Returns:
        The manifest's path.
    """
    counts = files_per_split or {"train": 4, "val": 2, "test": 1}
    rng = np.random.default_rng(3)
    rows = ["path,label,split"]
    index = 0
    for split, count in counts.items():
        for _ in range(count):
            clip = rng.normal(0.0, 0.3, 8000).astype(np.float32)
            for label in ("a", "b"):
                (root / label).mkdir(parents=True, exist_ok=True)
                sf.write(root / label / f"x{index:02d}.wav", clip, 8000)
                rows.append(f"{label}/x{index:02d}.wav,{label},{split}")
            index += 1
    manifest = root / "manifest.csv"
    manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return manifest


class CountBatches(L.Callback):
    """Counts the training batches a fit runs."""

    def __init__(self) -> None:
        self.batches = 0

    def on_train_batch_end(self, *args: Any) -> None:
        self.batches += 1


class CtrlCAtEpochEnd(L.Callback):
    """Raises ``KeyboardInterrupt`` (as a Ctrl-C does) at the end of training epoch ``epoch``."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


def _checkpoint(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest of :func:`_twin_dataset`."""
    return _twin_dataset(tmp_path_factory.mktemp("twins"))


def _twin_config(manifest: Path, **extra: Any) -> dict[str, Any]:
    overrides = {"data.source": "manifest", "data.manifest": str(manifest), **extra}
    return resolve_config(None, tiny_overrides(manifest.parent, **overrides))


def test_last_checkpoint_is_written_every_epoch_without_improvement(
    twins: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _twin_config(twins, **{"trainer.max_epochs": 3})
    first = train(config, name="flat", runs_dir=tmp_path / "runs")

    epochs = json.loads(first.paths.metrics.read_text())["epochs"]
    assert [row["val/acc_file"] for row in epochs] == [0.5, 0.5, 0.5]  # never improves after epoch 0
    assert _checkpoint(first.paths.best)["epoch"] == 0
    last = _checkpoint(first.paths.last)
    assert last["epoch"] == 2
    assert last["global_step"] == 3  # 8 training files, batch size 8: one step per epoch
    assert [row["epoch"] for row in last["callbacks"]["RunArtifacts"]["history"]] == [0, 1, 2]

    metrics_before = first.paths.metrics.read_bytes()
    last_before = first.paths.last.stat().st_mtime_ns
    counter = CountBatches()
    with caplog.at_level(logging.INFO, logger="adaspec"):
        again = train(config, name="flat", runs_dir=tmp_path / "runs", callbacks=[counter])
    assert again.resumed
    assert counter.batches == 0
    said = [record.getMessage() for record in caplog.records if record.name.startswith("adaspec")]
    assert (
        f"{first.paths.root} had already reached trainer.max_epochs=3: nothing was trained (a larger "
        "value trains it further)" in said
    )
    assert first.paths.metrics.read_bytes() == metrics_before
    assert first.paths.last.stat().st_mtime_ns == last_before
    assert again.best is not None and again.best["epoch"] == 0


def test_an_early_stopped_run_is_not_resumed(
    twins: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _twin_config(twins, **{"trainer.max_epochs": 6, "trainer.early_stopping_patience": 2})
    first = train(config, name="stopped", runs_dir=tmp_path)
    # Best at epoch 0, no improvement in epochs 1 and 2: patience 2 stops after epoch 2.
    assert _checkpoint(first.paths.last)["epoch"] == 2
    metrics_before = first.paths.metrics.read_bytes()

    counter = CountBatches()
    with caplog.at_level(logging.INFO, logger="adaspec"):
        again = train(config, name="stopped", runs_dir=tmp_path, callbacks=[counter])
    assert again.resumed
    assert counter.batches == 0
    said = [record.getMessage() for record in caplog.records if record.name.startswith("adaspec")]
    assert "the run stopped early at epoch 2; there is nothing to resume" in said
    assert not any("max_epochs" in line for line in said)  # said once, by StayStopped
    assert _checkpoint(first.paths.last)["epoch"] == 2
    assert first.paths.metrics.read_bytes() == metrics_before


def test_ctrl_c_raises_keyboard_interrupt_and_the_rerun_ends_like_an_uninterrupted_run(
    tone_dataset: Path, tmp_path: Path
) -> None:
    config = _config(tone_dataset)
    whole = train(config, name="whole", runs_dir=tmp_path)

    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        train(config, name="cut", runs_dir=tmp_path, callbacks=[CtrlCAtEpochEnd(1)])
    assert signal.getsignal(signal.SIGINT) is handler  # Lightning's SIG_IGN is undone
    cut_last = tmp_path / "cut/checkpoints/last.ckpt"
    assert _checkpoint(cut_last)["epoch"] == 0

    resumed = train(config, name="cut", runs_dir=tmp_path)
    assert resumed.resumed
    assert_same_weights(whole.paths.last, resumed.paths.last)
    assert resumed.best == whole.best
    rows = json.loads(resumed.paths.metrics.read_text())["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    assert rows == json.loads(whole.paths.metrics.read_text())["epochs"]


def test_a_failed_start_does_not_block_the_corrected_command(tone_dataset: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    wrong = resolve_config(None, tiny_overrides(tmp_path / "dta", **{"trainer.max_epochs": 1}))
    with pytest.raises(UserError):
        train(wrong, name="pol", runs_dir=runs)
    assert not list((runs / "pol").glob("checkpoints/*.ckpt"))

    right = resolve_config(None, tiny_overrides(tone_dataset, **{"trainer.max_epochs": 1}))
    result = train(right, name="pol", runs_dir=runs)
    assert not result.resumed
    assert _checkpoint(result.paths.last)["epoch"] == 0
    assert str(tone_dataset) in result.paths.config.read_text()


def test_a_larger_max_epochs_trains_a_run_further_to_the_weights_of_a_longer_run(
    tone_dataset: Path, tmp_path: Path
) -> None:
    longer = _config(tone_dataset)  # 3 epochs, everything random on (see test_resume)
    shorter = {**longer, "trainer": {**longer["trainer"], "max_epochs": 2}}
    whole = train(longer, name="whole", runs_dir=tmp_path)

    first = train(shorter, name="grown", runs_dir=tmp_path)
    assert _checkpoint(first.paths.last)["epoch"] == 1
    further = train(longer, name="grown", runs_dir=tmp_path)
    assert further.resumed
    assert_same_weights(whole.paths.last, further.paths.last)
    assert further.best == whole.best
    assert (
        json.loads(further.paths.metrics.read_text())["epochs"]
        == json.loads(whole.paths.metrics.read_text())["epochs"]
    )
    assert resolve_config(further.paths.config)["trainer"]["max_epochs"] == 3  # the saved config follows

    # fewer epochs than trained is refused saying so (it was "another config (trainer.max_epochs: 3 -> 2)");
    # any other change is still another config
    refusal = r"was trained with trainer.max_epochs=3, more than the 2 asked for: give trainer.max_epochs=3"
    with pytest.raises(UserError, match=refusal):
        train(shorter, name="grown", runs_dir=tmp_path)
    other = {**longer, "trainer": {**longer["trainer"], "max_epochs": 4}, "seed": 1}
    with pytest.raises(UserError, match=r"another config \(seed: 0 -> 1; trainer.max_epochs: 3 -> 4\)"):
        train(other, name="grown", runs_dir=tmp_path)


def test_a_moved_run_keeps_its_best_checkpoint_when_resumed(twins: Path, tmp_path: Path) -> None:
    """Validation accuracy is 0.5 in every epoch: the best stays epoch 0, in place or after a move (before,
    Lightning dropped the best score of a moved run and its first epoch replaced best.ckpt)."""
    config = _twin_config(twins, **{"trainer.max_epochs": 2})
    first = train(config, name="before", runs_dir=tmp_path / "old")
    moved = tmp_path / "new" / "after"
    shutil.move(first.paths.root, moved)
    longer = {**config, "trainer": {**config["trainer"], "max_epochs": 4}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "the dirpath has changed"
        again = train(longer, name="after", runs_dir=tmp_path / "new")
    assert again.resumed
    assert _checkpoint(again.paths.last)["epoch"] == 3
    assert _checkpoint(again.paths.best)["epoch"] == 0
    assert again.best is not None and again.best["epoch"] == 0
    state = _checkpoint(again.paths.last)["callbacks"]
    (best_state,) = [value for key, value in state.items() if "'monitor': 'val/acc_file'" in key]
    assert best_state["best_model_path"] == str(again.paths.best)
    assert best_state["dirpath"] == str(again.paths.checkpoints)


def test_the_training_manifest_given_to_evaluate_is_the_runs_own_dataset(twins: Path, tmp_path: Path) -> None:
    """A manifest run keeps its data.root (the base of the manifest's paths) when the same manifest is
    given to evaluate: it is the run's own dataset and listing, so the run's reports are written."""
    run = train(_twin_config(twins, **{"trainer.max_epochs": 1}), name="listed", runs_dir=tmp_path)
    report = evaluate_run(run.paths.root, data=twins, split="test")
    assert report.written["report"] == run.paths.root / "evaluation_test.json"


def test_a_run_on_relative_paths_is_evaluable_from_any_folder_and_moves_with_its_project(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Paths stay as typed in config.yaml and splits.csv; the checkpoint records the training folder, so
    evaluate finds the run's own dataset (and its splits.csv) from anywhere, also after the project folder
    (runs and data) moved; from the moved project the same command trains the run further."""
    project = tmp_path / "project"
    shutil.copytree(tone_dataset, project / "tones")
    monkeypatch.chdir(project)
    relative = tiny_overrides(Path("tones"), **{"trainer.max_epochs": 1})
    first = train(resolve_config(None, relative), "relative", "runs")
    assert first.paths.root == Path("runs/relative")
    assert "root: tones\n" in (project / "runs" / "relative" / "config.yaml").read_text()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    report = evaluate_run(project / "runs" / "relative")
    assert report.written["report"] == project / "runs" / "relative" / "evaluation_test.json"
    assert json.loads(report.written["report"].read_text())["data"] == str(project / "tones")
    assert len(report.result.file_ids) == 6 and not list(elsewhere.iterdir())  # nothing written here
    copied = Path(shutil.copy(project / "runs/relative/checkpoints/best.ckpt", tmp_path / "copied.ckpt"))
    report = evaluate_run(copied, out=elsewhere / "copied")  # outside its run: the recorded folder
    assert json.loads(report.written["report"].read_text())["data"] == str(project / "tones")
    moved = Path(shutil.move(project, tmp_path / "moved"))
    report = evaluate_run(moved / "runs" / "relative")
    assert json.loads(report.written["report"].read_text())["data"] == str(moved / "tones")
    assert report.written["report"] == moved / "runs" / "relative" / "evaluation_test.json"
    monkeypatch.chdir(moved)
    typed_otherwise = [*relative, "data.root=./tones/", "trainer.max_epochs=2"]  # the same dataset
    with caplog.at_level(logging.WARNING):
        further = train(resolve_config(None, typed_otherwise), "relative", "runs")
    assert (
        further.resumed
        and json.loads((moved / "runs/relative/metrics.json").read_text())["epochs"][-1]["epoch"] == 1
    )
    assert "not in it" not in caplog.text
    shutil.move(moved / "tones", tmp_path / "tones-moved")  # the data moved, the run did not
    monkeypatch.chdir(elsewhere)
    with pytest.raises(UserError, match=f"'tones' is relative and not found in {elsewhere} nor in {moved}"):
        evaluate_run(moved / "runs" / "relative")
