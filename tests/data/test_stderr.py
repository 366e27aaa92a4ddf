"""Capturing what C code writes to file descriptor 2, from several threads at once."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from adaspec.data._stderr import captured_stderr

_logger = logging.getLogger("adaspec.data.test_stderr")


def _noisy(k: int) -> None:
    with captured_stderr(_logger, f"writer {k}"):
        for _ in range(20):
            os.write(2, f"noise {k}\n".encode())


def test_threads_capture_to_the_log_and_restore_fd2(capfd, caplog):
    with caplog.at_level("DEBUG", logger=_logger.name), ThreadPoolExecutor(8) as pool:
        list(pool.map(_noisy, range(32)))
    os.write(2, b"fd 2 is back\n")
    assert capfd.readouterr().err == "fd 2 is back\n"
    expected = {f"stderr of writer {k}: " + "\n".join([f"noise {k}"] * 20) for k in range(32)}
    assert set(caplog.messages) == expected


def test_nested_blocks_restore_fd2(capfd, caplog):
    with caplog.at_level("DEBUG", logger=_logger.name), captured_stderr(_logger, "outer"):
        os.write(2, b"a\n")
        with captured_stderr(_logger, "inner"):
            os.write(2, b"b\n")
        os.write(2, b"c\n")
    os.write(2, b"d\n")
    assert capfd.readouterr().err == "d\n"
    assert caplog.messages == ["stderr of inner: b", "stderr of outer: a\nc"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_waits_for_a_block_so_the_child_keeps_its_stderr(capfd):
    started = threading.Event()

    def slow() -> None:
        with captured_stderr(_logger, "slow"):
            started.set()
            time.sleep(0.3)

    thread = threading.Thread(target=slow)
    thread.start()
    started.wait()
    pid = os.fork()
    if pid == 0:  # the child: its fd 2 must be the real one, and the lock free
        with captured_stderr(_logger, "child"):
            os.write(2, b"hidden\n")
        os.write(2, b"child\n")
        os._exit(0)
    thread.join()
    assert _exited_within(pid, 10.0), "the child hung on a lock held by a thread it does not have"
    assert capfd.readouterr().err == "child\n"


def _exited_within(pid: int, seconds: float) -> bool:
    """Wait for child ``pid``; kill it and return ``False`` if it is still running after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False
