"""The run's callbacks: what ``metrics.json`` records of each epoch, and the random streams a resumed run
continues."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from adaspec.config import resolve_config
from adaspec.training import callbacks, train
from adaspec.training.callbacks import RngState
from adaspec.training.module import ClassifierModule
from adaspec.training.run_dir import RunPaths
from tests.datasets import TONE_CLASSES, tiny_overrides


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


def test_a_resumed_process_after_the_first_continues_its_own_random_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two processes, simulated in one: the checkpoint was built on both (process 0 writes it), then process 1
    # resumes. It used to get process 0's state, which on_fit_start then replaced by its seed, so its
    # dropout and masks started again from the first epoch's draws.
    config = resolve_config(None, tiny_overrides(tmp_path))
    module = ClassifierModule(config, list(TONE_CLASSES))
    module._trainer = SimpleNamespace(global_rank=1)
    trainer = SimpleNamespace(global_rank=1)
    states = {0: {"cpu": torch.Generator().manual_seed(123).get_state()}}

    def gather(state: dict) -> list[dict]:
        return [states[0], state]

    monkeypatch.setattr(callbacks, "_gather_from_all_ranks", gather, raising=False)
    torch.manual_seed(config["seed"])
    module.on_fit_start()
    torch.rand(16)  # epoch 0's draws
    # end of epoch 0: last.ckpt, as process 0 writes it (its own state on top)
    saved = {**RngState().state_dict(), **states[0]}
    expected = torch.rand(16)  # epoch 1's draws in an uninterrupted run

    torch.manual_seed(config["seed"])  # the resumed process starts as every process does
    resumed = RngState()
    resumed.load_state_dict(saved)
    module.on_fit_start()
    resumed.on_train_start(trainer, module)
    torch.testing.assert_close(torch.rand(16), expected, rtol=0, atol=0)


def test_process_0_resumes_its_own_stream_from_a_single_process_checkpoint() -> None:
    torch.manual_seed(5)
    torch.rand(3)
    saved = RngState().state_dict()
    expected = torch.rand(16)
    torch.manual_seed(6)
    resumed = RngState()
    resumed.load_state_dict(saved)
    resumed.on_train_start(SimpleNamespace(global_rank=0), None)
    torch.testing.assert_close(torch.rand(16), expected, rtol=0, atol=0)


def _epoch(
    artifacts: callbacks.RunArtifacts, epoch: int, step: int, acc: float, validated: bool = True
) -> object:
    """One epoch as Lightning drives RunArtifacts in a single process: validation (its evaluation a fresh
    object, returned), then the epoch's end with ``val/acc_file`` = ``acc``."""
    evaluation = object()
    trainer = SimpleNamespace(
        current_epoch=epoch,
        global_step=step,
        sanity_checking=False,
        is_global_zero=False,  # no files written
        callback_metrics={callbacks.HEADLINE: torch.tensor(acc)},
        optimizers=[],
    )
    if validated:
        artifacts.on_validation_end(trainer, SimpleNamespace(last_evaluation=evaluation))
    artifacts.on_train_epoch_end(trainer, SimpleNamespace())
    return evaluation


def test_the_best_epochs_evaluation_is_held_by_the_best_rows_rule(tmp_path: Path) -> None:
    artifacts = callbacks.RunArtifacts(RunPaths(tmp_path), list(TONE_CLASSES), {})
    assert artifacts.best_evaluation() is None
    first = _epoch(artifacts, 0, 3, 0.5)
    _epoch(artifacts, 1, 6, 0.5)  # a tie: the earlier epoch stays the best (as best.ckpt does)
    held = artifacts.best_evaluation()
    assert held is not None and (held.epoch, held.step, held.evaluation) == (0, 3, first)
    third = _epoch(artifacts, 2, 9, 0.75)
    held = artifacts.best_evaluation()
    assert held is not None and (held.epoch, held.step, held.evaluation) == (2, 9, third)
    # a best epoch without a validation at its own step: nothing is held (not the previous one)
    _epoch(artifacts, 3, 12, 0.9, validated=False)
    assert artifacts.best_evaluation() is None


def test_a_resumed_runs_best_from_an_earlier_session_holds_nothing(tmp_path: Path) -> None:
    earlier = callbacks.RunArtifacts(RunPaths(tmp_path), list(TONE_CLASSES), {})
    _epoch(earlier, 0, 3, 0.75)
    resumed = callbacks.RunArtifacts(RunPaths(tmp_path), list(TONE_CLASSES), {})
    resumed.load_state_dict(earlier.state_dict())
    _epoch(resumed, 1, 6, 0.5)
    assert resumed.best() is not None and resumed.best()["epoch"] == 0
    assert resumed.best_evaluation() is None
