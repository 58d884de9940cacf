"""Score a line against a DWA through its title and the O*NET task statements linked to it.

A posting's duty line reads like an O*NET task statement more than like a DWA title, but any one
task of a DWA is a noisy witness (one occupation's wording). The pooled score used by the
mapping (:func:`~dwa_rater.indices.mapping.rank_lines`) therefore blends the title's cosine
with a soft maximum over the DWA's task statements:

    score(line, d) = w * cos(line, title_d) + (1 - w) * LSE_T(line, d)

    LSE_T(line, d) = T * log( (1 / n_d) * sum_j exp(cos(line, task_j) / T) ),  j = 1..n_d

``LSE_T`` is the log-mean-exp of the cosines at temperature ``T``: for one task it is that
task's cosine; as ``T -> 0`` it tends to the best task's cosine and as ``T`` grows to their mean,
so a DWA gains from several similar tasks without one lucky task deciding. A DWA without
tasks keeps its title cosine. Scores stay on the cosine scale (a weighted mean of values in
``[-1, 1]``), so one threshold applies to every DWA.

Defaults (``w = 0.3``, ``T = 0.05``, set in :class:`~dwa_rater.indices.mapping.MappingConfig`)
were chosen on the ``tune`` half of the hand-labelled Chinese lines (see the README).
"""

from __future__ import annotations

import numpy as np

from dwa_rater.errors import ConfigError


def log_mean_exp_per_dwa(
    similarities: np.ndarray, owner: np.ndarray, n_dwas: int, temperature: float
) -> np.ndarray:
    """``(n_lines, n_dwas)``: ``LSE_T`` (module doc) over the texts each DWA owns.

    ``similarities`` is ``(n_lines, n_texts)``; ``owner[j]`` is the DWA position of text ``j``.
    DWAs owning no text get NaN.
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be positive, not {temperature}")
    similarities = np.asarray(similarities, dtype=np.float64)
    owner = np.asarray(owner, dtype=np.int64)
    out = np.full((similarities.shape[0], n_dwas), np.nan)
    if owner.size == 0:
        return out
    order = np.argsort(owner, kind="stable")
    sorted_owner = owner[order]
    starts = np.flatnonzero(np.r_[True, sorted_owner[1:] != sorted_owner[:-1]])
    counts = np.diff(np.r_[starts, len(order)])
    scaled = similarities[:, order] / temperature
    # Subtract each DWA's best before exponentiating (no overflow at small temperatures).
    best = np.maximum.reduceat(scaled, starts, axis=1)
    shifted = np.exp(scaled - np.repeat(best, counts, axis=1))
    sums = np.add.reduceat(shifted, starts, axis=1)
    out[:, sorted_owner[starts]] = temperature * (best + np.log(sums / counts))
    return out


def blend_title_and_texts(
    title_similarities: np.ndarray, text_scores: np.ndarray, title_weight: float
) -> np.ndarray:
    """``w * title + (1 - w) * texts`` elementwise; where ``text_scores`` is NaN (a DWA
    without texts), the title's similarity alone."""
    if not 0.0 <= title_weight <= 1.0:
        raise ConfigError(f"title_weight must be in [0, 1], not {title_weight}")
    title = np.asarray(title_similarities, dtype=np.float64)
    texts = np.asarray(text_scores, dtype=np.float64)
    blended = title_weight * title + (1.0 - title_weight) * texts
    return np.where(np.isnan(texts), title, blended)
