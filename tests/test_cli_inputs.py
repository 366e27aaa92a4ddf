"""The ``adaspec`` command line on hostile inputs: empty strings, conflicting options, paths that are not
UTF-8, and help texts that name the real defaults."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from adaspec import __version__
from adaspec.cli import _leaf_parsers, build_parser, main, parse_arguments

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{root: {tmp_path}}}\n")
    return path


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main(argv)``, expect an argparse error (exit 2), return its one line."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"adaspec {__version__}"


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["train", ""], "config"),
        (["train", "c.yaml", "--runs-dir", ""], "--runs-dir"),
        (["evaluate", "run", "--out", ""], "--out"),
        (["evaluate", "run", "--data="], "--data"),
        (["predict", "run", ""], "PATH"),
        (["spectrogram", "a.wav", "--out", ""], "--out"),
        (["compare", "c.yaml", "--out", ""], "--out"),
        (["export", "run", "--output", ""], "--output"),
    ],
)
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
) -> None:
    """``Path("")`` is ``.``: ``--runs-dir ""`` trained into the current folder, ``--out ""`` wrote the
    reports there, ``predict RUN ""`` labelled every audio file under it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.yaml").write_text(f"data: {{root: {tmp_path}}}\n")
    error = _usage_error(argv, capsys)
    assert f"argument {option}: must not be empty" in error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.yaml"]


def test_an_empty_size_is_refused_not_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: dict[str, object] = {}

    def fake_write(*_: object, size: object, **__: object) -> SimpleNamespace:
        seen["size"] = size
        return SimpleNamespace(written=[], failed=[])

    monkeypatch.setattr("adaspec.plots.images.write_spectrogram_images", fake_write)
    assert main(["spectrogram", "a.wav", "--out", str(tmp_path / "o"), "--size", ""]) == 2
    assert "--size ''" in capsys.readouterr().err and not seen


def test_search_refuses_a_timeout_of_nan_and_names_a_bad_sampler_seed(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--timeout nan`` compared false with the elapsed time, so the worker took no trial and exited 0;
    ``--sampler-seed -1`` stopped with numpy's "Seed must be between 0 and 2**32 - 1", naming no option."""

    runs = config_file.parent / "runs"
    assert (
        main(["search", str(config_file), "--trials", "1", "--timeout", "nan", "--runs-dir", str(runs)]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["adaspec: error: --timeout must be > 0 seconds, got nan"]
    assert not runs.exists()  # refused before a study or a trial is made
    for seed in ("-1", str(2**32)):
        error = _usage_error(["search", str(config_file), "--trials", "1", "--sampler-seed", seed], capsys)
        assert f"argument --sampler-seed: must be an integer in 0..4294967295, got '{seed}'" in error
    assert parse_arguments(["search", "c", "--trials", "1", "--sampler-seed", str(2**32 - 1)]).sampler_seed


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_strict_conflicting_with_a_data_strict_override_is_refused(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """``--strict data.strict=false`` silently ran strict (the flag was appended after the overrides)."""
    seen: dict[str, object] = {}

    def fake_train(config: dict, **_: object) -> SimpleNamespace:
        seen["strict"] = config["data"]["strict"]
        return SimpleNamespace(best={}, paths=SimpleNamespace(root=config_file.parent))

    def fake_evaluate(*_: object, overrides: list[str], **__: object) -> SimpleNamespace:
        seen["overrides"] = overrides
        return SimpleNamespace(format=lambda: "report")

    monkeypatch.setattr("adaspec.training.train", fake_train)
    monkeypatch.setattr("adaspec.training.evaluate_run", fake_evaluate)
    target = str(config_file) if command == "train" else str(config_file.parent)
    assert main(["-q", command, target, "--strict", "data.strict=false"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["adaspec: error: --strict conflicts with data.strict=false; give one of them"]
    assert not seen
    assert main(["-q", command, target, "--strict", "data.strict=true"]) == 0  # the same thing twice


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["train", "{config}", "--runs-dir", "{tmp}/r\udcffuns"], "--runs-dir {tmp}/r\\xffuns"),
        (["compare", "{config}", "--out", "{tmp}/c\udcff"], "--out {tmp}/c\\xff"),
        (["search", "{config}", "--trials", "1", "--runs-dir", "{tmp}/s\udcff"], "--runs-dir {tmp}/s\\xff"),
        (["export", "{tmp}", "--output", "{tmp}/m\udcff.pt2"], "--output {tmp}/m\\xff.pt2"),
        (["export", "{tmp}/r\udcffun"], "RUN_DIR|CKPT {tmp}/r\\xffun"),
    ],
)
def test_an_output_path_that_is_not_utf8_is_refused_where_tensorboard_or_an_exporter_writes(
    config_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    shown: str,
) -> None:
    """TensorBoard failed after the data was read with "'utf-8' codec can't encode character '\\udcff'",
    naming no path; exporting to such a file gave a traceback (ONNX) or aborted the process (pt2)."""
    values = {"config": str(config_file), "tmp": str(tmp_path)}
    assert main([text.format(**values) for text in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"adaspec: error: {shown.format(**values)} is not valid UTF-8")


def _helps_of(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    """``(command, action)`` for every option of every leaf command."""
    return [(leaf.prog, action) for leaf in _leaf_parsers(parser) for action in leaf._actions]


def test_every_default_is_in_its_help_text() -> None:
    """The help printed no default for --runs-dir, --split, --top-k, --format, --seeds, --heartbeat, ..."""
    missing = []
    for prog, action in _helps_of(build_parser()):
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            continue
        if f"default: {default}" not in " ".join((action.help or "").split()):
            missing.append(f"{prog} {action.option_strings or action.dest}: {default}")
    assert not missing


def test_help_texts_name_real_files_and_every_front_end() -> None:
    """The train help's example named configs/gtzan.yaml, which does not exist; spectrogram's --frontend
    help offered four front-ends where any registered one works."""
    parser = build_parser()
    commands = {leaf.prog.split()[-1]: leaf for leaf in _leaf_parsers(parser)}
    for name in re.findall(r"configs/[\w.]+\.yaml", commands["train"].description or ""):
        assert (REPO / name).is_file(), name
    frontend = next(a for a in commands["spectrogram"]._actions if a.dest == "frontend")
    assert "any other registered front-end" in (frontend.help or "")


@pytest.mark.parametrize(
    ("data", "override", "key"),
    [("other", "data.root=/elsewhere", "data.root"), ("list.csv", " data.manifest =b.csv", "data.manifest")],
)
def test_evaluate_data_conflicting_with_an_override_of_its_key_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    data: str,
    override: str,
    key: str,
) -> None:
    """``--data DIR data.root=OTHER`` evaluated OTHER and silently ignored ``--data``."""
    seen: list[object] = []
    monkeypatch.setattr("adaspec.training.evaluate_run", lambda *args, **kwargs: seen.append(kwargs))
    assert main(["evaluate", str(tmp_path), "--data", data, override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"adaspec: error: --data {data} conflicts with {override.strip()}: both set {key}; give one of them"
    ]
    assert not seen


def test_evaluate_data_csv_may_come_with_a_data_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest's relative paths are read against ``data.root``: the two do not conflict."""
    seen: list[object] = []

    def fake_evaluate(*_: object, **kwargs: object) -> SimpleNamespace:
        seen.append(kwargs)
        return SimpleNamespace(format=lambda: "report")

    monkeypatch.setattr("adaspec.training.evaluate_run", fake_evaluate)
    assert main(["-q", "evaluate", str(tmp_path), "--data", "list.csv", "data.root=/audio"]) == 0
    assert len(seen) == 1
