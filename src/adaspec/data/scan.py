"""Validating a dataset by decoding every file once, optionally keeping the waveforms."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._interrupts import ctrl_c_deferred, stop_if_requested
from .._validation import check_positive_int
from ..errors import UserError, shown_path
from .audio import AudioDecodeError, load_audio
from .sources import AudioItem

logger = logging.getLogger(__name__)

_SHOWN = 5


class DataError(UserError):
    """A problem with the user's data (not with the code): unreadable files, nothing usable."""


@dataclass
class ScanResult:
    """What :func:`scan_items` found.

    Attributes:
        items: the usable items, in input order.
        bad: ``(item, reason)`` for each file that could not be used.
        waves: decoded waveforms aligned with ``items`` when scanned with ``cache=True``, else ``None``.
    """

    items: list[AudioItem]
    bad: list[tuple[AudioItem, str]]
    waves: list[np.ndarray] | None


def _name_problem(item: AudioItem) -> str | None:
    """Why the run cannot keep ``item`` by its name, or ``None``.

    A run records every file's path in UTF-8 text files (split file, predictions), which cannot hold a
    name that is not valid UTF-8 (Python holds its odd bytes as surrogate escapes).
    """
    try:
        str(item.path).encode("utf-8")
    except UnicodeEncodeError:
        return "the file name is not valid UTF-8, so the run's split file cannot record it; rename the file"
    return None


def _listing(bad: Sequence[tuple[AudioItem, str]]) -> str:
    lines = [f"{shown_path(item.path)}: {reason}" for item, reason in bad[:_SHOWN]]
    if len(bad) > _SHOWN:
        lines.append(f"... and {len(bad) - _SHOWN} more")
    return "; ".join(lines)


def _load(item: AudioItem, sample_rate: int) -> np.ndarray:
    """:func:`load_audio`, refusing first a name that the run cannot record."""
    problem = _name_problem(item)
    if problem is not None:
        raise AudioDecodeError(item.path, problem)
    return load_audio(item.path, sample_rate)


def scan_items(
    items: Sequence[AudioItem], sample_rate: int, strict: bool = False, cache: bool = False
) -> ScanResult:
    """Decode every item with :func:`load_audio`; report and skip the files that fail.

    Each bad file is logged as a warning ``"path: reason"`` (unless ``strict``: then the error lists them).
    A file whose name is not valid UTF-8 is bad too: a run cannot record it (see :func:`_name_problem`).
    A Ctrl-C stops the scan after the current file (see :func:`~adaspec._interrupts.ctrl_c_deferred`).

    Args:
        items: the items to check.
        sample_rate: rate to decode at (the waveforms kept with ``cache``).
        strict: raise instead of skipping when any file is bad.
        cache: keep the decoded waveforms in the result.

    Returns:
        The usable items, the bad ones with their reasons, and the waveforms if cached.

    Raises:
        DataError: if ``strict`` and a file is bad, or if no usable item remains.
        ValueError: if ``sample_rate`` is not a positive integer.
        KeyboardInterrupt: on Ctrl-C.
    """
    sample_rate = check_positive_int("sample_rate", sample_rate)
    good: list[AudioItem] = []
    bad: list[tuple[AudioItem, str]] = []
    waves: list[np.ndarray] = []
    with ctrl_c_deferred():  # a Ctrl-C stops the scan after the current file
        for item in items:
            stop_if_requested()
            try:
                wave = _load(item, sample_rate)
            except AudioDecodeError as err:
                if not strict:  # under strict the error raised below lists the bad files itself
                    logger.warning("%s: %s", shown_path(item.path), err.reason)
                bad.append((item, err.reason))
                continue
            good.append(item)
            if cache:
                waves.append(wave)
    if bad and strict:
        raise DataError(f"{len(bad)} of {len(items)} audio files cannot be used (strict): {_listing(bad)}")
    if not good:
        if not bad:
            raise DataError("no audio files to scan")
        raise DataError(f"none of the {len(items)} audio files can be used: {_listing(bad)}")
    if bad:
        logger.warning("skipped %d of %d audio files that cannot be used", len(bad), len(items))
    return ScanResult(items=good, bad=bad, waves=waves if cache else None)
