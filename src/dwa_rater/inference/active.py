"""Active statistical inference: gold labels drawn with unequal, recorded probabilities.

Zrnic & Candes (2024), "Active statistical inference", ICML: every one of ``N`` items has a
prediction ``Yhat_i``; item ``i`` is sent to humans with probability ``pi_i`` (independent
Bernoulli draws ``xi_i``, i.e. Poisson sampling). The power-tuned inverse-probability-weighted
estimate of the (weighted) mean is::

    T_i   = v_i * (lam * Yhat_i + (Y_i - lam * Yhat_i) * xi_i / pi_i)
    theta = mean(T),     se = sd(T) / sqrt(N)      (sd with ddof 0)

with item weights ``v`` of mean 1 over the ``N`` items. It is unbiased for any ``lam`` as long
as every ``pi_i > 0``; ``lam`` minimises the estimated variance. Writing ``T = A + lam * B`` with
``A_i = v_i Y_i xi_i / pi_i`` and ``B_i = v_i Yhat_i (1 - xi_i / pi_i)``, the plug-in optimum is
``lam = -cov(A, B) / var(B)`` clipped to [0, 1]. ``lam = 0`` is the Horvitz-Thompson mean of
the gold labels alone, the comparison behind ``n_effective``.

The variance of ``T`` is smallest when ``pi_i`` grows with the expected error of the
prediction, ``pi_i ~ sqrt(E[(Y_i - Yhat_i)^2])``; :func:`sampling_probabilities` takes such an
uncertainty (here: the spread of the LLM raters' coded labels, a proxy) and mixes the result
with the uniform design so that no item gets a vanishing probability.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.ppi import (
    MeanInterval,
    as_vector,
    effective_labels,
    normalised_weights,
)

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def capped_proportional(scores: FloatArray, budget: float) -> FloatArray:
    """Probabilities proportional to ``scores``, summing to ``budget``, none above 1.

    Items whose share would exceed 1 get 1 and the rest of the budget is spread again over the
    others (the usual iterative capping of probability-proportional-to-size designs).
    """
    probabilities = np.zeros(len(scores))
    capped = np.zeros(len(scores), dtype=bool)
    for _ in range(len(scores) + 1):
        free = ~capped
        remaining = budget - capped.sum()
        total = scores[free].sum()
        if remaining <= 0 or total <= 0:
            probabilities[free] = max(remaining, 0.0) / max(free.sum(), 1)
            break
        probabilities[free] = scores[free] * remaining / total
        over = free & (probabilities >= 1.0)
        if not over.any():
            break
        capped |= over
        probabilities[capped] = 1.0
    return np.clip(probabilities, 0.0, 1.0)


def sampling_probabilities(
    uncertainty: ArrayLike, budget: float, uniform_share: float = 0.1
) -> FloatArray:
    """Inclusion probabilities for an expected ``budget`` gold labels among ``len(uncertainty)``.

    ``pi = (1 - s) * capped_proportional(u, budget) + s * budget / N`` with ``s`` =
    ``uniform_share`` (0-1): proportional to the uncertainty ``u`` (an expected absolute error of
    the prediction, >= 0), mixed with the uniform design. Their sum is ``budget``.
    """
    u = as_vector(uncertainty, "uncertainty")
    size = len(u)
    if size == 0:
        raise DataError("no item to sample from")
    if (u < 0).any() or not np.isfinite(u).all():
        raise DataError("uncertainties must be finite and non-negative")
    if not 0 < budget <= size:
        raise ConfigError(f"the label budget must be in (0, {size}], got {budget}")
    if not 0.0 <= uniform_share <= 1.0:
        raise ConfigError(f"uniform share must be in [0, 1], got {uniform_share}")
    proportional = capped_proportional(u, budget)
    return (1.0 - uniform_share) * proportional + uniform_share * budget / size


def draw_sample(probabilities: ArrayLike, seed: int) -> BoolArray:
    """Independent Bernoulli(``pi_i``) draws (Poisson sampling), seeded (numpy ``default_rng``)."""
    pi = as_vector(probabilities, "sampling probabilities")
    return np.random.default_rng(seed).random(len(pi)) < pi


def ipw_mean(
    predicted: ArrayLike,
    gold: ArrayLike,
    probabilities: ArrayLike,
    level: float = 0.95,
    weights: ArrayLike | None = None,
    lam: float | None = None,
) -> MeanInterval:
    """The active-inference (inverse-probability-weighted) mean of the module doc.

    All arrays have one value per item (``N``): ``predicted`` the predictions; ``gold`` the
    gold label, NaN where the item was not labelled; ``probabilities`` the item's sampling
    probability (only read where ``gold`` is known, must be in (0, 1] there).
    """
    yhat = as_vector(predicted, "predictions")
    y = np.asarray(gold, dtype=np.float64).reshape(-1)
    pi = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    size = len(yhat)
    if len(y) != size or len(pi) != size:
        raise DataError("predictions, gold labels and probabilities do not line up")
    labelled = ~np.isnan(y)
    n_gold = int(labelled.sum())
    if n_gold < 2:
        raise DataError(f"{n_gold} gold label(s): an interval needs at least 2")
    if np.isnan(pi[labelled]).any() or (pi[labelled] <= 0).any() or (pi[labelled] > 1).any():
        raise DataError("every gold item needs a sampling probability in (0, 1]")
    v = normalised_weights(weights, size, "weights")
    inverse = np.zeros(size)
    inverse[labelled] = 1.0 / pi[labelled]
    a = v * np.where(labelled, y, 0.0) * inverse
    b = v * yhat * (1.0 - inverse)
    if lam is None:
        variance_b = float(np.var(b))
        covariance = float(np.mean((a - a.mean()) * (b - b.mean())))
        lam = float(np.clip(-covariance / variance_b, 0.0, 1.0)) if variance_b > 0 else 0.0
    terms = a + lam * b
    estimate = float(terms.mean())
    se = float(terms.std() / np.sqrt(size))
    return MeanInterval.normal(
        estimate,
        se,
        level,
        n_gold=n_gold,
        n=size,
        lam=float(lam),
        n_effective=effective_labels(n_gold, float(np.var(a)) / size, se**2),
        method="active-ipw",
    )


def horvitz_thompson_mean(
    gold: ArrayLike, probabilities: ArrayLike, size: int, level: float = 0.95
) -> MeanInterval:
    """The gold-only Horvitz-Thompson mean ``sum(Y_i / pi_i) / N`` over the sampled items.

    ``se = sd(A) / sqrt(N)`` with ``A_i = Y_i / pi_i`` for sampled items and 0 for the other
    ``N - n`` items: :func:`ipw_mean` with ``lam = 0``.
    """
    y = as_vector(gold, "gold labels")
    pi = as_vector(probabilities, "sampling probabilities")
    if size < len(y):
        raise DataError(f"population of {size} items is smaller than the {len(y)} gold items")
    predicted = np.zeros(size)
    padded_gold = np.full(size, np.nan)
    padded_gold[: len(y)] = y
    padded_pi = np.ones(size)
    padded_pi[: len(y)] = pi
    result = ipw_mean(predicted, padded_gold, padded_pi, level=level, lam=0.0)
    return MeanInterval(**{**result.__dict__, "method": "horvitz-thompson"})
