"""``ctrl_c_deferred``: the first Ctrl-C is a request taken at a safe point, one block deep; and
``handler_installed``, which installs a handler for a block."""

from __future__ import annotations

import signal
import threading

import pytest

from adaspec._interrupts import ctrl_c_deferred, handler_installed, stop_if_requested
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


def test_an_installed_handler_is_replaced_by_the_previous_one_after_the_block() -> None:
    def handler(signum: int, frame: object) -> None:
        raise SystemExit(143)

    before = signal.getsignal(signal.SIGTERM)
    with handler_installed(signal.SIGTERM, handler):
        assert signal.getsignal(signal.SIGTERM) is handler
        with pytest.raises(SystemExit):
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before


def test_outside_the_main_thread_no_handler_is_installed() -> None:
    seen: list[object] = []

    def inside() -> None:
        with handler_installed(signal.SIGTERM, lambda signum, frame: None):
            seen.append(signal.getsignal(signal.SIGTERM))

    before = signal.getsignal(signal.SIGTERM)
    worker = threading.Thread(target=inside)
    worker.start()
    worker.join()
    assert seen == [before]
