"""Prediction CSV files and prediction text (table, CSV, JSON) from hand-made probabilities."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from adaspec.evaluation import FORMATS, format_predictions, top_k, write_predictions_csv

NAMES = ["cat", "dog", "bird"]
PROBS = np.array([[0.7, 0.2, 0.1], [0.05, 0.15, 0.8], [0.25, 0.5, 0.25]])
PATHS = ["a/one.wav", "b/two, with comma.wav", "three.wav"]


def test_csv_round_trip_with_true_labels(tmp_path):
    path = write_predictions_csv(
        tmp_path / "out" / "p.csv", PATHS, PROBS, NAMES, ["cat", "dog", None], top_k=2
    )
    assert path == tmp_path / "out" / "p.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "path",
        "predicted",
        "probability",
        "true_label",
        "correct",
        "top",
        "p_cat",
        "p_dog",
        "p_bird",
    ]
    assert [row["path"] for row in rows] == PATHS
    assert [row["predicted"] for row in rows] == ["cat", "bird", "dog"]
    assert [float(row["probability"]) for row in rows] == [0.7, 0.8, 0.5]
    assert [row["true_label"] for row in rows] == ["cat", "dog", ""]
    assert [row["correct"] for row in rows] == ["true", "false", ""]
    assert rows[0]["top"] == "cat:0.7;dog:0.2"
    assert rows[2]["top"] == "dog:0.5;cat:0.25"
    read_back = np.array([[float(row[f"p_{name}"]) for name in NAMES] for row in rows])
    np.testing.assert_allclose(read_back, PROBS, rtol=1e-6)


def test_csv_without_true_labels_or_top(tmp_path):
    path = write_predictions_csv(tmp_path / "p.csv", PATHS[:1], PROBS[:1], NAMES, top_k=0)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["path", "predicted", "probability", "p_cat", "p_dog", "p_bird"],
        ["a/one.wav", "cat", "0.7", "0.7", "0.2", "0.1"],
    ]


def test_csv_errors(tmp_path):
    with pytest.raises(ValueError, match="probs"):
        write_predictions_csv(tmp_path / "p.csv", PATHS[:2], PROBS, NAMES)
    with pytest.raises(ValueError, match="true_labels"):
        write_predictions_csv(tmp_path / "p.csv", PATHS, PROBS, NAMES, ["cat"])
    with pytest.raises(ValueError, match="top_k"):
        write_predictions_csv(tmp_path / "p.csv", PATHS, PROBS, NAMES, top_k=-1)


def test_top_k_order_and_ties():
    assert top_k(PROBS[1], NAMES, 2) == [("bird", 0.8), ("dog", 0.15)]
    # Tie between cat and bird (0.25): the lower class index first.
    assert top_k(PROBS[2], NAMES, 3) == [("dog", 0.5), ("cat", 0.25), ("bird", 0.25)]
    assert top_k(PROBS[0], NAMES, 10) == [("cat", 0.7), ("dog", 0.2), ("bird", 0.1)]
    with pytest.raises(ValueError, match="k must be a positive integer"):
        top_k(PROBS[0], NAMES, 0)
    with pytest.raises(ValueError, match="probs_row"):
        top_k(PROBS[0], NAMES[:2], 1)


ROWS = [
    {"path": "x.wav", "label": "cat", "top": [("cat", 0.7), ("dog", 0.2)], "error": None},
    {"path": "long/name.wav", "label": "bird", "top": [("bird", 0.8)], "error": None},
    {"path": "bad.wav", "label": None, "top": [], "error": "cannot decode"},
]


def test_table():
    text = format_predictions(ROWS, "table")
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[0].split() == ["path", "label", "top"]
    assert lines[1].split() == ["x.wav", "cat", "cat", "0.700,", "dog", "0.200"]
    assert "ERROR: cannot decode" in lines[3] and lines[3].startswith("bad.wav")
    # Labels start in the same column on every line.
    assert (
        len({line.index(word) for line, word in zip(lines, ["label", "cat", "bird", "ERROR"], strict=True)})
        == 1
    )


def test_csv_text():
    text = format_predictions(ROWS, "csv")
    assert not text.endswith("\n")  # printed with one newline: no empty last row
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["path"] for row in rows] == ["x.wav", "long/name.wav", "bad.wav"]
    assert rows[0] == {
        "path": "x.wav",
        "label": "cat",
        "probability": "0.7",
        "top": "cat:0.7;dog:0.2",
        "error": "",
    }
    assert rows[2] == {"path": "bad.wav", "label": "", "probability": "", "top": "", "error": "cannot decode"}


def test_json_text():
    data = json.loads(format_predictions(ROWS, "json"))
    assert data[0] == {
        "path": "x.wav",
        "label": "cat",
        "error": None,
        "top": [{"class": "cat", "probability": 0.7}, {"class": "dog", "probability": 0.2}],
    }
    assert data[2] == {"path": "bad.wav", "label": None, "top": [], "error": "cannot decode"}


def test_unknown_format():
    assert FORMATS == ("table", "csv", "json")
    with pytest.raises(ValueError, match="fmt"):
        format_predictions(ROWS, "xml")


def test_csv_writes_the_given_votes_with_their_probabilities(tmp_path):
    # Under a majority vote a file's label need not be the argmax of its mean probabilities; the file used
    # to say the argmax (and "correct" against it) while the reported accuracy counted the vote.
    votes = np.array([1, 2, 0])
    path = write_predictions_csv(
        tmp_path / "p.csv", PATHS, PROBS, NAMES, ["dog", "dog", "cat"], predicted=votes
    )
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["predicted"] for row in rows] == ["dog", "bird", "cat"]
    assert [float(row["probability"]) for row in rows] == [0.2, 0.8, 0.25]
    assert [row["correct"] for row in rows] == ["true", "false", "true"]
    assert rows[0]["top"] == "cat:0.7;dog:0.2;bird:0.1"  # the probabilities stay the mean ones


@pytest.mark.parametrize(
    ("predicted", "match"),
    [([0, 1], r"predicted must hold one integer class index per path \(3\)"), ([0, 1, 3], r"\[0, 3\)")],
)
def test_csv_refuses_bad_votes(tmp_path, predicted, match):
    with pytest.raises(ValueError, match=match):
        write_predictions_csv(tmp_path / "p.csv", PATHS, PROBS, NAMES, predicted=predicted)
    with pytest.raises(ValueError, match="predicted must hold one integer"):
        write_predictions_csv(tmp_path / "p.csv", PATHS, PROBS, NAMES, predicted=[0.0, 1.0, 2.0])


def test_csv_text_probability_is_the_labels():
    # A majority vote labelled the file "dog" while "cat" has the higher mean probability: the probability
    # column next to the label is dog's (it used to be cat's 0.7), and empty when the label is not in "top".
    rows = [
        {"path": "x.wav", "label": "dog", "top": [("cat", 0.7), ("dog", 0.2)], "error": None},
        {"path": "y.wav", "label": "bird", "top": [("cat", 0.7)], "error": None},
    ]
    parsed = list(csv.DictReader(io.StringIO(format_predictions(rows, "csv"))))
    assert [row["label"] for row in parsed] == ["dog", "bird"]
    assert [row["probability"] for row in parsed] == ["0.2", ""]
    assert parsed[0]["top"] == "cat:0.7;dog:0.2"


def _failing_csv_writer(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """``csv.writer`` whose writers write ``rows`` rows, then fail as a full disk does."""
    real = csv.writer

    class Writer:
        def __init__(self, handle, *args, **kwargs):
            self.real, self.rows = real(handle, *args, **kwargs), 0

        def writerow(self, row):
            if self.rows == rows:
                raise OSError(28, "No space left on device")
            self.rows += 1
            return self.real.writerow(row)

    monkeypatch.setattr(csv, "writer", Writer)


@pytest.mark.parametrize("earlier", [None, "path,predicted\nold.wav,cat\n"], ids=["new", "earlier"])
def test_a_failed_csv_write_leaves_the_earlier_file_and_no_temporary_one(tmp_path, monkeypatch, earlier):
    """Written in place: a full disk or a kill mid-write left half a predictions.csv under its name."""
    path = tmp_path / "predictions.csv"
    if earlier is not None:
        path.write_text(earlier, encoding="utf-8")
    _failing_csv_writer(monkeypatch, rows=2)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    with pytest.raises(OSError, match="No space left"):
        write_predictions_csv(path, ["a.wav", "b.wav", "c.wav"], probs, ["cat", "dog"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ([] if earlier is None else ["predictions.csv"])
    if earlier is not None:
        assert path.read_text(encoding="utf-8") == earlier
