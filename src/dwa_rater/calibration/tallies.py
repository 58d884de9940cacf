"""LLM ratings as tallies per item and rater; predictions from them, and their bootstrap.

:func:`predict` turns label counts and numeric scores (any leading batch axes) into class
probabilities and a 0-1 score through the fitted latent-class model and mappings;
:func:`bootstrap_intervals` resamples each item's ratings to give a percentile interval of its
score, with the fitted models held fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.latent_class import LatentClassFit, count_tensor, posteriors_given
from dwa_rater.calibration.mapping import (
    ProbabilityMapping,
    ScoreMapping,
    feature_matrix,
    final_score,
    summarise_counts,
)
from dwa_rater.calibration.scale import or_default
from dwa_rater.rubric import RubricScale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Item-level features besides the tallies' own: (counts, first item, last item) -> array
#: (..., items, n) for the items first..last-1, or None.
ExtraFeatures = Callable[[FloatArray, int, int], "FloatArray | None"]

_BOOTSTRAP_CELLS = 1_000_000  # bootstrap chunk size: replicates x items x raters x classes


@dataclass(frozen=True)
class Observations:
    """LLM ratings as parallel arrays, sorted by item; ``label`` holds positions among the
    ``n_classes`` labels of the scale."""

    item: IntArray
    rater: IntArray
    label: IntArray
    score: FloatArray
    n_items: int
    n_raters: int
    n_classes: int = 3

    def tallies(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        counts = count_tensor(
            self.item, self.rater, self.label, self.n_items, self.n_raters, self.n_classes
        )
        cell = self.item * self.n_raters + self.rater
        size = self.n_items * self.n_raters
        known = ~np.isnan(self.score)
        score_sum = np.bincount(cell[known], self.score[known], minlength=size).astype(np.float64)
        score_n = np.bincount(cell[known], minlength=size).astype(np.float64)
        shape = (self.n_items, self.n_raters)
        return counts, score_sum.reshape(shape), score_n.reshape(shape)


def observations_of(
    rows: pd.DataFrame,
    items: Sequence[str],
    raters: Sequence[str],
    *,
    scale: RubricScale | None = None,
) -> Observations:
    labels = or_default(scale).labels
    item_pos = {item: i for i, item in enumerate(items)}
    rater_pos = {rater: r for r, rater in enumerate(raters)}
    label_pos = {label: k for k, label in enumerate(labels)}
    item = rows["item_id"].map(item_pos).to_numpy(dtype=np.int64)
    order = np.argsort(item, kind="stable")
    return Observations(
        item=item[order],
        rater=rows["rater"].map(rater_pos).to_numpy(dtype=np.int64)[order],
        label=rows["label"].map(label_pos).to_numpy(dtype=np.int64)[order],
        score=rows["score"].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)[order],
        n_items=len(items),
        n_raters=len(raters),
        n_classes=len(labels),
    )


def predict(
    counts: FloatArray,
    score_sum: FloatArray,
    score_n: FloatArray,
    latent: LatentClassFit | None,
    mapping: ProbabilityMapping | None,
    score_mapping: ScoreMapping | None,
    extra: FloatArray | None = None,
    *,
    scale: RubricScale | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Class probabilities and score from tallies (any leading batch axes).

    ``extra`` holds the mapping's further features, shaped like the leading axes plus one;
    ``scale`` is the rubric's scale (None: the exposure rubric's).
    """
    shares, mean_score, spread, agreement = summarise_counts(counts, score_sum, score_n)
    posteriors = (
        shares if latent is None else posteriors_given(counts, latent.priors, latent.confusion)
    )
    if mapping is None:
        return posteriors, final_score(posteriors, mean_score, None, scale=scale)
    features = feature_matrix(posteriors, shares, mean_score, spread, agreement, scale=scale)
    if extra is not None:
        features = np.concatenate([features, extra], axis=-1)
    probabilities = mapping.predict(features)
    return probabilities, final_score(probabilities, mean_score, score_mapping, scale=scale)


def bootstrap_intervals(
    observations: Observations,
    latent: LatentClassFit | None,
    mapping: ProbabilityMapping | None,
    score_mapping: ScoreMapping | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
    extra: ExtraFeatures | None = None,
    scale: RubricScale | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of each item's score, resampling its ratings with replacement."""
    n_items, n_raters, k = observations.n_items, observations.n_raters, observations.n_classes
    low = np.full(n_items, np.nan)
    high = np.full(n_items, np.nan)
    if resamples == 0 or n_items == 0:
        return low, high
    rng = np.random.default_rng(seed)
    item = observations.item
    start = np.searchsorted(item, np.arange(n_items + 1))
    size = np.diff(start)
    chunk = max(1, _BOOTSTRAP_CELLS // (resamples * n_raters * k))
    tail = (1.0 - confidence) / 2.0
    for first in range(0, n_items, chunk):
        last = min(n_items, first + chunk)
        lo, hi = start[first], start[last]
        owner = item[lo:hi]
        draws = start[owner] + np.floor(rng.random((resamples, hi - lo)) * size[owner]).astype(
            np.int64
        )
        local = np.broadcast_to(owner - first, draws.shape)
        replicate = np.broadcast_to(np.arange(resamples)[:, None], draws.shape)
        span = last - first
        cell = (replicate * span + local) * n_raters + observations.rater[draws]
        counts = np.bincount(
            (cell * k + observations.label[draws]).ravel(),
            minlength=resamples * span * n_raters * k,
        ).reshape(resamples, span, n_raters, k)
        scores = observations.score[draws]
        known = ~np.isnan(scores)
        score_sum = (
            np.bincount(cell[known], scores[known], minlength=resamples * span * n_raters)
            .astype(np.float64)
            .reshape(resamples, span, n_raters)
        )
        score_n = np.bincount(cell[known], minlength=resamples * span * n_raters).reshape(
            resamples, span, n_raters
        )
        tallies = counts.astype(np.float64)
        _, score = predict(
            tallies,
            score_sum,
            score_n.astype(np.float64),
            latent,
            mapping,
            score_mapping,
            None if extra is None else extra(tallies, first, last),
            scale=scale,
        )
        low[first:last] = np.quantile(score, tail, axis=0)
        high[first:last] = np.quantile(score, 1.0 - tail, axis=0)
    return low, high
