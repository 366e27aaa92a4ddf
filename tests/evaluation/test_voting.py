"""Voting over a file's parts, checked against hand-computed votes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from adaspec.evaluation import VOTES, majority_vote, mean_file_probs, mean_probability_vote, vote, vote_files

# Two parts lean slightly to class 0, one part is sure of class 1: majority says 0, the mean says 1
# (means 0.34 and 0.66).
SPLIT = np.array([[0.51, 0.49], [0.51, 0.49], [0.0, 1.0]])
# Argmaxes 0 and 2 tie; class 2 has the higher mean (0.6 against 0.225).
TIE_TO_HIGHER_MEAN = np.array([[0.4, 0.3, 0.3], [0.05, 0.05, 0.9]])
# Argmaxes 0, 0, 1, 1 tie with equal means (0.3125); class 2 has the highest mean (0.375) but no vote,
# so the lowest tied index wins. All values are exact binary fractions.
TIE_TO_LOWEST = np.array([[0.5, 0.125, 0.375], [0.5, 0.125, 0.375], [0.125, 0.5, 0.375], [0.125, 0.5, 0.375]])


def test_mean_and_majority_disagree_by_hand():
    assert mean_probability_vote(SPLIT) == 1
    assert majority_vote(SPLIT) == 0
    assert vote(SPLIT, "mean") == 1
    assert vote(SPLIT, "majority") == 0
    assert VOTES == ("mean", "majority")


def test_majority_ties_break_by_mean_then_lowest_index():
    assert majority_vote(TIE_TO_HIGHER_MEAN) == 2
    assert majority_vote(TIE_TO_LOWEST) == 0
    assert mean_probability_vote(TIE_TO_LOWEST) == 2


def test_single_part_is_its_argmax():
    assert majority_vote(np.array([[0.2, 0.7, 0.1]])) == 1
    assert mean_probability_vote(np.array([[0.2, 0.7, 0.1]])) == 1


def test_vote_files_groups_shuffled_parts():
    # file id -> its parts; ids are not contiguous and the parts are interleaved at random.
    files = {7: SPLIT, 3: TIE_TO_HIGHER_MEAN[:, :2] / TIE_TO_HIGHER_MEAN[:, :2].sum(1, keepdims=True)}
    files[12] = np.array([[0.25, 0.75]])
    parts = np.concatenate(list(files.values()))
    index = np.concatenate([np.full(len(v), k) for k, v in files.items()])
    order = np.random.default_rng(0).permutation(len(index))
    parts, index = parts[order], index[order]

    ids, labels = vote_files(parts, index, "mean")
    np.testing.assert_array_equal(ids, [3, 7, 12])
    # file 3: parts (4/7, 3/7) and (0.5, 0.5) -> mean leans to class 0.
    np.testing.assert_array_equal(labels, [0, 1, 1])
    ids, labels = vote_files(parts, index, "majority")
    np.testing.assert_array_equal(ids, [3, 7, 12])
    # file 3: argmaxes 0 and 0 (exact 0.5 tie goes to index 0) -> 0; file 7 -> 0; file 12 -> 1.
    np.testing.assert_array_equal(labels, [0, 0, 1])
    assert labels.dtype == np.int64

    ids, means = mean_file_probs(parts, index)
    np.testing.assert_allclose(means, [[(4 / 7 + 0.5) / 2, (3 / 7 + 0.5) / 2], [0.34, 0.66], [0.25, 0.75]])


def test_vote_files_majority_ties_match_single_file_rule():
    parts = np.concatenate([TIE_TO_HIGHER_MEAN, TIE_TO_LOWEST])
    index = np.array([5, 5, 1, 1, 1, 1])
    ids, labels = vote_files(parts, index, "majority")
    np.testing.assert_array_equal(ids, [1, 5])
    np.testing.assert_array_equal(labels, [0, 2])


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="rule"):
        vote(SPLIT, "median")
    with pytest.raises(ValueError, match="rule"):
        vote_files(SPLIT, np.zeros(3, dtype=int), "median")
    with pytest.raises(ValueError, match="probs"):
        mean_probability_vote(np.array([0.2, 0.8]))
    with pytest.raises(ValueError, match="probs"):
        majority_vote(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="file_index"):
        vote_files(SPLIT, np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="file_index"):
        mean_file_probs(SPLIT, np.zeros(3))


# Both classes get the same probabilities over the parts (0.1, 0.2, 0.3 and 0.3, 0.2, 0.1): their means
# are exactly equal, so the mean vote goes to the first class whatever the order of the parts. A
# floating-point sum in part order made it 0.6000000000000001 against 0.6, and the vote followed the order.
EXACT_MEAN_TIE = np.array([[0.1, 0.3], [0.2, 0.2], [0.3, 0.1]])
# Argmaxes 0, 0, 1, 1 tie; the means are again exactly equal (the same four values per class), so the
# majority vote goes to the lowest index whatever the order.
EXACT_MAJORITY_TIE = np.array([[0.7, 0.2], [0.4, 0.3], [0.3, 0.4], [0.2, 0.7]])


@pytest.mark.parametrize(("probs", "rule"), [(EXACT_MEAN_TIE, "mean"), (EXACT_MAJORITY_TIE, "majority")])
def test_exact_ties_do_not_depend_on_the_order_of_the_parts(probs: np.ndarray, rule: str) -> None:
    for order in itertools.permutations(range(len(probs))):
        parts = probs[list(order)]
        assert vote(parts, rule) == 0, order
        ids, labels = vote_files(parts, np.full(len(parts), 4), rule)
        assert ids.tolist() == [4] and labels.tolist() == [0], order
        _, means = mean_file_probs(parts, np.zeros(len(parts), dtype=int))
        assert means[0, 0] == means[0, 1], order


def test_vote_files_does_not_depend_on_the_order_of_parts_or_files() -> None:
    rng = np.random.default_rng(3)
    # Two classes and probabilities on a coarse grid (0.1, 0.2, 0.3) make exact ties common; files have
    # 1 to 6 parts.
    n_parts = rng.integers(1, 7, size=60)
    index = np.repeat(np.arange(60) * 3 + 1, n_parts)
    probs = rng.integers(1, 4, size=(index.size, 2)) / 10.0
    for rule in VOTES:
        ids, labels = vote_files(probs, index, rule)
        expected = [vote(probs[index == i], rule) for i in ids]  # file by file, parts in their order
        assert labels.tolist() == expected
        for seed in range(5):
            order = np.random.default_rng(seed).permutation(index.size)
            shuffled_ids, shuffled = vote_files(probs[order], index[order], rule)
            assert shuffled_ids.tolist() == ids.tolist()
            assert shuffled.tolist() == expected
            assert [vote(probs[order][index[order] == i], rule) for i in ids] == expected


def test_non_finite_probabilities_reach_the_means_for_the_callers_to_report():
    # adaspec evaluate refuses a model by the non-finite file means; the exact sum must not raise first.
    parts = np.array([[np.nan, 0.5], [0.25, 0.5], [np.inf, 0.0], [-np.inf, 1.0]])
    with np.errstate(invalid="ignore"):  # inf - inf
        ids, means = mean_file_probs(parts, np.array([0, 0, 1, 1]))
        assert vote(parts[2:], "majority") in (0, 1)
    assert ids.tolist() == [0, 1]
    assert np.isnan(means[:, 0]).all() and means[:, 1].tolist() == [0.5, 0.5]
