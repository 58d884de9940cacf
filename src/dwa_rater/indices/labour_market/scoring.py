"""Posting scores: the weighted mean of the scores of a posting's DWAs.

Scores stay on the 0-1 scale of the DWA score table. The posting score (:func:`score_postings`)
is ``sum_d W_d s_d / sum_d W_d``, where ``W_d`` is the DWA's weight summed over the posting's
lines (:mod:`dwa_rater.indices.mapping`). DWAs without a score are left out of both sums; a
posting with no scored DWA has no score (NaN).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.mapping import PostingLines

#: A function (posting lines, line mapping, DWA scores) -> posting scores, like
#: :func:`score_postings`.
PostingScorer = Callable[[PostingLines, pd.DataFrame, pd.Series], pd.DataFrame]

#: Score columns a DWA score table offers (see :mod:`dwa_rater.indices.scores`).
MEASURES: tuple[str, ...] = ("alpha", "beta", "gamma", "score")


def dwa_score_series(score_table: pd.DataFrame, measure: str = "beta") -> pd.Series:
    """DWA score per ``dwa_id`` from a score table (item_id + alpha/beta/gamma/score columns).

    ``measure`` picks the column (default ``beta``, the headline measure of Eloundou et al.).
    Rows without a value are dropped.
    """
    if measure not in MEASURES:
        raise ConfigError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    key = "item_id" if "item_id" in score_table.columns else "dwa_id"
    if key not in score_table.columns or measure not in score_table.columns:
        raise DataError(f"score table needs columns item_id (or dwa_id) and {measure}")
    values = pd.to_numeric(score_table[measure], errors="coerce").astype(float)
    series = pd.Series(
        values.to_numpy(), index=score_table[key].astype(str).to_numpy(), name=measure
    )
    series = series[series.notna()]
    if series.empty:
        raise DataError(f"score table has no {measure} values")
    if series.index.duplicated().any():
        raise DataError(f"score table lists DWA {series.index[series.index.duplicated()][0]} twice")
    series.index.name = "dwa_id"
    return series


def score_postings(
    posting_lines: PostingLines, line_mapping: pd.DataFrame, dwa_scores: pd.Series
) -> pd.DataFrame:
    """posting_id, score, matched_weight, n_lines, n_matched_lines (postings in input order).

    ``line_mapping``: line_sha, dwa_id, weight; ``dwa_scores``: score per dwa_id.
    ``matched_weight`` is the total weight of the posting's scored DWAs (with per-line weights
    summing to 1, the number of lines matched to a scored DWA). Linear in the number of line
    occurrences: per-line numerators and denominators are summed with ``np.bincount``.
    """
    scores = line_mapping["dwa_id"].map(dwa_scores).to_numpy(dtype=np.float64)
    weights = line_mapping["weight"].to_numpy(dtype=np.float64)
    lines = pd.Index(posting_lines.line_sha).get_indexer(line_mapping["line_sha"])
    usable = (lines >= 0) & ~np.isnan(scores)
    n_distinct = len(posting_lines.lines)
    line_numerator = np.bincount(
        lines[usable], weights=weights[usable] * scores[usable], minlength=n_distinct
    )
    line_denominator = np.bincount(lines[usable], weights=weights[usable], minlength=n_distinct)
    n_postings = len(posting_lines.posting_ids)
    occurrence_denominator = line_denominator[posting_lines.line]
    numerator = np.bincount(
        posting_lines.posting,
        weights=line_numerator[posting_lines.line],
        minlength=n_postings,
    )
    denominator = np.bincount(
        posting_lines.posting, weights=occurrence_denominator, minlength=n_postings
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(denominator > 0, numerator / denominator, np.nan)
    return pd.DataFrame(
        {
            "posting_id": posting_lines.posting_ids,
            "score": score,
            "matched_weight": denominator,
            "n_lines": np.bincount(posting_lines.posting, minlength=n_postings),
            "n_matched_lines": np.bincount(
                posting_lines.posting,
                weights=(occurrence_denominator > 0).astype(np.float64),
                minlength=n_postings,
            ).astype(np.int64),
        }
    )


def score_postings_from_dwas(posting_dwas: pd.DataFrame, dwa_scores: pd.Series) -> pd.DataFrame:
    """posting_id, score, matched_weight from a posting_id, dwa_id, weight table (same formula)."""
    scores = posting_dwas["dwa_id"].map(dwa_scores).astype(float)
    usable = posting_dwas.assign(score=scores)[scores.notna()]
    usable = usable.assign(product=usable["weight"] * usable["score"])
    grouped = usable.groupby("posting_id", sort=False)[["product", "weight"]].sum()
    everyone = pd.Index(posting_dwas["posting_id"].unique(), name="posting_id")
    grouped = grouped.reindex(everyone)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = grouped["product"] / grouped["weight"].where(grouped["weight"] > 0)
    return pd.DataFrame(
        {
            "posting_id": everyone.to_numpy(),
            "score": score.to_numpy(dtype=float),
            "matched_weight": grouped["weight"].fillna(0.0).to_numpy(dtype=float),
        }
    )
