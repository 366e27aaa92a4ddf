"""Per-file predictions as a CSV file, and prediction rows as a table, CSV or JSON text."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import replaced_atomically
from .._validation import check_choice, check_positive_int

FORMATS = ("table", "csv", "json")


def _number(value: float) -> str:
    """A probability as text with 6 significant digits."""
    return f"{float(value):.6g}"


def top_k(probs_row: Any, class_names: Sequence[str], k: int) -> list[tuple[str, float]]:
    """The ``k`` most probable classes, most probable first (ties: lower class index first).

    Args:
        probs_row: ``(n_classes,)`` probabilities of one item.
        class_names: one name per class.
        k: how many to return (all classes when ``k > n_classes``).

    Returns:
        ``[(name, probability), ...]``.

    Raises:
        ValueError: if ``k`` is not a positive integer or ``probs_row`` does not match ``class_names``.
    """
    k = check_positive_int("k", k)
    values = np.asarray(probs_row, dtype=np.float64)
    if values.ndim != 1 or values.size != len(class_names):
        raise ValueError(
            f"probs_row must be 1-D with one probability per class ({len(class_names)}), got {values.shape}"
        )
    return _ranked(values, class_names, k)


def _ranked(values: np.ndarray, class_names: Sequence[str], k: int) -> list[tuple[str, float]]:
    order = np.argsort(-values, kind="stable")[:k]
    return [(str(class_names[i]), float(values[i])) for i in order]


def _top_field(top: Sequence[tuple[str, float]]) -> str:
    """Top classes as one CSV field: ``name:prob;name:prob``."""
    return ";".join(f"{name}:{_number(p)}" for name, p in top)


def write_predictions_csv(
    path: str | Path,
    paths: Sequence[str],
    probs: np.ndarray,
    class_names: Sequence[str],
    true_labels: Sequence[str | None] | None = None,
    top_k: int = 3,
    predicted: Sequence[int] | np.ndarray | None = None,
) -> Path:
    """Write one row per file: ``path, predicted, probability[, true_label, correct][, top], p_<class>...``.

    ``predicted`` is the given class (the vote, e.g. :attr:`EvaluationResult.file_predictions` of the
    headline rule) or else the argmax class, ``probability`` its probability; ``true_label``/``correct``
    (``true``/``false``, empty where the true label is ``None``) appear only with ``true_labels``;
    ``top`` lists the ``top_k`` classes as ``name:prob;name:prob`` (left out with ``top_k=0``); then one
    ``p_<name>`` column per class. Numbers carry 6 significant digits.

    Args:
        path: output CSV file; parent folders are created. It is written whole or not at all (an error
            or a kill mid-write leaves the earlier file, if any, as it was; see
            :func:`~adaspec._atomic.replaced_atomically`).
        paths: ``(n_files,)`` file paths (or any identifiers).
        probs: ``(n_files, n_classes)`` probabilities.
        class_names: one name per class.
        true_labels: optional true class name per file (``None`` where unknown).
        top_k: classes in the ``top`` column (0 for none).
        predicted: optional ``(n_files,)`` class index of each file (default: the argmax of ``probs``);
            give the voted labels so that ``predicted`` and ``correct`` agree with the reported scores
            under a ``majority`` vote, whose label need not be the argmax of the mean probabilities.

    Returns:
        The path written.

    Raises:
        ValueError: for mismatched lengths, a negative ``top_k`` or ``predicted`` outside the classes.
    """
    values = np.asarray(probs, dtype=np.float64)
    if values.ndim != 2 or values.shape != (len(paths), len(class_names)):
        raise ValueError(
            f"probs must have shape (len(paths), len(class_names)) = ({len(paths)}, {len(class_names)}), "
            f"got {values.shape}"
        )
    if true_labels is not None and len(true_labels) != len(paths):
        raise ValueError(f"true_labels must have one entry per path ({len(paths)}), got {len(true_labels)}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ValueError(f"top_k must be a non-negative integer (0 for no 'top' column), got {top_k!r}")
    if predicted is None:
        chosen = values.argmax(axis=1) if values.size else np.zeros(len(paths), dtype=np.int64)
    else:
        chosen = np.asarray(predicted)
        if chosen.shape != (len(paths),) or (chosen.size and not np.issubdtype(chosen.dtype, np.integer)):
            raise ValueError(
                f"predicted must hold one integer class index per path ({len(paths)}), "
                f"got shape {chosen.shape} and dtype {chosen.dtype}"
            )
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(class_names)):
            raise ValueError(
                f"predicted must hold class indices in [0, {len(class_names)}), "
                f"got values from {chosen.min()} to {chosen.max()}"
            )
    header = ["path", "predicted", "probability"]
    if true_labels is not None:
        header += ["true_label", "correct"]
    if top_k:
        header.append("top")
    header += [f"p_{name}" for name in class_names]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, file_path in enumerate(paths):
            best = int(chosen[i])
            label = str(class_names[best])
            row = [str(file_path), label, _number(values[i, best])]
            if true_labels is not None:
                truth = true_labels[i]
                row += ["", ""] if truth is None else [truth, "true" if truth == label else "false"]
            if top_k:
                row.append(_top_field(_ranked(values[i], class_names, top_k)))
            row += [_number(p) for p in values[i]]
            writer.writerow(row)
    return path


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    cells = [("path", "label", "top")]
    for row in rows:
        if row.get("error"):
            cells.append((str(row["path"]), f"ERROR: {row['error']}", ""))
        else:
            label = "-" if row.get("label") is None else str(row["label"])
            top = ", ".join(f"{name} {p:.3f}" for name, p in row.get("top") or ())
            cells.append((str(row["path"]), label, top))
    widths = [max(len(line[i]) for line in cells) for i in range(2)]
    return "\n".join(
        f"{line[0].ljust(widths[0])}  {line[1].ljust(widths[1])}  {line[2]}".rstrip() for line in cells
    )


def _label_probability(label: Any, top: Sequence[tuple[str, float]]) -> str:
    """The probability of ``label`` among the ``top`` classes; empty where it is not one of them (a
    majority vote's label need not be the most probable class on average)."""
    if label is None:
        return ""
    return next((_number(p) for name, p in top if str(name) == str(label)), "")


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "label", "probability", "top", "error"])
    for row in rows:
        top = list(row.get("top") or ())
        error = row.get("error")
        label = row.get("label")
        writer.writerow(
            [
                str(row["path"]),
                "" if error or label is None else str(label),
                "" if error else _label_probability(label, top),
                "" if error else _top_field(top),
                error or "",
            ]
        )
    return buffer.getvalue().removesuffix("\n")  # the caller prints it with its own newline


def _json(rows: Sequence[Mapping[str, Any]]) -> str:
    items = []
    for row in rows:
        error = row.get("error") or None
        top = [] if error else [{"class": str(n), "probability": float(p)} for n, p in row.get("top") or ()]
        label = None if error or row.get("label") is None else str(row["label"])
        items.append({"path": str(row["path"]), "label": label, "top": top, "error": error})
    return json.dumps(items, indent=2)


def format_predictions(rows: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Render prediction rows as text.

    Each row is ``{"path": str, "label": str | None, "top": [(name, prob), ...], "error": str | None}``.
    A row with an error shows it instead of a label: ``ERROR: <reason>`` in the table, the ``error``
    column in CSV (``path,label,probability,top,error``; ``probability`` is the label's, from ``top``, and
    empty if the label is not among the ``top`` classes), the ``"error"`` key in JSON (a list of
    ``{"path", "label", "top": [{"class", "probability"}], "error"}``).

    Args:
        rows: the prediction rows.
        fmt: ``"table"``, ``"csv"`` or ``"json"``.

    Returns:
        The text (CSV ends with a newline; table and JSON do not).

    Raises:
        ValueError: for an unknown ``fmt``.
    """
    check_choice("fmt", fmt, FORMATS)
    return {"table": _table, "csv": _csv, "json": _json}[fmt](rows)
