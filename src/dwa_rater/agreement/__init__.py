"""Agreement between raters: kappa family, Krippendorff's alpha, ICC, correlations, bootstrap.

Modules: :mod:`.scale` (label order and codes), :mod:`.metrics` (pure statistics),
:mod:`.bootstrap` (seeded resampling of items), :mod:`.tables` (long ratings table to item x
rater matrices), :mod:`.summary` (the JSON result), :mod:`.scores` (two score tables),
:mod:`.files` (reading inputs and writing outputs for the CLI).
"""

from __future__ import annotations

from dwa_rater.agreement.bootstrap import BootstrapSpec, Interval, percentile_interval
from dwa_rater.agreement.files import agree_files, compare_score_files, write_text
from dwa_rater.agreement.metrics import (
    UndefinedMetricError,
    cohen_kappa,
    confusion_matrix,
    correlations,
    fleiss_kappa,
    icc2,
    krippendorff_alpha,
    percent_agreement,
    sample_consistency,
)
from dwa_rater.agreement.scale import CODINGS, DEFAULT_ORDER, LabelScale, build_scale
from dwa_rater.agreement.scores import ScoreComparison, compare_score_tables
from dwa_rater.agreement.summary import AgreementResult, assess_agreement
from dwa_rater.agreement.tables import (
    clean_ratings,
    groups_from_catalog,
    groups_from_column,
    label_matrix,
    score_matrix,
)

__all__ = [
    "CODINGS",
    "DEFAULT_ORDER",
    "AgreementResult",
    "BootstrapSpec",
    "Interval",
    "LabelScale",
    "ScoreComparison",
    "UndefinedMetricError",
    "agree_files",
    "assess_agreement",
    "build_scale",
    "clean_ratings",
    "cohen_kappa",
    "compare_score_files",
    "compare_score_tables",
    "confusion_matrix",
    "correlations",
    "fleiss_kappa",
    "groups_from_catalog",
    "groups_from_column",
    "icc2",
    "krippendorff_alpha",
    "label_matrix",
    "percent_agreement",
    "percentile_interval",
    "sample_consistency",
    "score_matrix",
    "write_text",
]
