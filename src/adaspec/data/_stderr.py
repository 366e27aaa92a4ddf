"""Keeping what C libraries print on file descriptor 2 out of the user's terminal."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

# fd 2 belongs to the whole process: one lock serialises every redirection, so that two threads cannot
# save each other's redirected fd 2 and leave stderr pointing at a deleted file. Re-entrant so that a
# block may nest another. DataLoader workers are processes, each with its own fd 2 and its own lock; a
# fork waits for the lock, so that no child starts with fd 2 redirected or with the lock held.
_LOCK = threading.RLock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_LOCK.acquire, after_in_parent=_LOCK.release, after_in_child=_LOCK.release)


def _flush_python_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()


def _saved_fd2() -> int | None:
    """A duplicate of fd 2 to restore it from, or ``None`` when the process has no fd 2."""
    try:
        return os.dup(2)
    except OSError:
        return None


def _log_sink(sink: BinaryIO, logger: logging.Logger, source: str) -> None:
    sink.seek(0)
    text = sink.read().decode("utf-8", errors="replace").strip()
    if text:
        logger.debug("stderr of %s: %s", source, text)


@contextmanager
def captured_stderr(logger: logging.Logger, source: str) -> Iterator[None]:
    """Send file descriptor 2 to a temporary file for the block, then log what was written (DEBUG).

    libmpg123 (inside libsndfile) and libinstpatch (inside FluidSynth) print warnings straight to fd 2;
    the command line must print one line instead. Blocks run one at a time (a lock); whatever another
    thread writes to stderr meanwhile goes to the debug log too, so keep the blocks short.

    Args:
        logger: where the captured text goes.
        source: what printed it, for the log line.
    """
    with _LOCK:
        _flush_python_stderr()
        saved = _saved_fd2()
        if saved is None:
            yield
            return
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                _flush_python_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                _log_sink(sink, logger, source)
