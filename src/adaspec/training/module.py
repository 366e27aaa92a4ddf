"""The Lightning module: a :class:`~adaspec.models.Classifier` trained on crops, validated by voting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..evaluation import EvaluationResult
from .builders import build_classifier, build_optimizer, build_scheduler
from .votes import PartsAccumulator
from .workdir import WORKDIR_KEY


class ClassifierModule(L.LightningModule):
    """Train a classifier from a resolved config.

    Logged metrics (TensorBoard and ``metrics.json``): ``train/loss``, ``train/acc`` (per crop),
    ``val/loss`` and ``val/acc_segment`` (per part), ``val/acc_file_mean`` and ``val/acc_file_majority``
    (per file, each vote rule), ``val/f1_file`` (macro-F1 per file), ``val/n_files`` (files scored, all
    processes together) and ``val/acc_file``, the headline file-level accuracy under ``eval.vote``, which
    picks the ``best`` checkpoint. In distributed runs each process evaluates its share of the files and
    the shares are gathered before voting.

    Args:
        config: the resolved run config (saved in the checkpoint as plain data).
        class_names: class names, index = label.
        workdir: where the run's relative data paths start (saved in the checkpoint; see
            :mod:`~adaspec.training.workdir`).
    """

    def __init__(
        self, config: Mapping[str, Any], class_names: list[str], workdir: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        hyper_parameters = {"config": dict(config), "class_names": list(class_names)}
        if workdir is not None:
            hyper_parameters[WORKDIR_KEY] = dict(workdir)
        self.save_hyperparameters(hyper_parameters)
        self.config = config
        self.class_names = list(class_names)
        self.model = build_classifier(config, len(class_names))
        self.loss = nn.CrossEntropyLoss()
        self._parts = PartsAccumulator()
        self.last_evaluation: EvaluationResult | None = None

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, n_classes)`` of waveforms ``(B, time)``."""
        return self.model(waves)

    def on_fit_start(self) -> None:
        # Every process seeded the global RNG alike (identical initial weights), so in a distributed run
        # the model's random stream (dropout, SpecAugment masks) would be the same on every process,
        # applied to different examples. Processes after the first draw their own; the first (and a
        # single-process run) keeps its stream unchanged.
        rank = int(self.trainer.global_rank)
        if rank > 0:
            torch.manual_seed(process_seed(int(self.config["seed"]), rank))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        waves, labels = batch
        logits = self.model(waves)
        loss = self.loss(logits, labels)
        self._check_finite(loss, "the training loss is")
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        size = len(labels)
        # In a multi-process run each process sees its share of the batches: the epoch values are the mean
        # over the processes (their shares are equal), not the first process's alone.
        synced = self.trainer.world_size > 1
        self.log(
            "train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=synced
        )
        self.log("train/acc", accuracy, on_step=False, on_epoch=True, batch_size=size, sync_dist=synced)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._parts.reset()

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        self._evaluation_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking:
            return
        self._gather_parts()
        evaluation = self._parts.evaluate(self.class_names, self.config["eval"]["vote"])
        self.last_evaluation = evaluation
        file_reports = evaluation.files
        metrics = {
            "val/acc_segment": evaluation.segment.accuracy,
            "val/acc_file_mean": file_reports["mean"].accuracy,
            "val/acc_file_majority": file_reports["majority"].accuracy,
            "val/acc_file": evaluation.file.accuracy,
            "val/f1_file": evaluation.file.macro_f1,
            "val/n_files": len(evaluation.file_ids),
        }
        # Every process holds the same (gathered) scores: syncing them changes nothing and tells Lightning so,
        # which otherwise warns once per metric in a multi-process run.
        synced = self.trainer.world_size > 1
        for name, value in metrics.items():
            self.log(name, float(value), prog_bar=name == "val/acc_file", sync_dist=synced)

    def _gather_parts(self) -> None:
        """In a distributed run, give every process the parts all processes evaluated (each file was
        evaluated by exactly one of them), so all compute and log the same scores."""
        if self.trainer.world_size <= 1 or not torch.distributed.is_initialized():
            return
        shares: list[PartsAccumulator | None] = [None] * self.trainer.world_size
        torch.distributed.all_gather_object(shares, self._parts)
        merged = PartsAccumulator()
        merged.merge([share for share in shares if share is not None])
        self._parts = merged

    def _evaluation_step(self, batch: tuple[torch.Tensor, ...], stage: str) -> None:
        parts, labels, file_index, n_parts = batch
        logits = self.model(parts)
        self._check_finite(logits, f"the model's outputs on {stage} parts are")
        part_labels = labels.repeat_interleave(n_parts)
        loss = self.loss(logits, part_labels)
        self.log(
            f"{stage}/loss",
            loss,
            on_step=False,
            on_epoch=True,
            batch_size=len(part_labels),
            sync_dist=self.trainer.world_size > 1,
        )
        self._parts.add(
            torch.softmax(logits.float(), dim=1).detach().cpu().numpy(),
            file_index.repeat_interleave(n_parts).cpu().numpy(),
            file_index.cpu().numpy(),
            labels.cpu().numpy(),
        )

    def _check_finite(self, values: torch.Tensor, what: str) -> None:
        """Stop a diverged run instead of training on (and reporting scores of) NaN weights.

        Raises:
            UserError: naming the epoch and step, and the settings that usually cause it.
        """
        if bool(torch.isfinite(values).all()):
            return
        raise UserError(
            f"training diverged: {what} not finite at epoch {self.current_epoch}, step {self.global_step}; "
            "lower optim.lr or optim.frontend_lr, set trainer.gradient_clip_val, or use another "
            "trainer.precision (16-true is unstable), then start the run afresh with --overwrite"
        )

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = build_optimizer(self.model, self.config["optim"])
        scheduler = build_scheduler(optimizer, self.config["sched"])
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def process_seed(seed: int, rank: int) -> int:
    """An independent seed for process ``rank`` of a run seeded ``seed`` (numpy's ``SeedSequence``)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1, dtype=np.uint64)[0])
