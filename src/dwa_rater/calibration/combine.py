"""From long ratings tables to one calibrated score per item: the ``calibrate`` pipeline.

Steps (:func:`calibrate_ratings`):

1. Check the inputs: the human rater exists (else the raters present are listed), every label
   is on the rubric's scale (:mod:`.scale`: named, or read from the ratings' rubrics; E0/E1/E2
   by default), every numeric score is in 0-1, every item has a usable rating (an
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

Output columns, for the exposure rubric (another rubric's scale gives one ``p_<label>`` per
label and one column per coding, and ``score`` is on its default coding;
:func:`.scale.score_columns`):

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

The steps are in :mod:`.pipeline`; LLM tallies, predictions and the bootstrap in
:mod:`.tallies`; neighbour features in :mod:`.neighbours`. Reading ratings files and writing
the score table with its manifest: :mod:`.files`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.calibration.evaluate import EvaluationResult
from dwa_rater.calibration.latent_class import LatentClassFit
from dwa_rater.calibration.mapping import (
    C_GRID,
    FEATURE_NAMES,
    ProbabilityMapping,
    RaterEvidence,
    ScoreMapping,
    Selection,
    TrainingSet,
)
from dwa_rater.calibration.neighbours import NeighbourEvidence
from dwa_rater.calibration.scale import default_scale, describe, is_default, or_default
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.rubric import RubricScale

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Columns of the calibrated score table of the exposure rubric, in order (another rubric's:
#: :func:`.scale.score_columns`). Written out because scripts rely on them: a test pins
#: ``score_columns(exposure_scale())`` to this.
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
    - ``c_grid``: penalty strengths (inverse L2) the logistic mapping chooses from by inner CV;
    - ``neighbours``: add neighbour features from the human-labelled items' texts when the
      input has ``item_text`` and an embedding cache is given (:mod:`.neighbours`);
      ``neighbour_k``, ``neighbour_temperature``: that vote's k and softmax temperature.
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
    neighbours: bool = True
    neighbour_k: int = 15
    neighbour_temperature: float = 0.02

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
        if self.neighbour_k < 1 or self.neighbour_temperature <= 0:
            raise ConfigError("neighbour_k must be at least 1 and neighbour_temperature positive")
        if self.use_calibration not in ("auto", "always", "never"):
            raise ConfigError(
                f"use_calibration must be auto, always or never, not {self.use_calibration!r}"
            )


@dataclass
class CalibrationResult:
    """Everything :func:`calibrate_ratings` decided and computed (see :meth:`summary`);
    ``scale`` is the rubric's scale the classes and columns follow."""

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
    neighbours: NeighbourEvidence | None = None
    feature_names: tuple[str, ...] = FEATURE_NAMES
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scale: RubricScale = field(default_factory=default_scale)

    def source_counts(self) -> dict[str, int]:
        counts = self.scores["source"].value_counts()
        return {s: int(counts.get(s, 0)) for s in ("human", "calibrated", "raw")}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description of the run (used in the manifest). A rubric other than the
        exposure rubric adds its ``scale`` (labels, order, codings, default coding)."""
        labels = self.scale.labels
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
        if not is_default(self.scale):
            out["scale"] = describe(self.scale)
        if self.latent is not None:
            out["latent_class"] = {
                "model": "Dawid-Skene (1979), EM from soft majority vote",
                "n_iterations": self.latent.n_iterations,
                "converged": self.latent.converged,
                "log_likelihood_per_item": self.latent.log_likelihood,
                "priors": dict(zip(labels, self.latent.priors.round(6).tolist(), strict=True)),
                "confusion": {
                    rater: {
                        f"true {t}": dict(
                            zip(labels, self.latent.confusion[r, k].round(6).tolist(), strict=True)
                        )
                        for k, t in enumerate(labels)
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
                    zip(labels, self.training.class_counts().tolist(), strict=True)
                ),
            }
        if self.mapping is not None:
            out["mapping"] = {
                "model": "multinomial logistic regression (scikit-learn), standardised features",
                "features": list(self.feature_names),
                "neighbours": None if self.neighbours is None else self.neighbours.describe(),
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


def normalise_labels(
    frame: pd.DataFrame, source: str = "ratings", *, scale: RubricScale | None = None
) -> pd.DataFrame:
    """Labels of the scale as its manifest spells them (matched without regard to case or
    surrounding spaces) and numeric scores; DataError for values off the scale.

    ``source`` names the input in messages (a file name); ``scale`` is the rubric's scale
    (None: the exposure rubric's, E0/E1/E2).
    """
    names = or_default(scale).labels
    spelling = {label.upper(): label for label in names}
    out = frame.copy()
    if "score" not in out.columns:
        out["score"] = np.nan
    upper = out["label"].astype("string").str.strip().str.upper()
    upper = upper.mask(upper == "", pd.NA)
    labels = upper.map(spelling, na_action="ignore").astype("string")
    bad = upper.notna() & labels.isna()
    if bad.any():
        first = out.index[bad.to_numpy()][0]
        raise DataError(
            f"{source}: label {out.loc[first, 'label']!r} is outside the scale "
            f"{', '.join(names)} (rater {out.loc[first, 'rater']}, "
            f"item {out.loc[first, 'item_id']}; {int(bad.sum())} row(s) in all); if the "
            "raters used another rubric, name it with --rubric (and its folder with "
            "--prompts-dir)"
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


def human_table(rows: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
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
