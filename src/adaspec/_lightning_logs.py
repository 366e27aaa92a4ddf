"""Lightning's own loggers under ``adaspec -q``, which quiets them as well as adaspec's (kept free of heavy
imports: the command line uses this before it imports Lightning).

Importing Lightning sets its loggers to INFO, so a command that imports it after ``-q`` took effect must
quiet them again: :func:`apply_quiet`, called once Lightning is loaded, does that while a
:func:`quiet_lightning_logs` block of the command line is active, and nowhere else (the Python API leaves
Lightning's logging as Lightning sets it).
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

#: Lightning's top loggers; importing Lightning sets each to INFO with a handler of its own.
LIGHTNING_LOGGERS = ("lightning.pytorch", "lightning.fabric")

_quiet = False


def apply_quiet() -> None:
    """Set Lightning's loggers to WARNING if a ``-q`` command is running (see the module docstring)."""
    if _quiet:
        for name in LIGHTNING_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)


@contextlib.contextmanager
def quiet_lightning_logs(quiet: bool) -> Iterator[None]:
    """While the block runs, Lightning's INFO lines are hidden when ``quiet`` (e.g. "Initializing
    distributed" from every process of a multi-process run); afterwards its loggers get back their level (or
    INFO, the level Lightning's import gives them, if it was imported meanwhile).

    Args:
        quiet: whether to hide them.
    """
    global _quiet
    before = {
        name: logging.getLogger(name).level if name in sys.modules else logging.INFO
        for name in LIGHTNING_LOGGERS
    }
    was_quiet, _quiet = _quiet, quiet
    apply_quiet()
    try:
        yield
    finally:
        _quiet = was_quiet
        if quiet:
            for name, level in before.items():
                logging.getLogger(name).setLevel(level)
