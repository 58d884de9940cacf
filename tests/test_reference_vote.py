"""The similarity-weighted neighbour vote, against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dwa_rater.errors import ConfigError
from dwa_rater.reference.vote import far_threshold, neighbour_vote, softmax_weights


def _unit(*rows: list[float]) -> np.ndarray:
    array = np.array(rows, dtype=np.float64)
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def test_softmax_weights_by_hand() -> None:
    weights = softmax_weights(np.array([[0.9, 0.88, np.nan]]), 0.02)
    first = math.exp(0.9 / 0.02)
    second = math.exp(0.88 / 0.02)
    assert weights[0, 0] == pytest.approx(first / (first + second))
    assert weights[0, 1] == pytest.approx(second / (first + second))
    assert weights[0, 2] == 0.0
    with pytest.raises(ConfigError):
        softmax_weights(np.array([[0.5]]), 0.0)


def test_vote_of_two_nearest_by_hand() -> None:
    references = _unit([1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1])
    labels = [0, 2, 1, 1]
    query = _unit([1, 0.1, 0])
    votes = neighbour_vote(query, references, labels, k=2, temperature=0.1)
    similarities = references @ query[0]
    top = np.argsort(-similarities)[:2]
    assert list(votes.neighbours[0]) == list(top)  # references 0 then 1
    w = np.exp(similarities[top] / 0.1)
    w /= w.sum()
    assert votes.probabilities[0] == pytest.approx([w[0], 0.0, w[1]])
    assert votes.max_similarity[0] == pytest.approx(similarities[0])
    assert votes.labels == ["E0"]
    assert votes.scores[0] == pytest.approx(0.5 * w[1])


def test_exclusion_groups_leave_the_own_occupation_out() -> None:
    references = _unit([1, 0], [0.9, 0.1], [0, 1])
    labels = [0, 0, 1]
    query = _unit([1, 0])
    kept = neighbour_vote(query, references, labels, k=1, temperature=0.02)
    assert kept.labels == ["E0"]
    left_out = neighbour_vote(
        query,
        references,
        labels,
        k=1,
        temperature=0.02,
        query_groups=["A"],
        reference_groups=["A", "A", "B"],
    )
    assert left_out.labels == ["E1"]
    assert list(left_out.neighbours[0]) == [2]
    # A query without a group (None) excludes nothing.
    free = neighbour_vote(
        query, references, labels, k=1, temperature=0.02, query_groups=[None],
        reference_groups=["A", "A", "B"],
    )  # fmt: skip
    assert free.labels == ["E0"]


def test_fewer_allowed_references_than_k() -> None:
    references = _unit([1, 0], [0, 1])
    votes = neighbour_vote(
        _unit([1, 1]), references, [1, 2], k=5, temperature=1.0,
        query_groups=["x"], reference_groups=["x", "y"],
    )  # fmt: skip
    assert list(votes.neighbours[0]) == [1, -1, -1, -1, -1]
    assert votes.probabilities[0] == pytest.approx([0.0, 0.0, 1.0])
    nothing = neighbour_vote(
        _unit([1, 1]), references, [1, 2], k=2, temperature=1.0,
        query_groups=["x"], reference_groups=["x", "x"],
    )  # fmt: skip
    assert nothing.probabilities[0] == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert np.isnan(nothing.max_similarity[0])


def test_chunked_vote_equals_brute_force() -> None:
    rng = np.random.default_rng(3)
    references = rng.normal(size=(700, 8))
    references /= np.linalg.norm(references, axis=1, keepdims=True)
    queries = rng.normal(size=(600, 8))
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    labels = rng.integers(0, 3, 700)
    votes = neighbour_vote(queries, references, labels, k=7, temperature=0.05)
    similarity = queries @ references.T
    for row in (0, 513, 599):
        top = np.argsort(-similarity[row])[:7]
        w = np.exp(similarity[row, top] / 0.05)
        w /= w.sum()
        expected = np.bincount(labels[top], weights=w, minlength=3)
        assert votes.probabilities[row] == pytest.approx(expected, abs=1e-5)


def test_bad_arguments() -> None:
    references = _unit([1, 0])
    with pytest.raises(ConfigError):
        neighbour_vote(references, references, [0], k=0, temperature=0.1)
    with pytest.raises(ConfigError):
        neighbour_vote(references, references, [3], k=1, temperature=0.1)
    with pytest.raises(ConfigError):
        neighbour_vote(references, references, [0, 1], k=1, temperature=0.1)


def test_far_threshold_is_a_quantile_of_leave_one_out_nearest_cosines() -> None:
    references = _unit([1, 0], [0.99, 0.14], [0, 1], [0.1, 0.99])
    nearest = []
    similarity = references @ references.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.max(axis=1)
    assert far_threshold(references, quantile=0.0) == pytest.approx(nearest.min(), abs=1e-6)
    grouped = far_threshold(references, ["a", "a", "b", "b"], quantile=1.0)
    cross = (references[:2] @ references[2:].T).max()
    assert grouped == pytest.approx(cross, abs=1e-6)
