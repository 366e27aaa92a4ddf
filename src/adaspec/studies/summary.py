"""One finished run of a study, scored on val and test: ``summary.json`` in its run directory."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..evaluation import EvaluationResult
from ..training.checkpoints import LoadedModel
from ..training.run_dir import write_json

SUMMARY_FILE = "summary.json"

# The columns of results.csv, in order (the per-run numbers of a RunSummary).
CSV_COLUMNS = (
    "variant",
    "seed",
    "val_acc",
    "test_acc",
    "val_f1",
    "test_f1",
    "val_acc_segment",
    "test_acc_segment",
    "n_params",
    "n_params_total",
    "frontend_params",
    "train_seconds",
    "epochs",
    "resumed",
)


@dataclass
class RunSummary:
    """Scores of one run's best checkpoint (file level under the config's vote rule) and its cost.

    Attributes:
        n_params: trainable parameters of the whole classifier; ``n_params_total`` counts fixed ones too.
        frontend_params: trainable front-end parameters (0 when nothing is learned).
        train_seconds: wall time of ``train`` in the session that finished the run (a resumed run counts
            only the resumed part; see ``resumed``).
        epochs: epochs in the run's ``metrics.json``.
        test_confusion: test file-level confusion matrix (rows = true class).
    """

    variant: str
    seed: int
    val_acc: float
    test_acc: float
    val_f1: float
    test_f1: float
    val_acc_segment: float
    test_acc_segment: float
    n_params: int
    n_params_total: int
    frontend_params: int
    train_seconds: float
    epochs: int
    vote: str = "mean"
    resumed: bool = False
    class_names: list[str] = field(default_factory=list)
    test_confusion: list[list[int]] = field(default_factory=list)

    def csv_row(self) -> dict[str, Any]:
        """The :data:`CSV_COLUMNS` of this run."""
        return {name: getattr(self, name) for name in CSV_COLUMNS}

    def save(self, run_dir: Path) -> Path:
        """Write ``run_dir/summary.json`` atomically."""
        path = Path(run_dir) / SUMMARY_FILE
        write_json(path, asdict(self))
        return path

    @classmethod
    def load(cls, run_dir: Path) -> RunSummary | None:
        """The run's summary, or ``None`` when it is missing or unreadable (then it is recomputed)."""
        path = Path(run_dir) / SUMMARY_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = {f.name for f in fields(cls)}
            return cls(**{key: value for key, value in data.items() if key in known})
        except (OSError, ValueError, TypeError):
            return None


def count_parameters(module: torch.nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    params = list(module.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def summarise_run(
    variant: str,
    seed: int,
    loaded: LoadedModel,
    val: EvaluationResult,
    test: EvaluationResult,
    metrics: Mapping[str, Any],
    train_seconds: float,
    resumed: bool,
) -> RunSummary:
    """Collect one run's scores and counts into a :class:`RunSummary`."""
    trainable, total = count_parameters(loaded.model)
    frontend_trainable, _ = count_parameters(loaded.model.frontends)
    return RunSummary(
        variant=variant,
        seed=seed,
        val_acc=float(val.file.accuracy),
        test_acc=float(test.file.accuracy),
        val_f1=float(val.file.macro_f1),
        test_f1=float(test.file.macro_f1),
        val_acc_segment=float(val.segment.accuracy),
        test_acc_segment=float(test.segment.accuracy),
        n_params=trainable,
        n_params_total=total,
        frontend_params=frontend_trainable,
        train_seconds=float(train_seconds),
        epochs=len(metrics.get("epochs", [])),
        vote=test.rule,
        resumed=resumed,
        class_names=list(loaded.class_names),
        test_confusion=np.asarray(test.file.confusion, dtype=np.int64).tolist(),
    )


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; NaN for fewer than two values)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else math.nan
