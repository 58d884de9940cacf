"""The rubric scale calibration works on: which one, and its labels as arrays and column names.

Every array in the calibration package is in the order of the scale's ``labels`` (as the
rubric's manifest lists them, :class:`dwa_rater.rubric.RubricScale`); the output has one
``p_<label>`` column per label and one column per coding of the scale, and ``score`` is on the
scale's default coding. For the exposure rubric (E0/E1/E2; alpha, beta, gamma; beta by default)
that is the table ``calibrate`` has always written.

Which scale (:func:`scale_for_ratings`): the one named by ``rubric`` when given, else the scale
of the rubrics the LLM raters' rows name in ``prompt_name``/``prompt_version``. Rows naming no
rubric found in the prompts folder (the human's, an import's, the reference rater's vote) say
nothing; rubrics whose scales differ in labels, order or codings cannot be calibrated together.
Without any known rubric the exposure rubric's scale is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.errors import DataError
from dwa_rater.prompts import (
    DEFAULT_PROMPTS_DIR,
    exposure_scale,
    load_prompt,
    prompt_folders,
    scale_of,
)
from dwa_rater.rubric import RubricScale, parse_scale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Feature columns that do not depend on the labels (after the log posteriors and vote shares).
_SCORE_FEATURES: tuple[str, ...] = ("mean_score", "score_missing", "score_spread", "agreement")


def default_scale() -> RubricScale:
    """The exposure rubric's scale: what calibration uses when no rubric is named."""
    return exposure_scale()


def or_default(scale: RubricScale | None) -> RubricScale:
    """``scale``, or the exposure rubric's when None."""
    return default_scale() if scale is None else scale


def same_scale(first: RubricScale, second: RubricScale) -> bool:
    """True when the two scales have the same labels, order, codings and default coding."""
    return (
        first.labels == second.labels
        and first.order == second.order
        and first.default_coding == second.default_coding
        and {k: dict(v) for k, v in first.codings.items()}
        == {k: dict(v) for k, v in second.codings.items()}
    )


def is_default(scale: RubricScale) -> bool:
    """True for the exposure rubric's scale (whose output keeps its historical form)."""
    return scale is default_scale() or same_scale(scale, default_scale())


def codes(scale: RubricScale, coding: str | None = None) -> FloatArray:
    """Code of each label (in ``scale.labels`` order) under ``coding`` (default: the scale's)."""
    mapping = scale.coding(coding)
    return np.array([mapping[label] for label in scale.labels], dtype=np.float64)


def all_codes(scale: RubricScale) -> dict[str, FloatArray]:
    """Every coding of the scale, in manifest order: name -> codes in label order."""
    return {name: codes(scale, name) for name in scale.codings}


def ordinal_positions(scale: RubricScale) -> IntArray:
    """Ordinal position of each label (in ``scale.labels`` order), 0 = lowest, for weighted
    kappa."""
    return np.array([scale.position(label) for label in scale.labels], dtype=np.int64)


def probability_columns(scale: RubricScale) -> tuple[str, ...]:
    """``p_<label>`` for each label, in label order."""
    return tuple(f"p_{label}" for label in scale.labels)


def score_columns(scale: RubricScale) -> tuple[str, ...]:
    """Columns of the calibrated score table for this scale, in order; DataError when a coding
    is named like another column (``score``, ``p_<label>``, ...)."""
    fixed = ("item_id", "label", *probability_columns(scale))
    rest = ("score", "source", "n_raters", "ci_low", "ci_high")
    clash = sorted(set(scale.codings) & {*fixed, *rest})
    if clash:
        raise DataError(
            f"the rubric's coding {clash[0]!r} has the name of a score table column; "
            "rename the coding in its manifest"
        )
    return (*fixed, *scale.codings, *rest)


def feature_names(scale: RubricScale) -> tuple[str, ...]:
    """Names of the mapping's base features (:meth:`.mapping.RaterEvidence.features`)."""
    return (
        *(f"log_posterior_{label}" for label in scale.labels),
        *(f"vote_share_{label}" for label in scale.labels),
        *_SCORE_FEATURES,
    )


def describe(scale: RubricScale) -> dict[str, object]:
    """The scale as JSON (labels, order, codings, default coding), for manifests."""
    return {
        "labels": list(scale.labels),
        "order": list(scale.order),
        "codings": {name: dict(values) for name, values in scale.codings.items()},
        "default_coding": scale.default_coding,
    }


def scale_from_description(table: object) -> RubricScale | None:
    """The scale a manifest recorded with :func:`describe`; None when there is none."""
    if not isinstance(table, dict) or not table.get("labels"):
        return None
    return parse_scale(table, "score table manifest")


def scale_for_ratings(
    ratings: pd.DataFrame,
    *,
    rubric: str | None = None,
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    human: str | None = None,
) -> RubricScale:
    """The scale to calibrate ``ratings`` on (see the module docstring).

    ``rubric`` (``name`` or ``name@version``) overrides what the ratings say; ``human`` names
    the rater whose rows are left out of the inference. Raises :class:`DataError` when the
    LLM raters used rubrics with different scales.
    """
    if rubric:
        return scale_of(rubric, prompts_dir)
    if not {"prompt_name", "rater"} <= set(ratings.columns):
        return default_scale()
    rows = ratings[ratings["prompt_name"].notna()]
    if human is not None:
        rows = rows[rows["rater"].astype("string") != human]
    if "label" in rows.columns:
        rows = rows[rows["label"].notna()]
    versions = (
        rows["prompt_version"]
        if "prompt_version" in rows.columns
        else pd.Series(pd.NA, index=rows.index)
    )
    pairs = pd.DataFrame(
        {"name": rows["prompt_name"].astype(str), "version": versions, "rater": rows["rater"]}
    ).drop_duplicates()
    known = set(prompt_folders(prompts_dir))
    known_names = {name for name, _ in known}
    found: list[tuple[str, str, RubricScale]] = []
    for (name, version), group in pairs.groupby(["name", "version"], dropna=False, sort=True):
        version_text = None if pd.isna(version) or not str(version) else str(version)
        if (str(name), version_text) not in known and not (
            version_text is None and name in known_names
        ):
            continue  # not a rubric of this prompts folder: its rows say nothing about the scale
        scale = load_prompt(str(name), version_text, prompts_dir).scale
        if scale is None:
            continue  # a rubric that returns a score only
        spec = f"{name}@{version_text}" if version_text else str(name)
        raters = ", ".join(sorted(str(r) for r in group["rater"].dropna().unique()))
        found.append((spec, raters, scale))
    if not found:
        return default_scale()
    first_spec, first_raters, first = found[0]
    for spec, raters, scale in found[1:]:
        if not same_scale(first, scale):
            raise DataError(
                f"raters use rubrics with different label scales: {first_spec} "
                f"({', '.join(first.labels)}; raters {first_raters}) and {spec} "
                f"({', '.join(scale.labels)}; raters {raters}); calibrate them separately"
            )
    return first
