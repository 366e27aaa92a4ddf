"""The ``adaspec`` command line: exit codes, one-line user errors, ``--debug`` tracebacks."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.errors import ConfigError
from tests.datasets import tiny_overrides
from tests.helpers import run_blocked


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text("data: {root: /nowhere}\n")
    return path


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optim.lrr=1", "optim.lrr"),
        ("optim.lr=fast", "optim.lr"),
        ("frontend.name=wavelet9", "frontend.name"),
        ("model.backbone=vgg", "model.backbone"),
    ],
)
def test_config_errors_exit_2_with_one_line(
    config_file: Path, override: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", str(config_file), override]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"adaspec: error: config key '{key}'")


def test_missing_data_root_exits_2(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "train", str(config_file)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/nowhere" in err[0]


def test_debug_shows_the_exception(config_file: Path) -> None:
    with pytest.raises(ConfigError):
        main(["--debug", "train", str(config_file), "optim.lrr=1"])


def test_python_warnings_are_one_line_and_debug_keeps_python_s_form(tmp_path: Path) -> None:
    """A library warning (here: the mel's empty filters at its defaults) is one line, not Python's file,
    line number and source line; ``--debug`` shows Python's form. Run in a fresh process: Python shows a
    warning once per place."""
    wave = tmp_path / "a.wav"
    code = (
        "import numpy as np, soundfile as sf, sys; from adaspec.cli import main; "
        f"sf.write({str(wave)!r}, np.zeros(8000, dtype='float32'), 8000); "
        f"sys.exit(main(sys.argv[2:] + ['spectrogram', {str(wave)!r}, '--frontend', 'mfcc', "
        "'--out', sys.argv[1]]))"
    )
    run = [sys.executable, "-c", code]
    plain = subprocess.run([*run, str(tmp_path / "plain")], capture_output=True, text=True, timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.splitlines() == [
        "warning: some of the n_mels=128 mel filters are empty; n_mels is too high for n_fft=400"
    ]
    debug = subprocess.run(
        [*run, str(tmp_path / "debug"), "--debug"], capture_output=True, text=True, timeout=300
    )
    assert "UserWarning: some of the n_mels=128 mel filters are empty" in debug.stderr


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["train"])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_console_script_train_smoke(tone_dataset: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.yaml"
    config.write_text("trainer: {max_epochs: 2}\n")
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "adaspec.cli", "-q", "train", str(config), *tiny_overrides(tone_dataset)]
    done = subprocess.run([*command, "--runs-dir", str(runs)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "run " in done.stdout and "val file accuracy" in done.stdout
    metrics = json.loads((runs / "tiny" / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2
    assert metrics["best"]["val/acc_file"] > 1 / 3 + 0.1  # three balanced classes: chance is 1/3
    help_text = subprocess.run(
        [sys.executable, "-m", "adaspec.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for command_name in ("train", "evaluate", "predict"):
        assert command_name in help_text


def test_missing_soundfont_exits_2_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nothere.sf2"
    code = main(["data", "instruments", "--soundfont", str(missing), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0]


def test_bad_pitch_grid_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["data", "instruments", "--out", str(tmp_path), "--pitches", "60:200"])
    assert code == 2
    assert "--pitches" in capsys.readouterr().err


def test_compare_unknown_variant_exits_2(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(config_file), "--variants", "stft,nonsense"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nonsense" in err[0]


def test_compare_reference_outside_the_variants_exits_2(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(config_file), "--variants", "stft,mel", "--reference", "cqt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--reference" in err[0] and "'cqt'" in err[0]


def test_compare_overwrite_with_report_only_exits_2(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["compare", str(config_file), "--out", str(tmp_path / "study"), "--report-only", "--overwrite"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--overwrite" in err[0] and "--report-only" in err[0]
    assert not (tmp_path / "study").exists()


def test_missing_cli_extra_exits_2_with_the_install_hint(config_file: Path) -> None:
    """Installed without the ``cli`` extra, the command names the missing package and the pip command."""
    call = f"main(['train', {str(config_file)!r}])"
    code = f"import sys, tests.blocking; from adaspec.cli import main; sys.exit({call})"
    result = run_blocked(code, ["lightning"])
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "adaspec: error: the adaspec command needs lightning, which is not installed: "
        "pip install 'adaspec[cli]' (or '.[cli]' in a clone)"
    ]
    debug = run_blocked(code.replace("['train'", "['--debug', 'train'"), ["lightning"])
    assert "Traceback" in debug.stderr and "ModuleNotFoundError" in debug.stderr


def test_overrides_may_follow_options(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``KEY=VALUE`` after an option is an override (it reaches config checking), not an argparse error."""
    assert main(["train", str(config_file), "--name", "x", "optim.lrr=1"]) == 2
    assert capsys.readouterr().err.startswith("adaspec: error: config key 'optim.lrr'")
    with pytest.raises(SystemExit) as stop:
        main(["predict", "run", "a.wav", "--bogus"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "run", "a.wav", "--top-k", "0"], "--top-k: must be an integer >= 1, got 0"),
        (["train"], "the following arguments are required: config (see --help)"),
        (["data", "instruments", "--out", "d", "--workers", "x"], "--workers: must be an integer >= 1"),
    ],
)
def test_argument_errors_are_one_line(argv, message, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_output_folder_that_is_a_file_and_empty_name(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", str(config_file), "--runs-dir", str(config_file)]) == 2
    assert "--runs-dir" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--out", str(config_file)]) == 2
    assert f"--out {config_file} is a file" in capsys.readouterr().err
    assert main(["train", str(config_file), "--name", ""]) == 2
    assert "--name must not be empty" in capsys.readouterr().err
    assert main(["train", str(tmp_path)]) == 2
    assert "is a folder; give a YAML or JSON config file" in capsys.readouterr().err


def test_output_folders_that_cannot_be_made_are_one_line(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    under_a_file = config_file / "sub"
    assert main(["train", str(config_file), "--runs-dir", str(under_a_file)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"adaspec: error: --runs-dir {under_a_file}: {config_file} is a file, so the folder {under_a_file} "
        "cannot be made"
    ]
    assert main(["evaluate", str(tmp_path), "--out", str(under_a_file / "deeper")]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--output", str(under_a_file / "model.onnx")]) == 2
    assert f"--output {under_a_file / 'model.onnx'}: {config_file} is a file" in capsys.readouterr().err


def test_os_errors_on_paths_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import adaspec.cli as cli

    def fail(args: object) -> int:
        raise OSError(28, "No space left on device", "/runs/tiny/checkpoints/last.ckpt")

    monkeypatch.setattr(cli, "_run", fail)
    assert main(["predict", "run", "a.wav"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == ["adaspec: error: /runs/tiny/checkpoints/last.ckpt: No space left on device"]
    with pytest.raises(OSError):
        main(["predict", "run", "a.wav", "--debug"])  # --debug after the command works too


def test_global_flags_may_follow_the_command(config_file: Path) -> None:
    from adaspec.cli import parse_arguments

    assert parse_arguments(["train", str(config_file), "--debug", "-q"]).debug is True
    assert parse_arguments(["--debug", "train", str(config_file)]).debug is True  # not reset by the command
    assert parse_arguments(["train", str(config_file)]).debug is False
    assert parse_arguments(["data", "instruments", "--out", "x", "--debug"]).debug is True


class MisconfigurationException(Exception):
    """Stands in for Lightning's exception of that name (recognised by name)."""


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ValueError("input of 16 samples is too short\nfor n_fft=512"), 2),
        (MisconfigurationException("no GPU"), 2),
        (RuntimeError("a bug"), None),
    ],
)
def test_value_errors_are_user_errors_and_bugs_keep_their_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: Exception, expected
) -> None:
    import adaspec.cli as cli

    def fail(args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "_run", fail)
    if expected is None:
        with pytest.raises(RuntimeError):
            main(["predict", "run", "a.wav"])
        return
    assert main(["predict", "run", "a.wav"]) == expected
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"adaspec: error: {' '.join(str(error).split())}"]
    with pytest.raises(type(error)):
        main(["--debug", "predict", "run", "a.wav"])


def test_a_closed_output_pipe_ends_quietly() -> None:
    """``adaspec predict ... | head``: the reader leaving is not an error and prints no traceback."""
    code = (
        "import sys, adaspec.cli as cli\n"
        "def run(args):\n"
        "    raise BrokenPipeError\n"
        "cli._run = run\n"
        "sys.exit(cli.main(['predict', 'run', 'a.wav']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == ""


def test_python_dash_m_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "adaspec", "predict", "--help"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0 and "usage: adaspec predict" in result.stdout


def test_a_config_name_that_cannot_name_the_run_says_so(tmp_path: Path, capsys) -> None:
    config = tmp_path / "my config ü.yaml"
    config.write_text("trainer: {max_epochs: 1}\n")
    assert main(["train", str(config), f"data.root={tmp_path}"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "run name 'my config ü' must be ASCII letters" in error[0]
    assert "it comes from the config file's name: give one with --name" in error[0]


def test_quiet_also_hides_progress_bars(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    seen: dict[str, bool] = {}

    def fake_train(config, **_: object) -> SimpleNamespace:
        seen["train"] = config["trainer"]["progress_bar"]
        return SimpleNamespace(best={}, paths=SimpleNamespace(root=tmp_path))

    def fake_render(*_: object, progress: bool, **__: object) -> SimpleNamespace:
        seen["data"] = progress
        return SimpleNamespace(format=lambda: "rendered")

    monkeypatch.setattr("adaspec.training.train", fake_train)
    monkeypatch.setattr("adaspec.data.instruments.render_instruments", fake_render)
    for flags, bar in (([], True), (["-q"], False), (["-q", "trainer.progress_bar=true"], True)):
        assert main(["train", str(config_file), *flags]) == 0
        assert seen["train"] is bar
    for flags, bar in (([], True), (["-q"], False)):
        assert main(["data", "instruments", "--out", str(tmp_path / "d"), *flags]) == 0
        assert seen["data"] is bar


@pytest.mark.parametrize(
    ("command", "option"),
    [(["train"], "--name"), (["search", "--trials", "1"], "--study"), (["compare"], "--out")],
)
def test_a_config_from_a_pipe_needs_an_output_name(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    option: str,
) -> None:
    """``adaspec train <(...)`` reads /dev/fd/63: its name would call every such run "63"."""
    import os
    import threading

    pipe = tmp_path / "63"
    os.mkfifo(pipe)
    threading.Thread(target=lambda: pipe.write_text("trainer: {max_epochs: 1}\n"), daemon=True).start()
    monkeypatch.chdir(tmp_path)  # the default output folders are under ./runs
    name, *options = command
    assert main([name, str(pipe), *options, f"data.root={tmp_path}"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"adaspec: error: the config {pipe} is not a file, so it cannot name the output: give {option}"
    ]
    assert not (tmp_path / "runs").exists()


def test_a_config_from_a_pipe_is_refused_for_a_distributed_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lightning starts the other processes with the same command line: they could not read the pipe."""
    import os
    import threading

    pipe = tmp_path / "config"
    os.mkfifo(pipe)
    threading.Thread(target=lambda: pipe.write_text("trainer: {max_epochs: 1}\n"), daemon=True).start()
    devices = ["trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp"]
    argv = ["train", str(pipe), "--name", "x", f"data.root={tmp_path}", *devices, "--runs-dir", str(tmp_path)]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"adaspec: error: the config {pipe} is not a file, and the other processes of a distributed run read "
        "it again: save it to a file"
    ]


def test_main_leaves_the_adaspec_logger_as_it_found_it(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``main()`` may run many times in one process: the handler it adds wrote to the ``sys.stderr`` of its
    call, which in a later caller (here: after pytest closed that capture) printed '--- Logging error ---'
    for each adaspec log line."""
    import logging

    logger = logging.getLogger("adaspec")
    before = (logger.handlers[:], logger.level, logger.propagate)
    assert main(["train", str(config_file), "optim.lr=-1"]) == 2
    assert "optim.lr" in capsys.readouterr().err
    assert (logger.handlers, logger.level, logger.propagate) == before


def test_a_file_name_that_starts_with_a_dash_gets_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """argparse reads ``-x.wav`` as an option; the one-line error said only that PATH was missing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-x.wav").touch()
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", "run", "-x.wav"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert error[0].endswith("; to name the file -x.wav, write ./-x.wav or put -- before it (see --help)")
    with pytest.raises(SystemExit):
        main(["predict", "--top-k"])  # no such file: no hint
    assert "to name the file" not in capsys.readouterr().err


def test_render_split_option_allows_an_equals_sign_in_the_stem_and_refuses_two_splits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from types import SimpleNamespace

    seen: dict[str, object] = {}

    def fake_render(*_: object, splits: object, **__: object) -> SimpleNamespace:
        seen["splits"] = splits
        return SimpleNamespace(format=lambda: "rendered")

    monkeypatch.setattr("adaspec.data.instruments.render_instruments", fake_render)
    command = ["data", "instruments", "--out", str(tmp_path / "d"), "-q"]
    assert main([*command, "--split", "mix=2=train", "--split", "x=val", "--split", "x=val"]) == 0
    assert seen["splits"] == {"mix=2": "train", "x": "val"}
    capsys.readouterr()
    for bad, words in ((["x=val", "x=test"], "two splits, val and test"), (["=train"], "must look like")):
        seen.clear()
        assert main([*command, *(f"--split={text}" for text in bad)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--split" in err[0] and words in err[0] and not seen


@pytest.mark.parametrize("rate", ["4000", "192000"])
def test_render_sample_rate_outside_fluidsynths_range_names_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["data", "instruments", "--out", str(tmp_path / "d"), "--sample-rate", rate])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--sample-rate: must be in 8000..96000 Hz" in err[0]
    assert not (tmp_path / "d").exists()


def test_quiet_also_quiets_lightnings_info_lines() -> None:
    # -q hid adaspec's INFO lines only: every process of a multi-process run still printed Lightning's
    # "Initializing distributed: GLOBAL_RANK: ..." (from lightning.fabric.utilities.distributed).
    import lightning  # noqa: F401  (sets up Lightning's loggers as a run would)

    from adaspec.cli import _configured_logging
    from adaspec.training.train import quiet_lightning

    distributed = logging.getLogger("lightning.fabric.utilities.distributed")
    names = ("lightning.pytorch", "lightning.fabric")
    before = {name: logging.getLogger(name).level for name in names}
    with _configured_logging(debug=False, quiet=True):
        assert not distributed.isEnabledFor(logging.INFO)
        assert not logging.getLogger("lightning.pytorch.trainer").isEnabledFor(logging.INFO)
        logging.getLogger("lightning.fabric").setLevel(logging.INFO)  # as importing Lightning does
        quiet_lightning()  # what a run does once Lightning is loaded
        assert not distributed.isEnabledFor(logging.INFO)
    assert {name: logging.getLogger(name).level for name in names} == before
    quiet_lightning()  # the Python API, not under -q: Lightning's logging stays as Lightning sets it
    with _configured_logging(debug=False, quiet=False):
        assert distributed.isEnabledFor(logging.INFO)
    assert distributed.isEnabledFor(logging.INFO)


def test_a_warning_raised_from_several_places_is_shown_once(
    tmp_path: Path, tone_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The mel is built to check the config, again for the model, ...: each warned from another place.
    config = tmp_path / "c.yaml"
    config.write_text("{}\n")
    overrides = tiny_overrides(tone_dataset, **{"frontend.name": "mel", "frontend.n_mels": 128})
    overrides = [o for o in overrides if not o.startswith("frontend.output=")]  # not a mel key
    assert (
        main(["-q", "train", str(config), *overrides, "trainer.max_epochs=1", "--runs-dir", str(tmp_path)])
        == 0
    )
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert lines == [
        "warning: some of the n_mels=128 mel filters are empty; n_mels is too high for n_fft=256"
    ]
