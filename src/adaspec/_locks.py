"""An exclusive lock on a file, held by one process at a time while it works on a folder (a run it
trains, a dataset it renders).

The lock is ``flock`` on a lock file that records its holder's pid: the kernel releases it when the
process ends, however it ends (with any child that inherited it, such as a forked worker still writing),
so a killed process never leaves a stale lock. The file is removed on release. Where ``fcntl`` is missing
(Windows) nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def held_lock(path: Path, target: Path, *, doing: str, noun: str) -> Iterator[None]:
    """Hold the lock ``path`` (creating its folder if needed) on ``target`` for the ``with`` block, and
    remove its file afterwards.

    Args:
        path: the lock file.
        target: the folder it guards, as messages name it.
        doing: what the holder does to ``target``, as in "is being <doing> by another process".
        noun: what ``target`` is, as in "cannot lock the <noun> <target>".

    Raises:
        UserError: another process holds the lock ("<target> is being <doing> by another process
            (process <pid>); wait for it to end, or stop it (its lock is <path>)"), or the lock file
            cannot be created ("cannot lock the <noun> <target>: <error>").
    """
    if fcntl is None:
        yield
        return
    handle = _acquire(path, target, doing, noun)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before the unlock: a process that opened it meanwhile finds it gone and retries
        handle.close()


def _acquire(path: Path, target: Path, doing: str, noun: str) -> BinaryIO:
    """Open and lock ``path``, and write this process's pid into it; retried when the file was removed
    between the open and the lock (its holder finished then), so that two processes never hold locks on
    two different files.

    Returns:
        The open, locked file (closing it releases the lock).

    Raises:
        UserError: as :func:`held_lock`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            handle = open(path, "a+b")  # noqa: SIM115 (held open while locked)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(handle)
                handle.close()
                raise UserError(_busy_message(path, target, doing, holder)) from None
            if _same_file(handle, path):
                break
            handle.close()
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        return handle
    except OSError as err:
        raise UserError(f"cannot lock the {noun} {target}: {err}") from None


def _busy_message(path: Path, target: Path, doing: str, holder: str) -> str:
    """The refusal naming ``target``, the lock's ``holder`` and ``path``."""
    return (
        f"{target} is being {doing} by another process ({holder}); wait for it to end, or stop it "
        f"(its lock is {path})"
    )


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
