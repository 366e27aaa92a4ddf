"""``adaspec search`` in one process: pruned and completed trials, the best config, continuing a study,
resuming an interrupted trial, and one-line errors for bad spaces and storages."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import lightning as L
import optuna
import pytest
import yaml
from lightning.pytorch.utilities.exceptions import SIGTERMException

from adaspec.cli import main
from adaspec.config import resolve_config, save_config, set_dotted
from adaspec.errors import UserError
from adaspec.studies import search
from adaspec.studies.pruning import PruningCallback
from adaspec.studies.space import apply_params
from adaspec.studies.storage import display_url
from adaspec.training import train


def _study(runs: Path, name: str = "tiny") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{runs / f'search-{name}' / 'optuna.db'}")


def test_search_prunes_completes_and_its_best_config_reproduces(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    args = ["search", str(config), "--space", str(space), "--runs-dir", str(runs), "--startup-trials", "2"]
    assert main([*args, "--trials", "6", "--sampler-seed", "1"]) == 0
    printed = capsys.readouterr().out
    assert "| trial | state | val acc (file) |" in printed and "best: trial" in printed

    trials = _study(runs).get_trials()
    states = [trial.state for trial in trials]
    assert len(trials) == 6
    assert states.count(optuna.trial.TrialState.PRUNED) >= 1
    assert states.count(optuna.trial.TrialState.COMPLETE) >= 1
    assert states.count(optuna.trial.TrialState.PRUNED) + states.count(optuna.trial.TrialState.COMPLETE) == 6
    for trial in trials:  # every trial is an ordinary run directory
        assert (runs / "search-tiny" / f"trial-{trial.number:04d}" / "metrics.json").exists()
    with (runs / "search-tiny" / "trials.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 6

    completed = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = max(completed, key=lambda t: (t.value, -t.number))
    best_file = runs / "search-tiny" / "best_config.yaml"
    saved = yaml.safe_load(best_file.read_text())
    assert saved["optim"]["lr"] == pytest.approx(best.params["optim.lr"])
    assert saved["eval"]["n_parts"] == best.params["eval.n_parts"]
    again = train(resolve_config(best_file), name="again", runs_dir=tmp_path / "again")
    assert again.best is not None and again.best["val/acc_file"] == pytest.approx(best.value, abs=1e-6)

    # The same command again continues the study: a larger budget adds only the missing trials.
    assert main([*args, "--trials", "7"]) == 0
    assert len(_study(runs).get_trials()) == 7
    assert "this worker ran 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "space_text, message",
    [
        ("optim.nope: {type: float, low: 0.1, high: 1.0}\n", "optim.nope"),
        ("optim.lr: {type: float, low: 0.1, high: 0.01}\n", "low (0.1) is greater than high (0.01)"),
        ("optim.lr: {type: float, low: 0, high: 0.1, log: true}\n", "log scale needs low > 0"),
    ],
)
def test_bad_space_exits_2_with_one_line(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    space_text: str,
    message: str,
) -> None:
    config, _ = search_files
    space = tmp_path / "bad.yaml"
    space.write_text(space_text)
    code = main(["search", str(config), "--trials", "2", "--space", str(space), "--runs-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not list(tmp_path.glob("search-*"))  # nothing started


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql://someone:secret@127.0.0.1:1/none", "cannot open the study storage"),
        ("nonsense", "is not a database URL"),
        ("nosuchdb://someone@127.0.0.1:1/none", "unknown database kind 'nosuchdb'"),
        # Before, an in-memory SQLite URL ran the whole search and lost it (nothing to continue or share, no
        # lock between workers), and an empty one quietly used the default file.
        ("sqlite://", "--storage sqlite://: an in-memory database would lose the study"),
        ("sqlite:///:memory:", "an in-memory database would lose the study"),
        ("", "--storage is empty"),
    ],
)
def test_a_storage_that_cannot_hold_the_study_exits_2_with_one_line(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    url: str,
    message: str,
) -> None:
    config, space = search_files
    args = ["search", str(config), "--trials", "2", "--space", str(space), "--runs-dir", str(tmp_path)]
    assert main([*args, "--storage", url]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert "secret" not in err[0]  # passwords are masked
    assert not list(tmp_path.glob("search-*"))  # nothing started


def test_display_url_masks_the_password() -> None:
    assert display_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"


@pytest.mark.parametrize("option", ["--trials=0", "--heartbeat=0", "--timeout=-1"])
def test_bad_numbers_exit_2(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    config, space = search_files
    args = ["search", str(config), "--space", str(space), "--runs-dir", str(tmp_path)]
    if not option.startswith("--trials"):
        args += ["--trials", "2"]
    assert main([*args, option]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_missing_data_stops_before_a_study_is_made(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data root that does not exist is one line, and no study database or failed trial is left."""
    config, space = search_files
    args = ["search", str(config), "data.root=/nonexistent", "--trials", "1", "--space", str(space)]
    assert main([*args, "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["adaspec: error: root '/nonexistent' does not exist or is not a folder"]
    assert not list(tmp_path.glob("search-*"))


def test_a_study_is_continued_only_with_its_base_config(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Trials of two base configs in one study would make ``best_config.yaml`` combine one experiment's
    parameters with the other's config."""
    config, space = search_files
    runs = tmp_path / "runs"
    args = ["search", str(config), "--space", str(space), "--runs-dir", str(runs), "--trials", "1"]
    assert main(["-q", *args]) == 0
    capsys.readouterr()
    assert main(["-q", *args, "frontend.n_fft=128", "--trials", "2"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "study 'tiny' was started with another base config (frontend.n_fft: 256 -> 128)" in error[0]
    assert len(_study(runs).get_trials()) == 1
    # keys that only say how a machine runs may differ between the workers of a study
    assert main(["-q", *args, "data.num_workers=1", "trainer.progress_bar=true"]) == 0
    other_space = tmp_path / "other_space.yaml"
    other_space.write_text(space.read_text() + "model.hidden: {type: int, low: 16, high: 32}\n")
    capsys.readouterr()
    assert main(["-q", *args[:2], "--space", str(other_space), *args[4:]]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "study 'tiny' was started with another search space (model.hidden:" in error[0]
    # the added dimension as its file writes it, not the record's every field (key, unset bounds: None)
    assert (
        "(model.hidden: None -> {'kind': 'int', 'low': 16, 'high': 32" in error[0] and "'key'" not in error[0]
    )


def test_a_refused_study_is_one_line_without_optunas_loading_note(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Optuna's "Using an existing study" note is not printed before the one-line refusal (without -q;
    in a fresh process, where Optuna's handler writes to this stderr)."""
    config, space = search_files
    args = ["search", str(config), "--space", str(space), "--runs-dir", str(tmp_path), "--trials", "1"]
    assert main(["-q", *args]) == 0
    command = [sys.executable, "-m", "adaspec", *args, "frontend.n_fft=128"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2
    error = refused.stderr.strip().splitlines()
    assert len(error) == 1 and "was started with another base config" in error[0], refused.stderr


def test_a_study_name_from_the_config_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sp ace.yaml"
    config.write_text("trainer: {max_epochs: 1}\n")
    assert main(["search", str(config), f"data.root={tmp_path}", "--trials", "1"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "comes from the config file's name: give one with --study" in error[0]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "",
            "--study must be a non-empty name (leave it out to name the study after the config file), got ''",
        ),
        ("a/b", "--study 'a/b': run name 'search-a/b' must be ASCII letters"),
    ],
)
def test_a_bad_study_name_is_refused_before_anything_else(
    search_files: tuple[Path, Path], tmp_path: Path, name: str, message: str
) -> None:
    """An empty name ran the study in the folder ``search-``."""
    config = resolve_config(search_files[0])
    with pytest.raises(UserError) as info:
        search.run_search(config, trials=1, study_name=name, runs_dir=tmp_path / "runs")
    assert str(info.value).startswith(message)
    assert not (tmp_path / "runs").exists()


def test_an_empty_study_name_exits_2_with_one_line(
    search_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    args = ["search", str(config), "--space", str(space), "--runs-dir", str(runs), "--trials", "1"]
    assert main([*args, "--study", ""]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("adaspec: error: --study must be a non-empty name")
    assert not runs.exists()


def test_failed_trials_are_logged_in_one_line_unless_debugging() -> None:
    import io
    import logging

    from adaspec.cli import _configured_logging
    from adaspec.studies.search import _trial_errors_in_one_line

    _trial_errors_in_one_line()
    handlers = logging.getLogger("optuna").handlers
    assert handlers and all(handler.filters for handler in handlers)

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.filters = list(handlers[0].filters)  # the filter the search puts on Optuna's handlers
    logger = logging.getLogger("optuna.test_one_line")
    logger.addHandler(handler)
    try:
        for debug in (False, True):
            with _configured_logging(debug=debug, quiet=False):
                try:
                    raise ValueError("n_fft too long")
                except ValueError as err:
                    logger.warning("Trial 0 failed because of the following error: %r", err, exc_info=err)
            text = stream.getvalue()
            stream.seek(0)
            stream.truncate()
            assert "the following error: ValueError('n_fft too long')" in text
            assert ("Traceback" in text) is debug
    finally:
        logger.removeHandler(handler)


class _StopInEpoch(PruningCallback):
    """The search's pruning callback, raising ``error`` at the end of training epoch ``epoch`` of trial 0."""

    error: type[BaseException] = KeyboardInterrupt
    epoch = 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.trial.number == 0 and trainer.current_epoch == self.epoch:
            raise self.error("stopped by the test")
        super().on_train_epoch_end(trainer, pl_module)


def _interrupt_trial_0(config: Path, space: Path, runs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a search whose trial 0 gets a Ctrl-C in its second epoch."""
    with monkeypatch.context() as patch:
        patch.setattr(search, "PruningCallback", _StopInEpoch)
        with pytest.raises(KeyboardInterrupt):  # the CLI turns it into "adaspec: interrupted"
            search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    (stopped,) = _study(runs).get_trials()
    assert stopped.state == optuna.trial.TrialState.FAIL and list(stopped.intermediate_values) == [0]
    assert (runs / "search-tiny" / "trial-0000" / "checkpoints" / "last.ckpt").is_file()
    with (runs / "search-tiny" / "trials.csv").open() as handle:  # reported on the way out
        assert [row["state"] for row in csv.DictReader(handle)] == ["fail"]


def test_an_interrupted_trial_is_resumed_by_the_next_search(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    args = ["-q", "search", str(config), "--space", str(space), "--runs-dir", str(runs), "--trials", "1"]
    _interrupt_trial_0(config, space, runs, monkeypatch)
    capsys.readouterr()
    assert main(args) == 0
    assert f"best: trial 1 in {runs / 'search-tiny' / 'trial-0000'}, val" in capsys.readouterr().out
    stopped, resumed = _study(runs).get_trials()
    assert resumed.state == optuna.trial.TrialState.COMPLETE
    assert resumed.user_attrs["resumes_trial"] == 0 and resumed.params == stopped.params
    assert Path(resumed.user_attrs["run_dir"]).name == "trial-0000"
    assert not (runs / "search-tiny" / "trial-0001").exists()
    # epoch 0's accuracy comes from the stopped trial, epoch 1 from the resumed training
    assert resumed.intermediate_values[0] == stopped.intermediate_values[0]
    assert sorted(resumed.intermediate_values) == [0, 1]
    # it ends as the same trial trained without a stop would (the oracle: an ordinary uninterrupted run)
    whole = train(apply_params(resolve_config(config), stopped.params), name="whole", runs_dir=tmp_path)
    assert whole.best is not None and resumed.value == pytest.approx(whole.best["val/acc_file"], abs=1e-6)
    assert [whole.best[key] for key in ("epoch", "val/acc_file")] == [
        resumed.user_attrs["best_epoch"],
        pytest.approx(resumed.value),
    ]
    with (runs / "search-tiny" / "trials.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["resumes"] for row in rows] == ["", "0"]

    # a stopped trial is resumed once: the next search starts a new trial
    assert main([*args[:-1], "2"]) == 0
    assert Path(_study(runs).get_trials()[2].user_attrs["run_dir"]).name == "trial-0002"


def test_a_trial_stopped_by_sigterm_fails_at_once_and_is_resumed_by_the_next_search(
    search_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lightning turns SIGTERM into ``SIGTERMException`` (a ``SystemExit``), which Optuna does not catch:
    the trial stayed running until its heartbeat went stale (2 minutes by default), so the next search
    waited for it, and no ``trials.csv`` was written on the way out."""
    config, space = search_files
    runs = tmp_path / "runs"
    sigterm = type("_Sigterm", (_StopInEpoch,), {"error": SIGTERMException})
    with monkeypatch.context() as patch:
        patch.setattr(search, "PruningCallback", sigterm)
        with pytest.raises(SystemExit) as stop:
            search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    assert stop.value.code == 143  # the exit status of a process stopped by SIGTERM
    (stopped,) = _study(runs).get_trials()
    assert stopped.state == optuna.trial.TrialState.FAIL and list(stopped.intermediate_values) == [0]
    with (runs / "search-tiny" / "trials.csv").open() as handle:
        assert [row["state"] for row in csv.DictReader(handle)] == ["fail"]
    result = search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    resumed = result.trials[1]
    assert resumed.state == optuna.trial.TrialState.COMPLETE and resumed.user_attrs["resumes_trial"] == 0
    assert len(result.trials) == 2 and sorted(resumed.intermediate_values) == [0, 1]


def test_a_trial_that_failed_with_an_error_is_not_resumed(
    search_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    monkeypatch.setattr(search, "PruningCallback", type("_Crash", (_StopInEpoch,), {"error": RuntimeError}))
    result = search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    failed, fresh = result.trials
    assert failed.state == optuna.trial.TrialState.FAIL
    assert failed.user_attrs["error"] == "RuntimeError: stopped by the test"
    assert fresh.state == optuna.trial.TrialState.COMPLETE and "resumes_trial" not in fresh.user_attrs
    assert Path(fresh.user_attrs["run_dir"]).name == "trial-0001"


def test_a_stopped_trial_that_cannot_be_resumed_fails_in_one_line_and_the_search_goes_on(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    _interrupt_trial_0(config, space, runs, monkeypatch)
    (runs / "search-tiny" / "trial-0000" / "checkpoints" / "last.ckpt").write_bytes(b"cut short")
    caplog.clear()
    assert main(["search", str(config), "--space", str(space), "--runs-dir", str(runs), "--trials", "1"]) == 0
    _, broken, fresh = _study(runs).get_trials()
    assert broken.state == optuna.trial.TrialState.FAIL and broken.user_attrs["resumes_trial"] == 0
    assert broken.user_attrs["error"].startswith("RuntimeError: stopped trial 0 cannot be resumed (")
    assert fresh.state == optuna.trial.TrialState.COMPLETE and "resumes_trial" not in fresh.user_attrs
    assert Path(fresh.user_attrs["run_dir"]).name == "trial-0002"
    # Optuna's own handler writes to the stream it was given first, so read its log records
    (failed,) = [r.getMessage() for r in caplog.records if "Trial 1 failed with parameters" in r.getMessage()]
    assert "stopped trial 0 cannot be resumed (" in failed
    assert "last.ckpt: not an adaspec checkpoint" in failed
    assert failed.endswith("a new trial takes its place').")


def test_a_stopped_trial_the_study_has_outdone_is_pruned_before_it_trains_on(
    search_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    _interrupt_trial_0(config, space, runs, monkeypatch)
    last = runs / "search-tiny" / "trial-0000" / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda self: True)  # the pruner's verdict
    result = search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    resumed = result.trials[1]
    assert resumed.state == optuna.trial.TrialState.PRUNED and resumed.user_attrs["resumes_trial"] == 0
    assert list(resumed.intermediate_values) == [0]
    assert last.read_bytes() == before  # not trained any further


@pytest.mark.parametrize(
    ("space_text", "overrides", "fragment"),
    [
        # 63 parts of the 1 s tone files are 126 samples, too short for the STFT (n_fft 256, centred):
        # only the data tells
        ("eval.n_parts: {type: categorical, choices: [63]}\n", [], "config key 'eval.n_parts': 63 parts of"),
        # each value fits the base alone (n_fft 128 in a 0.5 s clip, 256 in a 0.02 s one), not together
        (
            "data.clip_seconds: {type: categorical, choices: [0.02]}\n"
            "frontend.n_fft: {type: categorical, choices: [256]}\n",
            ["frontend.n_fft=128"],
            "config key 'frontend.n_fft': 256 is longer than a clip (160 samples",
        ),
    ],
)
def test_parameters_the_checks_or_the_data_refuse_fail_their_trial_not_the_search(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    space_text: str,
    overrides: list[str],
    fragment: str,
) -> None:
    """Each such trial fails in one line; after three in a row the worker stops, with the trials and their
    errors reported."""
    config, _ = search_files
    space = tmp_path / "space.yaml"
    space.write_text(space_text)
    runs = tmp_path / "runs"
    args = ["-q", "search", str(config), *overrides, "--space", str(space), "--runs-dir", str(runs)]
    assert main([*args, "--trials", "2"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("adaspec: error: 3 trials in a row failed") and "trials.csv" in error
    trials = _study(runs).get_trials()
    assert [t.state for t in trials] == [optuna.trial.TrialState.FAIL] * 3
    with (runs / "search-tiny" / "trials.csv").open() as handle:
        errors = [row["error"] for row in csv.DictReader(handle)]
    assert len(errors) == 3
    assert all(fragment in e and e.endswith("(with this trial's parameters)") for e in errors), errors[0]
    assert (runs / "search-tiny" / "search.md").is_file()
    assert search.resumable_trial(_study(runs), runs / "search-tiny") is None  # failed with an error


def test_a_failed_trial_of_a_study_begun_before_resuming_existed_is_not_resumed(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """Such a trial has no record of whether it failed with an error or was stopped: it is left alone."""
    config, space = search_files
    runs = tmp_path / "runs"
    folder = runs / "search-tiny" / "trial-0000"
    train(resolve_config(config), name=folder.name, runs_dir=folder.parent)  # a run with a last.ckpt
    study = optuna.create_study(study_name="tiny", storage=f"sqlite:///{runs / 'search-tiny' / 'optuna.db'}")
    old = study.ask()
    old.set_user_attr("run_dir", str(folder))
    study.tell(old, state=optuna.trial.TrialState.FAIL)
    result = search.run_search(resolve_config(config), 1, "tiny", runs_dir=runs, space=space)
    fresh = result.trials[1]
    assert fresh.state == optuna.trial.TrialState.COMPLETE and "resumes_trial" not in fresh.user_attrs
    assert Path(fresh.user_attrs["run_dir"]).name == "trial-0001"


def test_quiet_keeps_the_progress_bar_out_of_the_best_config(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    tiny, space = search_files
    config = save_config(
        set_dotted(resolve_config(tiny), "trainer.progress_bar", True), tmp_path / "b" / "tiny.yaml"
    )
    runs = tmp_path / "runs"
    assert (
        main(["-q", "search", str(config), "--space", str(space), "--runs-dir", str(runs), "--trials", "1"])
        == 0
    )
    best = yaml.safe_load((runs / "search-tiny" / "best_config.yaml").read_text())
    assert best["trainer"]["progress_bar"] is True  # the study's config, not this command's display
    trial_config = yaml.safe_load((runs / "search-tiny" / "trial-0000" / "config.yaml").read_text())
    assert trial_config["trainer"]["progress_bar"] is False  # the trials ran without it


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        (
            "base",
            "trainer.strategy=ddp_nope",
            "adaspec: error: config key 'trainer': You selected an invalid",
        ),
        (
            "space",
            "trainer.strategy: {type: categorical, choices: [auto, ddp_nope]}\n",
            "search space: config key 'trainer'",
        ),
        # Lightning would start a trial's second process by running the search command again: it would
        # wait for the trial that waits for it
        (
            "base",
            "trainer.devices=2",
            "adaspec: error: config key 'trainer': the config makes each trial a run of 2 processes",
        ),
        (
            "space",
            "trainer.devices: {type: int, low: 1, high: 2}\n",
            "search space: config key 'trainer': trainer.devices=2 makes each trial a run of 2 processes",
        ),
        # said so, not "needs a launcher": a launcher would not make a search of multi-node trials work
        (
            "base",
            "trainer.num_nodes=2",
            "adaspec: error: config key 'trainer': the config makes each trial a run of 2 processes",
        ),
    ],
)
def test_device_settings_the_machine_cannot_honour_stop_a_search_before_its_study(
    search_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    where: str,
    text: str,
    message: str,
) -> None:
    config, space = search_files
    if where == "space":
        space = tmp_path / "devices.yaml"
        space.write_text(text)
    extra = [text] if where == "base" else []
    runs = tmp_path / "runs"
    assert (
        main(["search", str(config), *extra, "--space", str(space), "--runs-dir", str(runs), "--trials", "1"])
        == 2
    )
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0]
    assert not runs.exists()


def test_a_seeded_search_continued_draws_new_parameters(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, space = search_files

    def search(runs: Path, trials: int) -> None:
        options = ["--space", str(space), "--runs-dir", str(runs), "--sampler-seed", "1"]
        assert main(["-q", "search", str(config), *options, "--trials", str(trials)]) == 0

    search(tmp_path / "runs", 1)
    search(tmp_path / "runs", 2)
    first, second = (trial.params["optim.lr"] for trial in _study(tmp_path / "runs").get_trials())
    assert first != second  # the seed alone would draw trial 0's learning rate again
    search(tmp_path / "again", 1)  # a fresh study with that seed is reproducible
    assert _study(tmp_path / "again").get_trials()[0].params["optim.lr"] == first
