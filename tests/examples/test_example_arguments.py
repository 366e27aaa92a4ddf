"""The example scripts refuse bad arguments at once (exit code 2, one line), before they install system
packages, render or write data, or train: nothing heavy runs here (those steps are replaced by sentinels)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class Reached(Exception):
    """A step the script must not reach with bad arguments."""


def _sentinel(*args: object, **kwargs: object) -> None:
    raise Reached


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``examples/<name>.py`` afresh (the examples folder on sys.path, as when run as a script)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    for cached in ("instrument_demo", "instrument_study", "training_demo", "synthetic_instruments"):
        monkeypatch.delitem(sys.modules, cached, raising=False)
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


def with_sentinels(name: str, steps: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """:func:`load` the example with its heavy ``steps`` replaced by sentinels that fail if reached."""
    module = load(name, monkeypatch)
    for step in steps:
        monkeypatch.setattr(module, step, _sentinel)
    return module


INSTALL_RENDER_COMPARE = ("ensure_system_packages", "render_instruments", "run_comparison")


def run_main(module: ModuleType, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int | str | None:
    monkeypatch.setattr(sys, "argv", [f"{module.__name__}.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        module.main()
    return exit_info.value.code


@pytest.mark.parametrize(
    "argv", [["--variants", "bogus"], ["--variants", ","], ["--epochs", "0"], ["--seeds", "0"]]
)
def test_instrument_demo_refuses_bad_arguments_before_installing(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = with_sentinels("instrument_demo", INSTALL_RENDER_COMPARE, monkeypatch)
    assert run_main(demo, ["--out", str(tmp_path / "out"), *argv], monkeypatch) == 2
    assert "error: --" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "argv", [["--variants", "bogus"], ["--variants", "mel_fixed,nope"], ["--epochs", "0"]]
)
def test_training_demo_refuses_bad_arguments_before_writing_data(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = with_sentinels("training_demo", ("write_dataset", "train", "evaluate_run"), monkeypatch)
    assert run_main(demo, ["--out", str(tmp_path / "out"), *argv], monkeypatch) == 2
    assert "error: --" in capsys.readouterr().err


def test_instrument_study_refuses_no_seeds_before_installing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = with_sentinels("instrument_study", INSTALL_RENDER_COMPARE, monkeypatch)
    argv = ["--data", str(tmp_path / "data"), "--out", str(tmp_path / "out"), "--seeds", "0"]
    assert run_main(study, argv, monkeypatch) == 2
    assert "error: --seeds" in capsys.readouterr().err


def test_training_demo_accepts_a_subset(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    demo = with_sentinels("training_demo", ("write_dataset",), monkeypatch)
    monkeypatch.setattr(sys, "argv", ["training_demo.py", "--out", str(tmp_path), "--variants", "mel_fixed"])
    with pytest.raises(Reached):  # the arguments pass; the first heavy step is reached
        demo.main()
