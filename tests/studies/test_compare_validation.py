"""``compare`` takes a freshly trained run's val scores from the evaluation made while training: the same
numbers as scoring ``best.ckpt`` again, which it still does for resumed runs. Oracles: ``score_split`` on
the run's ``best.ckpt``, its saved epoch and step, and ``metrics.json``'s best row."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from adaspec.config import resolve_config
from adaspec.studies import compare as compare_module
from adaspec.studies import run_comparison
from adaspec.training.checkpoints import load_classifier, saved_at
from adaspec.training.evaluate import score_split
from adaspec.training.train import TrainResult
from tests.datasets import tiny_overrides

VARIANTS = ("stft", "stft_window")
EPOCHS = 4
#: Whether training here holds its evaluation for compare: on a GPU only under trainer.deterministic.
HELD = not torch.cuda.is_available()


@pytest.fixture(scope="module")
def base(tone_dataset: Path) -> dict[str, Any]:
    # Early stopping: on the CPU the runs tie and stop at epoch 1, best.ckpt staying at epoch 0 (earliest on
    # ties), or improve at epoch 1, tie at epoch 2 and stop there.
    return resolve_config(None, tiny_overrides(tone_dataset, **{"trainer.early_stopping_patience": 1}))


@pytest.fixture(scope="module")
def study(
    base: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[Path, TrainResult]]:
    """2 variants x 2 seeds x up to 4 epochs, with what ``train`` returned for each run."""
    out = tmp_path_factory.mktemp("study")
    results: dict[Path, TrainResult] = {}
    real_train = compare_module.train

    def spy(config: Any, name: str, runs_dir: Path, **kwargs: Any) -> TrainResult:
        result = real_train(config, name=name, runs_dir=runs_dir, **kwargs)
        results[result.paths.root] = result
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compare_module, "train", spy)
        run_comparison(base, out, ",".join(VARIANTS), seeds=2, epochs=EPOCHS)
    return out, results


def count_scored_splits(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Let ``compare`` score splits as usual while counting the splits it scores."""
    counts: Counter[str] = Counter()
    real_score = compare_module.score_split

    def counting(loaded: Any, config: Any, split: str) -> Any:
        counts[split] += 1
        return real_score(loaded, config, split)

    monkeypatch.setattr(compare_module, "score_split", counting)
    return counts


def read_csv(path: Path) -> dict[tuple[str, int], dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["variant"], int(row["seed"])): row for row in csv.DictReader(handle)}


def test_val_scores_equal_best_ckpt_scored_again(study: tuple[Path, dict[Path, TrainResult]]) -> None:
    out, results = study
    rows = read_csv(out / "results.csv")
    assert len(rows) == len(results) == 4
    for (variant, seed), row in rows.items():
        run = out / "runs" / variant / f"seed{seed}"
        loaded = load_classifier(run)
        assert loaded.checkpoint == run / "checkpoints" / "best.ckpt"
        val, _ = score_split(loaded, loaded.config, "val")
        summary = json.loads((run / "summary.json").read_text())
        for key, value in (
            ("val_acc", val.file.accuracy),
            ("val_f1", val.file.macro_f1),
            ("val_acc_segment", val.segment.accuracy),
        ):
            assert summary[key] == float(value), (run, key)
            assert float(row[key]) == float(value), (run, key)
        # the evaluation held from training is of best.ckpt's weights, and equal to it part by part
        held = results[run].best_evaluation
        if not HELD:
            assert held is None
            continue
        assert held is not None
        assert (held.epoch, held.step) == saved_at(loaded.checkpoint) == (loaded.epoch, loaded.step)
        best = json.loads((run / "metrics.json").read_text())["best"]
        assert (held.epoch, held.step) == (best["epoch"], best["step"])
        assert np.array_equal(held.evaluation.file_probs, val.file_probs)
        assert np.array_equal(held.evaluation.file_ids, val.file_ids)
        assert np.array_equal(held.evaluation.file.confusion, val.file.confusion)


def test_a_fresh_run_is_not_scored_on_val_again_and_a_resumed_one_is(
    base: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = count_scored_splits(monkeypatch)
    run_comparison(base, tmp_path, "stft", seeds=1, epochs=1)
    assert counts == ({"test": 1} if HELD else {"val": 1, "test": 1})  # before: val was scored again too
    fresh = json.loads((tmp_path / "runs" / "stft" / "seed0" / "summary.json").read_text())
    counts.clear()
    (tmp_path / "runs" / "stft" / "seed0" / "summary.json").unlink()  # goes back through train: resumed
    run_comparison(base, tmp_path, "stft", seeds=1, epochs=1)
    assert counts == {"val": 1, "test": 1}
    again = json.loads((tmp_path / "runs" / "stft" / "seed0" / "summary.json").read_text())
    assert again["resumed"] is True
    for key in ("val_acc", "val_f1", "val_acc_segment", "test_acc", "test_f1"):
        assert again[key] == fresh[key], key


def test_a_run_trained_further_is_scored_on_val_again(
    study: tuple[Path, dict[Path, TrainResult]],
    base: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "further"
    shutil.copytree(study[0], out)
    counts = count_scored_splits(monkeypatch)
    result = run_comparison(base, out, ",".join(VARIANTS), seeds=2, epochs=EPOCHS + 1)
    # early-stopped runs resume without training; the others train one more epoch: all are resumed
    assert all(row.resumed for row in result.rows) and result.skipped == 0
    assert counts == {"val": 4, "test": 4}


def test_a_skipped_run_scores_nothing(
    study: tuple[Path, dict[Path, TrainResult]], base: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    counts = count_scored_splits(monkeypatch)
    result = run_comparison(base, study[0], ",".join(VARIANTS), seeds=2, epochs=EPOCHS)
    assert result.skipped == 4 and not counts
