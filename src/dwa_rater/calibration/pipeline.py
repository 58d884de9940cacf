"""The ``calibrate`` pipeline, step by step (see :mod:`.combine` for the steps and columns).

:func:`calibrate_ratings` checks the inputs (:func:`_prepare`), models the LLM-rated items
(:func:`_rate_llm_items`: latent class, neighbour features, cross-validated mapping, bootstrap)
and assembles the score table (:func:`assemble_scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.combine import (
    CalibrationOptions,
    CalibrationResult,
    human_table,
    normalise_labels,
)
from dwa_rater.calibration.evaluate import cross_validate
from dwa_rater.calibration.latent_class import fit_dawid_skene
from dwa_rater.calibration.mapping import (
    ProbabilityMapping,
    RaterEvidence,
    ScoreMapping,
    can_fit,
    fit_probability_mapping,
    fit_score_mapping,
    select_training_items,
    summarise_counts,
)
from dwa_rater.calibration.neighbours import (
    NeighbourEvidence,
    item_texts,
    neighbour_evidence,
    neighbour_feature_names,
    rater_label_shares,
    rater_probabilities,
    rater_share_names,
)
from dwa_rater.calibration.scale import (
    all_codes,
    codes,
    feature_names,
    probability_columns,
    scale_for_ratings,
    score_columns,
)
from dwa_rater.calibration.tallies import bootstrap_intervals, observations_of, predict
from dwa_rater.embedding import EmbeddingCache
from dwa_rater.errors import DataError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR
from dwa_rater.rubric import RubricScale
from dwa_rater.store import ok_ratings

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


# --- the pipeline -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """The checked ratings split into the human table and the LLM rows, and their scale."""

    frame: pd.DataFrame
    all_items: list[str]
    human: pd.DataFrame
    llm_rows: pd.DataFrame
    raters: tuple[str, ...]
    items: list[str]
    scale: RubricScale


def _prepare(
    ratings: pd.DataFrame,
    options: CalibrationOptions,
    warnings: list[str],
    scale: RubricScale,
) -> _Inputs:
    """Step 1: check the inputs; split the human rater's rows from the LLM raters'."""
    for column in ("item_id", "rater", "label"):
        if column not in ratings.columns:
            raise DataError(f"ratings table lacks column {column!r}")
    frame = normalise_labels(ratings, scale=scale)
    if "status" not in frame.columns:
        frame["status"] = "ok"
    present = sorted(str(r) for r in frame["rater"].dropna().unique())
    if options.human not in present and not options.require_human:
        warnings.append(
            f"no labels from the human rater {options.human!r} yet: scores come from the "
            f"raters alone ({', '.join(present)}; latent class), uncalibrated"
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
    human = human_table(usable[is_human], warnings)
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
    return _Inputs(frame, all_items, human, llm_rows, raters, items, scale)


def _fold_groups(frame: pd.DataFrame, items: Sequence[str]) -> list[str] | None:
    """Each item's occupation (``onetsoc_code``) when every item has one, for grouped folds."""
    if "onetsoc_code" not in frame.columns:
        return None
    codes = frame[["item_id", "onetsoc_code"]].dropna().drop_duplicates("item_id")
    mapped = codes.set_index("item_id")["onetsoc_code"].reindex(list(items))
    if mapped.isna().any():
        return None
    return [str(v) for v in mapped]


def _neighbours(
    inputs: _Inputs,
    options: CalibrationOptions,
    embeddings: EmbeddingCache | None,
    result: CalibrationResult,
) -> NeighbourEvidence | None:
    """Neighbour features from the human-labelled items of the input (see :mod:`.neighbours`)."""
    if not options.neighbours or inputs.human.empty:
        return None
    texts = item_texts(inputs.frame, inputs.items)
    if not any(texts):
        return None
    if embeddings is None:
        result.notes.append("no embedding model given: calibration without neighbour features")
        return None
    position = {label: k for k, label in enumerate(inputs.scale.labels)}
    labelled = {
        str(i): position[v]
        for i, v in zip(inputs.human["item_id"], inputs.human["label"], strict=True)
    }
    evidence = neighbour_evidence(
        inputs.items,
        texts,
        labelled,
        embeddings,
        k=options.neighbour_k,
        temperature=options.neighbour_temperature,
        scale=inputs.scale,
    )
    if evidence is None:
        result.notes.append(
            f"fewer than {options.neighbour_k} human-labelled items with a text: "
            "no neighbour features"
        )
    return evidence


def _extra_features(
    neighbours: NeighbourEvidence | None, per_rater: bool, written: FloatArray | None
) -> Callable[[FloatArray, int, int], FloatArray | None]:
    """Features beyond :data:`.mapping.FEATURE_NAMES` for the items first..last-1, from their
    tallies (any leading batch axes): per-rater label shares, then the probabilities raters
    wrote, then the neighbour features (both fixed per item)."""
    fixed_parts = [
        f for f in (written, None if neighbours is None else neighbours.features) if f is not None
    ]
    fixed_all = np.concatenate(fixed_parts, axis=1) if fixed_parts else None

    def extra(counts: FloatArray, first: int, last: int) -> FloatArray | None:
        parts = []
        if per_rater:
            parts.append(rater_label_shares(counts))
        if fixed_all is not None:
            fixed = fixed_all[first:last]
            parts.append(np.broadcast_to(fixed, (*counts.shape[:-2], fixed.shape[-1])))
        return np.concatenate(parts, axis=-1) if parts else None

    return extra


def _fit_mapping(
    inputs: _Inputs,
    options: CalibrationOptions,
    evidence: RaterEvidence,
    calibrating: bool,
    groups: pd.DataFrame | None,
    result: CalibrationResult,
) -> tuple[ProbabilityMapping | None, ScoreMapping | None]:
    """Steps 3-4: evaluate by cross-validation, then fit the mappings on every training item."""
    overlap = inputs.human[inputs.human["item_id"].isin(inputs.items)]
    if not len(overlap):
        if result.latent is not None:
            result.warnings.append(
                f"the human rater {options.human!r} labelled none of the LLM-rated items: "
                "no calibration and no evaluation"
            )
        return None, None
    scale = inputs.scale
    training, selection_notes = select_training_items(
        inputs.items, overlap, options.selection, options.min_training_items, scale=scale
    )
    result.notes.extend(selection_notes)
    result.training = training
    fold_groups = _fold_groups(inputs.frame, inputs.items)
    if len(training):
        result.evaluation = cross_validate(
            evidence,
            training,
            folds=options.folds,
            seed=options.seed,
            min_items=options.min_training_items,
            include_latent=result.latent is not None,
            fit_mapping=calibrating,
            groups=groups,
            c_grid=options.c_grid,
            fold_groups=fold_groups,
            scale=scale,
        )
    if not calibrating:
        return None, None
    baseline = "latent_class" if result.latent is not None else "majority"
    reason = can_fit(training.labels, options.min_training_items, scale=scale)
    if reason is not None:
        result.warnings.append(f"no calibration: {reason}; {baseline} probabilities used")
        return None, None
    if result.evaluation is None:
        return None, None
    calibrated_brier = result.evaluation.metric("calibrated", "brier")
    baseline_brier = result.evaluation.metric(baseline, "brier")
    if options.use_calibration == "auto" and calibrated_brier > baseline_brier + 1e-12:
        result.warnings.append(
            f"calibration not used: its cross-validated Brier score ({calibrated_brier:.4f}) "
            f"is worse than the {baseline.replace('_', ' ')}'s ({baseline_brier:.4f})"
        )
        return None, None
    rows = training.rows
    mapping = fit_probability_mapping(
        evidence.features()[rows],
        training.labels,
        training.weights,
        seed=options.seed,
        c_grid=options.c_grid,
        scale=scale,
    )
    score_mapping = fit_score_mapping(
        evidence.mean_score[rows], training.labels, training.weights, scale=scale
    )
    result.method = "calibrated"
    return mapping, score_mapping


@dataclass(frozen=True)
class _Predictions:
    """Per LLM-rated item: probabilities, score, interval, raters, and their source."""

    probabilities: FloatArray
    score: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    n_raters: IntArray
    source: str


def _rate_llm_items(
    inputs: _Inputs,
    options: CalibrationOptions,
    groups: pd.DataFrame | None,
    embeddings: EmbeddingCache | None,
    result: CalibrationResult,
) -> _Predictions:
    """Steps 2-4 for the LLM-rated items: latent class, neighbours, mapping, bootstrap."""
    raters, items, scale = inputs.raters, inputs.items, inputs.scale
    observations = observations_of(inputs.llm_rows, items, raters, scale=scale)
    counts, score_sum, score_n = observations.tallies()
    shares, mean_score, spread, agreement = summarise_counts(counts, score_sum, score_n)
    latent = None
    if len(raters) == 1:
        result.method = "single_rater_pass_through"
        result.warnings.append(
            f"only one rater besides the human ({raters[0]}): its labels are passed through "
            "(probabilities = its share of labels over samples) without latent-class "
            "modelling" + (" or calibration" if not options.neighbours else "")
        )
        posteriors = shares
    else:
        result.method = "latent_class"
        latent = fit_dawid_skene(counts, max_iter=options.max_iter, tol=options.tol)
        if not latent.converged:
            result.warnings.append(
                f"the latent-class model did not converge in {options.max_iter} iterations"
            )
        posteriors = latent.posteriors
    result.latent = latent
    neighbours = _neighbours(inputs, options, embeddings, result)
    result.neighbours = neighbours
    written, written_names = rater_probabilities(inputs.llm_rows, items, raters, scale=scale)
    extra = _extra_features(neighbours, len(raters) > 1, written)
    result.feature_names = (
        feature_names(scale)
        + (rater_share_names(raters, scale) if len(raters) > 1 else ())
        + written_names
        + (neighbour_feature_names(scale) if neighbours is not None else ())
    )
    evidence = RaterEvidence(
        item_ids=tuple(items),
        vote_shares=shares,
        posteriors=posteriors,
        mean_score=mean_score,
        score_spread=spread,
        agreement=agreement,
        extra=extra(counts, 0, len(items)),
        scale=scale,
    )
    result.evidence = evidence
    calibrating = (latent is not None or neighbours is not None or written is not None) and (
        options.use_calibration != "never"
    )
    mapping, score_mapping = _fit_mapping(inputs, options, evidence, calibrating, groups, result)
    result.mapping, result.score_mapping = mapping, score_mapping
    probabilities, score = predict(
        counts,
        score_sum,
        score_n,
        latent,
        mapping,
        score_mapping,
        extra(counts, 0, len(items)) if mapping is not None else None,
        scale=scale,
    )
    ci_low, ci_high = bootstrap_intervals(
        observations,
        latent,
        mapping,
        score_mapping,
        resamples=options.bootstrap,
        confidence=options.confidence,
        seed=options.seed,
        extra=extra if mapping is not None else None,
        scale=scale,
    )
    return _Predictions(
        probabilities=probabilities,
        score=score,
        ci_low=ci_low,
        ci_high=ci_high,
        n_raters=(counts.sum(axis=2) > 0).sum(axis=1),
        source="calibrated" if mapping is not None else "raw",
    )


def calibrate_ratings(
    ratings: pd.DataFrame,
    options: CalibrationOptions,
    groups: pd.DataFrame | None = None,
    embeddings: EmbeddingCache | None = None,
    *,
    scale: RubricScale | None = None,
    rubric: str | None = None,
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
) -> CalibrationResult:
    """Combine a long ratings table (LLM raters + the human rater) into one row per item.

    The labels, output columns and codings follow the rubric's scale: ``scale`` when given,
    else the scale of ``rubric`` (``name`` or ``name@version``), else the scale of the rubrics
    the LLM raters' rows name (:func:`.scale.scale_for_ratings`; rubrics looked up in
    ``prompts_dir`` on top of the shipped ones; the exposure rubric when none is known).
    ``groups`` (columns group, item_id, weight; e.g. from
    :func:`.evaluate.occupation_weights`) adds occupation-level evaluation. ``embeddings``
    (an embedding cache) lets the mapping use neighbour features built from the item texts of
    the human-labelled items (:mod:`.neighbours`). See the module docstring for the steps and
    the output columns.
    """
    warnings: list[str] = []
    if scale is None:
        scale = scale_for_ratings(
            ratings, rubric=rubric, prompts_dir=prompts_dir, human=options.human
        )
    inputs = _prepare(ratings, options, warnings, scale)
    result = CalibrationResult(
        scores=pd.DataFrame(columns=list(score_columns(scale))),
        method="human_only",
        options=options,
        raters=inputs.raters,
        warnings=warnings,
        notes=[],
        scale=scale,
    )
    predictions = None
    if not inputs.raters:
        warnings.append(
            f"no rater besides the human {options.human!r}: the output holds the human labels only"
        )
    else:
        predictions = _rate_llm_items(inputs, options, groups, embeddings, result)
    result.scores = assemble_scores(
        inputs.all_items, inputs.items, inputs.human, predictions, scale=scale
    )
    return result


def assemble_scores(
    all_items: Sequence[str],
    items: Sequence[str],
    human: pd.DataFrame,
    predictions: _Predictions | None,
    *,
    scale: RubricScale,
) -> pd.DataFrame:
    """Step 5: the score table (:func:`.scale.score_columns`; :data:`SCORE_COLUMNS` for the
    exposure rubric), human labels final."""
    labels = scale.labels
    position = {item: i for i, item in enumerate(all_items)}
    n_all = len(all_items)
    matrix = np.full((n_all, len(labels)), np.nan)
    final = np.full(n_all, np.nan)
    low = np.full(n_all, np.nan)
    high = np.full(n_all, np.nan)
    sources = np.full(n_all, predictions.source if predictions else "raw", dtype=object)
    counted = np.zeros(n_all, dtype=np.int64)
    rows = np.array([position[i] for i in items], dtype=np.int64)
    if len(rows) and predictions is not None:
        matrix[rows], final[rows] = predictions.probabilities, predictions.score
        low[rows], high[rows] = predictions.ci_low, predictions.ci_high
        counted[rows] = predictions.n_raters
    label_pos = {label: k for k, label in enumerate(labels)}
    human_rows = np.array([position[i] for i in human["item_id"]], dtype=np.int64)
    if len(human_rows):
        onehot = np.eye(len(labels))[[label_pos[v] for v in human["label"]]]
        matrix[human_rows] = onehot
        final[human_rows] = low[human_rows] = high[human_rows] = onehot @ codes(scale)
        sources[human_rows] = "human"
    matrix = matrix / matrix.sum(axis=1, keepdims=True)
    out = pd.DataFrame({"item_id": pd.Series(list(all_items), dtype=object)})
    out["label"] = [labels[k] for k in matrix.argmax(axis=1)] if n_all else []
    for k, column in enumerate(probability_columns(scale)):
        out[column] = matrix[:, k]
    for coding, values in all_codes(scale).items():
        out[coding] = matrix @ values
    out["score"] = final
    out["source"] = sources
    out["n_raters"] = counted
    out["ci_low"] = low
    out["ci_high"] = high
    return out[list(score_columns(scale))]
