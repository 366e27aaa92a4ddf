"""Gather what a study's figures show from its run directories and draw them (see ``plots.study``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..plots.frontend import frontend_state
from ..plots.study import LearnedFrontend, save_confusion_grid, save_learned_frontends, save_validation_curves
from ..training.builders import build_frontends
from ..training.callbacks import HEADLINE
from ..training.checkpoints import load_classifier
from ..training.run_dir import RunPaths
from .summary import RunSummary

log = logging.getLogger(__name__)

CURVES_FILE = "validation_curves.png"
CONFUSION_FILE = "confusion_matrices.png"
LEARNED_FILE = "learned_frontends.png"
_KERNEL_PARTS = ("kernel_real", "kernel_imag")


def validation_curve(run_dir: Path) -> list[float]:
    """``val/acc_file`` per epoch from a run's ``metrics.json`` (empty when it has none)."""
    try:
        metrics = json.loads(RunPaths(run_dir).metrics.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = sorted(metrics.get("epochs", []), key=lambda row: row["epoch"])
    return [float(row.get(HEADLINE, np.nan)) for row in rows]


def write_validation_curves(run_dirs: Mapping[str, Sequence[Path]], path: Path) -> Path:
    """Validation accuracy per epoch of every variant (mean over its seeds, min-max band)."""
    curves = {variant: [validation_curve(run) for run in runs] for variant, runs in run_dirs.items()}
    return save_validation_curves(curves, path)


def write_confusion_matrices(rows: Sequence[RunSummary], variants: Sequence[str], path: Path) -> Path:
    """Test confusion matrices, summed over seeds, one panel per variant.

    Raises:
        ValueError: when the runs do not share one class list (runs trained on different data: their
            matrices cannot be summed or drawn under one set of labels).
    """
    class_names = rows[0].class_names
    others = [f"{row.variant} seed {row.seed}" for row in rows if row.class_names != class_names]
    if others:
        first = f"{rows[0].variant} seed {rows[0].seed}"
        raise ValueError(
            f"runs of different class lists cannot share a confusion figure: {', '.join(others)} "
            f"differ from {first} ({len(class_names)} classes)"
        )
    matrices = {}
    for variant in variants:
        mine = [np.asarray(row.test_confusion, dtype=np.int64) for row in rows if row.variant == variant]
        if mine:
            matrices[variant] = np.sum(mine, axis=0)
    title = f"test split, file level, summed over seeds, {rows[0].vote} vote"
    return save_confusion_grid(matrices, class_names, path, title=title)


def learned_frontend(variant: str, run_dir: Path) -> LearnedFrontend:
    """What a run's best checkpoint learned relative to the front-end(s) its config starts from.

    Learnable windows (1-D) are kept whole; learnable 2-D parameters become the mean ``|after - before|``
    per row, the real and imaginary DFT kernels joined into one complex kernel ``K`` (per frequency bin).
    """
    loaded = load_classifier(run_dir)
    after = {name: p.detach().double().cpu() for name, p in loaded.model.frontends.named_parameters()}
    learnable = [name for name, p in loaded.model.frontends.named_parameters() if p.requires_grad]
    with torch.random.fork_rng(devices=[]):  # analytic today; seeded for front-ends with a random start
        torch.manual_seed(loaded.config["seed"])
        initial = frontend_state(nn.ModuleList(build_frontends(loaded.config)))
    before = {name: value.double() for name, value in initial.items()}
    per_channel = len(loaded.model.frontends) > 1
    item = LearnedFrontend(variant)
    for name in learnable:
        channel, _, leaf = name.partition(".")
        label = f"channel {channel}" if per_channel else "learned"
        new, old = after[name], before[name]
        if new.ndim == 1:
            is_window = leaf.endswith("window")
            item.windows[label if is_window else f"{leaf} ({label})"] = new.numpy()
            if is_window and item.initial_window is None:
                item.initial_window = old.numpy()
        elif leaf.endswith(_KERNEL_PARTS):
            prefix = name.removesuffix("real").removesuffix("imag")
            key = f"DFT kernels ({label})"
            if key not in item.changes:
                real, imag = (after[prefix + p] - before[prefix + p] for p in ("real", "imag"))
                item.changes[key] = torch.complex(real, imag).abs().mean(dim=1).numpy()
                item.change_axis = "frequency bin"
        elif new.ndim == 2:
            item.changes[f"{leaf.rsplit('.', 1)[-1]} ({label})"] = (new - old).abs().mean(dim=1).numpy()
            item.change_axis = "mel band" if leaf.endswith("filters") else "row"
    return item


def write_learned_frontends(first_runs: Mapping[str, Path], path: Path) -> Path | None:
    """Learned windows and kernel changes of each variant's first seed; ``None`` (nothing written) when no
    variant learns a front-end parameter."""
    learned = [learned_frontend(variant, run) for variant, run in first_runs.items()]
    learned = [item for item in learned if item.windows or item.changes]
    if not learned:
        log.info("no variant learns a front-end parameter: %s not written", path.name)
        return None
    return save_learned_frontends(learned, path)
