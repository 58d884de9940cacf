"""Relationships across occupations between the occupation index and market changes.

Pearson r with its two-sided p-value and the OLS slope of each change on the occupation index
(of the first year) with a t-based 95% interval (closed form, standard simple-regression
formulas). The scatter plot with the fitted line is drawn by :mod:`dwa_rater.report.labour_market`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from dwa_rater.errors import DataError

#: Variables related to the occupation index, with axis labels (units included).
RELATIONSHIP_VARIABLES: Mapping[str, str] = {
    "posting_share_change": "Change in posting share (percentage points)",
    "applicant_share_change": "Change in applicant share (percentage points)",
    "bachelor_share_change": "Change in share requiring a bachelor's degree or more (points)",
    "experience3_share_change": "Change in share requiring 3+ years' experience (points)",
}


@dataclass(frozen=True)
class LinearFit:
    """Pearson correlation and OLS fit of y on x (two-sided tests, t-based interval)."""

    n: int
    pearson_r: float
    pearson_p: float
    slope: float
    slope_se: float
    slope_ci_low: float
    slope_ci_high: float
    intercept: float


def linear_fit(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> LinearFit:
    """Simple regression of ``y`` on ``x`` with the textbook closed forms.

    slope = Sxy / Sxx, intercept = mean(y) - slope mean(x), se(slope) = sqrt(SSE / (n - 2) /
    Sxx), interval slope +- t_{(1+confidence)/2, n-2} se; r = Sxy / sqrt(Sxx Syy), with p from
    t = r sqrt((n - 2) / (1 - r^2)) on n - 2 degrees of freedom (the same test as the slope's).
    Pairs with a missing value are dropped. With fewer than 3 pairs, or no spread in x, the
    statistics that need them are NaN.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = ~(np.isnan(xs) | np.isnan(ys))
    xs, ys = xs[keep], ys[keep]
    n = len(xs)
    nan = float("nan")
    if n < 2:
        return LinearFit(n, nan, nan, nan, nan, nan, nan, nan)
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    if sxx == 0:
        return LinearFit(n, nan, nan, nan, nan, nan, nan, nan)
    slope = sxy / sxx
    intercept = float(ys.mean() - slope * xs.mean())
    r = sxy / np.sqrt(sxx * syy) if syy > 0 else nan
    if n < 3:
        return LinearFit(n, float(r), nan, slope, nan, nan, nan, intercept)
    sse = max(syy - slope * sxy, 0.0)
    se = float(np.sqrt(sse / (n - 2) / sxx))
    quantile = float(stats.t.ppf((1 + confidence) / 2, n - 2))
    if np.isnan(r) or abs(r) >= 1:
        p = 0.0 if not np.isnan(r) else nan
    else:
        t_stat = r * np.sqrt((n - 2) / (1 - r * r))
        p = float(2 * stats.t.sf(abs(t_stat), n - 2))
    return LinearFit(
        n, float(r), p, slope, se, slope - quantile * se, slope + quantile * se, intercept
    )


def index_relationships(
    occupation_index: pd.Series,
    changes: pd.DataFrame,
    variables: Sequence[str] = tuple(RELATIONSHIP_VARIABLES),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per variable: n, pearson_r, pearson_p, slope, slope_se, slope_ci_low,
    slope_ci_high, intercept of ``variable`` (y) on the occupation index (x), across
    occupations present in both."""
    frame = changes.set_index("occupation_category")
    x = occupation_index.reindex(frame.index).to_numpy(dtype=float)
    rows = []
    for variable in variables:
        if variable not in frame.columns:
            raise DataError(f"changes table has no column {variable!r}")
        fit = linear_fit(x, frame[variable].to_numpy(dtype=float), confidence)
        rows.append({"variable": variable, **fit.__dict__})
    return pd.DataFrame(rows)
