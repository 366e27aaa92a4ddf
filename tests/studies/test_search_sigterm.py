"""SIGTERM sent to an ``adaspec search`` worker: outside training (a trial's data scan, between trials) it
stops at once with status 143 and leaves its trial failed, so that the next search goes on at once; in
training it still stops only after the current batch (Lightning's handler calls the search's)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from lightning.pytorch.trainer.connectors.signal_connector import _HandlersCompose
from optuna.trial import TrialState

from adaspec.studies import search
from tests.studies.workers import search_command

# Runs ``adaspec search`` with trial 0 held after touching the file named ``hold``: in its data scan
# (``run_data``) or, ``in_batch``, in the first training batch of its second epoch, so that the test can
# send SIGTERM there.
HELD_SEARCH = """\
import importlib, pathlib, sys, time
from adaspec.studies import search
training = importlib.import_module("adaspec.training.train")

def hold():
    pathlib.Path({hold!r}).touch()
    time.sleep({seconds})

scan = training.run_data

def held_scan(*args, **kwargs):
    hold()
    return scan(*args, **kwargs)

class HeldBatch(search.PruningCallback):
    def on_train_batch_end(self, trainer, *args):
        if self.trial.number == 0 and trainer.current_epoch == 1 and args[-1] == 0:
            hold()

if {in_batch}:
    search.PruningCallback = HeldBatch
else:
    training.run_data = held_scan
from adaspec.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _held_search(command: list[str], hold: Path, in_batch: bool = False) -> subprocess.Popen[str]:
    """Start the search ``command`` (a :func:`search_command`) with trial 0 held (see HELD_SEARCH)."""
    script = HELD_SEARCH.format(hold=str(hold), seconds=3 if in_batch else 120, in_batch=in_batch)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    held = [sys.executable, "-c", script, *command[3:]]  # without ``-m adaspec.cli``
    return subprocess.Popen(held, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for(path: Path, worker: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise AssertionError(f"the search never reached its data scan: {worker.communicate()[1][-2000:]}")
        time.sleep(0.1)


def test_sigterm_during_a_trials_data_scan_fails_the_trial_at_once(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """The trial stayed running (the process died of the signal), so the next search waited two heartbeat
    intervals (2 minutes by default) for it."""
    config, space = search_files
    runs, url = tmp_path / "runs", f"sqlite:///{tmp_path / 'study.db'}"
    command = search_command(config, space, runs, 1, "--storage", url, "--study", "term")
    worker = _held_search(command, tmp_path / "held")
    _wait_for(tmp_path / "held", worker)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    (stopped,) = optuna.load_study(study_name="term", storage=url).get_trials()
    assert stopped.state == TrialState.FAIL and "error" not in stopped.user_attrs, err[-2000:]
    assert worker.returncode == 143
    assert err.splitlines() == [
        "trial 0 stopped part-way; it left no checkpoint: the next search starts a new trial in its place"
    ]
    # the same command goes on at once: a new trial takes the place of the one stopped before any epoch
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    states = [t.state for t in optuna.load_study(study_name="term", storage=url).get_trials()]
    assert states[0] == TrialState.FAIL and states[1] in (TrialState.COMPLETE, TrialState.PRUNED)


def test_sigterm_in_a_training_batch_still_stops_after_the_batch(
    search_files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, space = search_files
    runs, url = tmp_path / "runs", f"sqlite:///{tmp_path / 'study.db'}"
    command = search_command(config, space, runs, 1, "--storage", url, "--study", "term")
    worker = _held_search(command, tmp_path / "held", in_batch=True)
    _wait_for(tmp_path / "held", worker)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 143, err[-2000:]
    # Lightning's SIGTERMException after the batch (InterruptWatch names it), not an exit inside the batch
    assert "training stopped by SIGTERM" in err
    assert "trial 0 stopped part-way; the next search resumes it" in err
    (stopped,) = optuna.load_study(study_name="term", storage=url).get_trials()
    assert stopped.state == TrialState.FAIL and list(stopped.intermediate_values) == [0]


def _notifier(received: list[int]) -> search._Sigterm:
    """Lightning's handler while it trains: its notifier, then the handler it found (the search's)."""
    guard = search._Sigterm()
    signal.signal(signal.SIGTERM, guard)
    signal.signal(signal.SIGTERM, _HandlersCompose([lambda signum, _: received.append(signum), guard]))
    return guard


def test_sigterm_in_training_is_left_to_lightning_and_stops_at_once_outside() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    received: list[int] = []
    try:
        guard = _notifier(received)
        os.kill(os.getpid(), signal.SIGTERM)  # in training: noted, Lightning stops after the batch
        assert received == [signal.SIGTERM] and guard.requested
        signal.signal(signal.SIGTERM, guard)  # Lightning's teardown restores the search's handler
        with guard.deferred(), pytest.raises(SystemExit) as stop:
            os.kill(os.getpid(), signal.SIGTERM)  # while Optuna ends a trial: noted
            guard.stop_if_requested()  # and acted on after it
        assert stop.value.code == 143
        with pytest.raises(SystemExit) as stop:
            os.kill(os.getpid(), signal.SIGTERM)  # outside training: at once
        assert stop.value.code == 143
    finally:
        signal.signal(signal.SIGTERM, previous)
