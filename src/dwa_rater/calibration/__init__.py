"""Calibrated item scores: combine LLM raters and human judgements into one score per activity.

Modules: :mod:`.latent_class` (Dawid-Skene EM, pure numpy), :mod:`.mapping` (raters' outputs
-> human label: multinomial logistic and isotonic regression; which human items to learn from),
:mod:`.evaluate` (k-fold comparison of majority vote, latent class and calibration, per item and
per occupation), :mod:`.combine` (the pipeline behind ``dwa-rater calibrate``), :mod:`.files`
(ratings files in, score table and manifest out).
"""

from __future__ import annotations

from dwa_rater.calibration.combine import (
    SCORE_COLUMNS,
    CalibrationOptions,
    CalibrationResult,
)
from dwa_rater.calibration.evaluate import (
    EvaluationResult,
    brier_score,
    classification_metrics,
    cross_validate,
    expected_calibration_error,
    occupation_weights,
    reliability_table,
)
from dwa_rater.calibration.files import CalibrationRun, calibrate_files
from dwa_rater.calibration.latent_class import (
    LatentClassFit,
    count_tensor,
    fit_dawid_skene,
    posteriors_given,
    vote_shares,
)
from dwa_rater.calibration.mapping import (
    LABELS,
    ProbabilityMapping,
    RaterEvidence,
    ScoreMapping,
    TrainingSet,
    fit_probability_mapping,
    fit_score_mapping,
    select_training_items,
)
from dwa_rater.calibration.pipeline import calibrate_ratings

__all__ = [
    "LABELS",
    "SCORE_COLUMNS",
    "CalibrationOptions",
    "CalibrationResult",
    "CalibrationRun",
    "EvaluationResult",
    "LatentClassFit",
    "ProbabilityMapping",
    "RaterEvidence",
    "ScoreMapping",
    "TrainingSet",
    "brier_score",
    "calibrate_files",
    "calibrate_ratings",
    "classification_metrics",
    "count_tensor",
    "cross_validate",
    "expected_calibration_error",
    "fit_dawid_skene",
    "fit_probability_mapping",
    "fit_score_mapping",
    "occupation_weights",
    "posteriors_given",
    "reliability_table",
    "select_training_items",
    "vote_shares",
]
