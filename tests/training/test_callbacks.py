"""The run's callbacks: what ``metrics.json`` records of each epoch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adaspec.config import resolve_config
from adaspec.training import train
from tests.datasets import tiny_overrides


def test_each_epoch_records_the_learning_rates_it_trained_with(tone_dataset: Path, tmp_path: Path) -> None:
    # Lightning steps an epoch-interval scheduler before on_train_epoch_end: the rows held the next epoch's
    # rates (epoch 0 said 0.005 for a run at 0.01).
    lr, frontend_lr, gamma = 0.01, 0.002, 0.5
    overrides = {
        "optim.lr": lr,
        "optim.frontend_lr": frontend_lr,
        "sched.gamma": gamma,
        "frontend.learn_window": "true",
        "trainer.max_epochs": 3,
    }
    result = train(resolve_config(None, tiny_overrides(tone_dataset, **overrides)), "lr", runs_dir=tmp_path)
    rows = json.loads(result.paths.metrics.read_text())["epochs"]
    assert [row["epoch"] for row in rows] == [0, 1, 2]
    for row in rows:
        decay = gamma ** row["epoch"]
        assert row["lr/group0"] == pytest.approx(lr * decay, rel=1e-12)  # backbone
        assert row["lr/group1"] == pytest.approx(frontend_lr * decay, rel=1e-12)  # front-end
