"""Tables of a front-end study: per-variant aggregates, ``results.csv`` and ``results.md``."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from .._validation import is_finite_number
from .summary import CSV_COLUMNS, RunSummary, mean_std

# Aggregated per variant: (RunSummary field, column title, digits).
STATISTICS = (
    ("val_acc", "val acc (file)", 3),
    ("test_acc", "test acc (file)", 3),
    ("test_f1", "test macro-F1", 3),
    ("train_seconds", "train time (s)", 1),
)
# Paired against the reference variant, seed by seed: (RunSummary field, column title, digits).
DIFFERENCES = (
    ("val_acc", "Δ val acc", 3),
    ("test_acc", "Δ test acc", 3),
    ("test_f1", "Δ test macro-F1", 3),
)


def non_finite_scores(row: RunSummary) -> list[str]:
    """The fields of ``row`` that the tables aggregate or pair (:data:`STATISTICS`, :data:`DIFFERENCES`)
    and that are not finite numbers (NaN, inf or no number in its ``summary.json``)."""
    keys = dict.fromkeys(key for key, _, _ in (*STATISTICS, *DIFFERENCES))
    return [key for key in keys if not is_finite_number(getattr(row, key))]


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


@dataclass
class PairedDifference:
    """A variant minus the reference variant, run by run over the seeds both have, as mean and sample std
    (ddof=1, NaN for one pair); ``wins``/``ties``/``losses`` count seeds on test accuracy. The seed fixes the
    crops, batch order and augmentation, so pairing removes that part of the seed-to-seed spread."""

    variant: str
    reference: str
    seeds: list[int]
    mean: dict[str, float]
    std: dict[str, float]
    wins: int
    ties: int
    losses: int


def default_reference(variants: Sequence[str]) -> str:
    """The variant the others are compared with: ``stft`` (no learning) when present, else the first."""
    return "stft" if "stft" in variants else variants[0]


def paired_differences(
    rows: Sequence[RunSummary], variants: Sequence[str], reference: str
) -> dict[str, PairedDifference]:
    """Per variant other than ``reference`` (in the order of ``variants``), its differences from
    ``reference`` over the seeds both finished; variants sharing no seed with it are left out."""
    by_seed = {row.seed: row for row in rows if row.variant == reference}
    differences: dict[str, PairedDifference] = {}
    for variant in variants:
        if variant == reference:
            continue
        pairs = sorted(
            ((row, by_seed[row.seed]) for row in rows if row.variant == variant and row.seed in by_seed),
            key=lambda pair: pair[0].seed,
        )
        if not pairs:
            continue
        means, stds = {}, {}
        for key, _, _ in DIFFERENCES:
            means[key], stds[key] = mean_std([getattr(mine, key) - getattr(ref, key) for mine, ref in pairs])
        test = [mine.test_acc - ref.test_acc for mine, ref in pairs]
        differences[variant] = PairedDifference(
            variant=variant,
            reference=reference,
            seeds=[mine.seed for mine, _ in pairs],
            mean=means,
            std=stds,
            wins=sum(value > 0 for value in test),
            ties=sum(value == 0 for value in test),
            losses=sum(value < 0 for value in test),
        )
    return differences


def unpaired(
    stats: Mapping[str, VariantStats], differences: Mapping[str, PairedDifference], reference: str
) -> list[str]:
    """One line per tabulated variant that :func:`paired_differences` left out: every one when ``reference``
    has no finished run, else those that share no seed with it."""
    others = [variant for variant in stats if variant != reference and variant not in differences]
    if reference not in stats:
        return (
            [f"no finished run of `{reference}`: {', '.join(others)} not compared with it"] if others else []
        )
    return [f"{variant}: no seed in common with `{reference}`" for variant in others]


def write_csv(path: Path, rows: Sequence[RunSummary]) -> Path:
    """``results.csv``: one row per variant x seed, columns :data:`CSV_COLUMNS`."""
    handle = io.StringIO()
    writer = csv.DictWriter(handle, fieldnames=list(CSV_COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow(row.csv_row())
    return write_text_atomic(path, handle.getvalue())


def _cell(mean: float, std: float, digits: int, signed: bool = False) -> str:
    spread = "-" if math.isnan(std) else f"{std:.{digits}f}"
    if round(mean, digits) == 0:  # a mean that rounds to zero is shown as +0.000, never as -0.000
        mean = 0.0
    return f"{mean:{'+' if signed else ''}.{digits}f} ± {spread}"


def format_table(stats: Mapping[str, VariantStats]) -> str:
    """The markdown table: one row per variant, ``mean ± std`` over seeds."""
    titles = [title for _, title, _ in STATISTICS]
    header = ["variant", "seeds", *titles, "trainable params", "front-end params", "epochs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in stats.values():
        cells = [_cell(item.mean[key], item.std[key], digits) for key, _, digits in STATISTICS]
        extra = [f"{item.n_params:,}", f"{item.frontend_params:,}", f"{round(item.epochs, 1):g}"]  # a mean
        lines.append("| " + " | ".join([item.variant, str(item.n_seeds), *cells, *extra]) + " |")
    return "\n".join(lines)


def format_differences(differences: Mapping[str, PairedDifference]) -> str:
    """The markdown table of :func:`paired_differences`: ``mean ± std`` of the per-seed differences."""
    titles = [title for _, title, _ in DIFFERENCES]
    header = ["variant", "paired seeds", *titles, "test acc better / same / worse"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in differences.values():
        cells = [_cell(item.mean[key], item.std[key], digits, signed=True) for key, _, digits in DIFFERENCES]
        counts = f"{item.wins} / {item.ties} / {item.losses}"
        lines.append("| " + " | ".join([item.variant, str(len(item.seeds)), *cells, counts]) + " |")
    return "\n".join(lines)


def format_markdown(
    stats: Mapping[str, VariantStats],
    header: Mapping[str, Any],
    figures: Sequence[str],
    differences: Mapping[str, PairedDifference] | None = None,
    left_out: Sequence[str] = (),
    figure_errors: Sequence[str] = (),
    reference: str | None = None,
) -> str:
    """The whole ``results.md``: setup lines, the table, the paired differences from the reference
    variant (when given and not empty; with ``reference``, a line per variant left out of them), the runs
    left out (one line each), the variants and the figures (with one line per figure that could not be
    drawn)."""
    lines = ["# Front-end comparison", ""]
    lines += [f"- {key}: {value}" for key, value in header.items()]
    lines += [
        "",
        "Mean ± sample standard deviation (ddof=1) over seeds; '-' where there is one seed. Accuracy and "
        "macro-F1 are file level (the config's vote rule) of each run's best-validation checkpoint.",
        "",
        format_table(stats),
        "",
    ]
    differences = differences or {}
    if differences and reference is None:
        reference = next(iter(differences.values())).reference
    not_paired = unpaired(stats, differences, reference) if reference is not None else []
    if differences or not_paired:
        lines += [f"## Difference from `{reference}`, seed by seed", ""]
    if differences:
        lines += [
            f"Each run minus the `{reference}` run of the same seed (the seed fixes crops, batch order and "
            "augmentation), mean ± sample std over the seeds both have; the last column counts the seeds "
            f"where the variant's test accuracy is above, equal to or below `{reference}`'s.",
            "",
            format_differences(differences),
            "",
        ]
    if not_paired:
        lines += [f"- {line}" for line in not_paired] + [""]
    if left_out:
        lines += ["## Runs left out of the tables", "", *(f"- {line}" for line in left_out), ""]
    lines += [
        "## Variants",
        "",
    ]
    lines += [f"- `{item.variant}`: {item.description}" for item in stats.values()]
    if figures or figure_errors:
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(name).stem}]({name})" for name in figures]
        lines += [f"- not drawn: {line}" for line in figure_errors]
    return "\n".join(lines) + "\n"
