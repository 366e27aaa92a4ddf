"""Search worker processes for the shared-study tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def search_command(
    config: Path, space: Path, runs: Path, trials: int, *extra: str, overrides: tuple[str, ...] = ()
) -> list[str]:
    """The ``adaspec search`` command line of one worker process (``extra`` options, config ``overrides``)."""
    return [
        sys.executable,
        *("-m", "adaspec.cli", "-q", "search", str(config), *overrides),
        *("--trials", str(trials), "--space", str(space), "--runs-dir", str(runs)),
        *("--startup-trials", "2"),
        *extra,
    ]


def start_workers(commands: list[list[str]]) -> list[subprocess.Popen[str]]:
    """Start one process per command, each on one thread (as many workers on a small machine)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for command in commands
    ]


def finish(workers: list[subprocess.Popen[str]], timeout: float = 400) -> list[tuple[int, str, str]]:
    """Wait for every worker: ``(returncode, stdout, stderr)`` each."""
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=timeout)
        results.append((worker.returncode, out, err))
    return results
