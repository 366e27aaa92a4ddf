"""Tables of a front-end study: per-variant aggregates, ``results.csv`` and ``results.md``."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .summary import CSV_COLUMNS, RunSummary, mean_std

# Aggregated per variant: (RunSummary field, column title, digits).
STATISTICS = (
    ("val_acc", "val acc (file)", 3),
    ("test_acc", "test acc (file)", 3),
    ("test_f1", "test macro-F1", 3),
    ("train_seconds", "train time (s)", 1),
)


@dataclass
class VariantStats:
    """Mean and sample std (ddof=1, NaN for one seed) over the seeds of one variant."""

    variant: str
    description: str
    n_seeds: int
    mean: dict[str, float]
    std: dict[str, float]
    n_params: int
    frontend_params: int
    epochs: float


def aggregate(
    rows: Sequence[RunSummary], variants: Sequence[str], descriptions: Mapping[str, str]
) -> dict[str, VariantStats]:
    """Per-variant statistics in the order of ``variants`` (variants without rows are left out)."""
    stats: dict[str, VariantStats] = {}
    for variant in variants:
        mine = [row for row in rows if row.variant == variant]
        if not mine:
            continue
        means, stds = {}, {}
        for key, _, _ in STATISTICS:
            means[key], stds[key] = mean_std([getattr(row, key) for row in mine])
        stats[variant] = VariantStats(
            variant=variant,
            description=descriptions.get(variant, ""),
            n_seeds=len(mine),
            mean=means,
            std=stds,
            n_params=mine[0].n_params,
            frontend_params=mine[0].frontend_params,
            epochs=sum(row.epochs for row in mine) / len(mine),
        )
    return stats


def write_csv(path: Path, rows: Sequence[RunSummary]) -> Path:
    """``results.csv``: one row per variant x seed, columns :data:`CSV_COLUMNS`."""
    path = Path(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for row in rows:
            writer.writerow(row.csv_row())
    return path


def _cell(mean: float, std: float, digits: int) -> str:
    spread = "-" if math.isnan(std) else f"{std:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread}"


def format_table(stats: Mapping[str, VariantStats]) -> str:
    """The markdown table: one row per variant, ``mean ± std`` over seeds."""
    titles = [title for _, title, _ in STATISTICS]
    header = ["variant", "seeds", *titles, "trainable params", "front-end params", "epochs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in stats.values():
        cells = [_cell(item.mean[key], item.std[key], digits) for key, _, digits in STATISTICS]
        extra = [f"{item.n_params:,}", f"{item.frontend_params:,}", f"{item.epochs:g}"]
        lines.append("| " + " | ".join([item.variant, str(item.n_seeds), *cells, *extra]) + " |")
    return "\n".join(lines)


def format_markdown(
    stats: Mapping[str, VariantStats], header: Mapping[str, Any], figures: Sequence[str]
) -> str:
    """The whole ``results.md``: setup lines, the table, the variants and the figures."""
    lines = ["# Front-end comparison", ""]
    lines += [f"- {key}: {value}" for key, value in header.items()]
    lines += [
        "",
        "Mean ± sample standard deviation (ddof=1) over seeds; '-' where there is one seed. Accuracy and "
        "macro-F1 are file level (the config's vote rule) of each run's best-validation checkpoint.",
        "",
        format_table(stats),
        "",
        "## Variants",
        "",
    ]
    lines += [f"- `{item.variant}`: {item.description}" for item in stats.values()]
    if figures:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(name).stem}]({name})" for name in figures]
    return "\n".join(lines) + "\n"
