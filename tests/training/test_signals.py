"""A run stopped by SIGTERM (``timeout``, ``kill``, a scheduler) ends its process with status 143, not 0,
and the same command resumes it; a Ctrl-C stops it after the current batch, even one that lands where
Python cannot raise (a finaliser), and a second Ctrl-C stops it at once."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException

from adaspec.training import train
from adaspec.training.callbacks import SIGTERM_EXIT_STATUS, InterruptWatch
from tests.training.test_resume import _config


class SigtermAtEpochEnd(L.Callback):
    """Sends this process SIGTERM at the end of training epoch ``epoch``, as ``kill`` would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGTERM)


def assert_stopped_after_first_epoch_and_resumes(data: Path, runs_dir: Path) -> None:
    """Run ``cut`` kept epoch 0 only, and the same call resumes it to all three epochs."""
    last = torch.load(runs_dir / "cut/checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert last["epoch"] == 0
    resumed = train(_config(data), name="cut", runs_dir=runs_dir)
    assert resumed.resumed
    rows = json.loads(resumed.paths.metrics.read_text())["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]


def test_lightnings_sigterm_exception_gets_status_143() -> None:
    stop = SIGTERMException()
    assert stop.code is None  # what Lightning raises: a process would exit 0
    InterruptWatch().on_exception(None, None, stop)  # type: ignore[arg-type]
    assert stop.code == SIGTERM_EXIT_STATUS == 143


def test_sigterm_stops_training_with_status_143_and_the_run_resumes(
    tone_dataset: Path, tmp_path: Path
) -> None:
    handler = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        train(_config(tone_dataset), name="cut", runs_dir=tmp_path, callbacks=[SigtermAtEpochEnd(0)])
    assert stopped.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is handler  # Lightning's handler is undone
    assert_stopped_after_first_epoch_and_resumes(tone_dataset, tmp_path)


class _CtrlCWhenCollected:
    """Presses Ctrl-C from its ``__del__``: Python prints an exception raised there as "Exception ignored"
    and goes on, as when the signal lands while a data loader's iterator is collected."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


class CtrlCAtStep(L.Callback):
    """Presses Ctrl-C after optimizer step ``step``: from a finaliser, or twice in a row."""

    def __init__(self, step: int, twice: bool = False) -> None:
        self.step, self.twice = step, twice
        self.presses_survived = 0

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step != self.step:
            return
        if not self.twice:
            _CtrlCWhenCollected()  # made and dropped: its __del__ runs here
            return
        signal.raise_signal(signal.SIGINT)
        self.presses_survived += 1
        signal.raise_signal(signal.SIGINT)
        self.presses_survived += 1


def test_a_ctrl_c_that_lands_in_a_finaliser_stops_the_run_after_the_batch(
    tone_dataset: Path, tmp_path: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        train(_config(tone_dataset), name="cut", runs_dir=tmp_path, callbacks=[CtrlCAtStep(5)])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    # Three steps per epoch: step 5 is in the second epoch, after last.ckpt of the first.
    assert_stopped_after_first_epoch_and_resumes(tone_dataset, tmp_path)


def test_a_second_ctrl_c_stops_the_run_at_once(tone_dataset: Path, tmp_path: Path) -> None:
    presses = CtrlCAtStep(2, twice=True)
    with pytest.raises(KeyboardInterrupt):
        train(_config(tone_dataset), name="cut", runs_dir=tmp_path, callbacks=[presses])
    assert presses.presses_survived == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


class CtrlCAtFitEnd(L.Callback):
    """Presses Ctrl-C once training is over, after the last batch and validation."""

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        signal.raise_signal(signal.SIGINT)


def test_a_ctrl_c_after_the_last_batch_keeps_the_complete_run_and_still_stops_the_caller(
    tone_dataset: Path, tmp_path: Path
) -> None:
    # A search would otherwise go on to its next trial, the Ctrl-C forgotten.
    with pytest.raises(KeyboardInterrupt):
        train(_config(tone_dataset), name="late", runs_dir=tmp_path, callbacks=[CtrlCAtFitEnd()])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    rows = json.loads((tmp_path / "late/metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    again = train(_config(tone_dataset), name="late", runs_dir=tmp_path)  # complete: nothing is redone
    assert json.loads(again.paths.metrics.read_text())["epochs"] == rows
