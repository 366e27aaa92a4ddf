"""``adaspec evaluate`` and ``adaspec predict`` stop on a single Ctrl-C with exit code 130 and write
nothing, even when the Ctrl-C lands where Python cannot raise (a finaliser, such as a data loader's
``__del__``): Python printed "Exception ignored" and the command carried on."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.training import TrainResult, evaluate, predict
from tests.interrupt_helpers import ctrl_c_in_finaliser_on_call


@pytest.mark.parametrize("split", ["val", "all"])
def test_a_ctrl_c_in_a_finaliser_stops_evaluate_with_130_and_no_report(
    trained_run: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, split: str
) -> None:
    accumulator = evaluate.PartsAccumulator
    monkeypatch.setattr(accumulator, "add", ctrl_c_in_finaliser_on_call(accumulator.add))
    out = tmp_path / "out"
    code = main(["-q", "evaluate", str(trained_run.paths.root), "--split", split, "--out", str(out)])
    assert code == 130
    assert "adaspec: interrupted" in capsys.readouterr().err
    assert not out.exists() or list(out.iterdir()) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_in_a_finaliser_during_the_catalog_scan_stops_evaluate(
    trained_run: TrainResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adaspec.data import scan

    monkeypatch.setattr(scan, "load_audio", ctrl_c_in_finaliser_on_call(scan.load_audio, 2))
    out = tmp_path / "out"
    assert main(["-q", "evaluate", str(trained_run.paths.root), "--split", "test", "--out", str(out)]) == 130
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("call", [0, 29], ids=["the first file", "the last file"])
def test_a_ctrl_c_in_a_finaliser_stops_predict_with_130_and_no_output(
    trained_run: TrainResult,
    tone_dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    call: int,
) -> None:
    monkeypatch.setattr(predict, "load_audio", ctrl_c_in_finaliser_on_call(predict.load_audio, call))
    assert main(["-q", "predict", str(trained_run.paths.root), str(tone_dataset)]) == 130
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "adaspec: interrupted" in captured.err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
