"""The run's data loaders: a Ctrl-C or a SIGTERM sent to the whole process group (a terminal, ``timeout``)
stops a run that loads with worker processes as an interruption, not as a crash of its workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.datasets import tiny_overrides


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_process_group_stops_a_run_with_workers_as_an_interruption(
    tone_dataset: Path, tmp_path: Path, signum: int, status: int
) -> None:
    # The workers got the signal too and died of it: "DataLoader worker ... exited unexpectedly" or
    # "... killed by signal: Terminated", a traceback and exit code 1.
    config = tmp_path / "run.yaml"
    config.write_text("seed: 0\n")
    overrides = tiny_overrides(tone_dataset, **{"data.num_workers": 2, "trainer.max_epochs": 10000})
    command = [sys.executable, "-m", "adaspec", "train", str(config), *overrides, "--name", "cut", "-q"]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        last = tmp_path / "runs/cut/checkpoints/last.ckpt"
        deadline = time.monotonic() + 120
        while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()[1]
        assert last.is_file()
        time.sleep(0.5)  # into a later epoch, its workers loading
        os.killpg(process.pid, signum)  # as Ctrl-C in a terminal, or `timeout`, signal the process group
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == status, err
    assert "Traceback" not in err and "DataLoader worker" not in err, err
