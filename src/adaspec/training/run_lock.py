"""One process at a time per run folder: a lock beside the folder, held while the run trains.

Two trainings of one run (the same command in two terminals, or ``--overwrite`` while the run still trains)
would write the same ``last.ckpt`` and ``metrics.json``, or delete the folder under the other. The lock is
a file ``.<name>.lock`` in the runs folder (not in the run folder, which ``--overwrite`` replaces and a new
run does not have yet), locked with ``flock``: the kernel releases it when the process ends, however it
ends, so a killed run never leaves a stale lock. Where ``fcntl`` is missing (Windows) runs are not locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]


def lock_path(runs_dir: Path, name: str) -> Path:
    """The lock file of the run ``runs_dir/name``.

    Args:
        runs_dir: the runs folder.
        name: the run's name (one path component).

    Returns:
        ``runs_dir/.<name>.lock``.
    """
    return runs_dir / f".{name}.lock"


@contextlib.contextmanager
def run_locked(runs_dir: str | os.PathLike[str], name: str) -> Iterator[None]:
    """Hold the run's lock for the ``with`` block (creating ``runs_dir`` if needed), and remove its file
    afterwards.

    Args:
        runs_dir: the runs folder.
        name: the run's name.

    Raises:
        UserError: another process holds the lock (naming the run and that process), or the lock file
            cannot be created (naming it).
    """
    if fcntl is None:
        yield
        return
    path = lock_path(Path(runs_dir), name)
    handle = _acquire(path, Path(runs_dir) / name)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the unlock: a process that opened it meanwhile finds it gone and retries
        handle.close()


def _acquire(path: Path, run: Path) -> BinaryIO:
    """Open and lock ``path``; retried when the file was removed between the open and the lock (its
    holder finished then), so that two processes never hold locks on two different files.

    Returns:
        The open, locked file (closing it releases the lock).

    Raises:
        UserError: as :func:`run_locked`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(path, "a+b")  # noqa: SIM115 (held open for the run)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(handle)
                handle.close()
                raise UserError(
                    f"{run} is being trained by another process ({holder}); wait for it to end, or stop it "
                    f"(its lock is {path})"
                ) from None
            if _same_file(handle, path):
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        return handle
    except OSError as err:
        raise UserError(f"cannot lock the run {run}: {err}") from None


def _same_file(handle: BinaryIO, path: Path) -> bool:
    """Whether ``path`` still names the file ``handle`` has open."""
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    opened = os.fstat(handle.fileno())
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _holder(handle: BinaryIO) -> str:
    """``"process <pid>"`` as the lock's holder wrote it, or ``"process unknown"``."""
    handle.seek(0)
    text = handle.read(32).decode("ascii", "replace").strip()
    return f"process {text}" if text.isdigit() else "process unknown"
