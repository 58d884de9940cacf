"""Learn a mapping from the raters' outputs to the human label: the calibration step.

Inputs per item (:class:`RaterEvidence`): the latent-class posteriors, the raw vote shares, the
raters' mean numeric score (0-1), the spread of the raters' scores, and the agreement among the
item's ratings. Two mappings are fitted on human-labelled items:

- :class:`ProbabilityMapping`: multinomial logistic regression (scikit-learn, L2 penalty,
  standardised features) from :meth:`RaterEvidence.features` to the human class (a label of the
  rubric's scale, e.g. E0/E1/E2). The penalty strength C is chosen by stratified inner
  cross-validation on weighted log-loss.
- :class:`ScoreMapping`: isotonic regression (increasing, clipped to 0-1) from the raters' mean
  numeric score to the code of the human label under the scale's default coding (for the
  exposure rubric beta: E0 = 0, E2 = 0.5, E1 = 1; Eloundou et al. 2023, section 3.3), i.e. a
  calibrated 0-1 score on the human scale.

Every function takes the rubric's scale (:class:`dwa_rater.rubric.RubricScale`, see
:mod:`.scale`) as ``scale``; None means the exposure rubric's.

Which human-labelled items the mappings learn from (:func:`select_training_items`): the review
step (``dwa_rater.review.select``) sends every *contested* item to humans plus a seeded random
``audit`` sample of the *uncontested* ones, and records the reason in a ``reason`` column.
Contested items are hard cases by construction, so by default the mappings are fitted and
evaluated on the ``audit`` items only: they are a simple random sample of exactly the items the
mapping is then applied to (items without a human label, since reviewed items keep their human
label). When the human rows carry a ``selection_probability`` column (0 < p <= 1), every
human-labelled item is used instead, weighted by 1 / p (Horvitz-Thompson), which represents the
whole population.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.scale import (
    all_codes,
    codes,
    default_scale,
    feature_names,
    or_default,
    ordinal_positions,
)
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.rubric import RubricScale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_SCALE = default_scale()

#: The exposure rubric's labels, the class order where no other rubric is named (a rubric's
#: own order is ``scale.labels``).
LABELS: tuple[str, ...] = _SCALE.labels

#: Code of each exposure class (in :data:`LABELS` order) under the exposure rubric's codings
#: (Eloundou, Manning, Mishkin & Rock 2023, "GPTs are GPTs", section 3.3), from its manifest.
CODES: dict[str, FloatArray] = all_codes(_SCALE)

#: Ordinal position of each exposure class in :data:`LABELS` order (E0 < E2 < E1).
ORDINAL_POSITION: IntArray = ordinal_positions(_SCALE)

#: Names of the columns of :meth:`RaterEvidence.features` for the exposure rubric
#: (:func:`.scale.feature_names` for another).
FEATURE_NAMES: tuple[str, ...] = feature_names(_SCALE)

#: How the training items are chosen; see :func:`select_training_items`.
Selection = Literal["auto", "audit", "weighted", "all"]

#: Penalty strengths tried by the inner cross-validation of the logistic regression.
C_GRID: tuple[float, ...] = (0.1, 1.0, 10.0)

_LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class RaterEvidence:
    """What the LLM raters said about each item, as arrays aligned on ``item_ids``.

    - ``vote_shares`` (items, classes): share of all ratings (raters x samples) per class.
    - ``posteriors`` (items, classes): latent-class posteriors (equal to ``vote_shares`` when no
      latent-class model was fitted, e.g. with a single rater).
    - ``mean_score`` (items,): mean numeric score, 0-1 (mean over a rater's samples, then over
      raters); NaN when no rater gave one.
    - ``score_spread`` (items,): max - min of the raters' mean scores (0 with one rater or none).
    - ``agreement`` (items,): share of agreeing pairs among the item's ratings,
      ``sum_k n_k (n_k - 1) / (n (n - 1))`` (Fleiss 1971, per-item term); 1 with one rating.
    - ``scale``: the rubric's scale the classes follow (None: the exposure rubric's).
    """

    item_ids: tuple[str, ...]
    vote_shares: FloatArray
    posteriors: FloatArray
    mean_score: FloatArray
    score_spread: FloatArray
    agreement: FloatArray
    extra: FloatArray | None = None
    scale: RubricScale | None = None

    def __len__(self) -> int:
        return len(self.item_ids)

    def features(self) -> FloatArray:
        """The feature matrix (items, base features + extra columns); a missing mean score
        becomes the vote shares' expected code (default coding) and is flagged in
        ``score_missing``. ``extra`` (items, n), e.g. neighbour features, is appended as it is."""
        base = feature_matrix(
            self.posteriors,
            self.vote_shares,
            self.mean_score,
            self.score_spread,
            self.agreement,
            scale=self.scale,
        )
        return base if self.extra is None else np.concatenate([base, self.extra], axis=-1)


def summarise_counts(
    counts: FloatArray, score_sum: FloatArray, score_n: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Vote shares, mean score, score spread and agreement from per-rater tallies.

    ``counts`` (..., raters, classes) are label counts, ``score_sum`` and ``score_n`` (..., raters)
    the sum and number of numeric scores of each rater; any leading batch axes. Returns the
    arrays described in :class:`RaterEvidence`.
    """
    totals = counts.sum(axis=-2)
    n = totals.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = totals / n[..., None]
        pairs = (totals * (totals - 1.0)).sum(axis=-1) / (n * (n - 1.0))
        per_rater = score_sum / score_n
    agreement = np.where(n > 1, pairs, 1.0)
    rated = score_n > 0
    n_scored = rated.sum(axis=-1)
    safe = np.where(rated, per_rater, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_score = np.where(n_scored > 0, safe.sum(axis=-1) / n_scored, np.nan)
    high = np.where(rated, per_rater, -np.inf).max(axis=-1)
    low = np.where(rated, per_rater, np.inf).min(axis=-1)
    spread = np.where(n_scored > 1, high - low, 0.0)
    return shares, mean_score, spread, agreement


def feature_matrix(
    posteriors: FloatArray,
    shares: FloatArray,
    mean_score: FloatArray,
    score_spread: FloatArray,
    agreement: FloatArray,
    *,
    scale: RubricScale | None = None,
) -> FloatArray:
    """Stack the mapping's features (see :func:`.scale.feature_names`); any leading batch
    axes. A missing mean score becomes the shares' expected code under the default coding."""
    missing = np.isnan(mean_score)
    fallback = shares @ codes(or_default(scale))
    score = np.where(missing, fallback, mean_score)
    columns = [
        np.log(np.clip(posteriors, _LOG_FLOOR, 1.0)),
        shares,
        score[..., None],
        missing[..., None].astype(np.float64),
        np.nan_to_num(score_spread)[..., None],
        agreement[..., None],
    ]
    return np.concatenate(columns, axis=-1)


@dataclass(frozen=True)
class TrainingSet:
    """Human-labelled items the mappings learn from and are evaluated on.

    ``rows`` index into the evidence arrays; ``labels`` are class positions in the scale's
    labels; ``weights`` are inverse selection probabilities (1 for the audit scheme); ``scheme``
    is ``audit``, ``weighted`` or ``all``; ``description`` says so in one sentence;
    ``n_classes`` is the number of labels of the scale.
    """

    rows: IntArray
    labels: IntArray
    weights: FloatArray
    scheme: str
    description: str
    n_classes: int = len(LABELS)

    def __len__(self) -> int:
        return len(self.rows)

    def class_counts(self) -> IntArray:
        return np.bincount(self.labels, minlength=self.n_classes)


def select_training_items(
    item_ids: Sequence[str],
    human: pd.DataFrame,
    selection: Selection = "auto",
    min_audit: int = 30,
    *,
    scale: RubricScale | None = None,
) -> tuple[TrainingSet, list[str]]:
    """Choose the training/evaluation items among the human-labelled ones (see module doc).

    ``human`` has one row per human-labelled item: ``item_id``, ``label`` (a label of
    ``scale``, by default E0/E1/E2) and
    optionally ``reason`` and ``selection_probability``. Only items present in ``item_ids``
    (items with LLM ratings) can be used. ``selection``:

    - ``auto``: ``weighted`` when selection probabilities are given, else ``audit`` when the
      human rows carry ``reason`` and at least ``min_audit`` audit items exist, else ``all``
      (with a warning when a ``reason`` column says the sample is not random).
    - ``audit``: only items whose reason is ``audit``, weight 1.
    - ``weighted``: every human-labelled item, weight 1 / selection_probability.
    - ``all``: every human-labelled item, weight 1 (ignores how they were chosen).

    Returns the set and warnings.
    """
    notes: list[str] = []
    position = {item: i for i, item in enumerate(item_ids)}
    table = human[human["item_id"].isin(position)].copy()
    has_reason = "reason" in table.columns and table["reason"].notna().any()
    has_probability = (
        "selection_probability" in table.columns and table["selection_probability"].notna().any()
    )
    reasons = (
        table["reason"].astype("string").str.strip().str.lower()
        if has_reason
        else pd.Series(pd.NA, index=table.index, dtype="string")
    )
    n_audit = int((reasons == "audit").sum())
    scheme = selection
    if selection == "auto":
        if has_probability:
            scheme = "weighted"
        elif has_reason and n_audit >= min_audit:
            scheme = "audit"
        else:
            scheme = "all"
            if has_reason:
                notes.append(
                    f"only {n_audit} human 'audit' item(s) (need {min_audit}): fitting and "
                    "evaluating on every human-labelled item, which over-represents the "
                    "contested items chosen for review"
                )
            else:
                notes.append(
                    "human rows have no 'reason' column: assuming the human-labelled items are "
                    "a random sample of the items"
                )
    if scheme == "audit":
        if not has_reason:
            raise DataError("selection 'audit' needs a 'reason' column in the human ratings")
        table = table[(reasons == "audit").to_numpy()]
        weights = np.ones(len(table))
        description = (
            f"{len(table)} human-labelled audit items (the random sample of uncontested items), "
            "equal weights"
        )
    elif scheme == "weighted":
        if not has_probability:
            raise DataError(
                "selection 'weighted' needs a 'selection_probability' column in the human ratings"
            )
        probability = pd.to_numeric(table["selection_probability"], errors="coerce")
        bad = probability.isna() | (probability <= 0) | (probability > 1)
        if bad.any():
            first = table.loc[bad, "item_id"].iloc[0]
            raise DataError(
                f"selection_probability must be in (0, 1] for every human-labelled item; "
                f"item {first} has {table.loc[bad, 'selection_probability'].iloc[0]!r}"
            )
        weights = (1.0 / probability).to_numpy(dtype=np.float64)
        description = (
            f"{len(table)} human-labelled items weighted by 1 / selection_probability "
            "(Horvitz-Thompson)"
        )
    elif scheme == "all":
        weights = np.ones(len(table))
        description = f"{len(table)} human-labelled items, equal weights"
    else:
        raise ConfigError(f"unknown selection {selection!r} (use auto, audit, weighted or all)")
    labels = or_default(scale).labels
    label_position = {label: i for i, label in enumerate(labels)}
    training = TrainingSet(
        rows=np.array([position[i] for i in table["item_id"]], dtype=np.int64),
        labels=np.array([label_position[v] for v in table["label"]], dtype=np.int64),
        weights=weights,
        scheme=str(scheme),
        description=description,
        n_classes=len(labels),
    )
    return training, notes


def can_fit(
    labels: IntArray,
    min_items: int,
    min_per_class: int = 2,
    *,
    scale: RubricScale | None = None,
) -> str | None:
    """None when a probability mapping can be fitted on these labels, else the reason why not."""
    names = or_default(scale).labels
    counts = np.bincount(labels, minlength=len(names))
    if len(labels) < min_items:
        return f"{len(labels)} training item(s), need {min_items}"
    thin = [names[k] for k in range(len(names)) if counts[k] < min_per_class]
    if thin:
        return f"fewer than {min_per_class} training items of class {', '.join(thin)}"
    return None


def _weighted_log_loss(probabilities: FloatArray, labels: IntArray, weights: FloatArray) -> float:
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-15, 1.0)
    return float(np.sum(weights * -np.log(picked)) / np.sum(weights))


def stratified_folds(labels: IntArray, n_folds: int, seed: int) -> list[tuple[IntArray, IntArray]]:
    """Seeded, shuffled stratified k-fold split: (train rows, test rows) per fold."""
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    placeholder = np.zeros(len(labels))
    return [
        (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        for a, b in splitter.split(placeholder, labels)
    ]


def _fit_logistic(features: FloatArray, labels: IntArray, weights: FloatArray, c: float) -> object:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
    # A few thousand rows x 10 features: BLAS threads only contend (8x slower on 2 busy cores).
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on tiny folds
        model.fit(features, labels, logisticregression__sample_weight=weights)
    return model


def _predict_full(model: object, features: FloatArray, n_classes: int) -> FloatArray:
    """predict_proba spread over all classes (a class absent from training gets 0)."""
    flat = features.reshape(-1, features.shape[-1])
    raw = model.predict_proba(flat)  # type: ignore[attr-defined]
    classes = model.classes_  # type: ignore[attr-defined]
    out = np.zeros((flat.shape[0], n_classes))
    out[:, classes] = raw
    out /= out.sum(axis=1, keepdims=True)
    return out.reshape(*features.shape[:-1], n_classes)


@dataclass(frozen=True)
class ProbabilityMapping:
    """Fitted multinomial logistic regression: features -> P(human class)."""

    model: object
    c: float
    n_items: int
    n_classes: int = len(LABELS)

    def predict(self, features: FloatArray) -> FloatArray:
        """Class probabilities (..., classes) in the scale's label order, rows summing to 1."""
        return _predict_full(self.model, features, self.n_classes)


def fit_probability_mapping(
    features: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    seed: int = 0,
    inner_folds: int = 3,
    c_grid: Sequence[float] = C_GRID,
    scale: RubricScale | None = None,
) -> ProbabilityMapping:
    """Fit the multinomial logistic mapping; C chosen by inner stratified CV (weighted log-loss).

    When a class has fewer items than ``inner_folds`` (or only one C is given) C = 1 is used.
    """
    n_classes = len(or_default(scale).labels)
    labels = np.asarray(labels, dtype=np.int64)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        raise DataError("the human labels used for calibration hold a single class")
    counts = np.bincount(labels, minlength=n_classes)
    smallest = int(counts[counts > 0].min())
    folds = min(inner_folds, smallest)
    chosen_c = 1.0
    if folds >= 2 and len(c_grid) > 1:
        losses = []
        splits = stratified_folds(labels, folds, seed)
        for c in c_grid:
            total = 0.0
            for train, test in splits:
                model = _fit_logistic(features[train], labels[train], weights[train], c)
                predicted = _predict_full(model, features[test], n_classes)
                total += _weighted_log_loss(predicted, labels[test], weights[test]) * float(
                    weights[test].sum()
                )
            losses.append(total)
        chosen_c = float(c_grid[int(np.argmin(losses))])
    model = _fit_logistic(features, labels, weights, chosen_c)
    return ProbabilityMapping(model=model, c=chosen_c, n_items=len(labels), n_classes=n_classes)


@dataclass(frozen=True)
class ScoreMapping:
    """Fitted isotonic regression: raters' mean score (0-1) -> the human label's code (0-1)
    under the scale's default coding (beta for the exposure rubric)."""

    model: object
    n_items: int

    def predict(self, scores: FloatArray) -> FloatArray:
        """Calibrated scores, same shape as ``scores``; NaN stays NaN."""
        scores = np.asarray(scores, dtype=np.float64)
        out = np.full(scores.shape, np.nan)
        known = ~np.isnan(scores)
        if known.any():
            out[known] = self.model.predict(scores[known])  # type: ignore[attr-defined]
        return out


def fit_score_mapping(
    scores: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    scale: RubricScale | None = None,
) -> ScoreMapping | None:
    """Isotonic regression of the human label's code (default coding: beta for the exposure
    rubric) on the raters' mean score.

    Items without a mean score are left out; returns None when fewer than 2 distinct scores
    remain.
    """
    from sklearn.isotonic import IsotonicRegression

    scores = np.asarray(scores, dtype=np.float64)
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=np.float64)
    known = ~np.isnan(scores)
    if len(np.unique(scores[known])) < 2:
        return None
    target = codes(or_default(scale))[np.asarray(labels)[known]]
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(scores[known], target, sample_weight=weights[known])
    return ScoreMapping(model=model, n_items=int(known.sum()))


def coded(
    probabilities: FloatArray, coding: str | None = None, *, scale: RubricScale | None = None
) -> FloatArray:
    """Expected code under a coding of the scale (exposure: alpha, beta or gamma; None: the
    scale's default): ``probabilities @ codes``."""
    return probabilities @ codes(or_default(scale), coding)


def final_score(
    probabilities: FloatArray,
    mean_score: FloatArray,
    score_mapping: ScoreMapping | None,
    *,
    scale: RubricScale | None = None,
) -> FloatArray:
    """The 0-1 ``score`` column: the isotonic map of the mean raw score when a mapping exists,
    else the mean raw score; the expected code (default coding, beta for the exposure rubric)
    where no rater gave a numeric score."""
    beta = coded(probabilities, scale=scale)
    score = mean_score if score_mapping is None else score_mapping.predict(mean_score)
    return np.where(np.isnan(score), beta, score)
