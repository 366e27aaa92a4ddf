"""The Lightning module's per-process random streams in distributed runs, and a diverged run."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from adaspec.config import resolve_config
from adaspec.errors import UserError
from adaspec.training import train
from adaspec.training.module import ClassifierModule, process_seed
from tests.datasets import TONE_CLASSES, tiny_overrides


def model_stream_after_fit_start(config: dict, rank: int) -> torch.Tensor:
    """Seed as every process does, start a fit as process ``rank``, return the next global draws."""
    torch.manual_seed(config["seed"])
    module = ClassifierModule(config, list(TONE_CLASSES))
    module._trainer = SimpleNamespace(global_rank=rank)
    module.on_fit_start()
    return torch.rand(8)


def test_processes_after_the_first_draw_their_own_stream(tmp_path: Path) -> None:
    config = resolve_config(None, tiny_overrides(tmp_path))
    torch.manual_seed(config["seed"])
    ClassifierModule(config, list(TONE_CLASSES))
    untouched = torch.rand(8)  # what a process draws without the hook

    first = model_stream_after_fit_start(config, 0)
    second = model_stream_after_fit_start(config, 1)
    third = model_stream_after_fit_start(config, 2)
    torch.testing.assert_close(first, untouched)  # a single-process run is unchanged
    assert not torch.equal(second, first) and not torch.equal(third, second)
    torch.manual_seed(process_seed(config["seed"], 1))
    torch.testing.assert_close(second, torch.rand(8))
    assert model_stream_after_fit_start(config, 1).equal(second)  # reproducible


def test_process_seeds_are_distinct_and_stable() -> None:
    seeds = {process_seed(0, rank) for rank in range(1, 65)} | {
        process_seed(1, rank) for rank in range(1, 65)
    }
    assert len(seeds) == 128
    assert process_seed(3, 2) == process_seed(3, 2)
    assert all(0 <= s < 2**64 for s in seeds)


def test_a_diverged_run_stops_instead_of_reporting_scores_of_nan_weights(
    tone_dataset: Path, tmp_path: Path
) -> None:
    # SGD at a learning rate of 1e6: the first step sends the weights to ~1e28, the next ones to inf / NaN.
    # The run used to finish with exit code 0 and "val file accuracy 0.3333" from NaN outputs.
    overrides = {"optim.name": "sgd", "optim.lr": 1e6, "trainer.max_epochs": 3}
    config = resolve_config(None, tiny_overrides(tone_dataset, **overrides))
    with pytest.raises(
        UserError, match=r"training diverged: .* not finite at epoch \d+, step \d+; lower optim.lr"
    ):
        train(config, name="diverged", runs_dir=tmp_path)


@pytest.mark.parametrize("adapter", ["stem", "per_channel"])
def test_optimizer_groups_hold_every_parameter_once_with_the_documented_rates(
    tmp_path: Path, adapter: str
) -> None:
    overrides = {
        "model.adapter": adapter,
        "frontend.learn_window": True,
        "optim.lr": 0.01,
        "optim.frontend_lr": 0.5,
        "optim.weight_decay": 0.3,
        "sched.gamma": 0.5,
    }
    config = resolve_config(None, tiny_overrides(tmp_path, **overrides))
    module = ClassifierModule(config, list(TONE_CLASSES))
    configured = module.configure_optimizers()
    optimizer = configured["optimizer"]
    # The oracle is the module tree: parameters under model.frontends are the front-end's.
    named = dict(module.named_parameters())
    frontend = {id(p) for name, p in named.items() if name.startswith("model.frontends.")}
    assert frontend and any(p.requires_grad for p in named.values() if id(p) in frontend)
    in_groups = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(in_groups) == sorted(id(p) for p in named.values())  # each exactly once
    for group in optimizer.param_groups:
        ids = {id(p) for p in group["params"]}
        if ids <= frontend:
            assert (group["lr"], group["weight_decay"]) == (0.5, 0.0)
        else:
            assert not ids & frontend
            assert (group["lr"], group["weight_decay"]) == (0.01, 0.3)
    assert len(optimizer.param_groups) == 2
    # The learning rate decays by sched.gamma once per epoch, not per step.
    assert configured["lr_scheduler"]["interval"] == "epoch"
    optimizer.step()  # no gradients: nothing moves, but the scheduler expects a step first
    configured["lr_scheduler"]["scheduler"].step()
    assert sorted(group["lr"] for group in optimizer.param_groups) == [0.005, 0.25]
