"""Agreement of one pair of raters on the items both rated: labels, codes and scores.

On the items both raters labelled: percent agreement, Cohen's kappa (unweighted, and with linear
and quadratic weights along the scale order), Krippendorff's alpha of the pair (nominal and
ordinal on the order, interval on the numeric codes), Pearson, Spearman and Kendall tau-b on the
codes (``scipy.stats``), the confusion matrix. On the items both scored: the same correlations
on scores and the Bland-Altman mean difference with 95% limits of agreement (Bland & Altman
1986). Label statistics are computed from the pair's contingency table, so a bootstrap resample
is one table and all resamples are evaluated at once.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

import dwa_rater.agreement.metrics as m
from dwa_rater.agreement.bootstrap import (
    BootstrapSpec,
    add_intervals,
    resample_indices,
    resample_tables,
)
from dwa_rater.agreement.scale import LabelScale

#: Label-based pair statistics, in the order they appear in the JSON.
PAIR_LABEL_METRICS: tuple[str, ...] = (
    "percent_agreement",
    "cohen_kappa",
    "weighted_kappa_linear",
    "weighted_kappa_quadratic",
    "krippendorff_alpha_nominal",
    "krippendorff_alpha_ordinal",
    "krippendorff_alpha_interval",
    "pearson",
    "spearman",
    "kendall",
)
#: Score-based pair statistics (both raters gave 0-1 scores).
PAIR_SCORE_METRICS: tuple[str, ...] = (
    "score_pearson",
    "score_spearman",
    "score_kendall",
    "score_mean_difference",
    "score_loa_low",
    "score_loa_high",
)
#: Pair statistics that get a bootstrap interval in ``ci``.
PAIR_CI_METRICS: tuple[str, ...] = (
    *PAIR_LABEL_METRICS,
    "score_pearson",
    "score_spearman",
    "score_mean_difference",
)
_LOA_Z = 1.96  # Bland & Altman (1986): limits of agreement = mean difference +- 1.96 SD


def _label_metrics(tables: np.ndarray, scale: LabelScale) -> dict[str, np.ndarray]:
    """Every label-based pair statistic of a batch of contingency tables ``(B, K, K)``."""
    codes = np.asarray(scale.codes)
    coincidences = tables + np.swapaxes(tables, -2, -1)
    merged, values = m.merge_tied_categories(tables, scale.codes)
    return {
        "percent_agreement": m.percent_agreement_from_tables(tables),
        "cohen_kappa": m.kappa_from_tables(tables, "none"),
        "weighted_kappa_linear": m.kappa_from_tables(tables, "linear"),
        "weighted_kappa_quadratic": m.kappa_from_tables(tables, "quadratic"),
        "krippendorff_alpha_nominal": m.alpha_from_coincidences(coincidences, "nominal"),
        "krippendorff_alpha_ordinal": m.alpha_from_coincidences(coincidences, "ordinal"),
        "krippendorff_alpha_interval": m.alpha_from_coincidences(coincidences, "interval", codes),
        "pearson": m.pearson_from_tables(merged, values, values),
        "spearman": m.spearman_from_tables(merged),
        "kendall": m.kendall_tau_b_from_tables(merged),
    }


def pair_statistics(
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    rater_a: str,
    rater_b: str,
    scale: LabelScale,
    spec: BootstrapSpec,
    context: str,
) -> dict[str, Any]:
    """Statistics of ``rater_a`` vs ``rater_b`` (see the module docstring), JSON-ready.

    Undefined statistics are None with a reason in ``notes``; ``ci`` holds percentile
    intervals for :data:`PAIR_CI_METRICS` (None where not available).
    """
    k = scale.size
    notes: list[str] = []
    both = labels[[rater_a, rater_b]].dropna()
    a = both[rater_a].to_numpy(dtype=int)
    b = both[rater_b].to_numpy(dtype=int)
    n = len(both)
    table = m.confusion_matrix(a, b, k)
    result: dict[str, Any] = {"rater_a": rater_a, "rater_b": rater_b, "n": n}
    result |= dict.fromkeys(PAIR_LABEL_METRICS)
    ci: dict[str, Any] = dict.fromkeys(PAIR_CI_METRICS)
    replicates: dict[str, list[np.ndarray]] = {}

    if n == 0:
        notes.append(f"no item labelled by both {rater_a} and {rater_b}")
    else:
        point = {key: float(v[0]) for key, v in _label_metrics(table[None], scale).items()}
        result["percent_agreement"] = point["percent_agreement"]
        if n < 2:
            notes.append("label statistics other than percent_agreement need >= 2 common items")
        else:
            reasons = _label_reasons(a, b, rater_a, rater_b, scale)
            for key in PAIR_LABEL_METRICS[1:]:
                if math.isnan(point[key]):
                    notes.append(f"{key} undefined: {reasons.get(key, 'no variation')}")
                else:
                    result[key] = point[key]
            codes = np.asarray(scale.codes)
            if not any(result[key] is None for key in ("pearson", "spearman", "kendall")):
                # scipy.stats gives the reported correlations; the table kernels serve the bootstrap
                result |= m.correlations(codes[a], codes[b])
            if spec.n_resamples > 0:
                rng = spec.generator("pair", context, rater_a, rater_b)
                cells = a * k + b
                for idx in resample_indices(rng, n, spec.n_resamples):
                    tables = resample_tables(idx, cells, k)
                    for key, values in _label_metrics(tables, scale).items():
                        replicates.setdefault(key, []).append(values)
    result["confusion"] = {
        "labels": list(scale.labels),
        "rows": rater_a,
        "columns": rater_b,
        "matrix": table.tolist(),
    }
    result |= _pair_scores(scores, rater_a, rater_b, spec, context, notes, replicates)
    add_intervals(replicates, result, ci, notes, PAIR_CI_METRICS, spec)
    result["ci"] = ci
    result["notes"] = notes
    return result


def _label_reasons(
    a: np.ndarray, b: np.ndarray, rater_a: str, rater_b: str, scale: LabelScale
) -> dict[str, str]:
    """Why label statistics may be undefined for this pair (keyed by statistic)."""
    reasons: dict[str, str] = {}
    used = sorted(set(a.tolist()) | set(b.tolist()))
    if len(used) == 1:
        same = f"both raters used only {scale.labels[used[0]]}"
        for key in PAIR_LABEL_METRICS[1:7]:
            reasons[key] = same
    codes = np.asarray(scale.codes)
    if len(set(codes[used].tolist())) == 1 and len(used) > 1:
        reasons["krippendorff_alpha_interval"] = (
            f"every label used ({', '.join(scale.labels[u] for u in used)}) has the code "
            f"{codes[used[0]]:g} under the {scale.coding} coding"
        )
    for rater, values in ((rater_a, a), (rater_b, b)):
        constant = np.unique(codes[values])
        if constant.size == 1:
            for key in ("pearson", "spearman", "kendall"):
                reasons[key] = f"{rater} gave every item the same code ({constant[0]:g})"
    return reasons


def _pair_scores(
    scores: pd.DataFrame,
    rater_a: str,
    rater_b: str,
    spec: BootstrapSpec,
    context: str,
    notes: list[str],
    replicates: dict[str, list[np.ndarray]],
) -> dict[str, Any]:
    out: dict[str, Any] = {"n_scores": 0} | dict.fromkeys(PAIR_SCORE_METRICS)
    if rater_a not in scores.columns or rater_b not in scores.columns:
        return out
    both = scores[[rater_a, rater_b]].dropna()
    x = both[rater_a].to_numpy(dtype=float)
    y = both[rater_b].to_numpy(dtype=float)
    out["n_scores"] = n = len(both)
    if n == 0:
        if scores[rater_a].notna().any() or scores[rater_b].notna().any():
            notes.append("score statistics skipped: no item scored by both raters")
        return out
    difference = x - y
    out["score_mean_difference"] = float(difference.mean())
    if n < 2:
        notes.append("score statistics other than the mean difference need >= 2 common items")
        return out
    spread = float(difference.std(ddof=1))
    out["score_loa_low"] = out["score_mean_difference"] - _LOA_Z * spread
    out["score_loa_high"] = out["score_mean_difference"] + _LOA_Z * spread
    constant = [(r, v) for r, v in ((rater_a, x), (rater_b, y)) if np.all(v == v[0])]
    if constant:
        rater, values = constant[0]
        for key in ("score_pearson", "score_spearman", "score_kendall"):
            notes.append(f"{key} undefined: {rater} gave every item the score {values[0]:g}")
    else:
        found = m.correlations(x, y)
        out |= {f"score_{key}": value for key, value in found.items()}
    if spec.n_resamples > 0:
        rng = spec.generator("scores", context, rater_a, rater_b)
        for idx in resample_indices(rng, n, spec.n_resamples):
            xs, ys = x[idx], y[idx]
            replicates.setdefault("score_mean_difference", []).append((xs - ys).mean(axis=1))
            if not constant:
                replicates.setdefault("score_pearson", []).append(m.pearson_rows(xs, ys))
                replicates.setdefault("score_spearman", []).append(m.spearman_rows(xs, ys))
    return out
