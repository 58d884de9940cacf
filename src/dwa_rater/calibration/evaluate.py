"""Does calibration help? k-fold evaluation on human-labelled items, per item and per occupation.

Three ways of turning the LLM ratings into class probabilities are compared with the human
label on the evaluation items (the :class:`~dwa_rater.calibration.mapping.TrainingSet`):

- ``majority``: raw majority vote, each item's share of votes per class (ties go to the first
  class in the scale's label order, E0, E1, E2 for the exposure rubric, when a single label is
  needed);
- ``latent_class``: Dawid-Skene posteriors (unsupervised, so fitted once on all items; the
  human labels never enter it);
- ``calibrated``: the multinomial logistic mapping, predicted out of fold: the evaluation items
  are split into ``folds`` stratified folds and each fold is predicted by a mapping fitted on
  the others.

Two 0-1 scores are compared too: ``raw_score`` (the raters' mean numeric score) and
``isotonic_score`` (its out-of-fold isotonic calibration), against the human label's beta code.

Metrics (all weighted by the training weights, i.e. inverse selection probabilities):

- ``kappa``: Cohen's kappa of the most probable class vs the human class; ``kappa_quadratic``
  with quadratic weights along the scale's order (E0 < E2 < E1; Cohen 1968), via scikit-learn;
- ``accuracy``: share of items whose most probable class is the human class;
- ``brier``: multi-class Brier score, ``mean_i sum_k (p_ik - y_ik)^2`` (Brier 1950), 0 best,
  2 worst;
- ``ece``: expected calibration error of the top-class probability, 10 equal-width bins,
  ``sum_b W_b / W |accuracy_b - confidence_b|`` (Naeini et al. 2015; Guo et al. 2017);
- ``beta_mae`` / ``beta_bias``: mean absolute / signed difference between the predicted beta
  (``p_E1 + 0.5 p_E2``, or the score) and the human label's beta code; for another rubric the
  scale's default coding takes beta's place, and its name the columns' (``<coding>_mae``);
- ``occupation_*``: the same predicted and human betas averaged within each group (occupation)
  with the item -> group weights given (see :func:`occupation_weights`), over the evaluation
  items only; then MAE, signed bias and Pearson correlation across groups.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.mapping import (
    C_GRID,
    RaterEvidence,
    TrainingSet,
    can_fit,
    coded,
    final_score,
    fit_probability_mapping,
    fit_score_mapping,
    stratified_folds,
)
from dwa_rater.calibration.scale import codes, or_default, ordinal_positions
from dwa_rater.rubric import RubricScale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Columns of :attr:`EvaluationResult.table`, in order.
EVALUATION_COLUMNS: tuple[str, ...] = (
    "method",
    "n",
    "kappa",
    "kappa_quadratic",
    "accuracy",
    "brier",
    "ece",
    "beta_mae",
    "beta_bias",
    "occupation_n",
    "occupation_mae",
    "occupation_bias",
    "occupation_pearson",
)


def evaluation_columns(scale: RubricScale | None = None) -> tuple[str, ...]:
    """Columns of the evaluation table for a scale: ``beta_mae``/``beta_bias`` are named after
    the scale's default coding (unchanged for the exposure rubric)."""
    coding = or_default(scale).default_coding
    return tuple(
        f"{coding}_{c.removeprefix('beta_')}" if c.startswith("beta_") else c
        for c in EVALUATION_COLUMNS
    )


#: Probability methods, then score methods, in table order.
PROBABILITY_METHODS: tuple[str, ...] = ("majority", "latent_class", "calibrated")
SCORE_METHODS: tuple[str, ...] = ("raw_score", "isotonic_score")


# --- metrics ----------------------------------------------------------------------------------


def _weights(n: int, weights: FloatArray | None) -> FloatArray:
    return np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)


def brier_score(
    probabilities: FloatArray, labels: IntArray, weights: FloatArray | None = None
) -> float:
    """Multi-class Brier score (Brier 1950): weighted mean of ``sum_k (p_k - 1[y = k])^2``."""
    w = _weights(len(labels), weights)
    onehot = np.eye(probabilities.shape[1])[labels]
    return float(np.sum(w * ((probabilities - onehot) ** 2).sum(axis=1)) / w.sum())


def reliability_table(
    probabilities: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Top-class reliability: per equal-width confidence bin, weight, mean confidence, accuracy.

    Columns: bin_low, bin_high, n (items), weight, confidence, accuracy. Empty bins are dropped.
    """
    w = _weights(len(labels), weights)
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        inside = which == b
        if not inside.any():
            continue
        weight = float(w[inside].sum())
        rows.append(
            {
                "bin_low": edges[b],
                "bin_high": edges[b + 1],
                "n": int(inside.sum()),
                "weight": weight,
                "confidence": float(np.sum(w[inside] * confidence[inside]) / weight),
                "accuracy": float(np.sum(w[inside] * correct[inside]) / weight),
            }
        )
    return pd.DataFrame(
        rows, columns=["bin_low", "bin_high", "n", "weight", "confidence", "accuracy"]
    )


def expected_calibration_error(
    probabilities: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    n_bins: int = 10,
) -> float:
    """Top-class ECE with equal-width bins (Naeini et al. 2015; Guo et al. 2017), 0-1."""
    table = reliability_table(probabilities, labels, weights, n_bins)
    total = table["weight"].sum()
    return float(np.sum(table["weight"] * (table["accuracy"] - table["confidence"]).abs()) / total)


def _kappa(
    truth: IntArray, predicted: IntArray, weights: FloatArray, kind: str | None, n_classes: int
) -> float:
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        value = cohen_kappa_score(
            truth, predicted, labels=list(range(n_classes)), weights=kind, sample_weight=weights
        )
    return float(value) if np.isfinite(value) else float("nan")


def classification_metrics(
    probabilities: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    scale: RubricScale | None = None,
) -> dict[str, float]:
    """kappa, kappa_quadratic, accuracy, brier, ece, beta_mae, beta_bias of one method (the
    last two named after the scale's default coding)."""
    scale = or_default(scale)
    position = ordinal_positions(scale)
    n_classes = len(scale.labels)
    w = _weights(len(labels), weights)
    predicted = probabilities.argmax(axis=1)
    return {
        "n": float(len(labels)),
        "kappa": _kappa(labels, predicted, w, None, n_classes),
        "kappa_quadratic": _kappa(position[labels], position[predicted], w, "quadratic", n_classes),
        "accuracy": float(np.sum(w * (predicted == labels)) / w.sum()),
        "brier": brier_score(probabilities, labels, w),
        "ece": expected_calibration_error(probabilities, labels, w),
        **score_metrics(coded(probabilities, scale=scale), labels, w, scale=scale),
    }


def score_metrics(
    scores: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    scale: RubricScale | None = None,
) -> dict[str, float]:
    """beta_mae and beta_bias of 0-1 scores against the human labels' beta codes (for another
    rubric: ``<coding>_mae`` and ``<coding>_bias`` under its default coding)."""
    scale = or_default(scale)
    w = _weights(len(labels), weights)
    difference = scores - codes(scale)[labels]
    coding = scale.default_coding
    return {
        f"{coding}_mae": float(np.sum(w * np.abs(difference)) / w.sum()),
        f"{coding}_bias": float(np.sum(w * difference) / w.sum()),
    }


def weighted_confusion(
    probabilities: FloatArray,
    labels: IntArray,
    weights: FloatArray | None = None,
    *,
    scale: RubricScale | None = None,
) -> pd.DataFrame:
    """Human class (rows) x most probable class (columns), summed weights."""
    names = or_default(scale).labels
    w = _weights(len(labels), weights)
    table = np.zeros((len(names), len(names)))
    np.add.at(table, (labels, probabilities.argmax(axis=1)), w)
    return pd.DataFrame(
        table,
        index=pd.Index([f"human {x}" for x in names], name="human"),
        columns=[f"predicted {x}" for x in names],
    )


# --- item -> group weights --------------------------------------------------------------------


def occupation_weights(task_dwas: pd.DataFrame, item_ids: Sequence[str]) -> pd.DataFrame:
    """Item -> occupation weights from O*NET's Tasks to DWAs (onetsoc_code, task_id, dwa_id).

    When the items are DWAs: a task scores the mean of its DWAs and an occupation the unweighted
    mean of its tasks, so a DWA's weight in an occupation is ``sum over the occupation's tasks
    linked to it of 1 / (number of DWAs of the task)``. When the items are tasks: weight 1 for
    the task's occupation. Returns columns group, item_id, weight (items not found are absent).
    """
    wanted = set(map(str, item_ids))
    links = task_dwas[["onetsoc_code", "task_id", "dwa_id"]].astype(str)
    dwa_hits = links["dwa_id"].isin(wanted).sum()
    task_hits = links["task_id"].isin(wanted).sum()
    if task_hits > dwa_hits:
        tasks = links[links["task_id"].isin(wanted)].drop_duplicates(["onetsoc_code", "task_id"])
        return pd.DataFrame(
            {"group": tasks["onetsoc_code"], "item_id": tasks["task_id"], "weight": 1.0}
        ).reset_index(drop=True)
    per_task = links.groupby(["onetsoc_code", "task_id"])["dwa_id"].transform("size")
    links = links.assign(weight=1.0 / per_task)
    links = links[links["dwa_id"].isin(wanted)]
    grouped = links.groupby(["onetsoc_code", "dwa_id"], as_index=False)["weight"].sum()
    return grouped.rename(columns={"onetsoc_code": "group", "dwa_id": "item_id"})


def occupation_weights_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame | None:
    """Item -> occupation weights from the ratings' own ``onetsoc_code`` (and ``task_type``).

    Tasks weigh 2 when their ``task_type`` is Core and 1 otherwise, as in Eloundou et al.
    (2024)'s occupation scores. Returns columns group, item_id, weight; None when the ratings
    have no ``onetsoc_code``.
    """
    if "onetsoc_code" not in ratings.columns:
        return None
    columns = ["item_id", "onetsoc_code"] + (["task_type"] if "task_type" in ratings else [])
    links = ratings[columns].dropna(subset=["onetsoc_code"]).drop_duplicates(["item_id"])
    if links.empty:
        return None
    core = (
        links["task_type"].astype("string").str.strip().str.lower().eq("core").fillna(False)
        if "task_type" in links.columns
        else pd.Series(False, index=links.index)
    )
    return pd.DataFrame(
        {
            "group": links["onetsoc_code"].astype(str).to_numpy(),
            "item_id": links["item_id"].astype(str).to_numpy(),
            "weight": np.where(core.to_numpy(dtype=bool), 2.0, 1.0),
        }
    )


def group_metrics(
    item_ids: Sequence[str],
    truth: FloatArray,
    predictions: Mapping[str, FloatArray],
    item_weights: FloatArray,
    groups: pd.DataFrame,
) -> pd.DataFrame:
    """Group-level comparison: per method, occupation_n, occupation_mae/bias/pearson.

    Within a group, values are averaged with weight = group weight x item weight.
    """
    frame = pd.DataFrame({"item_id": list(map(str, item_ids)), "item_weight": item_weights})
    frame["truth"] = truth
    for name, values in predictions.items():
        frame[name] = values
    merged = groups.merge(frame, on="item_id", how="inner")
    merged["w"] = merged["weight"] * merged["item_weight"]
    rows = []
    for name in predictions:
        if merged.empty:
            rows.append({"method": name, "occupation_n": 0.0})
            continue
        sums = (
            merged.assign(t=merged["truth"] * merged["w"], p=merged[name] * merged["w"])
            .groupby("group")[["t", "p", "w"]]
            .sum()
        )
        sums = sums[sums["w"] > 0]
        human = sums["t"] / sums["w"]
        predicted = sums["p"] / sums["w"]
        difference = predicted - human
        pearson = float("nan")
        if len(sums) > 2 and human.std() > 0 and predicted.std() > 0:
            pearson = float(np.corrcoef(human, predicted)[0, 1])
        rows.append(
            {
                "method": name,
                "occupation_n": float(len(sums)),
                "occupation_mae": float(difference.abs().mean()),
                "occupation_bias": float(difference.mean()),
                "occupation_pearson": pearson,
            }
        )
    return pd.DataFrame(rows)


# --- the k-fold evaluation --------------------------------------------------------------------


def grouped_folds(
    labels: IntArray, groups: Sequence[str], n_folds: int, seed: int
) -> list[tuple[IntArray, IntArray]]:
    """Seeded stratified group k-fold (scikit-learn): no group is split between folds."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(set(groups))
    splitter = StratifiedGroupKFold(
        n_splits=min(n_folds, n_groups), shuffle=True, random_state=seed
    )
    placeholder = np.zeros(len(labels))
    return [
        (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        for a, b in splitter.split(placeholder, labels, groups=list(groups))
    ]


@dataclass(frozen=True)
class EvaluationResult:
    """Out-of-fold predictions on the evaluation items and the metrics table.

    ``probabilities[method]`` is (items, classes) and ``scores[method]`` (items,) predicted 0-1
    scores, aligned on ``item_ids``/``labels``/``weights``; ``fold`` is each item's test fold
    (-1 when no calibrated mapping was cross-validated); ``scale`` the rubric's scale (None:
    the exposure rubric's).
    """

    item_ids: tuple[str, ...]
    labels: IntArray
    weights: FloatArray
    fold: IntArray
    probabilities: dict[str, FloatArray]
    scores: dict[str, FloatArray]
    table: pd.DataFrame
    scheme: str
    description: str
    notes: list[str] = field(default_factory=list)
    scale: RubricScale | None = None

    def metric(self, method: str, name: str) -> float:
        row = self.table[self.table["method"] == method]
        if not len(row) or pd.isna(row[name].iloc[0]):
            return float("nan")
        return float(row[name].iloc[0])

    def confusion(self, method: str) -> pd.DataFrame:
        return weighted_confusion(
            self.probabilities[method], self.labels, self.weights, scale=self.scale
        )

    def reliability(self, method: str, n_bins: int = 10) -> pd.DataFrame:
        return reliability_table(self.probabilities[method], self.labels, self.weights, n_bins)


def cross_validate(
    evidence: RaterEvidence,
    training: TrainingSet,
    *,
    folds: int = 5,
    seed: int = 0,
    min_items: int = 30,
    include_latent: bool = True,
    fit_mapping: bool = True,
    groups: pd.DataFrame | None = None,
    c_grid: Sequence[float] = C_GRID,
    fold_groups: Sequence[str] | None = None,
    scale: RubricScale | None = None,
) -> EvaluationResult:
    """k-fold evaluation of majority vote, latent class and calibrated mapping (module doc).

    ``include_latent=False`` drops the latent-class row (no model was fitted, e.g. one rater);
    ``fit_mapping=False`` drops the calibrated rows. ``groups`` (columns group, item_id,
    weight) adds the occupation-level columns; ``c_grid`` holds the penalty strengths the
    mapping's inner cross-validation chooses from. ``fold_groups`` (one per evidence item,
    e.g. its occupation) keeps each group within one fold (stratified group k-fold), so the
    calibrated rows measure prediction for unseen groups. ``scale``: the rubric's scale (None:
    the exposure rubric's).
    """
    scale = or_default(scale)
    notes: list[str] = []
    rows, labels, weights = training.rows, training.labels, training.weights
    shares = evidence.vote_shares[rows]
    mean_score = evidence.mean_score[rows]
    probabilities: dict[str, FloatArray] = {"majority": shares}
    scores: dict[str, FloatArray] = {}
    if include_latent:
        probabilities["latent_class"] = evidence.posteriors[rows]
    fold = np.full(len(rows), -1, dtype=np.int64)
    has_scores = bool((~np.isnan(mean_score)).any())
    if has_scores:
        scores["raw_score"] = final_score(shares, mean_score, None, scale=scale)

    reason = can_fit(labels, min_items, scale=scale) if fit_mapping else "calibration not requested"
    if reason is None:
        smallest = int(np.bincount(labels, minlength=len(scale.labels)).min())
        n_folds = min(folds, smallest)
        if n_folds < folds:
            notes.append(
                f"{n_folds} folds instead of {folds}: the rarest class has {smallest} items"
            )
        features = evidence.features()[rows]
        calibrated = np.zeros_like(shares)
        isotonic = np.full(len(rows), np.nan)
        if fold_groups is not None:
            splits = grouped_folds(labels, [fold_groups[i] for i in rows], n_folds, seed)
            notes.append(f"folds keep each of {len(set(fold_groups))} groups whole")
        else:
            splits = stratified_folds(labels, n_folds, seed)
        for number, (train, test) in enumerate(splits):
            mapping = fit_probability_mapping(
                features[train],
                labels[train],
                weights[train],
                seed=seed,
                c_grid=c_grid,
                scale=scale,
            )
            calibrated[test] = mapping.predict(features[test])
            score_map = fit_score_mapping(
                mean_score[train], labels[train], weights[train], scale=scale
            )
            isotonic[test] = final_score(calibrated[test], mean_score[test], score_map, scale=scale)
            fold[test] = number
        probabilities["calibrated"] = calibrated
        if has_scores:
            scores["isotonic_score"] = isotonic
    else:
        notes.append(f"no calibrated mapping evaluated: {reason}")

    records = []
    for name, values in probabilities.items():
        records.append(
            {"method": name, **classification_metrics(values, labels, weights, scale=scale)}
        )
    for name, values in scores.items():
        records.append(
            {
                "method": name,
                "n": float(len(labels)),
                **score_metrics(values, labels, weights, scale=scale),
            }
        )
    table = pd.DataFrame(records)
    if groups is not None and len(rows):
        item_ids = [evidence.item_ids[i] for i in rows]
        truth = codes(scale)[labels]
        predicted = {name: coded(values, scale=scale) for name, values in probabilities.items()}
        predicted.update(scores)
        by_group = group_metrics(item_ids, truth, predicted, weights, groups)
        table = table.merge(by_group, on="method", how="left")
        if by_group["occupation_n"].max() == 0:
            notes.append("no evaluation item is linked to an occupation")
    columns = evaluation_columns(scale)
    for column in columns:
        if column not in table.columns:
            table[column] = np.nan
    table = table[list(columns)]
    for column in ("n", "occupation_n"):
        table[column] = table[column].round().astype("Int64")
    return EvaluationResult(
        item_ids=tuple(evidence.item_ids[i] for i in rows),
        labels=labels,
        weights=weights,
        fold=fold,
        probabilities=probabilities,
        scores=scores,
        table=table,
        scheme=training.scheme,
        description=training.description,
        notes=notes,
        scale=scale,
    )
