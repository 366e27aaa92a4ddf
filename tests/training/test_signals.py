"""A run stopped by SIGTERM (``timeout``, ``kill``, a scheduler) ends its process with status 143, not 0,
and the same command resumes it."""

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
    last = torch.load(tmp_path / "cut/checkpoints/last.ckpt", map_location="cpu", weights_only=True)
    assert last["epoch"] == 0
    resumed = train(_config(tone_dataset), name="cut", runs_dir=tmp_path)
    assert resumed.resumed
    rows = json.loads(resumed.paths.metrics.read_text())["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]
