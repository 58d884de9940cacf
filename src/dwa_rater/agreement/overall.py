"""Agreement of all selected raters together, and of one rater with itself over samples.

Fleiss' kappa on the items every rater labelled; Krippendorff's alpha (nominal, ordinal,
interval) on all items, missing labels allowed; ICC(2,1) and ICC(2,k) on the items every
score-giving rater scored. Self-consistency treats one rater's repeated samples of an item as
coders: unanimity, modal share, label entropy and alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import dwa_rater.agreement.metrics as m
from dwa_rater.agreement.bootstrap import (
    BootstrapSpec,
    add_intervals,
    resample_counts,
    resample_indices,
)
from dwa_rater.agreement.scale import LabelScale
from dwa_rater.agreement.tables import CleanRatings, sample_counts

OVERALL_METRICS: tuple[str, ...] = (
    "fleiss_kappa",
    "krippendorff_alpha_nominal",
    "krippendorff_alpha_ordinal",
    "krippendorff_alpha_interval",
    "icc2_1",
    "icc2_k",
)


def overall_statistics(
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    raters: Sequence[str],
    score_raters: Sequence[str],
    scale: LabelScale,
    spec: BootstrapSpec,
    context: str,
) -> dict[str, Any]:
    """Fleiss' kappa, Krippendorff's alpha and ICC of ``raters`` (see the module docstring).

    ``labels``/``scores``: items x raters matrices of label positions and mean scores.
    ``score_raters``: the raters ICC is computed on (those giving scores at all). ``context``
    seeds the bootstrap (e.g. the group), so intervals do not depend on other groups.
    """
    k = scale.size
    notes: list[str] = []
    out: dict[str, Any] = dict.fromkeys(OVERALL_METRICS)
    lab = labels.reindex(columns=list(raters))
    positions = lab.to_numpy(dtype=float)
    unit_counts = np.stack([(positions == c).sum(axis=1) for c in range(k)], axis=1)
    unit_counts = unit_counts.reshape(len(lab), k).astype(float)
    per_unit = m.unit_coincidences(unit_counts)
    complete = ~np.isnan(positions).any(axis=1) if len(raters) else np.zeros(len(lab), bool)
    pairable = unit_counts.sum(axis=1) >= 2
    scoring = list(score_raters)
    score_values = scores.reindex(columns=scoring).dropna()
    out |= {
        "n_items": len(lab),
        "n_raters": len(raters),
        "n_items_pairable": int(pairable.sum()),
        "n_items_complete": int(complete.sum()),
        "icc_raters": scoring,
        "n_items_scored_complete": len(score_values),
    }
    ci: dict[str, Any] = dict.fromkeys(OVERALL_METRICS)
    if len(raters) < 2:
        notes.append("agreement needs at least two raters")
        out |= {"ci": ci, "notes": notes}
        return out

    used = np.flatnonzero(unit_counts[pairable].sum(axis=0))
    coincidences = per_unit.sum(axis=0)
    for level in ("nominal", "ordinal", "interval"):
        key = f"krippendorff_alpha_{level}"
        values = np.asarray(scale.codes) if level == "interval" else None
        value = float(m.alpha_from_coincidences(coincidences, level, values))  # type: ignore[arg-type]
        if not pairable.any():
            notes.append(f"{key} undefined: no item labelled by two or more raters")
        elif math.isnan(value):
            notes.append(f"{key} undefined: {constant_labels_reason(used, scale, level)}")
        else:
            out[key] = value

    fleiss_counts = unit_counts[complete]
    if fleiss_counts.shape[0] < 2:
        notes.append(
            f"fleiss_kappa undefined: {fleiss_counts.shape[0]} item(s) labelled by all "
            f"{len(raters)} raters (need >= 2)"
        )
    else:
        value = float(m.fleiss_kappa_weighted(fleiss_counts, np.ones(len(fleiss_counts)))[0])
        if math.isnan(value):
            only = np.flatnonzero(fleiss_counts.sum(axis=0))
            notes.append(
                f"fleiss_kappa undefined: {constant_labels_reason(only, scale, 'nominal')}"
            )
        else:
            out["fleiss_kappa"] = value

    x_scores = score_values.to_numpy(dtype=float)
    if len(scoring) < 2:
        if scoring or scores.notna().to_numpy().any():
            notes.append(
                f"icc undefined: scores from fewer than two raters ({', '.join(scoring) or 'none'})"
            )
    elif len(x_scores) < 2:
        notes.append(
            f"icc undefined: {len(x_scores)} item(s) scored by all of {', '.join(scoring)}"
        )
    else:
        try:
            out["icc2_1"], out["icc2_k"] = m.icc2(x_scores)
        except m.UndefinedMetricError as exc:
            notes.append(f"icc undefined: {exc}")
        if len(scoring) < len(raters):
            notes.append(f"icc computed on the raters that give scores: {', '.join(scoring)}")

    if spec.n_resamples > 0:
        items = (lab.index, score_values.index)
        _overall_intervals(
            out, ci, notes, items, unit_counts, complete, x_scores, scale, spec, context
        )
    out |= {"ci": ci, "notes": notes}
    return out


def constant_labels_reason(used: np.ndarray, scale: LabelScale, level: str) -> str:
    if len(used) == 1:
        return f"every label given is {scale.labels[used[0]]}"
    if level == "interval":
        return f"every label given has the same code under the {scale.coding} coding"
    return "no variation in the labels"


def _overall_intervals(
    out: dict[str, Any],
    ci: dict[str, Any],
    notes: list[str],
    items_used: tuple[pd.Index, pd.Index],
    unit_counts: np.ndarray,
    complete: np.ndarray,
    x_scores: np.ndarray,
    scale: LabelScale,
    spec: BootstrapSpec,
    context: str,
) -> None:
    """Bootstrap the overall statistics, resampling the union of labelled and scored items."""
    label_items, score_items = items_used
    items = label_items.union(score_items)
    if len(items) < 2:
        return
    label_pos = items.get_indexer(label_items)
    score_pos = items.get_indexer(score_items)
    k = scale.size
    flat_units = m.unit_coincidences(unit_counts).reshape(len(unit_counts), k * k)
    codes = np.asarray(scale.codes)
    replicates: dict[str, list[np.ndarray]] = {}
    rng = spec.generator("overall", context)
    for idx in resample_indices(rng, len(items), spec.n_resamples):
        weights = resample_counts(idx, len(items))
        w_labels = weights[:, label_pos]
        coincidences = (w_labels @ flat_units).reshape(-1, k, k)
        found = {
            "krippendorff_alpha_nominal": m.alpha_from_coincidences(coincidences, "nominal"),
            "krippendorff_alpha_ordinal": m.alpha_from_coincidences(coincidences, "ordinal"),
            "krippendorff_alpha_interval": m.alpha_from_coincidences(
                coincidences, "interval", codes
            ),
        }
        if out["fleiss_kappa"] is not None:
            found["fleiss_kappa"] = m.fleiss_kappa_weighted(
                unit_counts[complete], w_labels[:, complete]
            )
        if out["icc2_1"] is not None:
            found["icc2_1"], found["icc2_k"] = m.icc2_weighted(x_scores, weights[:, score_pos])
        for key, values in found.items():
            replicates.setdefault(key, []).append(values)
    add_intervals(replicates, out, ci, notes, OVERALL_METRICS, spec)


def self_consistency(clean: CleanRatings, rater: str, scale: LabelScale) -> dict[str, Any] | None:
    """Agreement of one rater with itself over repeated samples; None if it has one sample.

    Shares are 0-1, entropy in bits (log2); alpha treats the samples of an item as its coders;
    ``score_mean_sd`` is the mean over items of the standard deviation (ddof=1) of the scores.
    """
    counts = sample_counts(clean, rater, scale.size)
    rows = clean.frame[clean.frame["rater"] == rater]
    per_item = rows.groupby("item_id")["sample"].nunique()
    if per_item.max() < 2:
        return None
    notes: list[str] = []
    out: dict[str, Any] = {
        "rater": rater,
        "n_items": len(counts),
        "n_samples": int(per_item.max()),
        "n_samples_min": int(per_item[per_item >= 2].min()),
        "unanimous_share": None,
        "mean_modal_share": None,
        "mean_entropy_bits": None,
        "krippendorff_alpha_nominal": None,
        "krippendorff_alpha_ordinal": None,
        "score_mean_sd": None,
    }
    if len(counts):
        unit_counts = counts.to_numpy(dtype=float)
        out |= m.sample_consistency(unit_counts)
        coincidences = m.unit_coincidences(unit_counts).sum(axis=0)
        for level in ("nominal", "ordinal"):
            value = float(m.alpha_from_coincidences(coincidences, level))  # type: ignore[arg-type]
            if math.isnan(value):
                used = np.flatnonzero(unit_counts.sum(axis=0))
                reason = constant_labels_reason(used, scale, level)
                notes.append(f"krippendorff_alpha_{level} undefined: {reason}")
            else:
                out[f"krippendorff_alpha_{level}"] = value
    else:
        notes.append("no item has two or more labelled samples")
    spread = rows.dropna(subset=["score"]).groupby("item_id")["score"].agg(["std", "size"])
    spread = spread[spread["size"] >= 2]
    if len(spread):
        out["score_mean_sd"] = float(spread["std"].mean())
    out["notes"] = notes
    return out
