"""Data-loader workers that leave Ctrl-C and SIGTERM to the main process, from the moment they exist.

Ctrl-C in a terminal signals the whole foreground process group, and ``timeout`` (``kill -- -PGID``) its
own. Two moments made such a signal break a run instead of stopping it:

- in the main process, while a loader forks its workers (at the start of every validation and of a
  reloaded training loader), Python runs fork hooks; a ``KeyboardInterrupt`` raised inside one is printed
  as "Exception ignored" and lost, and the run went on training;
- in a new worker, before it could leave the process group: PyTorch's worker SIGTERM handler, installed
  first thing, ends a worker signalled by anyone but its parent, and the main process then failed with
  "DataLoader worker ... is killed by signal: Terminated".

:class:`WorkerSafeDataLoader` starts its workers with SIGINT and SIGTERM held: blocked, and recorded
instead of handled, in the main process until the workers exist (a signal that came meanwhile is delivered
right after), and blocked in each worker until it has moved to a process group of its own, ignores SIGINT
and has dropped what arrived before.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from torch.utils.data import DataLoader

from .._interrupts import CAN_HOLD, HELD_SIGNALS, signals_held

__all__ = ["HELD_SIGNALS", "WorkerSafeDataLoader", "leave_signals_to_parent", "signals_held"]


def leave_signals_to_parent(signums: tuple[signal.Signals, ...] = HELD_SIGNALS) -> None:
    """Run first in a worker forked within :func:`signals_held`: leave the parent's process group, ignore
    SIGINT, drop the held signals that arrived since the fork (they were meant for the group) and unblock
    them. From then on only a signal sent to the worker itself reaches it; PyTorch's SIGTERM handler ends
    the worker then (quietly when the parent sent it, as at the loader's shutdown).
    """
    if not CAN_HOLD:
        return
    os.setpgrp()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in set(signal.sigpending()) & set(signums):
        signal.sigwait({signum})
    signal.pthread_sigmask(signal.SIG_UNBLOCK, signums)


class _LeaveSignalsThenInit:
    """A loader's ``worker_init_fn``: :func:`leave_signals_to_parent`, then the given one (picklable when
    it is, for loaders that spawn their workers)."""

    def __init__(self, init: Callable[[int], None] | None) -> None:
        self.init = init

    def __call__(self, worker_id: int) -> None:
        leave_signals_to_parent()
        if self.init is not None:
            self.init(worker_id)


class WorkerSafeDataLoader(DataLoader):
    """A :class:`~torch.utils.data.DataLoader` whose workers leave Ctrl-C and SIGTERM to the main process
    from the moment they exist (see the module's documentation); the same as its base without workers.

    Args:
        dataset: as for :class:`~torch.utils.data.DataLoader`.
        *args: as for :class:`~torch.utils.data.DataLoader`.
        worker_init_fn: run in each worker after it has left the parent's process group (keyword only).
        **kwargs: as for :class:`~torch.utils.data.DataLoader`.
    """

    def __init__(
        self, dataset: Any, *args: Any, worker_init_fn: Callable[[int], None] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(dataset, *args, worker_init_fn=_LeaveSignalsThenInit(worker_init_fn), **kwargs)

    def _get_iterator(self) -> Any:
        if self.num_workers == 0:
            return super()._get_iterator()
        with signals_held():
            return super()._get_iterator()
