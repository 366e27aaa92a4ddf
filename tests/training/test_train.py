"""``train`` end to end on generated tones: run directory contents, learning, resume rules."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image as mpimg
import pytest
import torch
import yaml

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.training import TrainResult, train
from tests.datasets import tiny_overrides

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_run_directory_has_every_artifact(trained_run: TrainResult) -> None:
    paths = trained_run.paths
    for path in (
        paths.config,
        paths.best,
        paths.last,
        paths.metrics,
        paths.confusion_matrix,
        paths.frontend_figure,
    ):
        assert path.is_file(), path
    assert list(paths.tensorboard.glob("events.out.tfevents.*"))
    for png in (paths.confusion_matrix, paths.frontend_figure):
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        assert mpimg.imread(png).ndim == 3


def test_beats_chance_on_validation(trained_run: TrainResult) -> None:
    assert trained_run.best is not None
    assert trained_run.best["val/acc_file"] > 1 / 3 + 0.1


def test_metrics_json_has_every_epoch_and_the_best(trained_run: TrainResult) -> None:
    metrics = json.loads(trained_run.paths.metrics.read_text())
    assert [row["epoch"] for row in metrics["epochs"]] == [0, 1]
    for row in metrics["epochs"]:
        for key in ("train/loss", "train/acc", "val/loss", "val/acc_segment", "val/acc_file", "val/f1_file"):
            assert row[key] >= 0.0 or key.endswith("loss"), key
    best = max(metrics["epochs"], key=lambda r: (r["val/acc_file"], -r["epoch"]))
    assert metrics["best"] == best


def test_saved_config_is_the_resolved_config(trained_run: TrainResult, tone_dataset: Path) -> None:
    saved = yaml.safe_load(trained_run.paths.config.read_text())
    assert saved == resolve_config(None, tiny_overrides(tone_dataset, **{"frontend.learn_window": "true"}))


def test_checkpoints_load_with_weights_only(trained_run: TrainResult) -> None:
    for path in (trained_run.paths.best, trained_run.paths.last):
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        assert checkpoint["hyper_parameters"]["class_names"] == ["high", "low", "noise"]
        assert "model.frontends.0.window" in checkpoint["state_dict"]


def test_learnable_window_moved(trained_run: TrainResult) -> None:
    checkpoint = torch.load(trained_run.paths.last, map_location="cpu", weights_only=True)
    window = checkpoint["state_dict"]["model.frontends.0.window"].double()
    hann = torch.hann_window(256, periodic=True, dtype=torch.float64)
    assert not torch.allclose(window, hann, atol=1e-6)


def test_same_name_with_another_config_is_refused(trained_run: TrainResult, tone_dataset: Path) -> None:
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"optim.lr": 0.5}))
    with pytest.raises(UserError, match=r"another config \(.*optim.lr"):
        train(config, name="tiny", runs_dir=trained_run.paths.root.parent)


def test_bad_run_name_is_refused(tone_dataset: Path, tmp_path: Path) -> None:
    config = resolve_config(None, tiny_overrides(tone_dataset))
    with pytest.raises(UserError, match="run name"):
        train(config, name="../escape", runs_dir=tmp_path)
