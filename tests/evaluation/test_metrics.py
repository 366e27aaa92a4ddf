"""Scores against scikit-learn (test-only oracle) and a hand-computed case."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as sk

from adaspec.evaluation import (
    ClassificationReport,
    accuracy,
    classification_report,
    confusion_matrix,
    macro_f1,
    per_class_report,
)

NAMES = [f"class_{i}" for i in range(7)]


def random_labels(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True labels from classes 0-4, predictions from 0, 1, 2, 5: class 6 is absent from both, classes 3
    and 4 are never predicted, class 5 never true."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 5, size=200), rng.choice([0, 1, 2, 5], size=200)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_sklearn_with_absent_classes(seed):
    y_true, y_pred = random_labels(seed)
    labels = list(range(len(NAMES)))
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, 7), sk.confusion_matrix(y_true, y_pred, labels=labels)
    )
    assert accuracy(y_true, y_pred) == pytest.approx(sk.accuracy_score(y_true, y_pred), abs=1e-12)
    expected_f1 = sk.f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
    assert macro_f1(y_true, y_pred, 7) == pytest.approx(expected_f1, abs=1e-12)

    precision, recall, f1, support = sk.precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    rows = per_class_report(y_true, y_pred, NAMES)
    assert [row["class"] for row in rows] == NAMES
    np.testing.assert_allclose([row["precision"] for row in rows], precision, atol=1e-12)
    np.testing.assert_allclose([row["recall"] for row in rows], recall, atol=1e-12)
    np.testing.assert_allclose([row["f1"] for row in rows], f1, atol=1e-12)
    assert [row["support"] for row in rows] == support.tolist()

    report = classification_report(y_true, y_pred, NAMES)
    assert report.accuracy == pytest.approx(sk.accuracy_score(y_true, y_pred), abs=1e-12)
    assert report.macro_f1 == pytest.approx(expected_f1, abs=1e-12)
    assert report.n == 200
    assert report.per_class == rows


def test_hand_computed_case():
    # Confusion rows (true) x columns (predicted): [[1,1,0,0],[0,1,0,0],[0,1,0,0],[0,0,0,0]].
    # F1: class 0 = 2*1/(2+1) = 2/3, class 1 = 2*1/(1+3) = 1/2, classes 2 and 3 = 0.
    y_true, y_pred = np.array([0, 0, 1, 2]), np.array([0, 1, 1, 1])
    np.testing.assert_array_equal(
        confusion_matrix(y_true, y_pred, 4), [[1, 1, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]]
    )
    assert accuracy(y_true, y_pred) == 0.5
    assert macro_f1(y_true, y_pred, 4) == pytest.approx((2 / 3 + 1 / 2) / 4)
    rows = per_class_report(y_true, y_pred, ["a", "b", "c", "d"])
    assert rows[1] == {
        "class": "b",
        "precision": pytest.approx(1 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.5),
        "support": 1,
    }
    assert rows[3] == {"class": "d", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_report_is_json_safe_and_tabulates_every_class():
    y_true, y_pred = random_labels(3)
    report = classification_report(y_true, y_pred, NAMES)
    assert isinstance(report, ClassificationReport)
    assert report.class_names == NAMES
    data = json.loads(json.dumps(report.to_dict()))
    assert data["confusion"] == sk.confusion_matrix(y_true, y_pred, labels=range(7)).tolist()
    assert data["n"] == 200 and isinstance(data["accuracy"], float)
    table = report.format_table()
    lines = table.splitlines()
    for name in NAMES:
        assert any(line.startswith(name) for line in lines)
    assert f"accuracy  {report.accuracy:.3f}" in table
    assert f"macro F1  {report.macro_f1:.3f}" in table
    # Aligned: every class row has the same length as the header.
    assert len({len(line) for line in lines[: 1 + len(NAMES)]}) == 1


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="y_pred"):
        confusion_matrix([0, 1], [0, 3], 3)
    with pytest.raises(ValueError, match="y_true"):
        confusion_matrix([-1, 1], [0, 1], 3)
    with pytest.raises(ValueError, match="same length"):
        macro_f1([0, 1], [0], 2)
    with pytest.raises(ValueError, match="at least one"):
        classification_report([], [], ["a"])
    with pytest.raises(ValueError, match="n_classes"):
        confusion_matrix([0], [0], 0)
    with pytest.raises(ValueError, match="y_true"):
        confusion_matrix([0.5], [0], 2)
    with pytest.raises(ValueError, match="same length"):
        accuracy([0, 1], [1])
