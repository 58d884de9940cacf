"""Intervals for indices that are linear in the item scores, over a fixed set of items.

Every index of the project is a linear functional of the item (DWA or task) scores ``Y``:
``theta = sum_i a_i Y_i``. An occupation index is a weighted mean of its items (``a_i`` =
weight / total weight), a posting-based occupation index by year weights each DWA by its share
in the year's postings of the occupation, a city index weights occupation indices by posting
shares (so again DWAs), and a change between years has coefficients that sum to 0.

The items are a fixed, known set (the O*NET DWAs or tasks), every one has a prediction
``Yhat``, and gold labels come from a probability sample of them, so the interval is
design-based (Sarndal, Swensson & Wretman 1992, *Model Assisted Survey Sampling*, ch. 6: the
difference estimator)::

    theta_hat = sum_i a_i lam Yhat_i + sum_{i in L} a_i (Y_i - lam Yhat_i) / pi_i

- simple random sample of ``n`` of the ``N`` items (``pi_i = n / N``, no probabilities given)::

      var = N^2 (1 - n/N) / n * s^2,   s^2 = sample variance (ddof 1) of a_i (Y_i - lam Yhat_i)
      lam = cov(a Y, a Yhat) / var(a Yhat) over L, clipped to [0, 1]

- independent draws with recorded probabilities ``pi_i`` (``review select --strategy active``;
  ``pi_i = 1`` for items labelled with certainty)::

      var = sum_{i in L} a_i^2 (Y_i - lam Yhat_i)^2 (1 - pi_i) / pi_i^2
      lam = sum c Y Yhat / sum c Yhat^2 with c_i = a_i^2 (1 - pi_i) / pi_i^2, clipped to [0, 1]

Only the choice of items to label is random here: the predictions of all items are known, so
unlike :func:`dwa_rater.inference.ppi.ppi_mean` (which treats items as drawn from a larger
population) the spread of the predictions adds nothing. ``lam = 0`` gives the gold-only
(expansion) estimate, the comparison behind ``n_effective``. Units: those of ``Y``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dwa_rater.errors import DataError
from dwa_rater.inference.ppi import MeanInterval, as_vector, effective_labels

FloatArray = NDArray[np.float64]


def _srs_variance(terms: FloatArray, n: int, size: int) -> float:
    return float(size**2 * (1.0 - n / size) / n * np.var(terms, ddof=1)) if n > 1 else np.nan


def _poisson_variance(terms: FloatArray, pi: FloatArray) -> float:
    return float(np.sum(terms**2 * (1.0 - pi) / pi**2))


def linear_estimate(
    coefficients: ArrayLike,
    predicted: ArrayLike,
    gold: ArrayLike,
    probabilities: ArrayLike | None = None,
    level: float = 0.95,
    lam: float | None = None,
) -> MeanInterval:
    """The difference estimate of ``sum_i a_i Y_i`` with its design-based interval.

    One value per item (all ``N`` items): ``coefficients`` ``a`` (any sign), ``predicted``
    (no NaN), ``gold`` (NaN where not labelled), ``probabilities`` (None: the labelled items are
    a simple random sample; else each labelled item's inclusion probability in (0, 1]).
    ``n_gold`` counts labelled items with a non-zero coefficient; ``method`` is
    ``difference (srs)`` or ``difference (poisson)``.
    """
    a = as_vector(coefficients, "coefficients")
    yhat = as_vector(predicted, "predictions")
    y = np.asarray(gold, dtype=np.float64).reshape(-1)
    size = len(a)
    if len(yhat) != size or len(y) != size:
        raise DataError("coefficients, predictions and gold labels do not line up")
    labelled = ~np.isnan(y)
    n = int(labelled.sum())
    if n < 2:
        raise DataError(f"{n} gold label(s): an interval needs at least 2")
    a_l, y_l, yhat_l = a[labelled], y[labelled], yhat[labelled]
    if probabilities is None:
        pi_l = np.full(n, n / size)
    else:
        pi_l = np.asarray(probabilities, dtype=np.float64).reshape(-1)[labelled]
        if np.isnan(pi_l).any() or (pi_l <= 0).any() or (pi_l > 1).any():
            raise DataError("every gold item needs a sampling probability in (0, 1]")
    if lam is None:
        lam = _tuned(a_l, y_l, yhat_l, pi_l, probabilities is None)
    residual = a_l * (y_l - lam * yhat_l)
    estimate = float(np.sum(a * lam * yhat) + np.sum(residual / pi_l))
    if probabilities is None:
        variance = _srs_variance(residual, n, size)
        gold_only = _srs_variance(a_l * y_l, n, size)
    else:
        variance = _poisson_variance(residual, pi_l)
        gold_only = _poisson_variance(a_l * y_l, pi_l)
    se = float(np.sqrt(variance))
    used = int(np.count_nonzero(a_l))
    return MeanInterval.normal(
        estimate,
        se,
        level,
        n_gold=used,
        n=int(np.count_nonzero(a)),
        lam=float(lam),
        n_effective=effective_labels(used, gold_only, variance),
        method="difference (srs)" if probabilities is None else "difference (poisson)",
    )


def _tuned(a: FloatArray, y: FloatArray, yhat: FloatArray, pi: FloatArray, srs: bool) -> float:
    if srs:
        x, t = a * yhat, a * y
        variance = float(np.var(x, ddof=1)) if len(x) > 1 else 0.0
        if not variance > 0:
            return 0.0
        covariance = float(np.cov(t, x, ddof=1)[0, 1])
        return float(np.clip(covariance / variance, 0.0, 1.0))
    c = a**2 * (1.0 - pi) / pi**2
    denominator = float(np.sum(c * yhat**2))
    if not denominator > 0:
        return 0.0
    return float(np.clip(np.sum(c * y * yhat) / denominator, 0.0, 1.0))
