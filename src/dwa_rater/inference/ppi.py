"""Means with confidence intervals from few gold labels and many predictions (PPI++).

Notation (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic 2023, "Prediction-powered inference",
*Science* 382; Angelopoulos, Duchi & Zrnic 2023, "PPI++: Efficient prediction-powered
inference", arXiv:2311.01453): ``n`` items carry a gold label ``Y`` and a prediction ``Yhat``;
``N`` further items carry only a prediction ``Yhat_u``. The gold items must be a simple random
sample of all items (see :mod:`dwa_rater.inference.active` for unequal probabilities).

The power-tuned PPI++ estimate of the mean is::

    theta(lam) = mean_u(w_u * lam * Yhat_u) + mean(w * (Y - lam * Yhat))

with item weights normalised to mean 1 within each set (``w = w * n / sum(w)``), so that with
weights it estimates the weighted mean ``sum w_i Y_i / sum w_i``. ``lam = 0`` is the classical
mean of the gold labels, ``lam = 1`` plain PPI; the tuned ``lam`` minimises the estimated
variance and is clipped to [0, 1]. Its standard error is::

    se^2 = var(w_u * lam * Yhat_u) / N + var(w * (Y - lam * Yhat)) / n

(population variances, ddof 0), and the interval is ``theta +- z_(1-(1-level)/2) * se``. These
are exactly the estimators of ``ppi_py.ppi_mean_ci`` / ``ppi_mean_pointestimate`` (package
``ppi-python`` 0.2.3, ``lam_optim_mode="overall"``), which the tests use as the reference.

Every value is on the scale of the inputs (here: exposure codes or scores on 0-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from dwa_rater.errors import ConfigError, DataError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class MeanInterval:
    """An estimate of a mean with its two-sided confidence interval.

    - ``estimate``, ``ci_low``, ``ci_high``, ``se``: on the scale of the labels.
    - ``n_gold``: gold-labelled items used; ``n``: all items the estimate speaks for.
    - ``lam``: the power-tuning factor (0 = gold labels only, 1 = plain PPI); NaN if unused.
    - ``n_effective``: how many gold labels the classical (gold-only) interval would need to be
      as narrow: ``n_gold * se_classical^2 / se^2``.
    - ``method``: a short name (``classical``, ``ppi++``, ``cross-ppi++``, ``active-ipw``).
    """

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    n_gold: int
    n: int
    lam: float
    n_effective: float
    method: str

    @classmethod
    def normal(cls, estimate: float, se: float, level: float, **rest: Any) -> MeanInterval:
        """The normal-approximation interval ``estimate ± z_level * se``; ``rest`` gives the
        remaining fields (``n_gold``, ``n``, ``lam``, ``n_effective``, ``method``)."""
        half = z_value(level) * se
        return cls(
            estimate=estimate, ci_low=estimate - half, ci_high=estimate + half, se=se, **rest
        )

    @property
    def width(self) -> float:
        """``ci_high - ci_low``."""
        return self.ci_high - self.ci_low


def z_value(level: float) -> float:
    """The two-sided normal quantile ``z_(1 - (1 - level) / 2)`` (1.959964 for 0.95)."""
    if not 0.0 < level < 1.0:
        raise ConfigError(f"confidence level must be strictly between 0 and 1, got {level}")
    return float(norm.ppf(1.0 - (1.0 - level) / 2.0))


def as_vector(values: ArrayLike, name: str) -> FloatArray:
    """A 1-D float array without NaN, or a :class:`DataError` naming ``name``."""
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if np.isnan(array).any():
        raise DataError(f"{name} holds missing values")
    return array


def normalised_weights(weights: ArrayLike | None, size: int, name: str = "weights") -> FloatArray:
    """Weights rescaled to mean 1 (``w * size / sum(w)``); ones when ``weights`` is None.

    Weights must be finite and non-negative with a positive sum.
    """
    if weights is None:
        return np.ones(size)
    array = as_vector(weights, name)
    if len(array) != size:
        raise DataError(f"{name}: {len(array)} values for {size} items")
    if not np.isfinite(array).all() or (array < 0).any() or array.sum() <= 0:
        raise DataError(f"{name} must be finite, non-negative and not all zero")
    return array * size / array.sum()


def classical_mean(
    gold: ArrayLike, level: float = 0.95, weights: ArrayLike | None = None, n_total: int = 0
) -> MeanInterval:
    """The gold labels' (weighted) mean with its normal-approximation interval.

    ``estimate = mean(w * Y)``, ``se = sd(w * Y) / sqrt(n)`` (ddof 0, weights of mean 1), as
    ``ppi_py.baselines.classical_mean_ci``. ``n_total`` is reported as ``n`` (default ``n``).
    """
    y = as_vector(gold, "gold labels")
    n = len(y)
    if n < 2:
        raise DataError(f"{n} gold label(s): an interval needs at least 2")
    weighted = normalised_weights(weights, n, "gold weights") * y
    estimate = float(weighted.mean())
    se = float(weighted.std() / np.sqrt(n))
    return MeanInterval.normal(
        estimate,
        se,
        level,
        n_gold=n,
        n=max(n_total, n),
        lam=0.0,
        n_effective=float(n),
        method="classical",
    )


def ppi_point(
    gold: FloatArray,
    predicted: FloatArray,
    predicted_unlabelled: FloatArray,
    lam: float,
    weights: FloatArray,
    weights_unlabelled: FloatArray,
) -> float:
    """``mean_u(w_u * lam * Yhat_u) + mean(w * (Y - lam * Yhat))`` (weights of mean 1)."""
    return float(
        (weights_unlabelled * lam * predicted_unlabelled).mean()
        + (weights * (gold - lam * predicted)).mean()
    )


def power_tuning(
    gold: FloatArray,
    predicted: FloatArray,
    predicted_unlabelled: FloatArray,
    weights: FloatArray,
    weights_unlabelled: FloatArray,
) -> float:
    """The PPI++ power-tuning factor for a mean, clipped to [0, 1] (ADZ 2023, eq. for GLMs).

    With the plain-PPI estimate ``t = theta(1)`` and gradients ``g = w (Y - t)``,
    ``h = w (Yhat - t)``, ``h_u = w_u (Yhat_u - t)``::

        lam = (2/n) sum (g - mean g)(h - mean h) / (2 (1 + n/N) var_1([h, h_u]))

    (``var_1``: sample variance, ddof 1, over gold and unlabelled items together). Returns 0
    when the predictions do not vary.
    """
    n, big_n = len(gold), len(predicted_unlabelled)
    pilot = ppi_point(gold, predicted, predicted_unlabelled, 1.0, weights, weights_unlabelled)
    grads = weights * (gold - pilot)
    grads_hat = weights * (predicted - pilot)
    grads_hat_unlabelled = weights_unlabelled * (predicted_unlabelled - pilot)
    covariance = 2.0 / n * np.sum((grads - grads.mean()) * (grads_hat - grads_hat.mean()))
    variance = float(np.var(np.concatenate([grads_hat, grads_hat_unlabelled]), ddof=1))
    if not variance > 0.0:
        return 0.0
    return float(np.clip(covariance / (2.0 * (1.0 + n / big_n) * variance), 0.0, 1.0))


def ppi_mean(
    gold: ArrayLike,
    predicted: ArrayLike,
    predicted_unlabelled: ArrayLike,
    level: float = 0.95,
    lam: float | None = None,
    weights: ArrayLike | None = None,
    weights_unlabelled: ArrayLike | None = None,
    method: str = "ppi++",
) -> MeanInterval:
    """The PPI++ mean and interval (power-tuned unless ``lam`` is given); see the module doc.

    ``gold`` and ``predicted`` are the gold labels and predictions of the same ``n`` items (a
    random sample); ``predicted_unlabelled`` the predictions of the other ``N`` items. Optional
    weights (e.g. Core tasks 2, others 1) turn the estimand into the weighted mean.
    """
    y = as_vector(gold, "gold labels")
    yhat = as_vector(predicted, "predictions of the gold items")
    yhat_u = as_vector(predicted_unlabelled, "predictions of the other items")
    n, big_n = len(y), len(yhat_u)
    if len(yhat) != n:
        raise DataError(f"{n} gold labels but {len(yhat)} predictions for them")
    if n < 2:
        raise DataError(f"{n} gold label(s): an interval needs at least 2")
    if big_n < 1:
        raise DataError("no item without a gold label: use the classical mean")
    w = normalised_weights(weights, n, "gold weights")
    w_u = normalised_weights(weights_unlabelled, big_n, "weights of the other items")
    if lam is None:
        lam = power_tuning(y, yhat, yhat_u, w, w_u)
    estimate = ppi_point(y, yhat, yhat_u, lam, w, w_u)
    imputed_var = float(np.var(w_u * lam * yhat_u)) / big_n
    rectifier_var = float(np.var(w * (y - lam * yhat))) / n
    se = float(np.sqrt(imputed_var + rectifier_var))
    classical_var = float(np.var(w * y)) / n
    return MeanInterval.normal(
        estimate,
        se,
        level,
        n_gold=n,
        n=n + big_n,
        lam=float(lam),
        n_effective=effective_labels(n, classical_var, se**2),
        method=method,
    )


def effective_labels(n_gold: int, classical_variance: float, variance: float) -> float:
    """Gold labels the classical estimator would need for the same variance.

    ``n_gold * classical_variance / variance``; ``n_gold`` when both variances are 0, infinity
    when only ``variance`` is 0.
    """
    if variance > 0.0:
        return float(n_gold * classical_variance / variance)
    return float(n_gold) if classical_variance == 0.0 else float("inf")
