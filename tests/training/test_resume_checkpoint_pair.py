"""A run stopped between its two checkpoint saves of an epoch (``best.ckpt`` written, ``last.ckpt`` not)
resumes with ``best.ckpt`` holding an epoch of its ``metrics.json``."""

from __future__ import annotations

import importlib
import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from adaspec.training import TrainResult, train
from adaspec.training.callbacks import HEADLINE
from tests.training.test_resume import Crash, _config, assert_same_weights
from tests.training.test_run_safety import _copy_of

# the module (adaspec.training.train is the function of that name)
train_module = importlib.import_module("adaspec.training.train")


class ScriptedAccuracy(L.Callback):
    """Sets each epoch's headline accuracy: a redone epoch may score otherwise than the first time (GPU
    nondeterminism, another number of processes); a deterministic CPU run cannot show it."""

    def __init__(self, scores: dict[int, float]) -> None:
        self.scores = scores

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Runs before RunArtifacts and the checkpoint callbacks (Lightning puts those last).
        trainer.callback_metrics[HEADLINE] = torch.tensor(self.scores[trainer.current_epoch])


def _epoch(path: Path) -> int:
    return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])


def _kill_before_last_save(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """The process dies when it would write ``last.ckpt`` of ``epoch``, after ``best.ckpt`` of it."""
    real_save = train_module.AtomicCheckpointIO.save_checkpoint

    def save(self: Any, checkpoint: dict[str, Any], path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).name == "last.ckpt" and checkpoint["epoch"] == epoch:
            raise Crash(f"killed before last.ckpt of epoch {epoch}")
        real_save(self, checkpoint, path, *args, **kwargs)

    monkeypatch.setattr(train_module.AtomicCheckpointIO, "save_checkpoint", save)


def test_best_ckpt_of_an_epoch_last_ckpt_lacks_stays_the_run_s_best(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resumed from ``last.ckpt`` (epoch 0), epoch 1 was trained again and scored below epoch 0: best.ckpt
    kept the first epoch 1's weights while metrics.json named epoch 0 the best."""
    config = _config(tone_dataset)  # three epochs, everything random on
    whole = train(
        config, name="whole", runs_dir=tmp_path, callbacks=[ScriptedAccuracy({0: 0.5, 1: 0.9, 2: 0.45})]
    )
    _kill_before_last_save(monkeypatch, epoch=1)
    with pytest.raises(Crash):
        train(config, name="cut", runs_dir=tmp_path, callbacks=[ScriptedAccuracy({0: 0.5, 1: 0.9})])
    monkeypatch.undo()
    checkpoints = tmp_path / "cut" / "checkpoints"
    assert (_epoch(checkpoints / "best.ckpt"), _epoch(checkpoints / "last.ckpt")) == (1, 0)
    killed_best = tmp_path / "killed_best.ckpt"
    killed_best.write_bytes((checkpoints / "best.ckpt").read_bytes())

    resumed = train(config, name="cut", runs_dir=tmp_path, callbacks=[ScriptedAccuracy({1: 0.4, 2: 0.45})])
    metrics = json.loads(resumed.paths.metrics.read_text(encoding="utf-8"))
    assert _epoch(resumed.paths.best) == metrics["best"]["epoch"]  # the epoch whose weights it holds
    assert [row["epoch"] for row in metrics["epochs"]] == [0, 1, 2]
    assert metrics["epochs"][1][HEADLINE] == pytest.approx(0.9)  # epoch 1 was not trained again
    assert resumed.best == metrics["best"] and metrics["best"]["epoch"] == 1
    assert_same_weights(killed_best, resumed.paths.best)
    assert_same_weights(whole.paths.last, resumed.paths.last)  # continued as if never stopped
    assert resumed.best == whole.best


def test_resuming_from_best_ckpt_is_said(
    trained_run: TrainResult, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The state the old order of saves (and a stop between them) leaves: best.ckpt an epoch ahead."""
    config, root = _copy_of(trained_run, tmp_path)
    checkpoints = root / "checkpoints"
    last_epoch = _epoch(checkpoints / "last.ckpt")
    ahead = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    ahead["epoch"] += 1
    ahead["global_step"] += 1
    torch.save(ahead, checkpoints / "best.ckpt")
    with caplog.at_level(logging.WARNING):
        assert train(config, name=root.name, runs_dir=tmp_path).resumed
    expected = f"was saved at epoch {last_epoch + 1}, last.ckpt at epoch {last_epoch}"
    assert [r.getMessage() for r in caplog.records if expected in r.getMessage()], caplog.text
    # last.ckpt now holds that epoch too (a run with nothing left to train does not save again), so the
    # next command neither resumes from best.ckpt nor says so again
    assert _epoch(checkpoints / "last.ckpt") == last_epoch + 1
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert train(config, name=root.name, runs_dir=tmp_path).resumed
    assert not [r for r in caplog.records if "was saved at epoch" in r.getMessage()], caplog.text


def test_an_unreadable_best_ckpt_does_not_stop_resuming(trained_run: TrainResult, tmp_path: Path) -> None:
    config, root = _copy_of(trained_run, tmp_path)
    best = root / "checkpoints" / "best.ckpt"
    best.write_bytes(best.read_bytes()[:1000])  # cut short
    assert train(config, name=root.name, runs_dir=tmp_path).resumed
