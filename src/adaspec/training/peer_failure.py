"""Distributed runs that stop together when one process fails.

A process whose training raises (a file that went away, a full disk) exits, while the others may wait in a
collective (the gradient all-reduce) until the process group times out, tens of minutes later; Lightning
2.x no longer reconciles its processes. :class:`PeerFailure` tells them through the process group's store:

- the failing process publishes its rank and exit code, and ends as a single process would (its one-line
  error, or its traceback); process 0 waits first until the others have seen it;
- a thread in every other process watches the store (a few look-ups a second, none per step); one that
  sees the failure leaves the process at once, silently, with the failing process's exit code: process 0
  once the failing process has printed its error, the others once process 0 has gone. Nobody exits before
  process 0, whose Lightning launcher kills it the moment one of its children exits with an error.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any, NoReturn

import lightning as L
import torch.distributed as dist

#: Store keys: process 0's id, the failure (``"<rank> <exit code>"``), the ranks that saw it, and the
#: failing process's end.
PID, FAILED, SEEN, PRINTED = "adaspec/pid0", "adaspec/failed", "adaspec/failed/seen", "adaspec/failed/printed"

#: Seconds between two look-ups of the store, and the longest wait for another process.
POLL_SECONDS, WAIT_SECONDS = 0.1, 30.0

#: Errors of a store whose server (process 0) has gone.
_STORE_ERRORS = (RuntimeError, OSError)


def exit_code(error: BaseException) -> int:
    """The exit code the command line gives ``error``: 2 for a user error, 1 for another."""
    from ..cli import EXIT_USER_ERROR, _user_message  # the command line imports training

    return EXIT_USER_ERROR if _user_message(error) is not None else 1


class PeerFailure(L.Callback):
    """Ends every process of a distributed run promptly when one of them fails (see the module's
    documentation); does nothing in a single-process run."""

    def __init__(self) -> None:
        self._store: dist.Store | None = None
        self._rank = 0
        self._world_size = 1
        self._pid_0 = 0
        self._parent_is_0 = False
        self._stop = threading.Event()
        self._following: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if trainer.world_size < 2 or not dist.is_available() or not dist.is_initialized():
            return
        self._store = dist.distributed_c10d._get_default_store()
        self._rank, self._world_size = dist.get_rank(), dist.get_world_size()
        if self._rank == 0:
            self._store.set(PID, str(os.getpid()))
        # Started by process 0 (Lightning's launcher): it exits first, and this process sees it go.
        self._pid_0 = int(self._store.get(PID))
        self._parent_is_0 = self._pid_0 == os.getppid()
        threading.Thread(target=self._watch, name="adaspec-peer-failure", daemon=True).start()

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        self._stop.set()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """Follow a peer's failure that caused ``exception`` (a closed connection), or publish this one."""
        self._stop.set()
        if self._store is None or not isinstance(exception, Exception):
            return  # Ctrl-C and SIGTERM reach every process
        failure = self._following or self._published()
        if failure is not None:
            self._follow(*failure)
        self._publish(exit_code(exception))

    def _watch(self) -> None:
        """The watching thread: follows the first failure published by another process."""
        while not self._stop.wait(POLL_SECONDS) and not self._process_0_gone():
            failure = self._published()
            if failure is not None and not self._stop.is_set():
                self._follow(*failure)

    def _published(self) -> tuple[int, int] | None:
        """``(rank, exit code)`` of a failure another process published; None without one, or when the
        store cannot be reached."""
        assert self._store is not None
        try:
            if not self._store.check([FAILED]):
                return None
            rank, code = self._store.get(FAILED).decode().split()
        except _STORE_ERRORS:
            return None
        return None if int(rank) == self._rank else (int(rank), int(code))

    def _publish(self, code: int) -> None:
        """Tell the others that this process fails with ``code``. Process 0 waits until they have seen it
        (the store ends with it); another process says at its exit that it has printed its error."""
        assert self._store is not None
        try:
            self._store.set(FAILED, f"{self._rank} {code}")
            if self._rank == 0:
                _wait_until(lambda: int(self._store.add(SEEN, 0)) >= self._world_size - 1)
            else:
                atexit.register(self._printed)
        except _STORE_ERRORS:
            pass  # process 0 has gone: nobody is left to tell

    def _printed(self) -> None:
        """At the failing process's exit, after its error: let process 0 go, and outlive it."""
        assert self._store is not None
        try:
            self._store.set(PRINTED, "1")
        except _STORE_ERRORS:
            return
        _wait_until(self._may_leave)

    def _follow(self, rank: int, code: int) -> NoReturn:
        """Leave this process silently with ``code``: process 0 once the failing process ``rank`` has
        printed its error, another one once process 0 has gone (see the module's documentation)."""
        assert self._store is not None
        with self._lock:  # the watching thread and the main thread may both come here
            first, self._following = self._following is None, (rank, code)
        try:
            if first:
                self._store.add(SEEN, 1)
            if self._rank == 0:
                _wait_until(lambda: self._store.check([PRINTED]))
        except _STORE_ERRORS:
            pass
        _wait_until(self._may_leave)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def _process_0_gone(self) -> bool:
        """Whether process 0 has ended, for a process it started (seen without the store, which ended
        with it)."""
        return self._parent_is_0 and os.getppid() != self._pid_0

    def _may_leave(self) -> bool:
        """Whether this process may end: process 0 has, or did not start it (its launcher kills it
        when one of its children ends with an error)."""
        return not self._parent_is_0 or self._process_0_gone()


def _wait_until(condition: Any, seconds: float = WAIT_SECONDS) -> None:
    """Poll ``condition()`` until it is true or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
