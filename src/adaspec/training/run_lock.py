"""One process at a time per run folder: a lock beside the folder, held while the run trains.

Two trainings of one run (the same command in two terminals, or ``--overwrite`` while the run still trains)
would write the same ``last.ckpt`` and ``metrics.json``, or delete the folder under the other. The lock is
a file ``.<name>.lock`` in the runs folder (not in the run folder, which ``--overwrite`` replaces and a new
run does not have yet), locked with ``flock``: the kernel releases it when the process ends, however it
ends, so a killed run never leaves a stale lock (see :mod:`adaspec._locks`). Where ``fcntl`` is missing
(Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .._locks import held_lock


def lock_path(runs_dir: Path, name: str) -> Path:
    """The lock file of the run ``runs_dir/name``.

    Args:
        runs_dir: the runs folder.
        name: the run's name (one path component).

    Returns:
        ``runs_dir/.<name>.lock``.
    """
    return runs_dir / f".{name}.lock"


def run_locked(runs_dir: str | os.PathLike[str], name: str) -> contextlib.AbstractContextManager[None]:
    """Hold the run's lock for the ``with`` block (creating ``runs_dir`` if needed), and remove its file
    afterwards (see :func:`~adaspec._locks.held_lock`).

    Args:
        runs_dir: the runs folder.
        name: the run's name.

    Raises:
        UserError: another process holds the lock (naming the run and that process), or the lock file
            cannot be created (naming it).
    """
    runs = Path(runs_dir)
    return held_lock(lock_path(runs, name), runs / name, doing="trained", noun="run")
