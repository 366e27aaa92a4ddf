"""The benchmark scripts' argument handling, their optional peers and their reports, without timing
anything: the scripts' ``run`` is replaced where a test reaches it, and reports are rendered from made-up
samples."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str, monkeypatch: pytest.MonkeyPatch, blocked: tuple[str, ...] = ()) -> ModuleType:
    """Import ``benchmarks/<name>.py`` afresh, with the packages in ``blocked`` made unimportable."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for package in blocked:
        monkeypatch.setitem(sys.modules, package, None)
    spec = importlib.util.spec_from_file_location(f"_bench_under_test_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_bench_leaf_runs_a_repeated_band_count_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are keyed by name: a repeated --bands gave rows of the same name, whose medians overwrote each
    other's (and the ratios were taken against the wrong reference)."""
    leaf = load("bench_leaf", monkeypatch)
    seen: dict[str, Any] = {}

    def fake_run(**kwargs: Any) -> str:
        seen.update(kwargs)
        return "report"

    monkeypatch.setattr(leaf, "run", fake_run)
    assert leaf.main(["--bands", "40", "--bands", "40", "--bands", "64", "--quick"]) == 0
    assert list(seen["bands"]) == [40, 64]


def test_bench_onnx_without_onnxruntime_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    onnx = load("bench_onnx", monkeypatch, blocked=("onnxruntime",))

    def must_not_run(**kwargs: Any) -> str:
        raise AssertionError("run() reached without onnxruntime")

    monkeypatch.setattr(onnx, "run", must_not_run)
    assert onnx.main(["--quick"]) == 2
    err = capsys.readouterr().err.strip()
    assert "onnxruntime" in err and len(err.splitlines()) == 1


def test_bench_fourier_without_nnaudio_leaves_its_rows_out(monkeypatch: pytest.MonkeyPatch) -> None:
    fourier = load("bench_fourier", monkeypatch, blocked=("nnAudio",))
    assert fourier.nn_features is None
    for case in fourier.CASES:
        kept = fourier.runnable(case, bf16=False)
        assert not any(spec.name.startswith("nnAudio") for spec in kept.impls)
        assert [spec.role for spec in kept.impls].count("reference") == 1
        assert not any(spec.slow for spec in kept.impls)
    window = fourier.runnable(fourier.CASES_BY_KEY["stft-window"], bf16=False)
    assert window.reference.name == "torch.stft(grad window) + abs"

    # a report from made-up samples: the targets against nnAudio are not judged, the others are
    config = fourier.CONFIGS["A"]
    results = []
    for case in fourier.CASES:
        kept = fourier.runnable(case, bf16=False)
        rows = [fourier.Row(spec, [0.010, 0.012, 0.011]) for spec in kept.impls]
        results.append(fourier.CaseResult(config, kept, rows, []))
    settings = fourier.Settings(3, 1.0, 1, 3, 1, memory=False, bf16=False, threads=1)
    report = fourier.render(results, settings, 1.0)
    assert report.count("- not judged:") == 3
    assert "- FAIL: fixed STFT magnitude forward" in report  # 1.0x, target <= 0.8x


def test_bench_fourier_judges_against_nnaudio_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("nnAudio")
    fourier = load("bench_fourier", monkeypatch)
    for case in fourier.CASES:
        assert fourier.runnable(case, bf16=True).impls == case.impls


def test_bench_cqt_without_nnaudio_reports_without_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    cqt = load("bench_cqt", monkeypatch, blocked=("nnAudio",))
    assert not any(row.name.startswith("nnAudio") for row in cqt.ROWS)
    impls = []
    for row in cqt.ROWS:
        impl = cqt.timing.Timed(row.name, lambda: None)
        impl.samples = [0.5, 0.6, 0.7] if row is cqt.LIBROSA else [0.01, 0.012, 0.011]
        impls.append(impl)
    measured = [[1e-3, 1e-3, 1e-6, 1e-6] for _ in cqt.ROWS]
    report = cqt.render(impls, measured, 3, (float("nan"), float("nan")), 1.0)
    assert "- not judged:" in report and "nnAudio is not installed" in report
    assert "- PASS: adaspec CQT, multirate (default): 54.5x faster than librosa" in report
