"""Segment-level and file-level (voted) scores of a model's part probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice
from .metrics import ClassificationReport, classification_report
from .voting import VOTES, mean_file_probs, vote_files


@dataclass
class EvaluationResult:
    """Scores of one evaluation pass over files split into parts.

    Attributes:
        segment: every part's argmax against its file's label.
        files: file-level report for each vote rule, keyed ``"mean"`` and ``"majority"``.
        rule: the headline vote rule (see :attr:`file`).
        file_ids: ``(n_files,)`` sorted unique file ids.
        file_labels: ``(n_files,)`` true class of each file.
        file_probs: ``(n_files, n_classes)`` mean part probabilities of each file.
        file_predictions: voted class of each file ``(n_files,)`` for each vote rule.
    """

    segment: ClassificationReport
    files: dict[str, ClassificationReport]
    rule: str
    file_ids: np.ndarray
    file_labels: np.ndarray
    file_probs: np.ndarray
    file_predictions: dict[str, np.ndarray]

    @property
    def file(self) -> ClassificationReport:
        """The file-level report of the headline rule."""
        return self.files[self.rule]

    def metrics(self) -> dict[str, float]:
        """Flat scores for logging: ``segment_*``, ``file_*`` (headline rule) and ``file_<rule>_*``."""
        scores = {"segment_accuracy": self.segment.accuracy, "segment_macro_f1": self.segment.macro_f1}
        scores["file_accuracy"] = self.file.accuracy
        scores["file_macro_f1"] = self.file.macro_f1
        for rule, report in self.files.items():
            scores[f"file_{rule}_accuracy"] = report.accuracy
            scores[f"file_{rule}_macro_f1"] = report.macro_f1
        return {key: float(value) for key, value in scores.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe reports (no per-file arrays): ``{"rule", "segment", "files": {rule: report}}``."""
        return {
            "rule": self.rule,
            "segment": self.segment.to_dict(),
            "files": {rule: report.to_dict() for rule, report in self.files.items()},
        }


def _labels_from_files(ids: np.ndarray, file_labels: Mapping[int, int] | np.ndarray) -> np.ndarray:
    """True label of each file id, from a ``{file_id: label}`` mapping or an array indexed by file id."""
    if isinstance(file_labels, Mapping):
        missing = [int(i) for i in ids if int(i) not in file_labels]
        if missing:
            raise ValueError(
                f"file_labels has no label for file ids {missing[:10]} (of {len(missing)} missing)"
            )
        return np.asarray([file_labels[int(i)] for i in ids])
    table = np.asarray(file_labels)
    if table.ndim != 1:
        raise ValueError(
            f"file_labels must be a mapping or a 1-D array indexed by file id, got {table.shape}"
        )
    if ids.min() < 0 or ids.max() >= table.size:
        raise ValueError(
            f"file_labels has {table.size} entries but file ids range from {ids.min()} to {ids.max()}"
        )
    return table[ids]


def _labels_from_parts(ids: np.ndarray, inverse: np.ndarray, part_labels: np.ndarray) -> np.ndarray:
    """True label of each file from per-part labels, which must agree within a file."""
    labels = np.asarray(part_labels)
    if labels.shape != inverse.shape:
        raise ValueError(
            f"part_labels must have one label per part ({inverse.size}), got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"part_labels must hold integer class indices, got dtype {labels.dtype}")
    low = np.full(ids.size, np.iinfo(np.int64).max)
    high = np.full(ids.size, np.iinfo(np.int64).min)
    np.minimum.at(low, inverse, labels)
    np.maximum.at(high, inverse, labels)
    if np.any(low != high):
        bad = ids[low != high][:10].tolist()
        raise ValueError(f"part_labels disagree within files {bad}: all parts of a file need the same label")
    return low


def evaluate_parts(
    part_probs: np.ndarray,
    part_file: np.ndarray,
    class_names: Sequence[str],
    *,
    file_labels: Mapping[int, int] | np.ndarray | None = None,
    part_labels: np.ndarray | None = None,
    rule: str = "mean",
) -> EvaluationResult:
    """Score part probabilities per part (segment level) and per file after voting with both rules.

    Give the true classes either per file (``file_labels``) or per part (``part_labels``), not both.

    Args:
        part_probs: ``(n_parts, n_classes)`` class probabilities of all parts, in any order.
        part_file: ``(n_parts,)`` integer file id of each part.
        class_names: one name per class (``n_classes`` of them).
        file_labels: ``{file_id: class}`` or a 1-D array indexed by file id.
        part_labels: ``(n_parts,)`` class of each part (equal within a file).
        rule: the headline vote rule, ``"mean"`` or ``"majority"``.

    Returns:
        The :class:`EvaluationResult`.

    Raises:
        ValueError: for mismatched shapes, missing or inconsistent labels, an unknown ``rule``, or
            labels outside ``[0, n_classes)``.
    """
    check_choice("rule", rule, VOTES)
    if (file_labels is None) == (part_labels is None):
        given = "both" if file_labels is not None else "neither"
        raise ValueError(f"give exactly one of file_labels and part_labels, got {given}")
    ids, file_probs = mean_file_probs(part_probs, part_file)
    if file_probs.shape[1] != len(class_names):
        raise ValueError(
            f"class_names must name every class of part_probs ({file_probs.shape[1]}), got {len(class_names)}"
        )
    inverse = np.searchsorted(ids, np.asarray(part_file))
    if part_labels is not None:
        source, labels = "part_labels", _labels_from_parts(ids, inverse, part_labels)
    else:
        source, labels = "file_labels", _labels_from_files(ids, file_labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{source} must hold integer class indices, got dtype {labels.dtype}")
    bad = np.unique(labels[(labels < 0) | (labels >= len(class_names))])
    if bad.size:
        raise ValueError(
            f"{source} must hold class indices in [0, {len(class_names)}) (one per class name), "
            f"got {bad.tolist()[:10]}"
        )
    part_pred = np.asarray(part_probs).argmax(axis=1)
    segment = classification_report(labels[inverse], part_pred, class_names)
    predictions = {name: vote_files(part_probs, part_file, name)[1] for name in VOTES}
    return EvaluationResult(
        segment=segment,
        files={name: classification_report(labels, predictions[name], class_names) for name in VOTES},
        rule=rule,
        file_ids=ids,
        file_labels=np.asarray(labels, dtype=np.int64),
        file_probs=file_probs,
        file_predictions=predictions,
    )
