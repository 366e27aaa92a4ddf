"""Segment- and file-level evaluation of part probabilities (hand-computed votes, sklearn scores)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn import metrics as sk

from adaspec.evaluation import EvaluationResult, evaluate_parts

NAMES = ["cat", "dog", "bird"]
# file id -> (true class, parts). File 4: majority 0, mean 1. File 9: both 2. File 2: both 1.
FILES = {
    4: (1, [[0.51, 0.49, 0.0], [0.51, 0.49, 0.0], [0.0, 1.0, 0.0]]),
    9: (2, [[0.1, 0.1, 0.8], [0.3, 0.3, 0.4]]),
    2: (0, [[0.2, 0.7, 0.1]]),
}


def flatten(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    probs = np.concatenate([np.asarray(parts) for _, parts in FILES.values()])
    index = np.concatenate([np.full(len(parts), fid) for fid, (_, parts) in FILES.items()])
    labels = np.concatenate([np.full(len(parts), label) for label, parts in FILES.values()])
    order = np.random.default_rng(seed).permutation(len(index))
    return probs[order], index[order], labels[order]


def test_reports_for_both_rules():
    probs, index, labels = flatten()
    result = evaluate_parts(
        probs, index, NAMES, file_labels={fid: label for fid, (label, _) in FILES.items()}
    )
    assert isinstance(result, EvaluationResult)
    np.testing.assert_array_equal(result.file_ids, [2, 4, 9])
    np.testing.assert_array_equal(result.file_labels, [0, 1, 2])
    np.testing.assert_array_equal(result.file_predictions["mean"], [1, 1, 2])
    np.testing.assert_array_equal(result.file_predictions["majority"], [1, 0, 2])
    np.testing.assert_allclose(result.file_probs[1], [0.34, 0.66, 0.0])
    assert result.files["mean"].accuracy == pytest.approx(2 / 3)
    assert result.files["majority"].accuracy == pytest.approx(1 / 3)
    assert result.rule == "mean" and result.file is result.files["mean"]

    segment_pred = probs.argmax(axis=1)
    assert result.segment.n == 6
    assert result.segment.accuracy == pytest.approx(sk.accuracy_score(labels, segment_pred))
    assert result.segment.macro_f1 == pytest.approx(
        sk.f1_score(labels, segment_pred, labels=[0, 1, 2], average="macro", zero_division=0)
    )
    np.testing.assert_array_equal(result.files["majority"].confusion, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])

    scores = result.metrics()
    assert scores["file_accuracy"] == scores["file_mean_accuracy"] == pytest.approx(2 / 3)
    assert scores["file_majority_accuracy"] == pytest.approx(1 / 3)
    assert set(scores) >= {"segment_accuracy", "segment_macro_f1", "file_macro_f1", "file_majority_macro_f1"}
    data = json.loads(json.dumps(result.to_dict()))
    assert set(data["files"]) == {"mean", "majority"}


def test_label_sources_agree_and_rule_picks_headline():
    probs, index, labels = flatten(seed=1)
    by_dict = evaluate_parts(probs, index, NAMES, file_labels={2: 0, 4: 1, 9: 2}, rule="majority")
    table = np.array([-1, -1, 0, -1, 1, -1, -1, -1, -1, 2])
    by_array = evaluate_parts(probs, index, NAMES, file_labels=table, rule="majority")
    by_parts = evaluate_parts(probs, index, NAMES, part_labels=labels, rule="majority")
    for result in (by_dict, by_array, by_parts):
        assert result.file is result.files["majority"]
        assert result.file.accuracy == pytest.approx(1 / 3)
        np.testing.assert_array_equal(result.file_labels, [0, 1, 2])


def test_errors():
    probs, index, labels = flatten()
    with pytest.raises(ValueError, match="exactly one"):
        evaluate_parts(probs, index, NAMES)
    with pytest.raises(ValueError, match="exactly one"):
        evaluate_parts(probs, index, NAMES, file_labels={}, part_labels=labels)
    with pytest.raises(ValueError, match="file ids"):
        evaluate_parts(probs, index, NAMES, file_labels={2: 0, 4: 1})
    with pytest.raises(ValueError, match="file_labels"):
        evaluate_parts(probs, index, NAMES, file_labels=np.array([0, 1, 2]))
    bad = labels.copy()
    bad[index == 4] = np.arange((index == 4).sum()) % 3
    with pytest.raises(ValueError, match="disagree"):
        evaluate_parts(probs, index, NAMES, part_labels=bad)
    with pytest.raises(ValueError, match="class_names"):
        evaluate_parts(probs, index, NAMES[:2], part_labels=labels)
    with pytest.raises(ValueError, match="rule"):
        evaluate_parts(probs, index, NAMES, part_labels=labels, rule="vote")
    with pytest.raises(ValueError, match="file_labels must hold class indices"):
        evaluate_parts(probs, index, NAMES, file_labels={2: 0, 4: 5, 9: 2})
    with pytest.raises(ValueError, match="part_labels must hold"):
        evaluate_parts(probs, index, NAMES, part_labels=labels.astype(float))
