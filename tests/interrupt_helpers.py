"""Pressing Ctrl-C where Python cannot raise: from a finaliser (``__del__``), as when the signal lands
while a data loader's iterator or a decoder's buffer is collected."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any


class CtrlCWhenCollected:
    """Presses Ctrl-C from its ``__del__``: Python prints an exception raised there as "Exception ignored"
    and goes on."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


def ctrl_c_in_finaliser_on_call(function: Callable[..., Any], call: int = 0) -> Callable[..., Any]:
    """``function``, pressing Ctrl-C from a finaliser just before its ``call``-th call (0-based)."""
    calls = [0]

    def pressing(*args: Any, **kwargs: Any) -> Any:
        if calls[0] == call:
            CtrlCWhenCollected()  # made and dropped: its __del__ runs here
        calls[0] += 1
        return function(*args, **kwargs)

    return pressing
