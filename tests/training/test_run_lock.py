"""One process trains a run at a time: a second training of the same run (or an ``--overwrite`` of it) is
refused while the first holds the run's lock, and a lock dies with its process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adaspec.cli import main
from adaspec.config import save_config
from adaspec.errors import UserError
from adaspec.training import TrainResult, train
from adaspec.training.run_lock import lock_path, run_locked
from tests.training.test_run_safety import _config


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_run_being_trained_is_refused_to_a_second_process(
    trained_run: TrainResult, tone_dataset: Path, overwrite: bool
) -> None:
    """Both trainings wrote the same ``last.ckpt``, or ``--overwrite`` deleted the folder under the first."""
    runs, name = trained_run.paths.root.parent, trained_run.paths.root.name
    before = sorted(p.name for p in trained_run.paths.root.rglob("*"))
    with run_locked(runs, name), pytest.raises(UserError) as info:  # as another process would hold it
        train(_config(tone_dataset), name=name, runs_dir=runs, overwrite=overwrite)
    assert str(info.value) == (
        f"{runs / name} is being trained by another process (process {os.getpid()}); wait for it to end, "
        f"or stop it (its lock is {lock_path(runs, name)})"
    )
    assert sorted(p.name for p in trained_run.paths.root.rglob("*")) == before  # nothing touched
    assert not lock_path(runs, name).exists()  # released and removed with the block


def test_the_cli_refuses_a_run_being_trained_in_one_line(
    tone_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    save_config(_config(tone_dataset), config)
    runs = tmp_path / "runs"
    with run_locked(runs, "busy"):
        assert main(["-q", "train", str(config), "--runs-dir", str(runs), "--name", "busy"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"adaspec: error: {runs / 'busy'} is being trained by another process (process {os.getpid()}); wait "
        f"for it to end, or stop it (its lock is {lock_path(runs, 'busy')})"
    ]
    assert not (runs / "busy").exists()


_HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from adaspec.training.run_lock import run_locked
    with run_locked(sys.argv[1], "held"):
        print("locked", flush=True)
        time.sleep(600)
    """
)


def test_a_lock_dies_with_its_process(tmp_path: Path) -> None:
    """A run killed (SIGKILL, a crash) leaves its lock file, but not its lock: the next run trains."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(UserError, match=rf"process {holder.pid}\)"), run_locked(tmp_path, "held"):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    assert lock_path(tmp_path, "held").exists()
    with run_locked(tmp_path, "held"):
        assert lock_path(tmp_path, "held").read_text() == f"{os.getpid()}\n"
    assert not lock_path(tmp_path, "held").exists()


def test_a_bad_run_name_is_refused_before_any_lock_file(tmp_path: Path, tone_dataset: Path) -> None:
    with pytest.raises(UserError, match=r"run name '\.\./escape'"):
        train(_config(tone_dataset), name="../escape", runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
