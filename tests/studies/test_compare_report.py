"""The tables, figures and checks of ``adaspec compare`` on run folders made by hand (no training): a
config, a checkpoint file and a ``summary.json`` of known numbers per run, tabulated with ``--report-only``.
Oracles: numpy/closed-form statistics of the numbers written, and the bytes of files written before."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adaspec.config import resolve_config, save_config
from adaspec.errors import UserError
from adaspec.studies import compare as compare_module
from adaspec.studies import figures as figures_module
from adaspec.studies import format_results, parse_variants, run_comparison, run_config
from adaspec.studies.report import aggregate, format_differences, format_table, paired_differences
from adaspec.studies.summary import RunSummary
from adaspec.training.run_dir import RunPaths
from tests.datasets import tiny_overrides

CLASSES = ["noise", "tone_a", "tone_b"]
EPOCHS = 1


@pytest.fixture(scope="module")
def base(tone_dataset: Path) -> dict[str, Any]:
    return resolve_config(None, tiny_overrides(tone_dataset))


def summary(variant: str, seed: int, test_acc: float, classes: list[str] = CLASSES) -> RunSummary:
    n = len(classes)
    return RunSummary(
        variant,
        seed,
        val_acc=test_acc,
        test_acc=test_acc,
        val_f1=test_acc,
        test_f1=test_acc,
        val_acc_segment=test_acc,
        test_acc_segment=test_acc,
        n_params=10,
        n_params_total=10,
        frontend_params=0,
        train_seconds=1.0,
        epochs=EPOCHS,
        class_names=list(classes),
        test_confusion=np.eye(n, dtype=int).tolist(),
    )


def fake_run(out: Path, base: dict[str, Any], row: RunSummary, epochs: int = EPOCHS) -> Path:
    """A finished run folder of ``row`` as ``compare --budget epochs`` would leave it (its checkpoint only
    named, its metrics one epoch)."""
    paths = RunPaths(out / "runs" / row.variant / f"seed{row.seed}")
    save_config(run_config(base, row.variant, row.seed, epochs), paths.config)
    paths.checkpoints.mkdir(parents=True)
    (paths.checkpoints / "best.ckpt").write_bytes(b"")
    row.save(paths.root)
    paths.metrics.write_text(json.dumps({"epochs": [{"epoch": 0, "val/acc_file": row.val_acc}]}))
    return paths.root


@pytest.fixture
def no_learned_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake checkpoints hold no model: the learned-front-end figure (which loads them) draws nothing."""
    monkeypatch.setattr(compare_module, "write_learned_frontends", lambda *args: None)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_figure_that_fails_midway_leaves_the_earlier_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the PNG was drawn straight into its final name, so a failure (or a Ctrl-C, or a reader at the
    wrong moment) left half a file where the earlier study's figure was."""
    path = tmp_path / "validation_curves.png"
    earlier = b"\x89PNG\r\n\x1a\n earlier study"
    path.write_bytes(earlier)

    from matplotlib.figure import Figure

    def half_then_fail(figure: Any, target: Path, *args: Any, **kwargs: Any) -> None:
        Path(target).write_bytes(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        figures_module.write_validation_curves({"stft": []}, path)
    assert path.read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["validation_curves.png"]  # no temporary file left


def test_runs_of_different_class_lists_are_reported_not_crashed_on(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """Runs reused from before a class was added to the data pass the config check. Before: the summed
    confusion matrices crashed the report after ``results.csv`` was rewritten, so ``results.md`` of the
    earlier study stood beside the new CSV, and nothing said that the scores do not compare."""
    out = tmp_path / "study"
    old_runs = [summary("stft", 0, 0.5), summary("stft", 1, 0.6)]
    new_run = summary("stft", 2, 0.75, [*CLASSES, "tone_c"])
    for row in [*old_runs, new_run]:
        fake_run(out, base, row)
    (out / "results.md").write_text("# an earlier study\n")
    (out / "confusion_matrices.png").write_bytes(b"\x89PNG earlier study")
    result = run_comparison(base, out, "stft", seeds=3, epochs=EPOCHS, train_missing=False)
    assert [(r["variant"], r["seed"]) for r in read_csv(out / "results.csv")] == [
        ("stft", str(k)) for k in range(3)
    ]
    markdown = (out / "results.md").read_text()
    assert "an earlier study" not in markdown
    assert (
        "stft seed 0, stft seed 1 (3 classes); stft seed 2 (4 classes); classes not in every run: tone_c"
        in (markdown)
    )
    assert "- not drawn: confusion_matrices.png: ValueError: runs of different class lists" in markdown
    assert "![confusion_matrices](confusion_matrices.png)" not in markdown
    assert not (out / "confusion_matrices.png").exists()  # the earlier study's figure is not left beside it
    assert "confusion matrices" not in result.files and (out / "validation_curves.png").is_file()
    assert "figures not drawn:\n- confusion_matrices.png" in format_results(result)


def test_report_of_known_runs_with_a_seed_missing(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """Statistics over seeds and paired differences over the seeds both variants have, against numpy."""
    out = tmp_path / "study"
    reference = [0.5, 0.75, 0.25]
    other = {0: 0.75, 2: 0.25}  # seed 1 of stft_window never finished
    for seed, value in enumerate(reference):
        fake_run(out, base, summary("stft", seed, value))
    for seed, value in other.items():
        fake_run(out, base, summary("stft_window", seed, value))
    result = run_comparison(base, out, "stft,stft_window", seeds=3, epochs=EPOCHS, train_missing=False)
    assert result.missing == [("stft_window", 1)]
    assert result.stats["stft"].mean["test_acc"] == pytest.approx(np.mean(reference))
    assert result.stats["stft"].std["test_acc"] == pytest.approx(np.std(reference, ddof=1))
    assert result.stats["stft_window"].std["test_acc"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    pair = result.differences["stft_window"]
    diffs = [0.75 - 0.5, 0.25 - 0.25]
    assert pair.seeds == [0, 2]
    assert pair.mean["test_acc"] == pytest.approx(np.mean(diffs))
    assert pair.std["test_acc"] == pytest.approx(np.std(diffs, ddof=1))
    assert (pair.wins, pair.ties, pair.losses) == (1, 1, 0)
    markdown = (out / "results.md").read_text()
    assert f"| stft_window | 2 | +0.125 ± {np.std(diffs, ddof=1):.3f} |" in markdown
    assert "- stft_window seed 1: no finished run" in markdown


def test_a_mean_difference_that_rounds_to_zero_is_shown_as_plus_zero() -> None:
    """+0.2 and -0.2 (as float subtraction gives them: 0.7 - 0.5 = 0.19999999999999996) average to about
    -2e-17; the table showed "-0.000", a worse-than-reference sign where the mean is 0."""
    rows = [summary("stft", 0, 0.5), summary("stft", 1, 0.5), summary("mel", 0, 0.7), summary("mel", 1, 0.3)]
    table = format_differences(paired_differences(rows, ["stft", "mel"], "stft"))
    spread = np.std([0.2, -0.2], ddof=1)  # the exact differences
    assert (
        f"| mel | 2 | +0.000 ± {spread:.3f} | +0.000 ± {spread:.3f} | +0.000 ± {spread:.3f} | 1 / 0 / 1 |"
        in (table)
    )
    assert "-0.000" not in table


@pytest.mark.parametrize("variants", [["stft", None], ["stft", 3], 7])
def test_variants_that_are_not_names_are_refused_naming_the_option(variants: Any) -> None:
    """Before: ``AttributeError: 'NoneType' object has no attribute 'strip'`` (or a ``TypeError``)."""
    with pytest.raises(UserError, match=r"^--variants: .*(a name|names).*got (None|3|7)$"):
        parse_variants(variants)


def test_numpy_integer_counts_are_accepted(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """Counts from a numpy sweep are whole numbers. Before: "--seeds: must be a whole number >= 1, got
    np.int64(1)"."""
    out = tmp_path / "study"
    fake_run(out, base, summary("stft", 0, 0.5))
    result = run_comparison(
        base, out, "stft", seeds=np.int64(1), epochs=np.int64(EPOCHS), train_missing=False
    )
    assert result.seeds == 1 and type(result.seeds) is int and result.epochs == EPOCHS
    assert "- seeds: 1 (0..0)" in (out / "results.md").read_text()
    with pytest.raises(UserError, match=r"--seeds: must be a whole number >= 1, got 1.5"):
        run_comparison(base, out, "stft", seeds=1.5, train_missing=False)


def test_report_only_names_runs_that_finished_under_a_smaller_budget(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """``compare --budget 1`` then ``--report-only`` with another budget. Before: "no finished run" for runs
    whose summary.json is right there, and with none at the budget asked for, "no finished run of these
    variants and seeds" with no word of the budget they were trained with."""
    out = tmp_path / "study"
    for seed in range(2):
        fake_run(out, base, summary("stft", seed, 0.5))
    with pytest.raises(
        UserError,
        match=r"2 finished with fewer epochs: give the --budget they were trained "
        r"with \(1\)$",
    ):
        run_comparison(base, out, "stft", seeds=2, epochs=3, train_missing=False)
    fake_run(out, base, summary("stft", 2, 0.75), epochs=3)  # one run trained at --budget 3
    result = run_comparison(base, out, "stft", seeds=4, epochs=3, train_missing=False)
    assert [row.seed for row in result.rows] == [2]
    expected = [
        "stft seed 0: no finished run at this budget (it finished with --budget 1)",
        "stft seed 1: no finished run at this budget (it finished with --budget 1)",
        "stft seed 3: no finished run",  # nothing there at all
    ]
    assert result.left_out() == expected
    markdown = (out / "results.md").read_text()
    assert all(f"- {line}\n" in markdown for line in expected)


def test_the_class_list_warning_opens_results_md(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """The README: such runs "make `results.md` start with a warning". Before: the warning was the last of
    the setup lines, after the data, backbone, epochs, seeds, vote and front-end lines."""
    out = tmp_path / "study"
    fake_run(out, base, summary("stft", 0, 0.5))
    fake_run(out, base, summary("stft", 1, 0.75, [*CLASSES, "tone_c"]))
    run_comparison(base, out, "stft", seeds=2, epochs=EPOCHS, train_missing=False)
    lines = (out / "results.md").read_text().splitlines()
    assert lines[0] == "# Front-end comparison" and lines[1] == ""
    assert lines[2].startswith("- WARNING, runs of different class lists")


def test_variants_left_out_of_the_paired_table_are_named(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """A variant sharing no seed with the reference, or a reference without any finished run. Before: the
    variant (or the whole section) was silently missing from the paired comparison."""
    out = tmp_path / "study"
    fake_run(out, base, summary("stft", 0, 0.5))
    fake_run(out, base, summary("stft_window", 0, 0.75))
    fake_run(out, base, summary("mel", 1, 0.25))  # mel seed 0 and stft seed 1 never finished
    result = run_comparison(base, out, "stft,stft_window,mel", seeds=2, epochs=EPOCHS, train_missing=False)
    assert list(result.differences) == ["stft_window"]
    markdown = (out / "results.md").read_text()
    assert "- mel: no seed in common with `stft`\n" in markdown
    assert "not compared seed by seed:\n- mel: no seed in common with `stft`" in format_results(result)

    result = run_comparison(
        base, out, "stft,stft_window,mel", seeds=2, epochs=EPOCHS, reference="mel", train_missing=False
    )
    assert list(result.differences) == []  # neither stft nor stft_window has mel's seed 1
    markdown = (out / "results.md").read_text()
    assert "## Difference from `mel`, seed by seed" in markdown
    for variant in ("stft", "stft_window"):
        assert f"- {variant}: no seed in common with `mel`\n" in markdown

    (out / "runs" / "stft" / "seed0" / "summary.json").unlink()  # now no finished run of stft
    result = run_comparison(base, out, "stft,stft_window,mel", seeds=2, epochs=EPOCHS, train_missing=False)
    line = "no finished run of `stft`: stft_window, mel not compared with it"
    assert f"## Difference from `stft`, seed by seed\n\n- {line}\n" in (out / "results.md").read_text()
    assert f"- {line}" in format_results(result)


def test_the_epochs_column_is_the_mean_over_seeds_to_one_decimal():
    # early stopping ended the seeds after 4, 5 and 5 epochs: their mean, 14 / 3, is printed as 4.7
    rows = [summary("stft", seed, 0.5) for seed in range(3)]
    for row, epochs in zip(rows, (4, 5, 5), strict=True):
        row.epochs = epochs
    table = format_table(aggregate(rows, ["stft"], {"stft": "STFT"}))
    assert table.splitlines()[-1].endswith("| 4.7 |")


def test_a_learned_front_end_figure_with_nothing_to_show_is_named_in_results_md(
    base: dict[str, Any], tmp_path: Path, no_learned_figure: None
) -> None:
    """The README: a figure left out is removed (an earlier study's file of that name) and "`results.md`
    says why". Before: only a log line (hidden by -q) said that no variant learns a front-end parameter."""
    out = tmp_path / "study"
    fake_run(out, base, summary("stft", 0, 0.5))
    (out / "learned_frontends.png").write_bytes(b"\x89PNG\r\n\x1a\n an earlier study's figure")
    result = run_comparison(base, out, "stft", seeds=1, epochs=EPOCHS, train_missing=False)
    assert not (out / "learned_frontends.png").exists()
    reason = "learned_frontends.png: no variant learns a front-end parameter"
    assert f"- not drawn: {reason}" in (out / "results.md").read_text().splitlines()
    assert f"- {reason}" in format_results(result).splitlines()
