"""Agreement between raters as one JSON-ready result: pairs, overall, self-consistency, groups.

:func:`assess_agreement` takes the long ratings table, collapses each rater's samples per item
(see :mod:`dwa_rater.agreement.tables`), and computes

- for every pair of raters, on the items both labelled: percent agreement, Cohen's kappa
  (unweighted, linear and quadratic weights along the scale order), Krippendorff's alpha of the
  pair (nominal and ordinal on the order, interval on the numeric codes), Pearson, Spearman and
  Kendall tau-b on the codes, the confusion matrix; on the items both scored: the same three
  correlations on scores and the Bland-Altman mean difference with 95% limits of agreement;
- over all selected raters: Fleiss' kappa (items labelled by every rater), Krippendorff's alpha
  (all items, missing labels allowed), ICC(2,1) and ICC(2,k) on scores (items scored by every
  rater that gives scores);
- for each rater with repeated samples: unanimity, modal share, label entropy, and alpha with
  samples as coders;
- the same pair and overall metrics within each group when ``groups`` is given.

Undefined statistics are ``None`` with a reason in the ``notes`` list next to them; every note
also goes to the result's top-level ``warnings`` (group notes are counted there, not repeated).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.agreement.bootstrap import BootstrapSpec
from dwa_rater.agreement.jsonable import to_jsonable
from dwa_rater.agreement.overall import overall_statistics, self_consistency
from dwa_rater.agreement.pairs import pair_statistics
from dwa_rater.agreement.scale import LabelScale
from dwa_rater.agreement.tables import (
    CleanRatings,
    Collapse,
    clean_ratings,
    label_matrix,
    score_matrix,
)


@dataclass(frozen=True)
class AgreementResult:
    """The JSON document plus the matrices it was computed from (for plots)."""

    summary: dict[str, Any]
    labels: pd.DataFrame
    scores: pd.DataFrame
    scale: LabelScale
    groups: pd.Series | None = None

    @property
    def warnings(self) -> list[str]:
        return list(self.summary["warnings"])

    def to_json(self) -> str:
        """Strict JSON (no NaN literals; undefined values are null)."""
        return json.dumps(to_jsonable(self.summary), indent=2, allow_nan=False, ensure_ascii=False)


def assess_agreement(
    ratings: pd.DataFrame,
    scale: LabelScale | None = None,
    *,
    raters: Sequence[str] | None = None,
    collapse: Collapse = "mode",
    groups: pd.Series | None = None,
    bootstrap: BootstrapSpec | None = None,
) -> AgreementResult:
    """Agreement among raters of a long ratings table (see the module docstring).

    ``ratings``: one row per item x rater x sample (failed rows are dropped). ``scale``: label
    order and codes (default E0 < E2 < E1, beta coding). ``raters``: which raters, in which
    order (default all). ``groups``: item_id -> group for breakdowns. ``bootstrap``: resamples,
    seed and coverage of the percentile intervals (``n_resamples=0`` for none).
    """
    scale = scale or LabelScale()
    spec = bootstrap or BootstrapSpec()
    clean = clean_ratings(ratings, scale, raters)
    labels = label_matrix(clean, collapse)
    scores = score_matrix(clean)
    warnings = list(clean.notes)

    # ICC uses the raters that give scores anywhere, so every group uses the same raters
    score_raters = [r for r in clean.raters if r in scores.columns and scores[r].notna().any()]
    pairs, overall = _assess_matrices(
        labels, scores, clean.raters, score_raters, scale, spec, context=""
    )
    for pair in pairs:
        warnings += [f"{pair['rater_a']} vs {pair['rater_b']}: {note}" for note in pair["notes"]]
    warnings += [f"overall: {note}" for note in overall["notes"]]
    found = (self_consistency(clean, r, scale) for r in clean.raters)
    consistency = [entry for entry in found if entry is not None]
    for entry in consistency:
        warnings += [f"self-consistency of {entry['rater']}: {n}" for n in entry["notes"]]

    breakdown = None
    if groups is not None:
        breakdown = _assess_groups(labels, scores, clean.raters, score_raters, scale, spec, groups)
        n_notes = sum(len(p["notes"]) for g in breakdown["results"] for p in g["pairs"])
        n_notes += sum(len(g["overall"]["notes"]) for g in breakdown["results"])
        if breakdown["n_items_without_group"]:
            warnings.append(
                f"{breakdown['n_items_without_group']} item(s) have no {breakdown['column']} "
                "value and are left out of the breakdown"
            )
        if n_notes:
            warnings.append(f"{n_notes} note(s) in the breakdown by {breakdown['column']}")

    summary: dict[str, Any] = {
        "scale": scale.to_dict(),
        "settings": {
            "collapse": collapse,
            "n_bootstrap": spec.n_resamples,
            "seed": spec.seed,
            "confidence": spec.confidence,
            "interval": "percentile bootstrap, items resampled with replacement",
        },
        "raters": list(clean.raters),
        "rater_summary": [_rater_summary(clean, labels, scores, r, scale) for r in clean.raters],
        "pairs": pairs,
        "overall": overall,
        "self_consistency": consistency,
        "groups": breakdown,
        "warnings": warnings,
    }
    return AgreementResult(to_jsonable(summary), labels, scores, scale, groups)


# --- pairs and overall on collapsed matrices ------------------------------------------------


def _assess_matrices(
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    raters: Sequence[str],
    score_raters: Sequence[str],
    scale: LabelScale,
    spec: BootstrapSpec,
    context: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    pairs = [
        pair_statistics(labels, scores, a, b, scale, spec, context)
        for a, b in combinations(raters, 2)
    ]
    overall = overall_statistics(labels, scores, raters, score_raters, scale, spec, context)
    return pairs, overall


def _rater_summary(
    clean: CleanRatings,
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    rater: str,
    scale: LabelScale,
) -> dict[str, Any]:
    """Counts per rater after collapsing samples: labelled/scored items and label shares."""
    positions = labels[rater].dropna().astype(int)
    counts = positions.value_counts().reindex(range(scale.size), fill_value=0)
    rows = clean.frame[clean.frame["rater"] == rater]
    codes = np.asarray(scale.codes)
    rater_scores = scores[rater].dropna() if rater in scores.columns else pd.Series(dtype=float)
    return {
        "rater": rater,
        "n_items_labelled": len(positions),
        "n_items_scored": len(rater_scores),
        "n_rows": len(rows),
        "label_counts": {scale.labels[i]: int(c) for i, c in counts.items()},
        "mean_code": float(codes[positions.to_numpy()].mean()) if len(positions) else None,
        "mean_score": float(rater_scores.mean()) if len(rater_scores) else None,
    }


def _assess_groups(
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    raters: Sequence[str],
    score_raters: Sequence[str],
    scale: LabelScale,
    spec: BootstrapSpec,
    groups: pd.Series,
) -> dict[str, Any]:
    """Pair and overall statistics within each group of items (groups sorted by value)."""
    mapping = groups.dropna()
    mapping.index = mapping.index.astype(str)
    mapping = mapping[~mapping.index.duplicated(keep="first")].astype(str)
    items = labels.index.union(scores.index)
    assigned = mapping.reindex(items)
    results = []
    for value in sorted(assigned.dropna().unique()):
        members = assigned.index[assigned == value]
        pairs, overall = _assess_matrices(
            labels.reindex(labels.index.intersection(members)),
            scores.reindex(scores.index.intersection(members)),
            raters,
            score_raters,
            scale,
            spec,
            context=f"group:{value}",
        )
        results.append(
            {"group": value, "n_items": len(members), "pairs": pairs, "overall": overall}
        )
    return {
        "column": str(groups.name) if groups.name is not None else "group",
        "n_groups": len(results),
        "n_items_without_group": int(assigned.isna().sum()),
        "results": results,
    }
