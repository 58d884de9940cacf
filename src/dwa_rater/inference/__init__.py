"""Honest uncertainty: means with confidence intervals that carry the human-label evidence.

Modules: :mod:`.ppi` (PPI++ mean with power tuning, classical gold-only interval, weights),
:mod:`.combine` (several predicted raters combined into one prediction, cross-fitted),
:mod:`.active` (sampling probabilities and the inverse-probability-weighted mean of active
statistical inference), :mod:`.items` (long ratings table -> one row per item),
:mod:`.estimate` (per-group estimates behind ``dwa-rater estimate``), :mod:`.linear`
(design-based intervals of indices linear in the item scores), :mod:`.simulate` (replicated
designs for checking coverage), :mod:`.files` (files in, table and manifest out). Statistics
only: nothing here imports ``report``, ``study`` or ``cli``.
"""

from __future__ import annotations

from dwa_rater.inference.active import draw_sample, ipw_mean, sampling_probabilities
from dwa_rater.inference.combine import cross_fit, cross_ppi_mean
from dwa_rater.inference.estimate import (
    DETAIL_COLUMNS,
    ESTIMATE_COLUMNS,
    EstimateOptions,
    EstimateResult,
    estimate_items,
    estimate_ratings,
)
from dwa_rater.inference.linear import linear_estimate
from dwa_rater.inference.ppi import MeanInterval, classical_mean, ppi_mean, z_value

__all__ = [
    "DETAIL_COLUMNS",
    "ESTIMATE_COLUMNS",
    "EstimateOptions",
    "EstimateResult",
    "MeanInterval",
    "classical_mean",
    "cross_fit",
    "cross_ppi_mean",
    "draw_sample",
    "estimate_items",
    "estimate_ratings",
    "ipw_mean",
    "linear_estimate",
    "ppi_mean",
    "sampling_probabilities",
    "z_value",
]
