"""A run trained once per session on the tone dataset, shared by the evaluate/predict/checkpoint tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaspec.config import resolve_config
from adaspec.training import TrainResult, train
from tests.datasets import tiny_overrides


@pytest.fixture(scope="session")
def trained_run(tone_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """Two epochs of the tiny STFT + small-CNN classifier with a learnable window."""
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"frontend.learn_window": "true"}))
    return train(config, name="tiny", runs_dir=tmp_path_factory.mktemp("runs"))
