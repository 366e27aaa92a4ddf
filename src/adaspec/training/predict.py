"""``adaspec predict``: label audio files with a trained run, file by file, bad files reported inline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._interrupts import ctrl_c_deferred, stop_if_requested
from ..data import AUDIO_EXTENSIONS, AudioDecodeError, load_audio, split_parts
from ..data.cropping import fit_length, part_length
from ..data.walk import find_audio_files
from ..errors import not_a_file_reason, shown_path
from ..evaluation import format_predictions, mean_file_probs, top_k, vote
from .checkpoints import LoadedModel, load_classifier
from .datamodule import clip_samples
from .export import FORMATS, load_exported

log = logging.getLogger(__name__)

#: Files of ``adaspec export`` that ``predict`` runs directly.
EXPORTED_SUFFIXES = tuple(FORMATS.values())
#: Row key (removed before output) marking a file an exported model scored in windows other than the run's
#: parts.
_NOT_PARTS = "windows_are_not_parts"


@dataclass
class PredictionOutput:
    """Formatted predictions and how many files succeeded or failed."""

    text: str
    rows: list[dict[str, Any]]
    n_ok: int
    n_failed: int


def expand_paths(paths: Sequence[Path], extensions: Sequence[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """Files as given; folders walked recursively for audio files (sorted). Missing paths are kept so that
    they are reported in the output."""
    return [file for file, _ in find_audio_files(paths, extensions)]


def predict_file(loaded: LoadedModel, path: Path, k: int) -> dict[str, Any]:
    """One prediction row: ``{"path", "label", "top", "error"}``; decoding problems, and a model output
    that is not finite, go into ``error``."""
    config = loaded.config
    row: dict[str, Any] = {"path": str(path), "label": None, "top": [], "error": None}
    reason = not_a_file_reason(path)
    if reason is not None:
        row["error"] = reason
        return row
    sample_rate = config["data"]["sample_rate"]
    try:
        wave = load_audio(path, sample_rate)
    except AudioDecodeError as err:
        row["error"] = err.reason
        return row
    clip = clip_samples(config["data"])
    if loaded.checkpoint.suffix in EXPORTED_SUFFIXES:  # a fixed input length: clip-long windows
        parts = clip_windows(wave, config["eval"]["n_parts"], clip)
        # where the run's parts are not a clip long, the windows are not those parts (see predict_paths)
        row[_NOT_PARTS] = part_length(wave.size, config["eval"]["n_parts"], clip) != clip
    else:
        parts = split_parts(wave, config["eval"]["n_parts"], min_length=clip)
    parts = torch.from_numpy(parts)
    device = next(loaded.model.parameters(), torch.empty(0)).device  # an ONNX model has none: CPU
    with torch.inference_mode():
        probs = torch.softmax(loaded.model(parts.to(device)).float(), dim=1).cpu().numpy()
    if not np.isfinite(probs).all():  # a label voted from NaN would look like any other
        row["error"] = "the model's output is not finite (NaN or inf) on this file"
        return row
    row["label"] = loaded.class_names[vote(probs, config["eval"]["vote"])]
    # the vote's exact means (a plain mean's rounding could rank an exact tie otherwise than the label)
    _, means = mean_file_probs(probs, np.zeros(len(probs), dtype=np.int64))
    row["top"] = top_k(means[0], loaded.class_names, k)
    return row


def clip_windows(wave: np.ndarray, n_parts: int, clip: int) -> np.ndarray:
    """``n_parts`` windows of exactly ``clip`` samples centred on the parts :func:`split_parts` cuts
    (kept inside the wave, so they overlap in a file shorter than ``n_parts`` clips and leave gaps in a
    longer one), for an exported model, which takes only that length; a file shorter than a clip is
    zero-padded to one window. Where the parts are a clip long (a file ``n_parts`` clips long) the windows
    are the parts.

    Returns:
        ``(n_windows, clip)`` array of ``wave``'s dtype.
    """
    if wave.size <= clip:
        return fit_length(wave, clip)[None]
    centres = (np.arange(n_parts) + 0.5) * (wave.size / n_parts)
    starts = np.clip(np.round(centres - clip / 2).astype(np.int64), 0, wave.size - clip)
    return np.stack([wave[start : start + clip] for start in starts])


def _predict_rows(loaded: LoadedModel, files: Sequence[Path], k: int) -> list[dict[str, Any]]:
    """:func:`predict_file` for each of ``files``, a warning for each error; a requested stop (Ctrl-C)
    is taken between files."""
    rows = []
    for path in files:
        stop_if_requested()
        row = predict_file(loaded, path, k)
        if row["error"]:
            log.warning("%s: %s", shown_path(path), row["error"])
        rows.append(row)
    return rows


def predict_paths(
    target: str | Path, paths: Sequence[Path], top_k: int = 3, fmt: str = "table"
) -> PredictionOutput:
    """Predict every file under ``paths`` with the run, checkpoint or exported model ``target``.

    The label is the ``eval.vote`` vote over ``eval.n_parts`` parts; the listed probabilities are the mean
    over parts. A file that cannot be decoded gets an error row and the others go on. A ``.onnx`` or
    ``.pt2`` file written by ``adaspec export`` brings its own sample rate, crop and vote settings, and
    takes ``eval.n_parts`` windows of its fixed input length (see :func:`clip_windows`).

    In the text (every format) a file name that is not valid UTF-8 shows its odd bytes as ``\\xNN``
    escapes, as the warnings do, so that the text is valid UTF-8 (and the JSON valid for strict parsers);
    ``rows`` keep each ``path`` as Python holds it (surrogate escapes), which opens the file again.

    A Ctrl-C stops after the current file (see :func:`~adaspec._interrupts.ctrl_c_deferred`).

    Raises:
        KeyboardInterrupt: on Ctrl-C; nothing is returned, so nothing is printed.
    """
    with ctrl_c_deferred():
        exported = Path(target).suffix in EXPORTED_SUFFIXES
        loaded = load_exported(target) if exported else load_classifier(target)
        rows = _predict_rows(loaded, expand_paths(paths, loaded.config["data"]["extensions"]), top_k)
    not_parts = sum(row.pop(_NOT_PARTS, False) for row in rows)
    if not_parts:
        n_parts, seconds = loaded.config["eval"]["n_parts"], loaded.config["data"]["clip_seconds"]
        log.warning(
            "%d of %d files are not %d clips of %g s long: the exported model scores %d clip-long windows "
            "of each, not the run's %d parts, so its labels and probabilities may differ from the run's",
            not_parts,
            len(rows),
            n_parts,
            seconds,
            n_parts,
            n_parts,
        )
    n_failed = sum(1 for row in rows if row["error"])
    shown = [{**row, "path": shown_path(row["path"])} for row in rows]
    return PredictionOutput(
        text=format_predictions(shown, fmt), rows=rows, n_ok=len(rows) - n_failed, n_failed=n_failed
    )
