"""A Ctrl-C during the catalog scan stops it after the current file, even one that lands where Python
cannot raise (a finaliser); a second Ctrl-C stops it at once."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest

from adaspec.data import AudioItem, scan
from adaspec.data.scan import scan_items
from tests.data.audio_files import write_tone
from tests.interrupt_helpers import ctrl_c_in_finaliser_on_call


def _items(folder: Path, count: int = 4) -> list[AudioItem]:
    return [AudioItem(write_tone(folder / f"{index}.wav", seconds=0.05), "a") for index in range(count)]


@pytest.mark.parametrize("call", [1, 3], ids=["a middle file", "the last file"])
def test_a_ctrl_c_that_lands_in_a_finaliser_stops_the_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: int
) -> None:
    monkeypatch.setattr(scan, "load_audio", ctrl_c_in_finaliser_on_call(scan.load_audio, call))
    with pytest.raises(KeyboardInterrupt):
        scan_items(_items(tmp_path), 8000)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_stops_the_scan_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    presses_survived = []

    def press_twice(*_args: object) -> np.ndarray:
        signal.raise_signal(signal.SIGINT)
        presses_survived.append(1)
        signal.raise_signal(signal.SIGINT)
        presses_survived.append(2)
        return np.zeros(8, dtype=np.float32)

    monkeypatch.setattr(scan, "load_audio", press_twice)
    with pytest.raises(KeyboardInterrupt):
        scan_items(_items(tmp_path), 8000)
    assert presses_survived == [1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
