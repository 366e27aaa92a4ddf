"""Many ``adaspec search`` workers on one study: an exact trial budget on SQLite and PostgreSQL, and a
worker killed mid-trial whose trial ends as failed and is resumed by a survivor, which finishes the study."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tests.studies.workers import finish, search_command, start_workers


def _check_exact_budget(url: str, config: Path, space: Path, runs: Path, study: str, budget: int = 8) -> None:
    """Four workers share ``budget`` one-epoch trials: each trial number once, none lost or run twice."""
    commands = [
        search_command(
            *(config, space, runs, budget, "--storage", url, "--study", study),
            overrides=("trainer.max_epochs=1",),
        )
        for _ in range(4)
    ]
    results = finish(start_workers(commands))
    for code, _, err in results:
        assert code == 0, err[-2000:]
    trials = optuna.load_study(study_name=study, storage=url).get_trials()
    assert sorted(t.number for t in trials) == list(range(budget))  # none lost, none duplicated
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    run_dirs = sorted(p.name for p in (runs / f"search-{study}").glob("trial-*"))
    assert run_dirs == [f"trial-{n:04d}" for n in range(budget)]
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) > 1  # the study really was shared


def test_four_workers_share_an_sqlite_study_exactly(search_files: tuple[Path, Path], tmp_path: Path) -> None:
    config, space = search_files
    runs = tmp_path / "runs"
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _check_exact_budget(url, config, space, runs, "shared")


def test_four_workers_share_a_postgresql_study_exactly(
    search_files: tuple[Path, Path], tmp_path: Path, postgres_url: str
) -> None:
    config, space = search_files
    _check_exact_budget(postgres_url, config, space, tmp_path / "runs", f"shared-{time.time_ns()}")


def _wait_for_running_trial(url: str, study: str, pid: int, timeout: float = 120) -> optuna.trial.FrozenTrial:
    """The trial that worker ``pid`` is training, once it has reported an epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = optuna.load_study(study_name=study, storage=url).get_trials()
        except KeyError:  # the study does not exist yet
            trials = []
        for trial in trials:
            mine = trial.user_attrs.get("worker", "").endswith(f":{pid}")
            if mine and trial.state == TrialState.RUNNING and trial.intermediate_values:
                return trial
        time.sleep(0.2)
    raise AssertionError(f"worker {pid} never reported an epoch")


def test_killed_worker_trial_fails_and_a_survivor_resumes_it(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, space = search_files
    runs, url = tmp_path / "runs", f"sqlite:///{tmp_path / 'study.db'}"
    # Long enough trials (8 epochs) that the victim is surely mid-trial when killed.
    extra = ("--storage", url, "--study", "kill", "--heartbeat", "1")
    command = search_command(config, space, runs, 3, *extra, overrides=("trainer.max_epochs=8",))
    victim, survivor = start_workers([command, command])
    killed = _wait_for_running_trial(url, "kill", victim.pid)
    checkpoint = Path(killed.user_attrs["run_dir"]) / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 60
    while not checkpoint.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # not in the middle of writing it
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    ((code, _, err),) = finish([survivor])
    assert code == 0, err[-2000:]

    trials = {t.number: t for t in optuna.load_study(study_name="kill", storage=url).get_trials()}
    assert trials[killed.number].state == TrialState.FAIL  # never a silent success
    finished = [t for t in trials.values() if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 3  # the survivor replaced the killed trial
    # ... by resuming it from its last checkpoint, in its run folder, not by training it again
    (resumed,) = [t for t in finished if t.user_attrs.get("resumes_trial") == killed.number]
    assert resumed.params == killed.params and resumed.user_attrs["run_dir"] == killed.user_attrs["run_dir"]
    assert not (runs / "search-kill" / f"trial-{resumed.number:04d}").exists()
    assert not [t for t in trials.values() if t.state == TrialState.RUNNING]
