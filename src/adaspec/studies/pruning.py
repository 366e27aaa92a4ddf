"""Feeds a trial's validation accuracy to Optuna after every epoch and stops the run when it is pruned."""

from __future__ import annotations

import lightning as L
import optuna

from ..training.callbacks import HEADLINE


class PruningCallback(L.Callback):
    """Report ``val/acc_file`` to ``trial`` at each epoch end (step = epoch) and stop training when the
    pruner says so. Stopping goes through ``trainer.should_stop``, so the run directory keeps its
    checkpoints and metrics; the search then ends the trial as pruned.

    Args:
        trial: the Optuna trial this run belongs to.
        reported: epochs already reported to ``trial`` (those of the stopped trial it resumes); an epoch
            trained again after resuming is not reported twice (Optuna keeps the first value).
    """

    def __init__(self, trial: optuna.Trial, reported: set[int] | frozenset[int] = frozenset()) -> None:
        self.trial = trial
        self.reported = set(reported)
        self.pruned_at: int | None = None

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(HEADLINE)
        if value is None or trainer.sanity_checking:
            return
        epoch = trainer.current_epoch
        if epoch not in self.reported:
            self.trial.report(float(value), step=epoch)
            self.reported.add(epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.should_stop = True
