"""``adaspec compare``: train every front-end variant for several seeds and tabulate and plot the results.

Layout of ``out_dir``: ``runs/<variant>/seed<k>/`` (ordinary run directories plus ``summary.json``),
``results.csv``, ``results.md``, ``validation_curves.png``, ``confusion_matrices.png`` and
``learned_frontends.png``. A run whose ``summary.json`` exists under the same config is not touched again;
an interrupted one resumes from its ``last.ckpt`` through :func:`~adaspec.training.train`, and so does one
given a larger epoch budget (it is trained further); one that holds another config is refused, or deleted
and retrained with ``overwrite``.
"""

from __future__ import annotations

import json
import logging
import numbers
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import write_text_atomic
from ..config import load_config_file, resolve_config, set_dotted
from ..errors import UserError
from ..evaluation import EvaluationResult
from ..training.catalog import list_items
from ..training.checkpoints import LoadedModel, load_classifier
from ..training.evaluate import score_split
from ..training.run_dir import (
    RunPaths,
    check_same_config,
    extends_epochs,
    has_checkpoints,
    saved_config_differences,
)
from ..training.train import TrainResult, process_rank, train
from .figures import (
    CONFUSION_FILE,
    CURVES_FILE,
    LEARNED_FILE,
    write_confusion_matrices,
    write_learned_frontends,
    write_validation_curves,
)
from .report import (
    PairedDifference,
    VariantStats,
    aggregate,
    default_reference,
    format_differences,
    format_markdown,
    format_table,
    non_finite_scores,
    paired_differences,
    unpaired,
    write_csv,
)
from .summary import SUMMARY_FILE, RunSummary, summarise_run
from .variants import VARIANTS, parse_variants, variant_config

log = logging.getLogger(__name__)

CSV_FILE = "results.csv"
MARKDOWN_FILE = "results.md"
#: Most seeds per variant: each is a training run, and every run's config is resolved before the first trains
#: (about 15 ms each: a mistyped count such as 99999999999 would hang instead of being refused).
MAX_SEEDS = 1000


@dataclass
class ComparisonResult:
    """Every run's summary and the per-variant statistics of one study."""

    out_dir: Path
    variants: list[str]
    seeds: int
    epochs: int
    rows: list[RunSummary]
    stats: dict[str, VariantStats]
    header: dict[str, Any]
    differences: dict[str, PairedDifference] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    skipped: int = 0
    missing: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, int, str]] = field(default_factory=list)
    figure_errors: list[str] = field(default_factory=list)
    shorter_budget: dict[tuple[str, int], int] = field(default_factory=dict)
    reference: str | None = None

    def left_out(self) -> list[str]:
        """One line per run missing from the tables: failed ones (with the error) and unfinished ones (naming
        the smaller epoch budget of a run that finished under one, see ``shorter_budget``)."""
        lines = [f"{variant} seed {seed} failed: {reason}" for variant, seed, reason in self.failed]
        return lines + [
            f"{variant} seed {seed}: no finished run" + _budget_note(self.shorter_budget.get((variant, seed)))
            for variant, seed in self.missing
        ]


def _budget_note(budget: int | None) -> str:
    """What a left-out line adds for a run that finished under a smaller ``trainer.max_epochs``."""
    return "" if budget is None else f" at this budget (it finished with --budget {budget})"


def _finished_budget(paths: RunPaths, config: Mapping[str, Any]) -> int | None:
    """The epoch budget of a run that finished (its ``summary.json`` exists) under a config that ``config``
    differs from only by a larger ``trainer.max_epochs``; ``None`` for any other run."""
    if not has_checkpoints(paths) or not extends_epochs(paths, config) or RunSummary.load(paths.root) is None:
        return None
    return load_config_file(paths.config)["trainer"]["max_epochs"]


def run_config(base: Mapping[str, Any], variant: str, seed: int, epochs: int | None) -> dict[str, Any]:
    """Base + variant overrides + ``seed`` (+ ``trainer.max_epochs``), resolved."""
    config = set_dotted(dict(base), "seed", seed)
    if epochs is not None:
        config = set_dotted(config, "trainer.max_epochs", epochs)
    return variant_config(config, variant)


def _check_count(option: str, value: Any, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise UserError(f"{option}: must be a whole number >= 1, got {value!r}")
    if most is not None and value > most:
        raise UserError(f"{option}: at most {most}, got {value}")
    return int(value)  # a numpy integer too (from a sweep), as a plain int for the configs and the header


def _check_reference(reference: str | None, names: Sequence[str]) -> str:
    if reference is None:
        return default_reference(names)
    if reference not in names:
        raise UserError(f"--reference: {reference!r} is not among the variants ({', '.join(names)})")
    return reference


def _read_metrics(path: Path) -> dict[str, Any]:
    """A run's ``metrics.json`` (``{}`` when there is none).

    Raises:
        UserError: naming the file, when it cannot be read or is not a JSON object.
    """
    if not path.exists():
        return {}
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        reason = str(err).replace("\n", " ")
        raise UserError(
            f"{path}: cannot read the run's metrics ({reason}); retrain it with --overwrite"
        ) from None
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: the run's metrics are not a JSON object; retrain it with --overwrite")
    return metrics


# What to do about a run folder of another config: when training, and with --report-only (which trains
# nothing, so --overwrite is refused with it).
RETRAIN_REMEDY = "retrain it with --overwrite, use another output folder or delete it"
REPORT_REMEDY = "give the config and --budget it was trained with, or another output folder"


def _finished(paths: RunPaths, config: Mapping[str, Any], remedy: str = RETRAIN_REMEDY) -> RunSummary | None:
    """The run's summary when it finished under ``config``; refuses a folder holding checkpoints of another
    config (one without checkpoints, a start that failed, is left to ``train`` to replace), naming
    ``remedy``."""
    if not paths.config.exists() or not has_checkpoints(paths) or extends_epochs(paths, config):
        return None  # untrained, or to be trained further (a larger budget)
    check_same_config(paths, config, remedy)
    return RunSummary.load(paths.root)


def run_one(
    config: Mapping[str, Any], variant: str, seed: int, runs_dir: Path, overwrite: bool = False
) -> tuple[RunSummary, bool]:
    """Train (or resume) one run, score its best checkpoint on val and test and write ``summary.json``.

    Args:
        config: the run's resolved config.
        variant, seed: what the run is (for the summary and the log).
        runs_dir: the variant's folder; the run is ``seed<seed>`` in it.
        overwrite: delete and retrain a run folder that holds another config (else it is refused).

    Returns:
        The summary and whether the run was skipped because it had already finished.
    """
    paths = RunPaths(runs_dir / f"seed{seed}")
    further = extends_epochs(paths, config)  # a larger budget trains the run on, --overwrite or not
    replace = overwrite and not further and bool(differences := saved_config_differences(paths, config))
    if replace:
        log.warning("retraining %s, which holds another config (%s)", paths.root, "; ".join(differences[:3]))
    done = None if replace else _finished(paths, config)
    if done is not None:
        log.info("skipping finished run %s (summary.json exists)", paths.root)
        return done, True
    log.info("training %s seed %d into %s", variant, seed, paths.root)
    if further:  # the summary scores the shorter run: a stop while training on must not leave it as final
        (paths.root / SUMMARY_FILE).unlink(missing_ok=True)
    start = time.perf_counter()
    result = train(config, name=paths.root.name, runs_dir=runs_dir, overwrite=replace)
    seconds = time.perf_counter() - start
    loaded = load_classifier(paths.root)
    val = _validation_scores(result, loaded)
    test, _ = score_split(loaded, loaded.config, "test")
    metrics = _read_metrics(paths.metrics)
    summary = summarise_run(variant, seed, loaded, val, test, metrics, seconds, result.resumed)
    if process_rank() == 0:  # in a distributed study every process runs this; process 0 writes
        summary.save(paths.root)
    log.info(
        "%s seed %d: val acc %.3f, test acc %.3f, test macro-F1 %.3f, %.1f s",
        variant,
        seed,
        summary.val_acc,
        summary.test_acc,
        summary.test_f1,
        seconds,
    )
    return summary, False


def _validation_scores(result: TrainResult, loaded: LoadedModel) -> EvaluationResult:
    """``best.ckpt``'s scores on val: the evaluation made while training, when this process trained the run
    from its start and validated ``best.ckpt``'s epoch and step as ``score_split`` does (the same weights,
    files, parts and vote rule); else ``best.ckpt`` scored again (a resumed run, one validated otherwise)."""
    held = result.best_evaluation
    if (
        not result.resumed
        and held is not None
        and loaded.checkpoint == result.paths.best
        and (held.epoch, held.step) == (loaded.epoch, loaded.step)
    ):
        return held.evaluation
    val, _ = score_split(loaded, loaded.config, "val")
    return val


def _unscored(summary: RunSummary) -> str | None:
    """Why a run cannot be tabulated, logged as a warning naming it: a score of its ``summary.json`` that is
    not a finite number (NaN); ``None`` when every score is one."""
    bad = non_finite_scores(summary)
    if not bad:
        return None
    values = ", ".join(f"{key} {getattr(summary, key)!r}" for key in bad)
    reason = (
        f"{SUMMARY_FILE} holds a score that is not a finite number ({values}); delete it to score the run "
        "again"
    )
    log.warning("%s seed %d is left out of the tables: %s", summary.variant, summary.seed, reason)
    return reason


def _resumed_note(rows: Sequence[RunSummary]) -> dict[str, str]:
    """A header line naming the resumed runs, whose train time counts only the session that finished them."""
    resumed = [f"{row.variant} seed {row.seed}" for row in rows if row.resumed]
    if not resumed:
        return {}
    return {"resumed runs (train time of their last session only)": ", ".join(resumed)}


def _classes_note(rows: Sequence[RunSummary]) -> dict[str, str]:
    """A header line when the runs do not share one class list: reused runs trained before the dataset
    changed (its config, which is all a run folder is checked against, names the folder, not its classes),
    whose scores are not comparable with the others'."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for row in rows:
        groups.setdefault(tuple(row.class_names), []).append(f"{row.variant} seed {row.seed}")
    if len(groups) < 2:
        return {}
    common = set.intersection(*(set(names) for names in groups))
    uncommon = sorted(set().union(*groups) - common)
    parts = [f"{', '.join(runs)} ({len(names)} classes)" for names, runs in groups.items()]
    line = "; ".join(parts) + f"; classes not in every run: {', '.join(uncommon) or 'none (another order)'}"
    log.warning("the runs were trained on different class lists, their scores do not compare: %s", line)
    return {"WARNING, runs of different class lists (retrain them with the data as it is now)": line}


def _header(base: Mapping[str, Any], seeds: int, epochs: int) -> dict[str, Any]:
    data, model, frontend = base["data"], base["model"], base["frontend"]
    analysis = ", ".join(
        f"{key}={frontend[key]}" for key in ("n_fft", "win_length", "hop_length", "window") if key in frontend
    )
    return {
        "data": data["root"] if data["source"] != "manifest" else data["manifest"],
        "backbone": model["backbone"],
        "epochs": epochs,
        "seeds": f"{seeds} (0..{seeds - 1})",
        "vote": base["eval"]["vote"],
        "shared front-end parameters": analysis or "front-end defaults",
    }


def run_comparison(
    config: Mapping[str, Any],
    out_dir: str | Path,
    variants: Sequence[str] | str | None = None,
    seeds: int = 3,
    epochs: int | None = None,
    reference: str | None = None,
    train_missing: bool = True,
    overwrite: bool = False,
) -> ComparisonResult:
    """Train each variant for seeds ``0..seeds-1`` on the same data, backbone and budget; write the tables
    and figures into ``out_dir``.

    Args:
        config: base config (resolved or a mapping to resolve); its front-end section gives the shared
            analysis parameters.
        out_dir: output folder (created).
        variants: names or ``"a,b"``; default :data:`~adaspec.studies.variants.DEFAULT_VARIANTS`.
        seeds: runs per variant, with ``seed`` = 0, 1, ...
        epochs: ``trainer.max_epochs`` of every run (default: the base config's).
        reference: the variant the others are compared with seed by seed (default: ``stft`` when it is
            among the variants, else the first).
        train_missing: train the runs that have not finished (default); ``False`` only tabulates the
            finished ones (a study still running elsewhere, or one whose seeds differ by variant).
        overwrite: delete and retrain the runs whose folder holds another config (say after changing the
            base config or lowering ``epochs``); without it such a folder is refused. Runs of the same config
            are reused either way, and a larger ``epochs`` trains the runs further.

    A run that fails with an error other than a :class:`UserError` is logged with its traceback and left out
    (``result.failed``); the study goes on with the others, and running it again retries the failed run.
    A run whose ``summary.json`` holds a score that is not a finite number (NaN) is left out the same way,
    with a warning naming it.

    Raises:
        UserError: an unknown variant or reference, a bad count, a run folder that holds another config
            (without ``overwrite``), ``overwrite`` with ``train_missing=False``, or (``train_missing=False``)
            no finished run at all.
        Exception: the first run's error when every run failed.
    """
    base = resolve_config(config)
    names = parse_variants(variants)
    seeds = _check_count("--seeds", seeds, most=MAX_SEEDS)
    epochs = _check_count("--epochs", epochs) if epochs is not None else None
    reference = _check_reference(reference, names)
    if overwrite and not train_missing:
        raise UserError("--overwrite retrains runs and --report-only trains nothing: use one of them")
    if train_missing:
        list_items(base["data"])  # a missing or empty dataset stops here, not once per run
    out_dir = Path(out_dir)
    configs = {(v, k): run_config(base, v, k, epochs) for v in names for k in range(seeds)}
    rows, skipped, missing, failed = [], 0, [], []
    shorter_budget: dict[tuple[str, int], int] = {}
    first_error: Exception | None = None
    run_dirs: dict[str, list[Path]] = {name: [] for name in names}
    for (variant, seed), run_cfg in configs.items():
        runs_dir = out_dir / "runs" / variant
        if train_missing:
            try:
                summary, was_skipped = run_one(run_cfg, variant, seed, runs_dir, overwrite)
            except UserError:
                raise
            except Exception as err:  # one broken run must not cost the study every other run
                log.exception("%s seed %d failed; the study goes on without it", variant, seed)
                failed.append((variant, seed, f"{type(err).__name__}: {err}"))
                first_error = first_error or err
                continue
        else:
            paths = RunPaths(runs_dir / f"seed{seed}")
            summary, was_skipped = _finished(paths, run_cfg, REPORT_REMEDY), True
            if summary is None:
                missing.append((variant, seed))
                if (budget := _finished_budget(paths, run_cfg)) is not None:
                    shorter_budget[variant, seed] = budget
                continue
        if (reason := _unscored(summary)) is not None:  # left out as a failed run is
            failed.append((variant, seed, reason))
            continue
        rows.append(summary)
        run_dirs[variant].append(runs_dir / f"seed{seed}")
        skipped += was_skipped
    if not rows and first_error is not None:
        raise first_error
    if not rows and failed:
        lines = "; ".join(f"{variant} seed {seed}: {reason}" for variant, seed, reason in failed)
        raise UserError(f"no run of these variants and seeds can be tabulated: {lines}")
    if not rows:
        budgets = sorted(set(shorter_budget.values()))
        hint = (
            f"; {len(shorter_budget)} finished with fewer epochs: give the --budget they were trained with "
            f"({', '.join(map(str, budgets))})"
            if shorter_budget
            else ""
        )
        raise UserError(
            f"--report-only: no finished run of these variants and seeds in {out_dir / 'runs'}{hint}"
        )
    if missing:
        log.info("left out (no finished run): %s", ", ".join(f"{v} seed {k}" for v, k in missing))
    run_dirs = {variant: runs for variant, runs in run_dirs.items() if runs}
    budget = epochs if epochs is not None else base["trainer"]["max_epochs"]
    descriptions = {name: VARIANTS[name].description for name in names}
    result = ComparisonResult(
        out_dir=out_dir,
        variants=names,
        seeds=seeds,
        epochs=budget,
        rows=rows,
        stats=aggregate(rows, names, descriptions),
        # the warning first, so that results.md starts with it
        header=_classes_note(rows) | _header(base, seeds, budget) | _resumed_note(rows),
        differences=paired_differences(rows, names, reference),
        skipped=skipped,
        missing=missing,
        failed=failed,
        shorter_budget=shorter_budget,
        reference=reference,
    )
    if process_rank() == 0:
        write_results(result, run_dirs)
    return result


def _draw(
    result: ComparisonResult, key: str, path: Path, draw: Callable[[], Path | None], empty: str = ""
) -> None:
    """Draw one figure into ``result.files[key]``; a figure that cannot be drawn (or has nothing to show:
    ``draw`` returns ``None``, and ``empty`` says why) is logged, named with its reason among
    ``result.figure_errors`` and left out, and an earlier study's file of that name removed, so that the
    tables are still written and no figure of other runs stands beside them."""
    try:
        written = draw()
        if written is None and empty:
            result.figure_errors.append(f"{path.name}: {empty}")
    except Exception as err:
        reason = str(err).replace("\n", " ")
        # one line (the command line shows tracebacks only with --debug)
        log.warning("could not draw %s (%s); the report goes on without it", path.name, reason)
        log.debug("drawing %s failed", path.name, exc_info=True)
        result.figure_errors.append(f"{path.name}: {type(err).__name__}: {reason}")
        written = None
    if written is None:
        path.unlink(missing_ok=True)
    else:
        result.files[key] = written


def write_results(result: ComparisonResult, run_dirs: Mapping[str, Sequence[Path]]) -> None:
    """Write the figures, then the CSV and the markdown report into ``result.out_dir``.

    Every file is written through a temporary file and a rename, and the two tables last and one after the
    other: an interrupted or failing report leaves whole files, and ``results.csv`` and ``results.md`` of
    the same runs.
    """
    out = result.out_dir
    out.mkdir(parents=True, exist_ok=True)
    result.figure_errors.clear()
    _draw(
        result,
        "validation curves",
        out / CURVES_FILE,
        lambda: write_validation_curves(run_dirs, out / CURVES_FILE),
    )
    _draw(
        result,
        "confusion matrices",
        out / CONFUSION_FILE,
        lambda: write_confusion_matrices(result.rows, result.variants, out / CONFUSION_FILE),
    )
    # None when no variant learns anything: a figure of an earlier study would mislead, so it is removed
    first_runs = {v: runs[0] for v, runs in run_dirs.items()}
    _draw(
        result,
        "learned front-ends",
        out / LEARNED_FILE,
        lambda: write_learned_frontends(first_runs, out / LEARNED_FILE),
        empty="no variant learns a front-end parameter",
    )
    figures = [path.name for key, path in result.files.items() if path.suffix == ".png"]
    markdown = format_markdown(
        result.stats,
        result.header,
        figures,
        result.differences,
        result.left_out(),
        result.figure_errors,
        reference=result.reference,
    )
    result.files["csv"] = write_csv(out / CSV_FILE, result.rows)
    result.files["markdown"] = write_text_atomic(out / MARKDOWN_FILE, markdown)
    for kind, path in result.files.items():
        log.info("wrote %s: %s", kind, path)


def format_results(result: ComparisonResult) -> str:
    """The markdown tables of a study, for printing: per variant, then the paired differences."""
    text = format_table(result.stats)
    reference = result.reference
    if result.differences:
        reference = next(iter(result.differences.values())).reference
        text += f"\n\ndifference from {reference}, seed by seed:\n" + format_differences(result.differences)
    not_paired = unpaired(result.stats, result.differences, reference) if reference is not None else []
    if not_paired:
        text += "\n\nnot compared seed by seed:\n" + "\n".join(f"- {line}" for line in not_paired)
    if result.failed or result.missing:
        text += "\n\nleft out of the tables:\n" + "\n".join(f"- {line}" for line in result.left_out())
    if result.figure_errors:
        text += "\n\nfigures not drawn:\n" + "\n".join(f"- {line}" for line in result.figure_errors)
    return text
