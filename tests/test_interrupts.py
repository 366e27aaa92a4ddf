"""``ctrl_c_deferred``: the first Ctrl-C is a request taken at a safe point, one block deep."""

from __future__ import annotations

import signal

import pytest

from adaspec._interrupts import ctrl_c_deferred, stop_if_requested
from tests.interrupt_helpers import CtrlCWhenCollected


def test_a_request_is_taken_at_the_next_safe_point_of_a_nested_block() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), ctrl_c_deferred():
        with ctrl_c_deferred():  # nested (the scan inside evaluate): one request for both
            CtrlCWhenCollected()
            reached.append("after the press")
            stop_if_requested()
        reached.append("after the safe point")
    assert reached == ["after the press"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_request_after_the_last_safe_point_raises_at_the_end_of_the_block() -> None:
    with pytest.raises(KeyboardInterrupt), ctrl_c_deferred():
        CtrlCWhenCollected()
    stop_if_requested()  # outside any block: nothing to take
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ctrl_c_deferred():
            signal.raise_signal(signal.SIGINT)
            stop_if_requested()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
