"""Classification scores (confusion matrix, accuracy, macro F1, per-class precision/recall/F1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_positive_int


def _check_labels(name: str, labels: Any, n_classes: int) -> np.ndarray:
    """Return ``labels`` as a 1-D int64 array of class indices in ``[0, n_classes)``."""
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {values.shape}")
    if values.size and not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{name} must hold integer class indices, got dtype {values.dtype}")
    values = values.astype(np.int64)
    if values.size and (values.min() < 0 or values.max() >= n_classes):
        raise ValueError(
            f"{name} must hold class indices in [0, {n_classes}) (n_classes={n_classes}), "
            f"got values from {values.min()} to {values.max()}"
        )
    return values


def _check_pair(y_true: Any, y_pred: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate a non-empty pair of label arrays of the same length."""
    n_classes = check_positive_int("n_classes", n_classes)
    true = _check_labels("y_true", y_true, n_classes)
    pred = _check_labels("y_pred", y_pred, n_classes)
    if true.shape != pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {true.size} and {pred.size}")
    if true.size == 0:
        raise ValueError("y_true and y_pred must hold at least one label, got none")
    return true, pred


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` with 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    safe = np.where(denominator > 0, denominator, 1)
    return np.where(denominator > 0, numerator / safe, 0.0)


def _scores(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class ``(precision, recall, f1, support)`` of a confusion matrix."""
    hits = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    return _ratio(hits, predicted), _ratio(hits, support), _ratio(2 * hits, support + predicted), support


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int) -> np.ndarray:
    """Count matrix, rows = true class, columns = predicted class.

    Args:
        y_true: ``(n,)`` true class indices.
        y_pred: ``(n,)`` predicted class indices.
        n_classes: number of classes (the matrix is ``(n_classes, n_classes)``).

    Returns:
        int64 counts.

    Raises:
        ValueError: for labels outside ``[0, n_classes)``, different lengths or empty input.
    """
    true, pred = _check_pair(y_true, y_pred, n_classes)
    flat = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of labels predicted correctly (labels of any comparable kind).

    Raises:
        ValueError: for non-1-D input, different lengths or empty input.
    """
    true, pred = np.asarray(y_true), np.asarray(y_pred)
    if true.ndim != 1 or true.shape != pred.shape or true.size == 0:
        raise ValueError(
            "y_true and y_pred must be non-empty 1-D arrays of the same length, "
            f"got shapes {true.shape} and {pred.shape}"
        )
    return float(np.mean(true == pred))


def macro_f1(y_true: Any, y_pred: Any, n_classes: int) -> float:
    """Unweighted mean F1 over all ``n_classes`` classes; a class with no true and no predicted sample
    scores 0 (scikit-learn's ``f1_score(average="macro", labels=range(n_classes), zero_division=0)``).

    Raises:
        ValueError: as :func:`confusion_matrix`.
    """
    return float(_scores(confusion_matrix(y_true, y_pred, n_classes))[2].mean())


def per_class_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support of every class (``zero_division=0``).

    Args:
        y_true: ``(n,)`` true class indices.
        y_pred: ``(n,)`` predicted class indices.
        class_names: one name per class index.

    Returns:
        One dict per class, in class order: ``{"class", "precision", "recall", "f1", "support"}``.

    Raises:
        ValueError: as :func:`confusion_matrix` (``n_classes = len(class_names)``).
    """
    return _rows(confusion_matrix(y_true, y_pred, len(class_names)), class_names)


def _rows(matrix: np.ndarray, class_names: Sequence[str]) -> list[dict[str, Any]]:
    precision, recall, f1, support = _scores(matrix)
    return [
        {
            "class": str(name),
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    ]


@dataclass
class ClassificationReport:
    """Scores of one set of predictions.

    Attributes:
        accuracy: fraction correct.
        macro_f1: unweighted mean F1 over all classes.
        confusion: ``(n_classes, n_classes)`` int counts, rows = true, columns = predicted.
        per_class: :func:`per_class_report` rows.
        n: number of predictions.
    """

    accuracy: float
    macro_f1: float
    confusion: np.ndarray
    per_class: list[dict[str, Any]]
    n: int

    @property
    def class_names(self) -> list[str]:
        """The class names, in class-index order."""
        return [row["class"] for row in self.per_class]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe copy (lists, floats, ints, strings)."""
        return {
            "accuracy": float(self.accuracy),
            "macro_f1": float(self.macro_f1),
            "n": int(self.n),
            "confusion": np.asarray(self.confusion).astype(int).tolist(),
            "per_class": [dict(row) for row in self.per_class],
        }

    def format_table(self, digits: int = 3) -> str:
        """Aligned plain-text table: one line per class, then accuracy and macro-F1 lines."""
        header = ("class", "precision", "recall", "f1", "support")
        lines = [
            (row["class"], *(f"{row[key]:.{digits}f}" for key in header[1:4]), str(row["support"]))
            for row in self.per_class
        ]
        widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

        def join(cells: Sequence[str]) -> str:
            return "  ".join(
                [cells[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]
            )

        table = [join(header), *(join(cells) for cells in lines), ""]
        table.append(f"accuracy  {self.accuracy:.{digits}f}  (n={self.n})")
        table.append(f"macro F1  {self.macro_f1:.{digits}f}")
        return "\n".join(table)


def classification_report(y_true: Any, y_pred: Any, class_names: Sequence[str]) -> ClassificationReport:
    """Accuracy, macro F1, confusion matrix and per-class scores of ``y_pred`` against ``y_true``.

    Raises:
        ValueError: as :func:`confusion_matrix` (``n_classes = len(class_names)``).
    """
    matrix = confusion_matrix(y_true, y_pred, len(class_names))
    n = int(matrix.sum())
    return ClassificationReport(
        accuracy=float(np.trace(matrix) / n),
        macro_f1=float(_scores(matrix)[2].mean()),
        confusion=matrix,
        per_class=_rows(matrix, class_names),
        n=n,
    )
