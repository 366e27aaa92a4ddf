"""``train`` end to end on generated tones: run directory contents, learning, resume rules."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
import torch
import yaml

from adaspec.config import resolve_config
from adaspec.errors import ConfigError, UserError
from adaspec.training import TrainResult, evaluate_run, train
from adaspec.training.checkpoints import saved_at
from adaspec.training.train import check_machine_settings, process_rank
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="held on a GPU only under trainer.deterministic")
def test_the_best_epochs_evaluation_is_of_best_ckpt(trained_run: TrainResult) -> None:
    held = trained_run.best_evaluation
    assert held is not None and trained_run.best is not None
    assert (held.epoch, held.step) == saved_at(trained_run.paths.best)
    assert (held.epoch, held.step) == (trained_run.best["epoch"], trained_run.best["step"])
    # metrics.json holds Lightning's float32 copies of the held float64 scores
    evaluation = held.evaluation
    assert trained_run.best["val/acc_file"] == float(np.float32(evaluation.file.accuracy))
    assert trained_run.best["val/f1_file"] == float(np.float32(evaluation.file.macro_f1))


def test_a_partial_validation_holds_no_evaluation(tone_dataset: Path, tmp_path: Path) -> None:
    # one val batch of several: not the scores of the whole split, which best.ckpt is scored on
    overrides = {"trainer.max_epochs": 1, "trainer.limit_val_batches": 1, "eval.max_parts_per_batch": 2}
    result = train(resolve_config(None, tiny_overrides(tone_dataset, **overrides)), "part", runs_dir=tmp_path)
    assert result.best is not None and result.best_evaluation is None


def test_same_name_with_another_config_is_refused(trained_run: TrainResult, tone_dataset: Path) -> None:
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"optim.lr": 0.5}))
    with pytest.raises(UserError, match=r"another config \(.*optim.lr"):
        train(config, name="tiny", runs_dir=trained_run.paths.root.parent)


def test_bad_run_name_is_refused(tone_dataset: Path, tmp_path: Path) -> None:
    config = resolve_config(None, tiny_overrides(tone_dataset))
    with pytest.raises(UserError, match="run name"):
        train(config, name="../escape", runs_dir=tmp_path)


def test_parts_too_short_for_the_frontend_are_refused_before_training(
    tone_dataset: Path, trained_run: TrainResult, tmp_path: Path
) -> None:
    """The tone files are 1 s at 8 kHz; the STFT (n_fft 256, centred, reflect padding) needs more than 128
    samples, so 62 parts (129 samples) work and 63 (126) do not."""
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"eval.n_parts": 63}))
    message = (
        r"^config key 'eval.n_parts': 63 parts of \S+\.wav \(val split\) are 126 samples each, too short for "
        r"the front-end \(input of 126 samples is too short for pad_mode='reflect'"
    )
    with pytest.raises(ConfigError, match=message):
        train(config, "parts", tmp_path)
    assert not list(tmp_path.glob("parts/checkpoints/*.ckpt"))  # refused before the first epoch
    with pytest.raises(ConfigError, match=r"63 parts of \S+ \(test split\) are 126 samples each"):
        evaluate_run(trained_run.paths.root, overrides=["eval.n_parts=63"], out=tmp_path / "eval")
    report = evaluate_run(trained_run.paths.root, overrides=["eval.n_parts=62"], out=tmp_path / "eval")
    assert len(report.result.file_ids) == 6


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("trainer.strategy=ddp_nope", "invalid strategy name"),
        ("trainer.accelerator=tpu", "torch_xla"),  # its package is not installed
    ],
)
def test_device_settings_the_machine_cannot_honour_stop_before_the_run_folder(
    tone_dataset: Path, tmp_path: Path, setting: str, reason: str
) -> None:
    if "tpu" in setting and importlib.util.find_spec("torch_xla") is not None:
        pytest.skip("this machine can honour it")
    key, value = setting.split("=")
    config = resolve_config(None, tiny_overrides(tone_dataset, **{key: value}))
    with pytest.raises(ConfigError, match=r"^config key 'trainer': ") as info:
        train(config, "machine", tmp_path)
    assert reason in str(info.value) and setting in str(info.value)
    assert not (tmp_path / "machine").exists()


def test_the_device_check_keeps_lightning_quiet(tone_dataset: Path) -> None:
    """Its bare Trainer would log Lightning's start-up lines ("GPU available: ...") under -q."""
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    rank_zero.setLevel(logging.NOTSET)
    check_machine_settings(resolve_config(None, tiny_overrides(tone_dataset)))
    assert rank_zero.level == logging.WARNING


@pytest.mark.parametrize(
    "variables", [{}, {"MASTER_ADDR": "10.0.0.1"}, {"NODE_RANK": "0"}, {"GROUP_RANK": "1"}]
)
def test_several_nodes_need_a_launcher_or_the_node_variables(
    tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]
) -> None:
    """Without torchrun, SLURM or the variables a run started by hand on each node sets, Lightning waits
    for nodes that never come (and Ctrl-C does not stop it)."""
    launchers = ("LOCAL_RANK", "SLURM_NTASKS", "TORCHELASTIC_RUN_ID")
    for name in ("MASTER_ADDR", "NODE_RANK", "GROUP_RANK", *launchers):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"trainer.num_nodes": "2"}))
    if "NODE_RANK" in variables or "GROUP_RANK" in variables:  # which node this is: started by hand
        assert check_machine_settings(config) == 2
        assert process_rank() == 0  # the check's Trainer (ddp: node 1 is rank 1) left this process's alone
        return
    with pytest.raises(ConfigError, match=r"^config key 'trainer': num_nodes=2 needs a launcher"):
        train(config, "nodes", tmp_path)
    assert not (tmp_path / "nodes").exists()
