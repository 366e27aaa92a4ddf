"""``evaluate`` and ``predict`` on a trained run: reports, predictions.csv, formats, vote consistency."""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from adaspec.cli import main
from adaspec.config import load_config_file
from adaspec.data import load_audio, split_parts
from adaspec.errors import UserError
from adaspec.training import TrainResult, evaluate_run, load_classifier, predict_paths
from adaspec.training.predict import predict_file
from adaspec.training.run_dir import RunPaths, foreign_entries


def test_evaluate_writes_reports_and_predictions(trained_run: TrainResult) -> None:
    report = evaluate_run(trained_run.paths.root, split="test")
    root = trained_run.paths.root
    assert report.written["predictions"] == root / "predictions.csv"
    rows = list(csv.DictReader((root / "predictions.csv").open()))
    assert len(rows) == len(report.result.file_ids) == 6
    accuracy = np.mean([row["predicted"] == row["true_label"] for row in rows])
    assert accuracy == pytest.approx(report.result.files["mean"].accuracy)
    saved = json.loads((root / "evaluation_test.json").read_text())
    assert saved["files"]["mean"]["accuracy"] == pytest.approx(report.result.files["mean"].accuracy)
    # which checkpoint, whatever the cwd, and the metrics.json row it was saved at (one report from another)
    best = json.loads(trained_run.paths.metrics.read_text())["best"]
    assert saved["checkpoint"] == str(trained_run.paths.best.resolve())
    assert (saved["epoch"], saved["step"]) == (best["epoch"], best["step"])
    assert (root / "confusion_matrix_test.png").read_bytes()[:4] == b"\x89PNG"
    text = report.format()
    for fragment in ("segment level", "file level (mean vote)", "file level (majority vote)", "macro-F1"):
        assert fragment in text


def test_evaluate_probabilities_match_a_direct_forward_pass(trained_run: TrainResult, tmp_path: Path) -> None:
    report = evaluate_run(trained_run.paths.root, split="val", out=tmp_path / "val_eval")
    loaded = load_classifier(trained_run.paths.root)
    rows = list(csv.DictReader((tmp_path / "val_eval" / "predictions_val.csv").open()))
    config = loaded.config
    for row in rows:
        wave = load_audio(row["path"], config["data"]["sample_rate"])
        clip = round(config["data"]["clip_seconds"] * config["data"]["sample_rate"])
        parts = torch.from_numpy(split_parts(wave, config["eval"]["n_parts"], min_length=clip))
        with torch.no_grad():
            probs = torch.softmax(loaded.model(parts), dim=1).mean(0).numpy()
        expected = [float(row[f"p_{name}"]) for name in loaded.class_names]
        np.testing.assert_allclose(probs, expected, rtol=1e-4, atol=1e-5)
    assert len(rows) == len(report.result.file_ids)


def test_evaluate_all_files_of_another_root(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path
) -> None:
    report = evaluate_run(trained_run.paths.best, data=tone_dataset, split="all", out=tmp_path)
    assert len(report.result.file_ids) == 30
    assert (tmp_path / "predictions_all.csv").is_file()


def test_another_dataset_is_evaluated_beside_the_runs_own_evaluation(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path
) -> None:
    run = Path(shutil.copytree(trained_run.paths.root, tmp_path / "run"))
    own = evaluate_run(run, split="test")
    own_files = {path: path.read_bytes() for path in own.written.values()}
    other_data = Path(shutil.copytree(tone_dataset, tmp_path / "recorded elsewhere"))
    other = evaluate_run(run, data=other_data, split="all")
    (folder,) = (run / "evaluations").iterdir()
    assert re.fullmatch(r"recorded elsewhere-[0-9a-f]{8}", folder.name)
    assert other.written == {
        "report": folder / "evaluation_all.json",
        "predictions": folder / "predictions_all.csv",
        "confusion matrix": folder / "confusion_matrix_all.png",
    }
    assert json.loads(other.written["report"].read_text())["data"] == str(other_data.resolve())
    own_report = json.loads(own.written["report"].read_text())
    assert own_report["data"] == str(tone_dataset.resolve())
    settings = {"clip_seconds": 0.5, "n_parts": 2, "vote": "mean"}
    assert own_report["settings"] == settings  # what the scores depend on
    # the same split name on another dataset does not replace the run's own files
    again = evaluate_run(run, data=other_data, split="test")
    assert again.written["predictions"] == folder / "predictions.csv"
    assert all(path.read_bytes() == content for path, content in own_files.items())
    assert not foreign_entries(RunPaths(run))  # the folder is still one that --overwrite may delete
    # another dataset of the same name, or this one listed otherwise, gets its own folder
    namesake = Path(shutil.copytree(tone_dataset, tmp_path / "b" / "recorded elsewhere"))
    third = evaluate_run(run, data=namesake, split="test").written["report"].parent
    fractions = "data.fractions={train: 0.4, val: 0.2, test: 0.4}"
    fourth = evaluate_run(run, data=other_data, split="test", overrides=[fractions]).written["report"].parent
    assert len({folder, third, fourth}) == 3 and {third.parent, fourth.parent} == {run / "evaluations"}
    # one dataset written another way is one folder
    link = tmp_path / "link"
    link.symlink_to(other_data)
    assert evaluate_run(run, data=link, split="all").written["report"].parent == folder


def test_other_scoring_settings_are_evaluated_beside_the_runs_own_evaluation(
    trained_run: TrainResult, tmp_path: Path
) -> None:
    """``eval.n_parts`` or ``eval.vote`` other than the run's make other scores: they go to their own
    folder (one per settings); ``eval.max_parts_per_batch`` changes only memory use, not the scores."""
    run = Path(shutil.copytree(trained_run.paths.root, tmp_path / "run"))
    own = evaluate_run(run, split="test")
    own_report = own.written["report"].read_bytes()
    assert evaluate_run(run, split="test", overrides=["eval.max_parts_per_batch=1"]).written == own.written
    parts = evaluate_run(run, split="test", overrides=["eval.n_parts=3"]).written["report"]
    vote = evaluate_run(run, split="test", overrides=["eval.vote=majority"]).written["report"]
    assert own.written["report"].read_bytes() == own_report
    assert {parts.parent.parent, vote.parent.parent} == {run / "evaluations"} and parts.parent != vote.parent
    assert json.loads(parts.read_text())["settings"]["n_parts"] == 3
    again = evaluate_run(run, split="test", overrides=["eval.n_parts=3"]).written["report"]
    assert again == parts


def test_the_training_dataset_named_another_way_is_the_runs_own(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative or ``..``-style path to the training data is the same dataset: its recorded split is used
    (an afresh split would put training files into the test split) and the run's own reports are written;
    a folder named ``..`` never makes the reports land in the run folder as another dataset's."""
    run = Path(shutil.copytree(trained_run.paths.root, tmp_path / "run"))
    recorded = {row["path"] for row in csv.DictReader((run / "splits.csv").open()) if row["split"] == "test"}
    monkeypatch.chdir(tone_dataset / "low")
    report = evaluate_run(run, data=Path(".."), split="test")
    assert report.written["report"] == run / "evaluation_test.json"
    assert {row["path"] for row in csv.DictReader((run / "predictions.csv").open())} == recorded

    other = Path(shutil.copytree(tone_dataset, tmp_path / "other" / "tones"))
    monkeypatch.chdir(other / "low")
    moved = evaluate_run(run, data=Path(".."), split="test")
    assert moved.written["report"].parent.parent == run / "evaluations"
    assert moved.written["report"].parent.name.startswith("tones-")


def test_predict_formats(trained_run: TrainResult, tone_dataset: Path) -> None:
    table = predict_paths(trained_run.paths.root, [tone_dataset / "noise"], top_k=2, fmt="table")
    assert table.n_ok == 10 and table.n_failed == 0
    as_json = json.loads(predict_paths(trained_run.paths.root, [tone_dataset / "noise"], fmt="json").text)
    assert len(as_json) == 10
    assert {entry["label"] for entry in as_json} <= {"high", "low", "noise"}
    assert all(len(entry["top"]) == 3 for entry in as_json)
    probabilities = [sum(item["probability"] for item in entry["top"]) for entry in as_json]
    np.testing.assert_allclose(probabilities, 1.0, atol=1e-5)


def test_predict_reports_a_non_finite_output_instead_of_a_label(
    trained_run: TrainResult, tone_dataset: Path
) -> None:
    loaded = load_classifier(trained_run.paths.root)

    class Diverged(torch.nn.Module):  # a model whose weights went NaN
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, parts: torch.Tensor) -> torch.Tensor:
            return torch.full((parts.shape[0], len(loaded.class_names)), float("nan"))

    loaded.model = Diverged()
    row = predict_file(loaded, tone_dataset / "high" / "high_01.wav", k=3)
    assert row["label"] is None and row["top"] == []
    assert row["error"] == "the model's output is not finite (NaN or inf) on this file"


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_predict_warns_about_a_name_that_is_not_utf8_as_the_scan_does(
    trained_run: TrainResult, tmp_path: Path, caplog
) -> None:
    """Its odd byte as ``\\xfe``, as training's scan shows it, not as the surrogate ``\\udcfe``."""
    folder = tmp_path / "odd"
    folder.mkdir()
    (Path(os.fsdecode(bytes(folder) + b"/bad\xfe.wav"))).write_bytes(b"not audio")
    with caplog.at_level("WARNING", logger="adaspec"):
        output = predict_paths(trained_run.paths.root, [folder])
    assert output.n_failed == 1
    assert any("bad\\xfe.wav: " in message for message in caplog.messages), caplog.messages
    assert not any("\udcfe" in message for message in caplog.messages)


@pytest.mark.skipif(os.name == "nt", reason="POSIX file names are bytes")
def test_predict_shows_a_name_that_is_not_utf8_with_xnn_escapes_in_every_format(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, capsys
) -> None:
    """JSON held the surrogate ``\\udcfe``, which strict parsers refuse; CSV and the table held it raw (the
    text could not be encoded as UTF-8). Each now shows ``\\xfe`` as the warnings do; ``rows`` keep the
    name Python opens."""
    folder = tmp_path / "odd"
    folder.mkdir()
    odd = Path(os.fsdecode(bytes(folder) + b"/high\xfe.wav"))
    shutil.copy(tone_dataset / "high" / "high_01.wav", odd)
    shown = f"{folder}/high\\xfe.wav"
    outputs = {
        fmt: predict_paths(trained_run.paths.root, [folder], fmt=fmt) for fmt in ("json", "csv", "table")
    }
    for output in outputs.values():
        assert output.n_ok == 1 and output.rows[0]["path"] == str(odd)
        output.text.encode("utf-8")  # valid UTF-8: no surrogate left
    assert "\\ud" not in outputs["json"].text
    (entry,) = json.loads(outputs["json"].text)
    assert entry["path"] == shown and entry["label"] is not None
    (row,) = csv.DictReader(outputs["csv"].text.splitlines())
    assert row["path"] == shown
    assert outputs["table"].text.splitlines()[1].startswith(f"{shown}  ")
    assert main(["-q", "predict", str(trained_run.paths.root), str(folder), "--format", "json"]) == 0
    assert [entry["path"] for entry in json.loads(capsys.readouterr().out)] == [shown]


def test_cli_evaluate_and_predict(trained_run: TrainResult, tone_dataset: Path, capsys) -> None:
    assert main(["-q", "evaluate", str(trained_run.paths.root), "--split", "val"]) == 0
    assert "file level (mean vote)" in capsys.readouterr().out
    assert (
        main(["-q", "predict", str(trained_run.paths.root), str(tone_dataset / "high" / "high_01.wav")]) == 0
    )
    assert "high_01.wav" in capsys.readouterr().out


def test_evaluate_refuses_model_overrides(trained_run: TrainResult, capsys) -> None:
    code = main(["evaluate", str(trained_run.paths.root), "model.backbone=resnet18"])
    assert code == 2
    assert "evaluate only accepts data.* and eval.*" in capsys.readouterr().err


def test_evaluate_refuses_another_sample_rate(trained_run: TrainResult, capsys) -> None:
    """The trained front-end fixes the rate; the message names data.sample_rate, not the front-end key."""
    rate = load_config_file(trained_run.paths.config)["data"]["sample_rate"]
    code = main(["evaluate", str(trained_run.paths.root), f"data.sample_rate={rate // 2}"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("adaspec: error: config key 'data.sample_rate': is fixed by")
    assert (
        main(["-q", "evaluate", str(trained_run.paths.root), f"data.sample_rate={rate}", "--split", "val"])
        == 0
    )


def test_evaluate_refuses_an_audio_file_as_data(trained_run: TrainResult, tone_dataset: Path, capsys) -> None:
    """--data takes a dataset folder or a manifest CSV; a file said 'does not exist or is not a folder'."""
    wave = sorted(tone_dataset.rglob("*.wav"))[0]
    assert main(["evaluate", str(trained_run.paths.root), "--data", str(wave)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"adaspec: error: --data {wave} is a file; give a dataset folder, or a manifest .csv"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"split": "Test"}, "split must be one of train, val, test, all, got 'Test'"),
        (
            {"overrides": "eval.n_parts=3"},
            "overrides must be a list of 'key=value' strings, got 'eval.n_parts=3'",
        ),
    ],
)
def test_evaluate_run_names_a_bad_argument(trained_run: TrainResult, arguments: dict, message: str) -> None:
    """A bad split said "no file of split Test in the dataset"; a string of overrides was cut into letters."""
    with pytest.raises(ValueError, match=re.escape(message)):
        evaluate_run(trained_run.paths.root, **arguments)


def test_predictions_csv_holds_the_votes_the_report_scores(trained_run: TrainResult, tmp_path: Path) -> None:
    # predicted/correct were the argmax of the mean probabilities whatever eval.vote said.
    report = evaluate_run(trained_run.paths.root, split="all", overrides=["eval.vote=majority"], out=tmp_path)
    result = report.result
    assert result.rule == "majority"
    rows = list(csv.DictReader(report.written["predictions"].open()))
    names = load_classifier(trained_run.paths.best).class_names
    assert [row["predicted"] for row in rows] == [names[i] for i in result.file_predictions["majority"]]
    correct = np.mean([row["correct"] in ("1", "True", "true") for row in rows])
    assert correct == pytest.approx(result.files["majority"].accuracy)


def test_evaluate_run_takes_data_and_out_as_strings(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path
) -> None:
    """``data`` given as a str failed with AttributeError: 'str' object has no attribute 'suffix'."""
    report = evaluate_run(trained_run.paths.root, data=str(tone_dataset), split="all", out=str(tmp_path))
    assert report.written["report"] == tmp_path / "evaluation_all.json"


def test_a_dataset_without_some_classes_warns_that_macro_f1_counts_them(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Evaluated on 2 of the run's 3 classes, the macro-F1 silently averaged a third F1 of 0 in."""
    subset = tmp_path / "subset"
    for kind in ("high", "low"):
        shutil.copytree(tone_dataset / kind, subset / kind)
    with caplog.at_level(logging.WARNING, logger="adaspec"):
        report = evaluate_run(trained_run.paths.root, data=subset, split="all", out=tmp_path / "out")
    assert (
        "all: no file of class noise; macro-F1 still averages over all 3 of the model's classes"
        in caplog.text
    )
    assert report.result.file.per_class[2]["support"] == 0


def test_a_model_with_non_finite_output_is_refused_before_any_report_is_replaced(
    trained_run: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reports were written first, so the run's own reports were replaced by NaN ones, then it failed.
    run = tmp_path / "run"
    shutil.copytree(trained_run.paths.root, run)
    first = evaluate_run(run, split="val")
    before = {path: path.read_bytes() for path in first.written.values()}

    import adaspec.training.evaluate as evaluate_module

    real_load = evaluate_module.load_classifier

    def load_diverged(target: Path) -> object:
        loaded = real_load(target)
        loaded.model = _Diverged(loaded.model)
        return loaded

    monkeypatch.setattr(evaluate_module, "load_classifier", load_diverged)
    with pytest.raises(
        UserError, match=r"not finite \(NaN or inf\) on \d+ of \d+ files of split val .*no report"
    ):
        evaluate_run(run, split="val")
    assert {path: path.read_bytes() for path in first.written.values()} == before


class _Diverged(torch.nn.Module):
    """A classifier whose weights went NaN: the given one's logits times NaN."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.frontends = model.frontends

    def forward(self, parts: torch.Tensor) -> torch.Tensor:
        return self.model(parts) * float("nan")


def test_a_checkpoint_outside_a_run_keeps_the_reports_of_each_dataset_apart(
    trained_run: TrainResult, tone_dataset: Path, tmp_path: Path
) -> None:
    # Every evaluation of such a checkpoint wrote into the checkpoint's folder: the next one replaced it.
    bare = tmp_path / "models" / "tones.ckpt"
    bare.parent.mkdir()
    shutil.copy(trained_run.paths.root / "checkpoints" / "best.ckpt", bare)
    other = tmp_path / "other_tones"
    shutil.copytree(tone_dataset, other)
    first = evaluate_run(bare, split="val")
    before = {path: path.read_bytes() for path in first.written.values()}
    second = evaluate_run(bare, data=other, split="val")
    assert first.written["report"].parent.parent == bare.parent / "evaluations"
    assert first.written["report"].parent.name.startswith("tones-" + tone_dataset.name + "-")
    assert second.written["report"].parent.name.startswith("tones-other_tones-")
    assert {path: path.read_bytes() for path in first.written.values()} == before
