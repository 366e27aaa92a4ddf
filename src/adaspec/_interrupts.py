"""Ctrl-C that Python cannot lose: deferred to a flag checked at safe points, and held while forking.

A ``KeyboardInterrupt`` raised where the signal happens to land is lost when that is a finaliser (a data
loader's or a decoder's ``__del__``) or a fork hook: Python prints "Exception ignored" and the command
went on, or hung. Two tools avoid that:

- :func:`ctrl_c_deferred` turns the first SIGINT into a request, which :func:`stop_if_requested` (at
  safe points: between batches, files, jobs) and the end of the block raise as ``KeyboardInterrupt``; a
  second SIGINT raises at once;
- :func:`signals_held` blocks SIGINT and SIGTERM while processes are forked and delivers them after.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger(__name__)

#: Signals held while workers start: Ctrl-C and the termination request (``timeout``, ``kill``).
HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: Blocking signals needs POSIX threads' signal masks (not on Windows, where workers are not forked).
CAN_HOLD = hasattr(signal, "pthread_sigmask") and hasattr(os, "setpgrp")

#: What a deferred Ctrl-C says by default.
SAFE_POINT_MESSAGE = "stopping at the next safe point (Ctrl-C again to stop at once)"


class StopRequest:
    """A SIGINT handler that defers Ctrl-C: the first call records a request (and logs ``message``), the
    next raises ``KeyboardInterrupt`` at once.

    Args:
        message: the line logged at the first Ctrl-C.
    """

    def __init__(self, message: str = SAFE_POINT_MESSAGE) -> None:
        self.requested = False
        self.message = message

    def __call__(self, signum: int, _frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        log.warning(self.message)

    def raise_if_requested(self) -> None:
        """A safe point: raise ``KeyboardInterrupt`` if a Ctrl-C came.

        Raises:
            KeyboardInterrupt: a stop was requested.
        """
        if self.requested:
            raise KeyboardInterrupt


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def handler_installed(signum: signal.Signals, handler: Callable[[int, Any], Any]) -> Iterator[None]:
    """Within the block, ``handler`` handles ``signum``; the previous handler is restored after it (the
    default action where the previous one was not installed from Python). Outside the main thread, where
    handlers cannot be changed, the block runs unchanged."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signum, handler)
    try:
        yield
    finally:
        signal.signal(signum, signal.SIG_DFL if previous is None else previous)


@contextlib.contextmanager
def handled_by(request: StopRequest) -> Iterator[StopRequest]:
    """Within the block, ``request`` handles SIGINT (see :func:`handler_installed`)."""
    with handler_installed(signal.SIGINT, request):
        yield request


@contextlib.contextmanager
def ctrl_c_deferred() -> Iterator[None]:
    """Within the block, the first Ctrl-C (SIGINT) only requests a stop: :func:`stop_if_requested`
    raises ``KeyboardInterrupt`` at the next safe point, and so does the end of the block (when it ends
    without an exception). A second Ctrl-C raises at once. The previous handler is restored after it.

    Only takes over from Python's default handler: nested in another such block, inside ``fit`` (which
    defers Ctrl-C itself, see :class:`~adaspec.training.callbacks.InterruptWatch`), with SIGINT ignored or
    outside the main thread, the block runs unchanged.
    """
    if not _in_main_thread() or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return
    with handled_by(StopRequest()) as request:
        yield
    request.raise_if_requested()


def stop_if_requested() -> None:
    """A safe point: raise ``KeyboardInterrupt`` if a Ctrl-C came within :func:`ctrl_c_deferred` (or
    another block whose SIGINT handler is a :class:`StopRequest`).

    Raises:
        KeyboardInterrupt: a stop was requested.
    """
    handler = signal.getsignal(signal.SIGINT)
    if isinstance(handler, StopRequest):
        handler.raise_if_requested()


@contextlib.contextmanager
def signals_held(signums: tuple[signal.Signals, ...] = HELD_SIGNALS) -> Iterator[None]:
    """Within the block, record the given signals instead of running their handlers, and block them in
    this thread; when it ends, restore both and deliver each recorded signal once, in arrival order.

    A process forked inside the block starts with the signals blocked, and with the recording handlers:
    it must set its own handlers, then unblock them (see
    :func:`adaspec.training.worker_start.leave_signals_to_parent`). Threads started inside the block keep
    them blocked. Outside the main thread, where handlers cannot be changed, and without signal masks,
    the block runs unchanged.
    """
    if not CAN_HOLD or not _in_main_thread():
        yield
        return
    received: list[int] = []

    def record(signum: int, _frame: Any) -> None:
        if signum not in received:
            received.append(signum)

    previous = {signum: signal.signal(signum, record) for signum in signums}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signums)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a signal pending for this thread is recorded here
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in received:
            signal.raise_signal(signum)
