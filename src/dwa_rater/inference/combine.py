"""Several predicted raters combined into one prediction for PPI, cross-fitted.

With predictions ``X`` (one column per predicted rater: models, temperatures, a reference rater,
calibrated probabilities coded to a number) the PPI variance is dominated by the rectifier term
``var(Y - f(X)) / n`` when the unlabelled items far outnumber the gold ones, so the combination
is the (weighted) least-squares fit ``f(X) = a + X b`` of the gold labels on the predictions.

Fitting ``f`` on the same gold items that then measure its error would understate that error, so
the fit is *cross-fitted* (Zrnic & Candes 2024, "Cross-prediction-powered inference", PNAS 121):
the gold items are split into ``K`` folds; fold ``k``'s items get the prediction of the fit on
the other folds, and every unlabelled item gets the mean of the ``K`` fits' predictions. PPI++
power tuning (:func:`dwa_rater.inference.ppi.ppi_mean`) is then applied to that single
prediction, which also shrinks the combination toward the gold-only mean when it does not help.
With ``lam = 1`` the result is ``ppi_py.crossppi_mean_ci`` given the fold predictions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dwa_rater.errors import DataError
from dwa_rater.inference.ppi import MeanInterval, as_vector, normalised_weights, ppi_mean

FloatArray = NDArray[np.float64]

#: Ridge penalty (relative to the weighted sum of squares of the predictors) that keeps the fit
#: defined when two raters give identical predictions.
RIDGE = 1e-8


@dataclass(frozen=True)
class CombinedPredictions:
    """Out-of-fold predictions of the gold items, mean fold predictions of the other items."""

    gold: FloatArray
    unlabelled: FloatArray
    fold_unlabelled: FloatArray
    coefficients: FloatArray
    folds: int


def as_matrix(values: ArrayLike, name: str) -> FloatArray:
    """A 2-D float array (one column per predicted rater) without NaN."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DataError(f"{name} must be a table of items x raters")
    if np.isnan(array).any():
        raise DataError(f"{name} hold missing values")
    return array


def least_squares(target: FloatArray, predictors: FloatArray, weights: FloatArray) -> FloatArray:
    """Weighted least-squares coefficients ``[a, b_1..b_k]`` of ``target ~ a + predictors b``.

    A tiny ridge penalty (:data:`RIDGE`) on ``b`` keeps collinear raters defined.
    """
    design = np.column_stack([np.ones(len(target)), predictors])
    root = np.sqrt(weights)[:, None]
    weighted = design * root
    gram = weighted.T @ weighted
    penalty = RIDGE * max(float(np.trace(gram[1:, 1:])), 1.0)
    gram[1:, 1:] += penalty * np.eye(predictors.shape[1])
    return np.linalg.solve(gram, weighted.T @ (target * root[:, 0]))


def fold_labels(n: int, folds: int, seed: int) -> NDArray[np.int64]:
    """A seeded balanced assignment of ``n`` items to ``folds`` folds (numpy ``default_rng``)."""
    order = np.random.default_rng(seed).permutation(n)
    labels = np.empty(n, dtype=np.int64)
    labels[order] = np.arange(n) % folds
    return labels


def cross_fit(
    gold: ArrayLike,
    predicted: ArrayLike,
    predicted_unlabelled: ArrayLike,
    weights: ArrayLike | None = None,
    folds: int = 5,
    seed: int = 0,
) -> CombinedPredictions:
    """Cross-fitted least-squares combination of several predictions (see the module doc).

    ``predicted`` is n x k (gold items), ``predicted_unlabelled`` N x k. ``folds`` is lowered to
    ``n // (k + 2)`` when there are too few gold items; with fewer than 2 folds the result is
    the plain mean of the predictions (coefficients ``[0, 1/k, ...]``, ``folds = 1``).
    """
    y = as_vector(gold, "gold labels")
    x = as_matrix(predicted, "predictions of the gold items")
    x_u = as_matrix(predicted_unlabelled, "predictions of the other items")
    n, k = x.shape
    if len(y) != n or x_u.shape[1] != k:
        raise DataError("gold labels and prediction tables do not line up")
    w = normalised_weights(weights, n, "gold weights")
    folds = min(folds, n // (k + 2))
    if folds < 2:
        coefficients = np.concatenate([[0.0], np.full(k, 1.0 / k)])
        return CombinedPredictions(
            gold=x.mean(axis=1),
            unlabelled=x_u.mean(axis=1),
            fold_unlabelled=x_u.mean(axis=1)[:, None],
            coefficients=coefficients,
            folds=1,
        )
    labels = fold_labels(n, folds, seed)
    out_of_fold = np.empty(n)
    fold_unlabelled = np.empty((len(x_u), folds))
    fits = []
    for fold in range(folds):
        train = labels != fold
        beta = least_squares(y[train], x[train], w[train])
        fits.append(beta)
        out_of_fold[~train] = beta[0] + x[~train] @ beta[1:]
        fold_unlabelled[:, fold] = beta[0] + x_u @ beta[1:]
    return CombinedPredictions(
        gold=out_of_fold,
        unlabelled=fold_unlabelled.mean(axis=1),
        fold_unlabelled=fold_unlabelled,
        coefficients=np.mean(fits, axis=0),
        folds=folds,
    )


def cross_ppi_mean(
    gold: ArrayLike,
    predicted: ArrayLike,
    predicted_unlabelled: ArrayLike,
    level: float = 0.95,
    weights: ArrayLike | None = None,
    weights_unlabelled: ArrayLike | None = None,
    folds: int = 5,
    seed: int = 0,
    lam: float | None = None,
) -> MeanInterval:
    """PPI++ mean on the cross-fitted combination of several predicted raters.

    ``method`` is ``cross-ppi++`` (``ppi++ (mean of raters)`` when too few gold items for
    folds); ``n_effective`` as in :func:`dwa_rater.inference.ppi.ppi_mean`.
    """
    combined = cross_fit(gold, predicted, predicted_unlabelled, weights, folds, seed)
    method = "cross-ppi++" if combined.folds > 1 else "ppi++ (mean of raters)"
    return ppi_mean(
        gold,
        combined.gold,
        combined.unlabelled,
        level=level,
        lam=lam,
        weights=weights,
        weights_unlabelled=weights_unlabelled,
        method=method,
    )
