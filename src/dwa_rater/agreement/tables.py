"""From the long ratings table to item x rater matrices of label positions and scores.

The ratings table has one row per item x rater x sample. Pairwise and overall agreement need one
label and one score per item and rater, so a rater's samples are collapsed:

- labels, ``collapse="mode"``: the most frequent label among the rater's successful samples of
  the item; a tie goes to the label lowest on the scale order (with E0 < E2 < E1, a tie between
  E1 and E2 gives E2). This makes ties resolve conservatively and deterministically.
- labels, ``collapse="first"``: the label of the lowest-numbered successful sample (sample 0
  unless that one failed or has no label).
- scores: the mean of the rater's non-missing scores over samples, whatever ``collapse`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.agreement.scale import LabelScale
from dwa_rater.errors import DataError
from dwa_rater.store import ok_ratings

Collapse = Literal["mode", "first"]


@dataclass(frozen=True)
class CleanRatings:
    """Successful ratings of the selected raters: item_id, rater, sample, position, score.

    ``position`` is the label's index along the scale (float, NaN where the row has no label);
    ``score`` is float with NaN for missing. ``notes`` records rows that were dropped and why.
    """

    frame: pd.DataFrame
    raters: tuple[str, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def clean_ratings(
    ratings: pd.DataFrame, scale: LabelScale, raters: Sequence[str] | None = None
) -> CleanRatings:
    """Keep successful rows of the selected raters, check labels, map them to scale positions.

    Raters default to every rater with a successful rating, in order of first appearance.
    Raises :class:`DataError` for an unknown rater name or a label outside the scale. Duplicate
    rows for one item x rater x sample keep the last one; rows without label and score are
    dropped; both are recorded in ``notes``.
    """
    for column in ("item_id", "rater"):
        if column not in ratings.columns:
            raise DataError(f"ratings table lacks column {column!r}")
    frame = ok_ratings(ratings) if "status" in ratings.columns else ratings
    present = list(dict.fromkeys(frame["rater"].dropna().astype(str)))
    if raters is None:
        selected = present
    else:
        selected = list(dict.fromkeys(r.strip() for r in raters if r.strip()))
        unknown = [r for r in selected if r not in present]
        if unknown:
            raise DataError(
                f"rater(s) {', '.join(unknown)} have no successful ratings in the input "
                f"(raters present: {', '.join(present) or 'none'})"
            )
    if not selected:
        raise DataError("the ratings hold no successful rating")
    frame = frame[frame["rater"].isin(selected)]
    notes: list[str] = []

    labels = _column(frame, "label").astype("string").str.strip()
    labels = labels.mask(labels == "", pd.NA)
    outside = labels.notna() & ~labels.isin(scale.labels)
    if outside.any():
        bad = frame.loc[outside, "rater"].astype(str) + ": " + labels[outside].astype(str)
        examples = ", ".join(bad.value_counts().index[:5])
        raise DataError(
            f"{int(outside.sum())} label(s) are not on the scale {scale.describe()} "
            f"({examples}); pass --order with every label used"
        )
    lookup = {label: float(i) for i, label in enumerate(scale.labels)}
    position = labels.map(lookup, na_action="ignore").astype("Float64")
    score = pd.to_numeric(_column(frame, "score"), errors="coerce").astype("Float64")
    sample = pd.to_numeric(_column(frame, "sample"), errors="coerce").fillna(0).astype("int64")
    clean = pd.DataFrame(
        {
            "item_id": frame["item_id"].astype(str).to_numpy(),
            "rater": frame["rater"].astype(str).to_numpy(),
            "sample": sample.to_numpy(),
            "position": position.to_numpy(dtype=float, na_value=np.nan),
            "score": score.to_numpy(dtype=float, na_value=np.nan),
        }
    )
    empty = clean["position"].isna() & clean["score"].isna()
    if empty.any():
        notes.append(f"{int(empty.sum())} successful row(s) had neither label nor score; ignored")
        clean = clean[~empty]
    duplicated = clean.duplicated(["item_id", "rater", "sample"], keep="last")
    if duplicated.any():
        raters_hit = ", ".join(sorted(clean.loc[duplicated, "rater"].unique()))
        notes.append(
            f"{int(duplicated.sum())} duplicate item x rater x sample row(s) ({raters_hit}); "
            "the last one of each was kept"
        )
        clean = clean[~duplicated]
    ordered = tuple(r for r in selected if r in set(clean["rater"]))
    missing = [r for r in selected if r not in ordered]
    if missing:
        notes.append(f"rater(s) {', '.join(missing)} have no usable label or score")
    return CleanRatings(clean.reset_index(drop=True), ordered, tuple(notes))


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series(pd.NA, index=frame.index, dtype="object")


def label_matrix(clean: CleanRatings, collapse: Collapse = "mode") -> pd.DataFrame:
    """Items x raters matrix of collapsed label positions (float, NaN = no label).

    Rows are the items with at least one label, sorted by item_id; columns follow
    ``clean.raters``. See the module docstring for how samples are collapsed.
    """
    labelled = clean.frame.dropna(subset=["position"])
    if collapse == "mode":
        counts = labelled.groupby(["item_id", "rater", "position"]).size().rename("n").reset_index()
        counts = counts.sort_values(["item_id", "rater", "n", "position"], ascending=[1, 1, 0, 1])
        chosen = counts.drop_duplicates(["item_id", "rater"], keep="first")
    elif collapse == "first":
        chosen = labelled.sort_values(["item_id", "rater", "sample"]).drop_duplicates(
            ["item_id", "rater"], keep="first"
        )
    else:
        raise DataError(f"unknown collapse rule {collapse!r} (use mode or first)")
    matrix = chosen.pivot(index="item_id", columns="rater", values="position")
    return matrix.reindex(columns=list(clean.raters)).sort_index().astype(float)


def score_matrix(clean: CleanRatings) -> pd.DataFrame:
    """Items x raters matrix of each rater's mean score over samples (NaN = no score)."""
    scored = clean.frame.dropna(subset=["score"])
    matrix = scored.groupby(["item_id", "rater"])["score"].mean().unstack("rater")
    return matrix.reindex(columns=list(clean.raters)).sort_index().astype(float)


def sample_counts(clean: CleanRatings, rater: str, n_categories: int) -> pd.DataFrame:
    """Items x categories counts of one rater's labelled samples (items with >= 2 samples)."""
    rows = clean.frame[(clean.frame["rater"] == rater) & clean.frame["position"].notna()]
    counts = (
        rows.groupby(["item_id", "position"]).size().unstack("position", fill_value=0)
        if len(rows)
        else pd.DataFrame()
    )
    counts = counts.reindex(columns=[float(c) for c in range(n_categories)], fill_value=0)
    return counts[counts.sum(axis=1) >= 2]


def sample_matrix(clean: CleanRatings, rater: str) -> pd.DataFrame:
    """Items x samples matrix of one rater's label positions (NaN = missing sample)."""
    rows = clean.frame[(clean.frame["rater"] == rater) & clean.frame["position"].notna()]
    return rows.pivot(index="item_id", columns="sample", values="position").sort_index()


def groups_from_column(ratings: pd.DataFrame, column: str) -> pd.Series:
    """item_id -> group value from a column of the ratings table (one value per item).

    Raises :class:`DataError` if the column is absent or an item carries two different values.
    """
    if column not in ratings.columns:
        raise DataError(f"ratings table has no column {column!r} to group by")
    pairs = ratings[["item_id", column]].dropna().astype(str).drop_duplicates()
    clashes = pairs["item_id"][pairs["item_id"].duplicated()]
    if len(clashes):
        raise DataError(
            f"column {column!r} is not a property of the item: item {clashes.iloc[0]} has "
            f"{int((pairs['item_id'] == clashes.iloc[0]).sum())} different values"
        )
    return pairs.set_index("item_id")[column].rename(column)


def groups_from_catalog(dwas: pd.DataFrame, column: str) -> pd.Series:
    """dwa_id -> group value from the O*NET DWA catalogue table (e.g. ``gwa_title``)."""
    for needed in ("dwa_id", column):
        if needed not in dwas.columns:
            raise DataError(f"O*NET DWA table has no column {needed!r}")
    pairs = dwas[["dwa_id", column]].dropna().astype(str).drop_duplicates("dwa_id")
    return pairs.set_index("dwa_id")[column].rename(column)
