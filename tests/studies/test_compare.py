"""``run_comparison`` on generated tones: files written, numbers read back from the runs, resume and skip
rules, variant configs. Oracles: the runs' own ``metrics.json``/``summary.json``/checkpoints read directly,
numpy statistics over ``results.csv``, and analytic Hann windows and DFT kernels."""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch

from adaspec.config import load_config_file, resolve_config
from adaspec.errors import UserError
from adaspec.frontends.registry import available_frontends
from adaspec.studies import (
    DEFAULT_VARIANTS,
    VARIANTS,
    available_variants,
    format_results,
    parse_variants,
    run_comparison,
    run_config,
    variant_config,
)
from adaspec.studies import compare as compare_module
from adaspec.studies.figures import learned_frontend, write_learned_frontends
from adaspec.studies.report import (
    aggregate,
    default_reference,
    format_differences,
    format_table,
    paired_differences,
)
from adaspec.studies.summary import RunSummary
from adaspec.training.builders import build_classifier
from tests.datasets import tiny_overrides

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILES = (
    "results.csv",
    "results.md",
    "validation_curves.png",
    "confusion_matrices.png",
    "learned_frontends.png",
)
STUDY_VARIANTS = ("stft", "stft_window")
SEEDS = 2


@pytest.fixture(scope="module")
def base(tone_dataset: Path) -> dict[str, Any]:
    return resolve_config(None, tiny_overrides(tone_dataset))


@pytest.fixture(scope="module")
def study(base: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 variants x 2 seeds x 1 epoch, run once for the module."""
    out = tmp_path_factory.mktemp("study")
    run_comparison(base, out, ",".join(STUDY_VARIANTS), seeds=SEEDS, epochs=1)
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def markdown_rows(path: Path, table: int = 0) -> dict[str, list[str]]:
    """``{variant: cells}`` of a table of ``results.md``: 0 the results, 1 the paired differences."""
    tables: list[dict[str, list[str]]] = []
    previous = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("| variant") and not previous.startswith("|"):
            tables.append({})
        elif line.startswith("| ") and cells[0] in VARIANTS:
            tables[-1][cells[0]] = cells
        previous = line
    return tables[table] if table < len(tables) else {}


def spy_on_train(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, bool]]:
    """Let ``compare`` train as usual while recording each run folder it trains and its ``overwrite``."""
    calls: list[tuple[Path, bool]] = []
    real_train = compare_module.train

    def spy(config: Any, name: str, runs_dir: Path, **kwargs: Any) -> Any:
        calls.append((Path(runs_dir) / name, kwargs.get("overwrite", False)))
        return real_train(config, name=name, runs_dir=runs_dir, **kwargs)

    monkeypatch.setattr(compare_module, "train", spy)
    return calls


def checkpoint_mtimes(out: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in sorted(out.glob("runs/*/*/checkpoints/*.ckpt"))}


def test_every_file_is_written(study: Path) -> None:
    for name in FILES:
        assert (study / name).is_file(), name
    for name in FILES[2:]:
        assert (study / name).read_bytes()[:8] == PNG_SIGNATURE, name
    for variant in STUDY_VARIANTS:
        for seed in range(SEEDS):
            assert (study / "runs" / variant / f"seed{seed}" / "summary.json").is_file()


def test_csv_rows_are_the_runs_numbers(study: Path) -> None:
    rows = read_csv(study / "results.csv")
    assert [(r["variant"], int(r["seed"])) for r in rows] == [
        (v, s) for v in STUDY_VARIANTS for s in range(SEEDS)
    ]
    for row in rows:
        run = study / "runs" / row["variant"] / f"seed{row['seed']}"
        summary = json.loads((run / "summary.json").read_text())
        metrics = json.loads((run / "metrics.json").read_text())
        for key in ("val_acc", "test_acc", "val_f1", "test_f1", "train_seconds"):
            assert float(row[key]) == summary[key], key
        # the re-scored best checkpoint agrees with the validation logged during training
        assert float(row["val_acc"]) == pytest.approx(metrics["best"]["val/acc_file"], abs=1e-6)
        assert float(row["val_f1"]) == pytest.approx(metrics["best"]["val/f1_file"], abs=1e-6)
        assert int(row["epochs"]) == len(metrics["epochs"]) == 1
        assert int(row["seed"]) == summary["seed"]
        assert row["resumed"] == "False" and summary["resumed"] is False
        assert 0.0 <= float(row["test_acc"]) <= 1.0 and float(row["train_seconds"]) > 0
        confusion = np.asarray(summary["test_confusion"])
        assert confusion.shape == (3, 3)
        assert np.trace(confusion) / confusion.sum() == pytest.approx(float(row["test_acc"]))
    by_variant = {r["variant"]: r for r in rows}
    assert int(by_variant["stft"]["frontend_params"]) == 0
    assert int(by_variant["stft_window"]["frontend_params"]) == 256  # one learnable Hann window of n_fft
    n_params = {v: int(by_variant[v]["n_params"]) for v in STUDY_VARIANTS}
    assert n_params["stft_window"] - n_params["stft"] == 256


def test_run_configs_are_base_plus_variant_plus_seed(study: Path, base: dict[str, Any]) -> None:
    import yaml

    for variant in STUDY_VARIANTS:
        for seed in range(SEEDS):
            saved = yaml.safe_load((study / "runs" / variant / f"seed{seed}" / "config.yaml").read_text())
            assert saved["seed"] == seed
            assert saved["trainer"]["max_epochs"] == 1
            assert saved["frontend"]["learn_window"] is (variant == "stft_window")
            assert saved["data"] == base["data"] and saved["optim"] == base["optim"]


def test_markdown_statistics_equal_numpy_over_the_csv(study: Path, base: dict[str, Any]) -> None:
    rows = read_csv(study / "results.csv")
    table = markdown_rows(study / "results.md")
    assert list(table) == list(STUDY_VARIANTS)
    columns = {"val_acc": (2, 3), "test_acc": (3, 3), "test_f1": (4, 3), "train_seconds": (5, 1)}
    for variant in STUDY_VARIANTS:
        cells = table[variant]
        assert cells[1] == str(SEEDS)
        for key, (index, digits) in columns.items():
            values = np.array([float(r[key]) for r in rows if r["variant"] == variant])
            mean, std = (float(x) for x in cells[index].split("±"))
            assert mean == pytest.approx(values.mean(), abs=0.51 * 10**-digits), key
            assert std == pytest.approx(values.std(ddof=1), abs=0.51 * 10**-digits), key
    text = (study / "results.md").read_text()
    for fragment in (str(base["data"]["root"]), "small_cnn", "epochs: 1", "seeds: 2"):
        assert fragment in text
    assert format_results_table(study) in text


def format_results_table(study: Path) -> str:
    lines = (study / "results.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variant"))
    return "\n".join(lines[start : start + 2 + len(STUDY_VARIANTS)])


def test_table_statistics_of_known_rows() -> None:
    values = {"val_acc": [0.5, 0.75, 1.0], "test_acc": [0.25, 0.5, 1.0], "test_f1": [0.2, 0.4, 0.9]}
    seconds = [10.0, 13.0, 20.0]
    rows = [
        RunSummary(
            "stft",
            k,
            values["val_acc"][k],
            values["test_acc"][k],
            0.0,
            values["test_f1"][k],
            0,
            0,
            100,
            120,
            0,
            seconds[k],
            2,
        )
        for k in range(3)
    ]
    cells = format_table(aggregate(rows, ["stft"], {})).splitlines()[2].strip("| ").split(" | ")
    for index, key in enumerate(("val_acc", "test_acc", "test_f1"), start=2):
        assert cells[index] == f"{np.mean(values[key]):.3f} ± {np.std(values[key], ddof=1):.3f}"
    assert cells[5] == f"{np.mean(seconds):.1f} ± {np.std(seconds, ddof=1):.1f}"
    assert cells[6] == "100"


def test_rerun_skips_finished_runs(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    out = tmp_path / "again"
    shutil.copytree(study, out)
    before = checkpoint_mtimes(out)
    csv_before = (out / "results.csv").read_text()

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(compare_module, "train", no_training)
    with caplog.at_level(logging.INFO, logger="adaspec.studies"):
        result = run_comparison(base, out, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1)
    assert checkpoint_mtimes(out) == before and len(before) == 2 * len(STUDY_VARIANTS) * SEEDS
    assert (
        sum("skipping finished run" in r.getMessage() for r in caplog.records) == len(STUDY_VARIANTS) * SEEDS
    )
    assert result.skipped == len(STUDY_VARIANTS) * SEEDS
    assert (out / "results.csv").read_text() == csv_before
    printed = format_results(result)
    assert printed.startswith(format_results_table(out))
    assert "difference from stft, seed by seed" in printed


def test_paired_differences_equal_numpy_over_the_csv(study: Path) -> None:
    rows = read_csv(study / "results.csv")
    table = markdown_rows(study / "results.md", table=1)
    assert list(table) == ["stft_window"]  # the reference has no row of its own
    cells = table["stft_window"]
    assert cells[1] == str(SEEDS)
    value = {(r["variant"], int(r["seed"])): r for r in rows}
    for key, index in (("val_acc", 2), ("test_acc", 3), ("test_f1", 4)):
        diffs = np.array(
            [float(value["stft_window", k][key]) - float(value["stft", k][key]) for k in range(SEEDS)]
        )
        mean, std = (float(x) for x in cells[index].split("±"))
        assert mean == pytest.approx(diffs.mean(), abs=5.1e-4), key
        assert std == pytest.approx(diffs.std(ddof=1), abs=5.1e-4), key
    test = [
        float(value["stft_window", k]["test_acc"]) - float(value["stft", k]["test_acc"]) for k in range(SEEDS)
    ]
    expected = f"{sum(d > 0 for d in test)} / {sum(d == 0 for d in test)} / {sum(d < 0 for d in test)}"
    assert cells[5] == expected
    assert "## Difference from `stft`, seed by seed" in (study / "results.md").read_text()


def test_paired_differences_of_known_rows() -> None:
    def row(variant: str, seed: int, val: float, test: float, f1: float) -> RunSummary:
        return RunSummary(variant, seed, val, test, 0.0, f1, 0, 0, 10, 10, 0, 1.0, 1)

    rows = [
        row("mel", 0, 0.5, 0.50, 0.4),
        row("mel", 1, 0.6, 0.70, 0.5),
        row("mel", 2, 0.7, 0.60, 0.6),
        row("mel_learn", 0, 0.6, 0.55, 0.5),
        row("mel_learn", 1, 0.6, 0.70, 0.4),
        row("mel_learn", 3, 0.9, 0.90, 0.9),  # seed 3: the reference has no run, so it is not paired
        row("cqt", 5, 0.1, 0.1, 0.1),  # no seed in common: left out
    ]
    differences = paired_differences(rows, ["mel", "mel_learn", "cqt"], default_reference(["mel", "cqt"]))
    assert list(differences) == ["mel_learn"]
    item = differences["mel_learn"]
    assert item.reference == "mel" and item.seeds == [0, 1]
    assert item.mean["val_acc"] == pytest.approx(0.05) and item.std["val_acc"] == pytest.approx(
        np.std([0.1, 0.0], ddof=1)
    )
    assert item.mean["test_acc"] == pytest.approx(0.025) and item.mean["test_f1"] == pytest.approx(0.0)
    assert (item.wins, item.ties, item.losses) == (1, 1, 0)
    assert default_reference(["mel", "stft", "cqt"]) == "stft"
    single = paired_differences(rows[:4], ["mel", "mel_learn"], "mel")["mel_learn"]
    assert single.seeds == [0] and np.isnan(single.std["test_acc"])
    assert "| mel_learn | 1 | +0.100 ± - | +0.050 ± - | +0.100 ± - | 1 / 0 / 0 |" in format_differences(
        {"mel_learn": single}
    )


def test_report_only_tabulates_finished_runs_and_trains_nothing(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report"
    shutil.copytree(study, out)
    (out / "runs" / "stft_window" / "seed1" / "summary.json").unlink()  # as if still training
    before = checkpoint_mtimes(out)

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("--report-only trained a run")

    monkeypatch.setattr(compare_module, "train", no_training)
    result = run_comparison(
        base,
        out,
        list(STUDY_VARIANTS),
        seeds=SEEDS + 1,
        epochs=1,
        reference="stft_window",
        train_missing=False,
    )
    assert checkpoint_mtimes(out) == before
    assert result.missing == [("stft", 2), ("stft_window", 1), ("stft_window", 2)]
    assert [(r.variant, r.seed) for r in result.rows] == [("stft", 0), ("stft", 1), ("stft_window", 0)]
    table = markdown_rows(out / "results.md")
    assert table["stft"][1] == "2" and table["stft_window"][1] == "1"
    differences = markdown_rows(out / "results.md", table=1)
    assert list(differences) == ["stft"] and differences["stft"][1] == "1"  # stft - stft_window, seed 0
    printed = format_results(result)
    for line in ("stft seed 2: no finished run", "stft_window seed 1: no finished run"):
        assert f"- {line}" in printed and f"- {line}" in (out / "results.md").read_text()
    empty = tmp_path / "empty"
    with pytest.raises(UserError, match="no finished run"):
        run_comparison(base, empty, "stft", seeds=1, epochs=1, train_missing=False)


def test_a_failing_run_is_left_out_and_the_study_goes_on(
    study: Path, tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from adaspec.cli import main

    out = tmp_path / "failing"
    shutil.copytree(study, out)
    (out / "runs" / "stft" / "seed1" / "summary.json").unlink()  # this run must go through train again

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(compare_module, "train", broken)
    config = tmp_path / "empty.yaml"
    config.write_text("{}\n")
    variants = ",".join(STUDY_VARIANTS)
    args = ["compare", str(config), *tiny_overrides(tone_dataset), "--variants", variants, "--seeds", "2"]
    assert main([*args, "--budget", "1", "--out", str(out)]) == 1  # some runs failed
    printed = capsys.readouterr().out
    assert "- stft seed 1 failed: RuntimeError: boom" in printed
    assert "- stft seed 1 failed: RuntimeError: boom" in (out / "results.md").read_text()
    rows = read_csv(out / "results.csv")
    assert [(r["variant"], int(r["seed"])) for r in rows] == [
        ("stft", 0),
        ("stft_window", 0),
        ("stft_window", 1),
    ]
    assert markdown_rows(out / "results.md")["stft"][1] == "1"
    with pytest.raises(RuntimeError, match="boom"):  # nothing at all to tabulate: the first error
        run_comparison(
            resolve_config(None, tiny_overrides(tone_dataset)), tmp_path / "none", "stft", seeds=1, epochs=1
        )


@pytest.mark.parametrize("variant", ["stft_window", "stft"])  # another variant, and the reference
def test_a_nan_score_in_a_summary_leaves_the_run_out_with_a_warning(
    study: Path, base: dict[str, Any], tmp_path: Path, variant: str, caplog: pytest.LogCaptureFixture
) -> None:
    """It printed "nan ± -" and the seed counted as neither better, same nor worse."""
    out = tmp_path / "nan"
    shutil.copytree(study, out)
    summary = out / "runs" / variant / "seed1" / "summary.json"
    summary.write_text(json.dumps({**json.loads(summary.read_text()), "test_acc": float("nan")}))
    with caplog.at_level(logging.WARNING, logger="adaspec"):
        result = run_comparison(base, out, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1, train_missing=False)
    assert f"{variant} seed 1 is left out of the tables" in caplog.text
    assert [(v, k) for v, k, _ in result.failed] == [(variant, 1)]
    assert (variant, 1) not in [(r.variant, r.seed) for r in result.rows]
    paired = result.differences["stft_window"]
    assert paired.seeds == [0] and paired.wins + paired.ties + paired.losses == 1
    markdown = (out / "results.md").read_text()
    assert "nan ±" not in markdown and "nan ±" not in format_results(result)
    assert markdown_rows(out / "results.md")[variant][1] == "1"
    line = f"- {variant} seed 1 failed: summary.json holds a score that is not a finite number (test_acc nan)"
    assert line in markdown and line in format_results(result)
    first = out / "runs" / variant / "seed0" / "summary.json"
    first.write_text(json.dumps({**json.loads(first.read_text()), "val_acc": None}))
    with pytest.raises(UserError, match=r"no run .* can be tabulated: .*seed 0: .*\(val_acc None\)"):
        run_comparison(base, out, variant, seeds=SEEDS, epochs=1, train_missing=False)


def test_reference_must_be_one_of_the_variants(base: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match=r"--reference: 'mel' is not among the variants \(stft, stft_window\)"
    ):
        run_comparison(base, tmp_path, list(STUDY_VARIANTS), seeds=1, epochs=1, reference="mel")
    assert not (tmp_path / "runs").exists()


def test_run_without_summary_goes_back_through_train(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "resume"
    shutil.copytree(study, out)
    run = out / "runs" / "stft" / "seed1"
    old = json.loads((run / "summary.json").read_text())
    (run / "summary.json").unlink()
    calls = spy_on_train(monkeypatch)
    run_comparison(base, out, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1)
    assert calls == [(run, False)]
    new = json.loads((run / "summary.json").read_text())
    assert new["resumed"] is True
    for key in ("val_acc", "test_acc", "val_f1", "test_f1", "n_params", "epochs", "test_confusion"):
        assert new[key] == old[key], key


def _other_lr(base: dict[str, Any]) -> dict[str, Any]:
    return {**base, "optim": {**base["optim"], "lr": base["optim"]["lr"] * 2}}


def test_another_config_in_the_output_folder_is_refused(study: Path, base: dict[str, Any]) -> None:
    before = checkpoint_mtimes(study)
    with pytest.raises(UserError, match=r"another config \(optim.lr: "):
        run_comparison(_other_lr(base), study, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1)
    assert checkpoint_mtimes(study) == before


def test_report_only_refuses_another_config_without_suggesting_overwrite(
    study: Path, base: dict[str, Any]
) -> None:
    """--report-only trains nothing and is refused together with --overwrite: the way out is the config the
    runs were trained with (before: "retrain it with --overwrite", which that refuses)."""
    with pytest.raises(
        UserError, match=r"another config \(optim.lr: .*give the config and --budget"
    ) as refused:
        run_comparison(
            _other_lr(base), study, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1, train_missing=False
        )
    assert "--overwrite" not in str(refused.value)


def test_overwrite_retrains_only_the_runs_of_another_config(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "overwrite"
    shutil.copytree(study, out)
    before = checkpoint_mtimes(out)
    calls = spy_on_train(monkeypatch)
    # Same config: every run is reused, overwrite or not.
    run_comparison(base, out, list(STUDY_VARIANTS), seeds=SEEDS, epochs=1, overwrite=True)
    assert calls == [] and checkpoint_mtimes(out) == before
    # Another learning rate for stft seed 0: that run alone is deleted and retrained with it.
    result = run_comparison(_other_lr(base), out, ["stft"], seeds=1, epochs=1, overwrite=True)
    run = out / "runs" / "stft" / "seed0"
    assert calls == [(run, True)]
    assert [row.epochs for row in result.rows] == [1]
    assert json.loads((run / "summary.json").read_text())["resumed"] is False
    assert load_config_file(run / "config.yaml")["optim"]["lr"] == _other_lr(base)["optim"]["lr"]
    assert len(json.loads((run / "metrics.json").read_text())["epochs"]) == 1
    after = checkpoint_mtimes(out)
    assert {path: t for path, t in after.items() if run not in path.parents} == {
        path: t for path, t in before.items() if run not in path.parents
    }


def test_a_larger_budget_trains_the_runs_further(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "further"
    shutil.copytree(study, out)
    calls = spy_on_train(monkeypatch)
    result = run_comparison(base, out, ["stft"], seeds=1, epochs=2, overwrite=True)
    run = out / "runs" / "stft" / "seed0"
    assert calls == [(run, False)]  # resumed, not deleted, even with overwrite
    assert [row.epochs for row in result.rows] == [2]
    assert json.loads((run / "summary.json").read_text())["resumed"] is True
    epochs = json.loads((run / "metrics.json").read_text())["epochs"]
    before = json.loads((study / "runs" / "stft" / "seed0" / "metrics.json").read_text())["epochs"]
    assert [row["epoch"] for row in epochs] == [0, 1] and epochs[0] == before[0]
    assert load_config_file(run / "config.yaml")["trainer"]["max_epochs"] == 2
    # its train time is that of the extra epoch only, and the report says so
    assert read_csv(out / "results.csv")[0]["resumed"] == "True"
    assert (
        "- resumed runs (train time of their last session only): stft seed 0"
        in (out / "results.md").read_text()
    )


class _CtrlCBeforeEpoch(L.Callback):
    """A Ctrl-C at the start of training epoch 1, before it saves anything."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == 1:
            raise KeyboardInterrupt


def test_a_run_stopped_while_training_further_is_not_taken_as_finished(
    study: Path, base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 1-epoch run's ``summary.json`` must not stand for the 2-epoch run that was stopped on the way
    (before: the next call skipped it as finished and tabulated 1 epoch under a budget of 2)."""
    out = tmp_path / "stopped_further"
    shutil.copytree(study, out)
    real_train = compare_module.train

    def stopped(config: Any, name: str, runs_dir: Path, **kwargs: Any) -> Any:
        return real_train(config, name=name, runs_dir=runs_dir, callbacks=[_CtrlCBeforeEpoch()], **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(compare_module, "train", stopped)
        with pytest.raises(KeyboardInterrupt):
            run_comparison(base, out, ["stft"], seeds=1, epochs=2)
    run = out / "runs" / "stft" / "seed0"
    assert load_config_file(run / "config.yaml")["trainer"]["max_epochs"] == 2
    with pytest.raises(UserError, match="no finished run"):  # nothing finished at this budget
        run_comparison(base, out, ["stft"], seeds=1, epochs=2, train_missing=False)
    result = run_comparison(base, out, ["stft"], seeds=1, epochs=2)
    assert result.skipped == 0 and [row.epochs for row in result.rows] == [2]
    assert json.loads((run / "summary.json").read_text())["epochs"] == 2


def test_overwrite_and_report_only_are_refused_together(study: Path, base: dict[str, Any]) -> None:
    with pytest.raises(UserError, match="--overwrite"):
        run_comparison(base, study, list(STUDY_VARIANTS), seeds=SEEDS, train_missing=False, overwrite=True)


def test_learned_window_is_the_checkpoints_against_hann(study: Path) -> None:
    run = study / "runs" / "stft_window" / "seed0"
    item = learned_frontend("stft_window", run)
    state = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    np.testing.assert_array_equal(item.windows["learned"], state["model.frontends.0.window"].double().numpy())
    n = np.arange(256)
    np.testing.assert_allclose(item.initial_window, 0.5 - 0.5 * np.cos(2 * np.pi * n / 256), atol=1e-6)
    assert not item.changes


def test_nothing_learnable_writes_no_learned_figure(study: Path, tmp_path: Path) -> None:
    path = tmp_path / "learned.png"
    assert write_learned_frontends({"stft": study / "runs" / "stft" / "seed0"}, path) is None
    assert not path.exists()


def test_learned_kernel_change_per_bin_and_single_seed_table(base: dict[str, Any], tmp_path: Path) -> None:
    result = run_comparison(base, tmp_path, "stft_kernels", seeds=1, epochs=1)
    run = tmp_path / "runs" / "stft_kernels" / "seed0"
    state = torch.load(run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    learned = (
        state["model.frontends.0.kernel_real"].double() + 1j * state["model.frontends.0.kernel_imag"].double()
    )
    k, n = np.arange(129)[:, None], np.arange(256)[None, :]
    expected = np.abs(learned.numpy() - np.exp(-2j * np.pi * k * n / 256)).mean(axis=1)
    change = learned_frontend("stft_kernels", run).changes["DFT kernels (learned)"]
    np.testing.assert_allclose(change, expected, atol=1e-6)
    assert expected.max() > 1e-4  # the kernels did move
    assert (tmp_path / "learned_frontends.png").read_bytes()[:8] == PNG_SIGNATURE
    cells = markdown_rows(tmp_path / "results.md")["stft_kernels"]
    assert cells[2].endswith("± -") and cells[1] == "1"
    assert result.stats["stft_kernels"].frontend_params == 2 * 129 * 256


def test_unknown_or_unavailable_variants_are_refused(base: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"unknown variant 'nope'; available: .*stft_window"):
        parse_variants("stft,nope")
    with pytest.raises(UserError, match="more than once"):
        parse_variants("stft,stft")
    with pytest.raises(UserError, match="no variant given"):
        parse_variants(" , ")
    with pytest.raises(UserError, match="unknown variant"):
        run_comparison(base, tmp_path, "stft,nope", seeds=1, epochs=1)
    with pytest.raises(UserError, match="--seeds"):
        run_comparison(base, tmp_path, "stft", seeds=0)
    with pytest.raises(UserError, match=r"--seeds: at most 1000, got 99999999999"):  # hung building configs
        run_comparison(base, tmp_path, "stft", seeds=99_999_999_999, train_missing=False)
    with pytest.raises(UserError, match="--epochs"):
        run_comparison(base, tmp_path, "stft", seeds=1, epochs=0)
    assert not any(tmp_path.iterdir())
    for name in ("cqt", "cwt", "degram", "leaf"):
        if name not in available_frontends():
            with pytest.raises(UserError, match=rf"'{name}'.*not registered"):
                parse_variants(name)


@pytest.mark.parametrize("text", ["all,stft", "stft,default"])
def test_all_or_default_among_other_variants_is_refused_as_such(text: str) -> None:
    """Before: "unknown variant 'all'", though 'all' is a valid --variants on its own."""
    with pytest.raises(UserError, match=r"--variants: '(all|default)' stands alone"):
        parse_variants(text)


def test_available_and_default_variants() -> None:
    registered = set(available_frontends())
    assert available_variants() == [name for name, v in VARIANTS.items() if v.frontend in registered]
    assert set(DEFAULT_VARIANTS) <= set(available_variants())
    assert len(DEFAULT_VARIANTS) == 9
    assert parse_variants(None) == list(DEFAULT_VARIANTS) == parse_variants("default")
    assert parse_variants("all") == available_variants()
    assert parse_variants(" mel , stft ") == ["mel", "stft"]


EXPECTED_STFT = {
    "stft": (False, False, "repeat"),
    "stft_window": (True, False, "repeat"),
    "stft_kernels": (False, True, "repeat"),
    "stft_both": (True, True, "repeat"),
    "stft3_window": (True, False, "per_channel"),
    "stft3_kernels": (False, True, "per_channel"),
    "stft3_both": (True, True, "per_channel"),
}


def test_stft_variant_configs(tone_dataset: Path) -> None:
    # a base that learns its window and uses a 1-channel stem: neither may leak into the variants
    base = resolve_config(
        None,
        tiny_overrides(tone_dataset, **{"frontend.learn_window": "true", "frontend.window": "hamming"}),
    )
    for name, (window, kernels, adapter) in EXPECTED_STFT.items():
        config = variant_config(base, name)
        frontend = config["frontend"]
        assert frontend["name"] == "stft" and frontend["output"] == "magnitude"
        assert (frontend["learn_window"], frontend["learn_kernels"]) == (window, kernels), name
        assert (frontend["n_fft"], frontend["hop_length"], frontend["window"]) == (256, 128, "hamming")
        assert config["model"]["adapter"] == adapter and config["model"]["channel_overrides"] is None
        assert {k: v for k, v in config.items() if k not in ("frontend", "model")} == {
            k: v for k, v in base.items() if k not in ("frontend", "model")
        }


def test_per_channel_variant_builds_three_learnable_windows(base: dict[str, Any]) -> None:
    config = run_config(base, "stft3_window", seed=4, epochs=3)
    assert config["seed"] == 4 and config["trainer"]["max_epochs"] == 3
    model = build_classifier(config, num_classes=3)
    assert len(model.frontends) == 3
    for frontend in model.frontends:
        assert frontend.window.requires_grad and not frontend.kernel_real.requires_grad
    assert model(torch.randn(2, 4000)).shape == (2, 3)


@pytest.mark.filterwarnings("ignore:some of the n_mels=128 mel filters are empty")  # n_fft=256 here
def test_mel_variants_take_the_base_analysis(tone_dataset: Path, base: dict[str, Any]) -> None:
    fixed, learned = variant_config(base, "mel")["frontend"], variant_config(base, "mel_learn")["frontend"]
    for frontend in (fixed, learned):
        assert frontend["name"] == "mel" and (frontend["n_fft"], frontend["hop_length"]) == (256, 128)
        assert frontend["n_mels"] == 256 // 8 and "output" not in frontend  # one band per 4 bins
    assert (fixed["learn_window"], fixed["learn_filters"]) == (False, False)
    assert (learned["learn_window"], learned["learn_kernels"], learned["learn_filters"]) == (
        True,
        False,
        True,
    )
    mel_base = resolve_config(
        None,
        tiny_overrides(
            tone_dataset, frontend="{name: mel, n_fft: 512, hop_length: 64, n_mels: 40, f_min: 50.0}"
        ),
    )
    mel = variant_config(mel_base, "mel")["frontend"]
    assert (mel["n_fft"], mel["hop_length"], mel["n_mels"], mel["f_min"]) == (512, 64, 40, 50.0)
    stft = variant_config(mel_base, "stft")["frontend"]
    assert (stft["n_fft"], stft["hop_length"]) == (512, 64) and "n_mels" not in stft


@pytest.mark.filterwarnings("ignore:some of the n_mels=128 mel filters are empty")
def test_every_available_variant_resolves(base: dict[str, Any]) -> None:
    for name in available_variants():
        config = variant_config(base, name)
        assert config["frontend"]["name"] == VARIANTS[name].frontend


def test_missing_data_stops_before_any_run(tone_dataset: Path, tmp_path: Path) -> None:
    """A data root that does not exist is reported once, before any run folder is made."""
    config = resolve_config(None, [*tiny_overrides(tone_dataset), "data.root=/nonexistent"])
    with pytest.raises(UserError, match="root '/nonexistent' does not exist"):
        run_comparison(config, tmp_path / "study", "stft", seeds=1, epochs=1)
    assert not (tmp_path / "study").exists()


def test_only_process_0_of_a_distributed_study_writes_its_files(
    base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under DDP every process runs the command; the others would write the same files at once (and
    print the table again, with their own train times)."""
    monkeypatch.setattr(compare_module, "process_rank", lambda: 1)
    result = run_comparison(base, tmp_path / "other", ["stft"], seeds=1, epochs=1)
    assert len(result.rows) == 1  # it scored its run as process 0 does
    assert not list((tmp_path / "other").glob("results.*"))
    assert not list((tmp_path / "other").glob("runs/*/*/summary.json"))


def test_a_run_whose_metrics_cannot_be_read_is_reported_by_path(
    study: Path, base: dict[str, Any], tmp_path: Path, capsys
) -> None:
    """A damaged ``metrics.json`` makes that run fail with its path and a way out (before: a bare
    ``JSONDecodeError``)."""
    out = tmp_path / "damaged"
    shutil.copytree(study, out)
    run = out / "runs" / "stft" / "seed1"
    (run / "summary.json").unlink()
    (run / "metrics.json").write_text('{"epochs": [')
    with pytest.raises(UserError, match=r"metrics.json: cannot read the run's metrics .*--overwrite"):
        run_comparison(base, out, ["stft"], seeds=SEEDS, epochs=1)
