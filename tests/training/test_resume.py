"""Kill and resume: a run interrupted and resumed from last.ckpt ends with the uninterrupted weights."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch

from adaspec.config import resolve_config
from adaspec.training import train
from tests.datasets import tiny_overrides


class Crash(RuntimeError):
    """Stands in for a killed process."""


class CrashAtStep(L.Callback):
    """Raises once the trainer reaches ``step`` optimizer steps."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, *args: object) -> None:
        if trainer.global_step >= self.step:
            raise Crash(f"interrupted at step {trainer.global_step}")


def _config(root: Path, num_workers: int = 0) -> dict:
    # Everything random is on: dropout, waveform augmentation, spectrogram masking, learnable window.
    return resolve_config(
        None,
        tiny_overrides(
            root,
            **{
                "trainer.max_epochs": 3,
                "trainer.deterministic": "true",
                "frontend.learn_window": "true",
                "model.dropout": 0.3,
                "augment.enabled": "true",
                "augment.time_mask_width": 2,
                "augment.freq_mask_width": 4,
                "sched.gamma": 0.9,
                "data.num_workers": num_workers,
            },
        ),
    )


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def assert_same_weights(expected_checkpoint: Path, actual_checkpoint: Path) -> None:
    """Both checkpoints hold bit-identical model weights."""
    expected, actual = _weights(expected_checkpoint), _weights(actual_checkpoint)
    assert expected.keys() == actual.keys()
    for key in expected:
        torch.testing.assert_close(actual[key], expected[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_interrupted_run_resumes_to_the_same_weights(
    tone_dataset: Path, tmp_path: Path, num_workers: int
) -> None:
    config = _config(tone_dataset, num_workers)
    whole = train(config, name="whole", runs_dir=tmp_path)

    # Three steps per epoch: step 5 is in the middle of the second epoch, after last.ckpt of the first.
    with pytest.raises(Crash):
        train(config, name="cut", runs_dir=tmp_path, callbacks=[CrashAtStep(5)])
    assert torch.load(tmp_path / "cut/checkpoints/last.ckpt", weights_only=True)["epoch"] == 0
    resumed = train(config, name="cut", runs_dir=tmp_path)
    assert resumed.resumed

    assert_same_weights(whole.paths.last, resumed.paths.last)
    assert resumed.best == whole.best


def test_finished_run_is_not_redone(tone_dataset: Path, tmp_path: Path) -> None:
    config = resolve_config(None, tiny_overrides(tone_dataset, **{"trainer.max_epochs": 1}))
    first = train(config, name="once", runs_dir=tmp_path)
    before = _weights(first.paths.last)
    again = train(config, name="once", runs_dir=tmp_path)
    assert again.resumed
    for key, value in _weights(again.paths.last).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
