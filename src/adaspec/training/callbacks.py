"""Callbacks that write a run's artifacts and make resumed runs continue exactly."""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping
from lightning.pytorch.utilities.exceptions import SIGTERMException

from .._interrupts import StopRequest, handled_by
from ..evaluation import EvaluationResult
from ..plots.confusion import save_confusion_matrix
from ..plots.frontend import frontend_state, save_frontend_comparison
from .run_dir import RunPaths, write_json

log = logging.getLogger(__name__)

HEADLINE = "val/acc_file"


@dataclass(frozen=True)
class EpochEvaluation:
    """The whole validation of one epoch of this session, with the epoch and optimiser step the weights it
    scored were at (those a checkpoint saved at that epoch's end holds)."""

    epoch: int
    step: int
    evaluation: EvaluationResult


class RunArtifacts(L.Callback):
    """Writes ``metrics.json`` after every epoch, ``confusion_matrix.png`` for the best epoch and
    ``frontend.png`` (front-end parameters at the start vs at the end of training) when fitting ends, and
    holds the best epoch's evaluation when that epoch was validated in this session (:meth:`best_evaluation`).

    ``metrics.json`` holds ``{"epochs": [{epoch, step, lr, train/..., val/...}, ...], "best": {...}}``;
    the best epoch has the highest ``val/acc_file`` (the earliest on ties). Its history is part of the
    checkpoint, so a resumed run continues the same file.

    Args:
        paths: the run directory.
        class_names: class names for the confusion matrix.
        initial_frontends: front-end parameters before training, as from ``frontend_state``.
    """

    def __init__(self, paths: RunPaths, class_names: list[str], initial_frontends: dict[str, torch.Tensor]):
        self.paths = paths
        self.class_names = class_names
        self.initial_frontends = initial_frontends
        self.history: list[dict[str, float]] = []
        self._epoch_lrs: list[float] = []
        self._validated: EpochEvaluation | None = None
        self._best: EpochEvaluation | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # The learning rates this epoch trains with: Lightning steps an epoch-interval scheduler after the
        # epoch's last batch, before on_train_epoch_end, where the groups already hold the next epoch's.
        self._epoch_lrs = [float(group["lr"]) for group in _param_groups(trainer)]

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Runs after this epoch's validation and before ModelCheckpoint saves (it is set to save at train
        # epoch end), so the checkpoint's history includes the epoch it was saved at.
        if HEADLINE not in trainer.callback_metrics:
            return
        row: dict[str, float] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        for index, lr in enumerate(self._epoch_lrs):
            row[f"lr/group{index}"] = lr
        for key, value in sorted(trainer.callback_metrics.items()):
            if key.endswith("_step"):
                continue
            row[key.removesuffix("_epoch")] = float(value)
        self.history = [r for r in self.history if r["epoch"] != row["epoch"]] + [row]
        best = self.best()
        if best is row:
            self._best = self._validated if _made_at(self._validated, row) else None
        if not trainer.is_global_zero:  # every process keeps the history; process 0 writes the files
            return
        if best is row:
            evaluation = getattr(pl_module, "last_evaluation", None)
            if evaluation is not None:
                save_confusion_matrix(
                    evaluation.file.confusion,
                    self.class_names,
                    self.paths.confusion_matrix,
                    title=f"validation, epoch {row['epoch']}, file accuracy {row[HEADLINE]:.3f}",
                )
        write_json(self.paths.metrics, {"epochs": self.history, "best": best})

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After the module's on_validation_epoch_end (callbacks' hooks of that name run before it).
        evaluation = getattr(pl_module, "last_evaluation", None)
        if trainer.sanity_checking or evaluation is None:
            return
        self._validated = EpochEvaluation(trainer.current_epoch, trainer.global_step, evaluation)

    def best(self) -> dict[str, float] | None:
        """The history row with the highest headline accuracy (earliest on ties)."""
        rows = [r for r in self.history if not math.isnan(r.get(HEADLINE, math.nan))]
        return max(rows, key=lambda r: (r[HEADLINE], -r["epoch"])) if rows else None

    def best_evaluation(self) -> EpochEvaluation | None:
        """The evaluation of the :meth:`best` epoch, made in this session at that epoch's end; ``None`` when
        the best epoch was validated in an earlier session (a resumed run) or not at its end."""
        return self._best if _made_at(self._best, self.best()) else None

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        after = frontend_state(pl_module.model.frontends)
        save_frontend_comparison(
            self.initial_frontends,
            after,
            self.paths.frontend_figure,
            title="front-end: start vs end of training",
        )

    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(r) for r in self.history]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(r) for r in state_dict.get("history", [])]


def _made_at(held: EpochEvaluation | None, row: dict[str, float] | None) -> bool:
    """Whether ``held`` scored the weights of history ``row``'s epoch and step."""
    return held is not None and row is not None and (held.epoch, held.step) == (row["epoch"], row["step"])


def _param_groups(trainer: L.Trainer) -> list[dict[str, Any]]:
    return trainer.optimizers[0].param_groups if trainer.optimizers else []


class RngState(L.Callback):
    """Saves torch's global RNG state in checkpoints and restores it on resume, so dropout and spectrogram
    masking draw the same numbers in a resumed run as in an uninterrupted one.

    In a multi-process run every process has its own stream (see ``ClassifierModule.on_fit_start``): the
    checkpoint holds each process's state under ``"ranks"``, and each process gets its own back at
    ``on_train_start``, after ``on_fit_start`` has seeded the processes after the first. (Only process 0's
    state was saved, and those processes started their streams again from the beginning on resume.)
    """

    def __init__(self) -> None:
        self._restored: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        state = _local_rng_state()
        ranks = _gather_from_all_ranks(state)
        return {**state, "ranks": ranks} if ranks is not None else state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._restored = state_dict
        _set_rng_state(state_dict)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        restored, self._restored = self._restored, None
        if restored is None:
            return
        ranks = restored.get("ranks")
        rank = int(trainer.global_rank)
        if ranks is not None and rank < len(ranks):
            _set_rng_state(ranks[rank])
        elif rank == 0:
            _set_rng_state(restored)
        # else: a checkpoint without this process's state (older, or fewer processes): keep the stream
        # that on_fit_start seeded.


def _local_rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _gather_from_all_ranks(state: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Every process's ``state`` in rank order, or ``None`` outside a multi-process run.

    Lightning builds a checkpoint on every process (process 0 writes it), so all take part.
    """
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return None
    world_size = torch.distributed.get_world_size()
    if world_size <= 1:
        return None
    states: list[Any] = [None] * world_size
    torch.distributed.all_gather_object(states, state)
    return states


#: Exit status of a process stopped by SIGTERM (128 + 15, as a shell reports a process it killed).
SIGTERM_EXIT_STATUS = 143


class InterruptWatch(L.Callback):
    """Turns a Ctrl-C during fitting into a stop after the current batch, remembers the
    ``KeyboardInterrupt`` that Lightning caught, and makes a SIGTERM end the process with status 143.

    While :meth:`handling_ctrl_c` is active, the first SIGINT only sets :attr:`stop_requested`; the next
    batch hook, or the start of an epoch or validation, raises ``KeyboardInterrupt`` there, at a point
    where Python cannot lose it (raised at an arbitrary point, it was lost when it hit a finaliser such as a
    data loader's ``__del__`` or a fork hook: Python prints "Exception ignored" and the run went on
    training). A second Ctrl-C raises at once. Lightning 2.x handles the interrupt itself (graceful
    shutdown, then ``sys.exit(1)``); ``train`` uses :attr:`caught` to raise the ``KeyboardInterrupt``
    again, so that callers and the CLI see it. On SIGTERM (``timeout``, ``kill``, a cluster's scheduler)
    Lightning stops at the next batch by raising ``SIGTERMException``, a ``SystemExit`` without a status:
    the process would exit 0, as if training had finished, and ``train && evaluate`` would go on. Its
    status is set to 143 here.
    """

    def __init__(self) -> None:
        self.caught: KeyboardInterrupt | None = None
        self._request = StopRequest("stopping after the current batch (Ctrl-C again to stop at once)")

    @property
    def stop_requested(self) -> bool:
        """Whether a Ctrl-C came while :meth:`handling_ctrl_c` was active."""
        return self._request.requested

    def handling_ctrl_c(self) -> contextlib.AbstractContextManager[StopRequest]:
        """Within the block, SIGINT requests a stop (see the class); the previous handler is restored
        after it. Outside the main thread, where handlers cannot be changed, the block runs unchanged."""
        return handled_by(self._request)

    def _stop_if_requested(self, *_args: Any) -> None:
        self._request.raise_if_requested()

    # Not at epoch ends: a Ctrl-C while an epoch's checkpoint is written stops after it is saved.
    on_train_batch_start = on_train_batch_end = _stop_if_requested
    on_validation_batch_start = on_validation_batch_end = _stop_if_requested
    on_train_epoch_start = on_validation_start = on_sanity_check_start = _stop_if_requested

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.caught = exception
        elif isinstance(exception, SIGTERMException):
            log.warning("training stopped by SIGTERM; the same command resumes it from its last epoch")
            exception.code = SIGTERM_EXIT_STATUS


class StayStopped(L.Callback):
    """Keeps an early-stopped run stopped when the same command is run again.

    Lightning does not save ``trainer.should_stop`` in checkpoints, so resuming a run that early stopping
    ended would train one more epoch; the restored ``EarlyStopping`` state still names its stop epoch.
    """

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        stopped = early_stop_epoch(trainer)
        if stopped is not None:
            log.info("the run stopped early at epoch %d; there is nothing to resume", stopped)
            trainer.should_stop = True


def early_stop_epoch(trainer: L.Trainer) -> int | None:
    """The epoch at which early stopping ended the run (restored from a checkpoint too), or ``None``."""
    stops = [cb.stopped_epoch for cb in trainer.callbacks if isinstance(cb, EarlyStopping)]
    return max(stops) if any(stops) else None
