"""From long ratings tables to one calibrated score per item: the ``calibrate`` pipeline.

Steps (:func:`calibrate_ratings`):

1. Check the inputs: the human rater exists (else the raters present are listed), every label
   is on the E0/E1/E2 scale, every numeric score is in 0-1, every item has a usable rating (an
   ``ok`` row with a label, from an LLM rater or the human).
2. Latent class: a Dawid-Skene model (:mod:`.latent_class`) over the LLM raters; samples of one
   rater are repeated observations of that rater. The human labels never enter it.
3. Evaluation (:mod:`.evaluate`): k-fold over the human-labelled training items (by default the
   ``audit`` sample, see :func:`.mapping.select_training_items`).
4. Calibration (:mod:`.mapping`): a multinomial logistic mapping to the human class, fitted on
   all training items; used when its cross-validated Brier score is no worse than the latent
   class's (``use_calibration="auto"``). An isotonic map of the raters' mean numeric score to
   the human beta code gives the calibrated ``score``.
5. Output: one row per item of the inputs (:data:`SCORE_COLUMNS`). Human labels are final.

Output columns:

- ``label``: the most probable class (first of E0, E1, E2 on a tie);
- ``p_E0``, ``p_E1``, ``p_E2``: class probabilities, summing to 1;
- ``alpha``, ``beta``, ``gamma``: expected exposure under the codings of Eloundou et al.
  (2023): ``p_E1``, ``p_E1 + 0.5 p_E2``, ``p_E1 + p_E2`` (0-1);
- ``score``: a 0-1 exposure score on the beta scale. ``human``: the beta code of the human
  label; ``calibrated``: the isotonic calibration of the raters' mean numeric score;
  ``raw``: the raters' mean numeric score. Where no rater gave a numeric score, ``beta``;
- ``source``: ``human`` (adjudicated human label), ``calibrated`` (the fitted mapping) or
  ``raw`` (latent-class posteriors, or a single rater's share of labels, without a fitted
  mapping);
- ``n_raters``: distinct LLM raters with a usable label for the item (the human not counted);
- ``ci_low``, ``ci_high``: a percentile interval (default 95%) of ``score`` from a bootstrap
  over the item's ratings (rater x sample rows drawn with replacement, 200 resamples), with the
  latent-class parameters and fitted mappings held fixed; so it reflects how much the item's
  own ratings vary, not the uncertainty of the fitted models. For human items it collapses to
  the score.

With a single LLM rater there is nothing to combine: its labels pass through (probabilities =
its share of labels over samples), uncalibrated, and a warning says so.

Reading ratings files and writing the score table with its manifest: :mod:`.files`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.evaluate import EvaluationResult, cross_validate
from dwa_rater.calibration.latent_class import (
    LatentClassFit,
    count_tensor,
    fit_dawid_skene,
    posteriors_given,
)
from dwa_rater.calibration.mapping import (
    C_GRID,
    CODES,
    FEATURE_NAMES,
    LABELS,
    ProbabilityMapping,
    RaterEvidence,
    ScoreMapping,
    Selection,
    TrainingSet,
    can_fit,
    feature_matrix,
    final_score,
    fit_probability_mapping,
    fit_score_mapping,
    select_training_items,
    summarise_counts,
)
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.store import ok_ratings

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Columns of the calibrated score table, in order.
SCORE_COLUMNS: tuple[str, ...] = (
    "item_id",
    "label",
    "p_E0",
    "p_E1",
    "p_E2",
    "alpha",
    "beta",
    "gamma",
    "score",
    "source",
    "n_raters",
    "ci_low",
    "ci_high",
)

#: How the non-human items were scored.
CalibrationMethod = Literal["calibrated", "latent_class", "single_rater_pass_through", "human_only"]

_BOOTSTRAP_CELLS = 1_000_000  # bootstrap chunk size: replicates x items x raters x classes


@dataclass(frozen=True)
class CalibrationOptions:
    """Settings of :func:`calibrate_ratings`.

    - ``human``: name of the human rater (its labels are final and train the mapping);
    - ``require_human``: when false, a missing human rater is a warning, not an error (the
      study command calibrates before any annotation exists);
    - ``folds``, ``seed``: k-fold evaluation and every random draw;
    - ``selection``: training items, see :func:`.mapping.select_training_items`;
    - ``use_calibration``: ``auto`` (when cross-validation says it is no worse), ``always``
      (whenever it can be fitted), ``never``;
    - ``bootstrap``, ``confidence``: resamples and coverage of ci_low/ci_high;
    - ``max_iter``, ``tol``: EM stopping rule; ``min_training_items``: fewer -> no mapping;
    - ``c_grid``: penalty strengths (inverse L2) the logistic mapping chooses from by inner CV.
    """

    human: str
    require_human: bool = True
    folds: int = 5
    seed: int = 0
    selection: Selection = "auto"
    use_calibration: Literal["auto", "always", "never"] = "auto"
    bootstrap: int = 200
    confidence: float = 0.95
    max_iter: int = 200
    tol: float = 1e-7
    min_training_items: int = 30
    c_grid: tuple[float, ...] = C_GRID

    def __post_init__(self) -> None:
        if not self.human:
            raise ConfigError("name the human rater (--human)")
        if self.folds < 2:
            raise ConfigError(f"folds must be 2 or more, got {self.folds}")
        if self.bootstrap < 0:
            raise ConfigError(f"bootstrap resamples must be 0 or more, got {self.bootstrap}")
        if not 0.5 <= self.confidence < 1.0:
            raise ConfigError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if not self.c_grid or any(c <= 0 for c in self.c_grid):
            raise ConfigError("c_grid must hold positive penalty strengths")
        if self.use_calibration not in ("auto", "always", "never"):
            raise ConfigError(
                f"use_calibration must be auto, always or never, not {self.use_calibration!r}"
            )


@dataclass
class CalibrationResult:
    """Everything :func:`calibrate_ratings` decided and computed (see :meth:`summary`)."""

    scores: pd.DataFrame
    method: CalibrationMethod
    options: CalibrationOptions
    raters: tuple[str, ...]
    evidence: RaterEvidence | None = None
    latent: LatentClassFit | None = None
    training: TrainingSet | None = None
    evaluation: EvaluationResult | None = None
    mapping: ProbabilityMapping | None = None
    score_mapping: ScoreMapping | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def source_counts(self) -> dict[str, int]:
        counts = self.scores["source"].value_counts()
        return {s: int(counts.get(s, 0)) for s in ("human", "calibrated", "raw")}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description of the run (used in the manifest)."""
        out: dict[str, Any] = {
            "method": self.method,
            "options": asdict(self.options),
            "human_rater": self.options.human,
            "llm_raters": list(self.raters),
            "n_items": len(self.scores),
            "sources": self.source_counts(),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }
        if self.latent is not None:
            out["latent_class"] = {
                "model": "Dawid-Skene (1979), EM from soft majority vote",
                "n_iterations": self.latent.n_iterations,
                "converged": self.latent.converged,
                "log_likelihood_per_item": self.latent.log_likelihood,
                "priors": dict(zip(LABELS, self.latent.priors.round(6).tolist(), strict=True)),
                "confusion": {
                    rater: {
                        f"true {t}": dict(
                            zip(LABELS, self.latent.confusion[r, k].round(6).tolist(), strict=True)
                        )
                        for k, t in enumerate(LABELS)
                    }
                    for r, rater in enumerate(self.raters)
                },
            }
        if self.training is not None:
            out["training"] = {
                "scheme": self.training.scheme,
                "description": self.training.description,
                "n_items": len(self.training),
                "class_counts": dict(
                    zip(LABELS, self.training.class_counts().tolist(), strict=True)
                ),
            }
        if self.mapping is not None:
            out["mapping"] = {
                "model": "multinomial logistic regression (scikit-learn), standardised features",
                "features": list(FEATURE_NAMES),
                "C": self.mapping.c,
                "n_items": self.mapping.n_items,
                "score_mapping": (
                    f"isotonic regression on {self.score_mapping.n_items} items"
                    if self.score_mapping is not None
                    else None
                ),
            }
        if self.evaluation is not None:
            table = self.evaluation.table.astype(object).where(self.evaluation.table.notna(), None)
            out["evaluation"] = {
                "folds": self.options.folds,
                "scheme": self.evaluation.scheme,
                "description": self.evaluation.description,
                "table": table.to_dict(orient="records"),
                "notes": list(self.evaluation.notes),
            }
        return out


# --- input checks -----------------------------------------------------------------------------


def normalise_labels(frame: pd.DataFrame, source: str = "ratings") -> pd.DataFrame:
    """Upper-case, stripped labels and numeric scores; DataError for values off the scale.

    ``source`` names the input in messages (a file name).
    """
    out = frame.copy()
    if "score" not in out.columns:
        out["score"] = np.nan
    labels = out["label"].astype("string").str.strip().str.upper()
    labels = labels.mask(labels == "", pd.NA)
    bad = labels.notna() & ~labels.isin(LABELS)
    if bad.any():
        first = out.index[bad.to_numpy()][0]
        raise DataError(
            f"{source}: label {out.loc[first, 'label']!r} is outside the scale "
            f"{', '.join(LABELS)} (rater {out.loc[first, 'rater']}, "
            f"item {out.loc[first, 'item_id']}; {int(bad.sum())} row(s) in all)"
        )
    out["label"] = labels
    scores = pd.to_numeric(out["score"], errors="coerce").astype("Float64")
    off = scores.notna() & ((scores < 0) | (scores > 1))
    if off.any():
        first = out.index[off.to_numpy()][0]
        raise DataError(
            f"{source}: score {float(scores[first])} is outside 0-1 "
            f"(rater {out.loc[first, 'rater']}, item {out.loc[first, 'item_id']}; "
            f"{int(off.sum())} row(s) in all)"
        )
    out["score"] = scores
    out["item_id"] = out["item_id"].astype(str)
    out["rater"] = out["rater"].astype("string")
    return out


def _human_table(rows: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """One row per human-labelled item: item_id, label (mode), reason, selection_probability."""
    columns = ["item_id", "label", "reason", "selection_probability"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    records = []
    conflicts = 0
    for item, group in rows.groupby("item_id", sort=True):
        counts = group["label"].value_counts()
        top = counts[counts == counts.max()].index
        label = str(group["label"][group["label"].isin(top)].iloc[-1])
        conflicts += len(top) > 1
        record: dict[str, Any] = {"item_id": item, "label": label}
        for extra in ("reason", "selection_probability"):
            values = (
                group[extra].dropna() if extra in group.columns else pd.Series([], dtype=object)
            )
            record[extra] = values.iloc[0] if len(values) else pd.NA
        records.append(record)
    if conflicts:
        warnings.append(
            f"{conflicts} item(s) have human labels that tie; the last one in the input was kept"
        )
    return pd.DataFrame(records, columns=columns)


# --- evidence from the LLM rows ---------------------------------------------------------------


@dataclass(frozen=True)
class _Observations:
    """LLM ratings as parallel arrays, sorted by item."""

    item: IntArray
    rater: IntArray
    label: IntArray
    score: FloatArray
    n_items: int
    n_raters: int

    def tallies(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        counts = count_tensor(
            self.item, self.rater, self.label, self.n_items, self.n_raters, len(LABELS)
        )
        cell = self.item * self.n_raters + self.rater
        size = self.n_items * self.n_raters
        known = ~np.isnan(self.score)
        score_sum = np.bincount(cell[known], self.score[known], minlength=size).astype(np.float64)
        score_n = np.bincount(cell[known], minlength=size).astype(np.float64)
        shape = (self.n_items, self.n_raters)
        return counts, score_sum.reshape(shape), score_n.reshape(shape)


def _observations(rows: pd.DataFrame, items: Sequence[str], raters: Sequence[str]) -> _Observations:
    item_pos = {item: i for i, item in enumerate(items)}
    rater_pos = {rater: r for r, rater in enumerate(raters)}
    label_pos = {label: k for k, label in enumerate(LABELS)}
    item = rows["item_id"].map(item_pos).to_numpy(dtype=np.int64)
    order = np.argsort(item, kind="stable")
    return _Observations(
        item=item[order],
        rater=rows["rater"].map(rater_pos).to_numpy(dtype=np.int64)[order],
        label=rows["label"].map(label_pos).to_numpy(dtype=np.int64)[order],
        score=rows["score"].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)[order],
        n_items=len(items),
        n_raters=len(raters),
    )


def _predict(
    counts: FloatArray,
    score_sum: FloatArray,
    score_n: FloatArray,
    latent: LatentClassFit | None,
    mapping: ProbabilityMapping | None,
    score_mapping: ScoreMapping | None,
) -> tuple[FloatArray, FloatArray]:
    """Class probabilities and score from tallies (any leading batch axes)."""
    shares, mean_score, spread, agreement = summarise_counts(counts, score_sum, score_n)
    posteriors = (
        shares if latent is None else posteriors_given(counts, latent.priors, latent.confusion)
    )
    if mapping is None:
        return posteriors, final_score(posteriors, mean_score, None)
    probabilities = mapping.predict(
        feature_matrix(posteriors, shares, mean_score, spread, agreement)
    )
    return probabilities, final_score(probabilities, mean_score, score_mapping)


def bootstrap_intervals(
    observations: _Observations,
    latent: LatentClassFit | None,
    mapping: ProbabilityMapping | None,
    score_mapping: ScoreMapping | None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of each item's score, resampling its ratings with replacement."""
    n_items, n_raters, k = observations.n_items, observations.n_raters, len(LABELS)
    low = np.full(n_items, np.nan)
    high = np.full(n_items, np.nan)
    if resamples == 0 or n_items == 0:
        return low, high
    rng = np.random.default_rng(seed)
    item = observations.item
    start = np.searchsorted(item, np.arange(n_items + 1))
    size = np.diff(start)
    chunk = max(1, _BOOTSTRAP_CELLS // (resamples * n_raters * k))
    tail = (1.0 - confidence) / 2.0
    for first in range(0, n_items, chunk):
        last = min(n_items, first + chunk)
        lo, hi = start[first], start[last]
        owner = item[lo:hi]
        draws = start[owner] + np.floor(rng.random((resamples, hi - lo)) * size[owner]).astype(
            np.int64
        )
        local = np.broadcast_to(owner - first, draws.shape)
        replicate = np.broadcast_to(np.arange(resamples)[:, None], draws.shape)
        span = last - first
        cell = (replicate * span + local) * n_raters + observations.rater[draws]
        counts = np.bincount(
            (cell * k + observations.label[draws]).ravel(),
            minlength=resamples * span * n_raters * k,
        ).reshape(resamples, span, n_raters, k)
        scores = observations.score[draws]
        known = ~np.isnan(scores)
        score_sum = (
            np.bincount(cell[known], scores[known], minlength=resamples * span * n_raters)
            .astype(np.float64)
            .reshape(resamples, span, n_raters)
        )
        score_n = np.bincount(cell[known], minlength=resamples * span * n_raters).reshape(
            resamples, span, n_raters
        )
        _, score = _predict(
            counts.astype(np.float64),
            score_sum,
            score_n.astype(np.float64),
            latent,
            mapping,
            score_mapping,
        )
        low[first:last] = np.quantile(score, tail, axis=0)
        high[first:last] = np.quantile(score, 1.0 - tail, axis=0)
    return low, high


# --- the pipeline -----------------------------------------------------------------------------


def calibrate_ratings(
    ratings: pd.DataFrame,
    options: CalibrationOptions,
    groups: pd.DataFrame | None = None,
) -> CalibrationResult:
    """Combine a long ratings table (LLM raters + the human rater) into one row per item.

    ``groups`` (columns group, item_id, weight; e.g. from
    :func:`.evaluate.occupation_weights`) adds occupation-level evaluation. See the module
    docstring for the steps and the output columns.
    """
    for column in ("item_id", "rater", "label"):
        if column not in ratings.columns:
            raise DataError(f"ratings table lacks column {column!r}")
    frame = normalise_labels(ratings)
    if "status" not in frame.columns:
        frame["status"] = "ok"
    warnings: list[str] = []
    notes: list[str] = []
    present = sorted(str(r) for r in frame["rater"].dropna().unique())
    if options.human not in present and not options.require_human:
        warnings.append(
            f"no labels from the human rater {options.human!r} yet: scores come from the LLM "
            "raters alone (latent class), uncalibrated"
        )
    elif options.human not in present:
        raise DataError(
            f"human rater {options.human!r} not in the ratings; raters present: "
            f"{', '.join(present) or '(none)'}"
        )
    all_items = sorted(frame["item_id"].unique())
    usable = ok_ratings(frame)
    usable = usable[usable["label"].notna() & usable["rater"].notna()]
    is_human = (usable["rater"] == options.human).to_numpy()
    human = _human_table(usable[is_human], warnings)
    llm_rows = usable[~is_human]
    unrated = sorted(set(all_items) - set(llm_rows["item_id"]) - set(human["item_id"]))
    if unrated:
        shown = ", ".join(unrated[:5]) + (", ..." if len(unrated) > 5 else "")
        raise DataError(
            f"{len(unrated)} item(s) have no usable rating (every row failed or has no label): "
            f"{shown}; rate them again or leave them out"
        )
    raters = tuple(sorted(str(r) for r in llm_rows["rater"].unique()))
    items = sorted(llm_rows["item_id"].unique())

    result = CalibrationResult(
        scores=pd.DataFrame(columns=list(SCORE_COLUMNS)),
        method="human_only",
        options=options,
        raters=raters,
        warnings=warnings,
        notes=notes,
    )
    probabilities: FloatArray = np.zeros((0, len(LABELS)))
    score: FloatArray = np.zeros(0)
    ci_low: FloatArray = np.zeros(0)
    ci_high: FloatArray = np.zeros(0)
    source = "raw"
    n_raters: IntArray = np.zeros(0, dtype=np.int64)
    if not raters:
        warnings.append(
            f"no rater besides the human {options.human!r}: the output holds the human labels only"
        )
    else:
        observations = _observations(llm_rows, items, raters)
        counts, score_sum, score_n = observations.tallies()
        shares, mean_score, spread, agreement = summarise_counts(counts, score_sum, score_n)
        n_raters = (counts.sum(axis=2) > 0).sum(axis=1)
        latent = None
        if len(raters) == 1:
            result.method = "single_rater_pass_through"
            warnings.append(
                f"only one rater besides the human ({raters[0]}): its labels are passed through "
                "(probabilities = its share of labels over samples) without latent-class "
                "modelling or calibration"
            )
            posteriors = shares
        else:
            result.method = "latent_class"
            latent = fit_dawid_skene(counts, max_iter=options.max_iter, tol=options.tol)
            if not latent.converged:
                warnings.append(
                    f"the latent-class model did not converge in {options.max_iter} iterations"
                )
            posteriors = latent.posteriors
        evidence = RaterEvidence(
            item_ids=tuple(items),
            vote_shares=shares,
            posteriors=posteriors,
            mean_score=mean_score,
            score_spread=spread,
            agreement=agreement,
        )
        result.evidence, result.latent = evidence, latent
        mapping = score_mapping = None
        overlap = human[human["item_id"].isin(items)]
        if len(overlap):
            training, selection_notes = select_training_items(
                items, overlap, options.selection, options.min_training_items
            )
            notes.extend(selection_notes)
            result.training = training
            calibrating = latent is not None and options.use_calibration != "never"
            if len(training):
                result.evaluation = cross_validate(
                    evidence,
                    training,
                    folds=options.folds,
                    seed=options.seed,
                    min_items=options.min_training_items,
                    include_latent=latent is not None,
                    fit_mapping=calibrating,
                    groups=groups,
                    c_grid=options.c_grid,
                )
            reason = can_fit(training.labels, options.min_training_items) if calibrating else None
            if calibrating and reason is not None:
                warnings.append(f"no calibration: {reason}; latent-class posteriors used")
            elif calibrating and result.evaluation is not None:
                calibrated_brier = result.evaluation.metric("calibrated", "brier")
                latent_brier = result.evaluation.metric("latent_class", "brier")
                if options.use_calibration == "auto" and calibrated_brier > latent_brier + 1e-12:
                    warnings.append(
                        f"calibration not used: its cross-validated Brier score "
                        f"({calibrated_brier:.4f}) is worse than the latent class's "
                        f"({latent_brier:.4f})"
                    )
                else:
                    rows = training.rows
                    mapping = fit_probability_mapping(
                        evidence.features()[rows],
                        training.labels,
                        training.weights,
                        seed=options.seed,
                        c_grid=options.c_grid,
                    )
                    score_mapping = fit_score_mapping(
                        mean_score[rows], training.labels, training.weights
                    )
                    result.method = "calibrated"
        elif latent is not None:
            warnings.append(
                f"the human rater {options.human!r} labelled none of the LLM-rated items: "
                "no calibration and no evaluation"
            )
        result.mapping, result.score_mapping = mapping, score_mapping
        probabilities, score = _predict(counts, score_sum, score_n, latent, mapping, score_mapping)
        source = "calibrated" if mapping is not None else "raw"
        ci_low, ci_high = bootstrap_intervals(
            observations,
            latent,
            mapping,
            score_mapping,
            resamples=options.bootstrap,
            confidence=options.confidence,
            seed=options.seed,
        )

    position = {item: i for i, item in enumerate(all_items)}
    n_all = len(all_items)
    matrix = np.full((n_all, len(LABELS)), np.nan)
    final = np.full(n_all, np.nan)
    low = np.full(n_all, np.nan)
    high = np.full(n_all, np.nan)
    sources = np.full(n_all, source, dtype=object)
    counted = np.zeros(n_all, dtype=np.int64)
    rows = np.array([position[i] for i in items], dtype=np.int64)
    if len(rows):
        matrix[rows], final[rows], low[rows], high[rows] = probabilities, score, ci_low, ci_high
        counted[rows] = n_raters
    label_pos = {label: k for k, label in enumerate(LABELS)}
    human_rows = np.array([position[i] for i in human["item_id"]], dtype=np.int64)
    if len(human_rows):
        onehot = np.eye(len(LABELS))[[label_pos[v] for v in human["label"]]]
        matrix[human_rows] = onehot
        final[human_rows] = low[human_rows] = high[human_rows] = onehot @ CODES["beta"]
        sources[human_rows] = "human"
    matrix = matrix / matrix.sum(axis=1, keepdims=True)
    out = pd.DataFrame({"item_id": pd.Series(all_items, dtype=object)})
    out["label"] = [LABELS[k] for k in matrix.argmax(axis=1)] if n_all else []
    for k, label in enumerate(LABELS):
        out[f"p_{label}"] = matrix[:, k]
    for coding, codes in CODES.items():
        out[coding] = matrix @ codes
    out["score"] = final
    out["source"] = sources
    out["n_raters"] = counted
    out["ci_low"] = low
    out["ci_high"] = high
    result.scores = out[list(SCORE_COLUMNS)]
    return result
