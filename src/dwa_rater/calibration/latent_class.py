"""The Dawid-Skene latent-class model: each rater's confusion matrix and each item's true class.

Source: A. P. Dawid and A. M. Skene (1979), "Maximum likelihood estimation of observer
error-rates using the EM algorithm", *Journal of the Royal Statistical Society, Series C
(Applied Statistics)* 28(1), 20-28. Notation follows the paper:

- ``n[i, r, l]``: how many times rater ``r`` gave label ``l`` to item ``i``. The paper allows
  repeated observations of one item by one rater; here they are the rater's samples (several
  completions at temperature > 0), so samples add to the counts of one rater rather than making
  new raters. Items rated by only some raters simply have zero counts for the others.
- ``pi[r, k, l]``: probability that rater ``r`` says ``l`` when the true class is ``k`` (rows
  sum to 1); ``p[k]``: prior share of class ``k``; ``T[i, k]``: posterior probability that
  item ``i`` is of class ``k``.

EM (paper, equations 2.3-2.5):

- M-step: ``pi[r, k, l] = sum_i T[i, k] n[i, r, l] / sum_l' sum_i T[i, k] n[i, r, l']`` and
  ``p[k] = mean_i T[i, k]``.
- E-step: ``T[i, k] ∝ p[k] prod_r prod_l pi[r, k, l] ** n[i, r, l]``, computed in logs.

Initialisation (the paper's suggestion, section 3): ``T`` = each item's share of votes per label
(soft majority vote), so the run is deterministic and classes keep their label names (no label
switching). ``pi`` and ``p`` are floored at ``floor`` (1e-10) before normalising so that a label
a rater never used does not send a log to minus infinity; crowd-kit's ``DawidSkene`` does the
same, and with the same number of iterations the two give the same posteriors.

Convergence: the observed-data log-likelihood ``sum_i log sum_k p[k] prod pi ** n`` never falls
under EM; iterations stop when it rises by less than ``tol`` per item, or after ``max_iter``.
Everything here is pure numpy on dense arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dwa_rater.errors import DataError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Lower bound on every estimated probability before normalising (as in crowd-kit).
PROBABILITY_FLOOR = 1e-10


@dataclass(frozen=True)
class LatentClassFit:
    """A fitted Dawid-Skene model.

    - ``posteriors``: (items, classes), rows sum to 1 (``T`` of the paper).
    - ``confusion``: (raters, true class, given label), rows sum to 1 (``pi``).
    - ``priors``: (classes,), sums to 1 (``p``).
    - ``log_likelihood``: observed-data log-likelihood per item (natural log) after the last
      E-step; ``history`` holds it for every iteration.
    """

    posteriors: FloatArray
    confusion: FloatArray
    priors: FloatArray
    n_iterations: int
    converged: bool
    log_likelihood: float
    history: tuple[float, ...]


def count_tensor(
    item_index: IntArray,
    rater_index: IntArray,
    label_index: IntArray,
    n_items: int,
    n_raters: int,
    n_classes: int,
) -> FloatArray:
    """Dense counts ``n[i, r, l]`` from one entry per observation (item, rater, label)."""
    item_index = np.asarray(item_index, dtype=np.int64)
    rater_index = np.asarray(rater_index, dtype=np.int64)
    label_index = np.asarray(label_index, dtype=np.int64)
    if not (item_index.shape == rater_index.shape == label_index.shape):
        raise DataError("item, rater and label index arrays differ in length")
    for name, values, bound in (
        ("item", item_index, n_items),
        ("rater", rater_index, n_raters),
        ("label", label_index, n_classes),
    ):
        if values.size and (values.min() < 0 or values.max() >= bound):
            raise DataError(f"{name} index outside 0..{bound - 1}")
    cells = (item_index * n_raters + rater_index) * n_classes + label_index
    counts = np.bincount(cells, minlength=n_items * n_raters * n_classes)
    return counts.reshape(n_items, n_raters, n_classes).astype(np.float64)


def vote_shares(counts: FloatArray) -> FloatArray:
    """Each item's share of all its votes (over raters and samples) per label: soft majority vote.

    Items without any vote get NaN rows.
    """
    totals = counts.sum(axis=1)
    size = totals.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return totals / size


def m_step(
    counts: FloatArray, posteriors: FloatArray, floor: float = PROBABILITY_FLOOR
) -> tuple[FloatArray, FloatArray]:
    """Priors ``p`` (classes,) and confusion matrices ``pi`` (raters, classes, labels).

    Dawid & Skene (1979), equations 2.3 (``pi``) and 2.4 (``p``).
    """
    priors = posteriors.mean(axis=0)
    # expected[r, k, l] = sum_i T[i, k] n[i, r, l]
    expected = np.einsum("ik,irl->rkl", posteriors, counts)
    expected = np.maximum(expected, floor)
    confusion = expected / expected.sum(axis=2, keepdims=True)
    return priors, confusion


def class_log_likelihoods(counts: FloatArray, confusion: FloatArray) -> FloatArray:
    """``sum_r sum_l n[i, r, l] log pi[r, k, l]`` for every item and class, shape (items, K)."""
    n_items, n_raters, n_labels = counts.shape
    log_confusion = np.log(confusion)  # (r, k, l)
    flat_counts = counts.reshape(n_items, n_raters * n_labels)
    flat_log = log_confusion.transpose(0, 2, 1).reshape(n_raters * n_labels, -1)
    return flat_counts @ flat_log


def e_step(
    counts: FloatArray,
    priors: FloatArray,
    confusion: FloatArray,
    floor: float = PROBABILITY_FLOOR,
) -> tuple[FloatArray, float]:
    """Posteriors ``T`` (items, classes) and the observed-data log-likelihood per item.

    Dawid & Skene (1979), equation 2.5, in logs with the max subtracted before exponentiating.
    """
    joint = np.log(np.maximum(priors, floor))[None, :] + class_log_likelihoods(counts, confusion)
    top = joint.max(axis=1, keepdims=True)
    scaled = np.exp(joint - top)
    total = scaled.sum(axis=1, keepdims=True)
    posteriors = scaled / total
    log_likelihood = float(np.mean(top[:, 0] + np.log(total[:, 0])))
    return posteriors, log_likelihood


def fit_dawid_skene(
    counts: FloatArray,
    *,
    max_iter: int = 200,
    tol: float = 1e-7,
    floor: float = PROBABILITY_FLOOR,
    initial_posteriors: FloatArray | None = None,
) -> LatentClassFit:
    """Fit the Dawid-Skene model to counts ``n[i, r, l]`` by EM.

    Starts from ``initial_posteriors`` or, by default, the soft majority vote
    (:func:`vote_shares`); then one M-step, and ``max_iter`` rounds of E-step + M-step. Stops
    early once the per-item log-likelihood rises by less than ``tol`` (``tol=0`` never stops
    early). Every item must have at least one vote.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 3:
        raise DataError("counts must have shape (items, raters, labels)")
    if counts.shape[0] == 0:
        raise DataError("no item to fit the latent-class model on")
    if (counts.sum(axis=(1, 2)) <= 0).any():
        raise DataError("every item needs at least one rating for the latent-class model")
    if max_iter < 1:
        raise DataError("max_iter must be at least 1")
    posteriors = vote_shares(counts) if initial_posteriors is None else initial_posteriors
    priors, confusion = m_step(counts, posteriors, floor)
    history: list[float] = []
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        posteriors, log_likelihood = e_step(counts, priors, confusion, floor)
        priors, confusion = m_step(counts, posteriors, floor)
        if history and abs(log_likelihood - history[-1]) < tol:
            history.append(log_likelihood)
            converged = True
            break
        history.append(log_likelihood)
    return LatentClassFit(
        posteriors=posteriors,
        confusion=confusion,
        priors=priors,
        n_iterations=iterations,
        converged=converged,
        log_likelihood=history[-1],
        history=tuple(history),
    )


def posteriors_given(
    counts: FloatArray,
    priors: FloatArray,
    confusion: FloatArray,
    floor: float = PROBABILITY_FLOOR,
) -> FloatArray:
    """Posteriors of new counts under a fitted model (no refitting); any leading batch axes.

    ``counts`` has shape (..., raters, labels); returns (..., classes). Used for the bootstrap
    over an item's ratings and for items not in the fit.
    """
    counts = np.asarray(counts, dtype=np.float64)
    lead = counts.shape[:-2]
    flat = counts.reshape(-1, *counts.shape[-2:])
    posteriors, _ = e_step(flat, priors, confusion, floor)
    return posteriors.reshape(*lead, posteriors.shape[-1])
