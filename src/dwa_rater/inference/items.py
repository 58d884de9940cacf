"""Long ratings table -> one row per item (per group) with the gold value and each prediction.

Labels are coded with the codings of the exposure rubric's scale (its manifest, read by
:func:`dwa_rater.prompts.exposure_scale`; Eloundou et al. 2023: alpha = E1, beta = E1 + 0.5 E2,
gamma = E1 + E2; 0-1 scale); the
measure ``score`` takes the numeric ``score`` column (0-1) instead. A rater's value of an item is
the mean over its samples (failed rows dropped). With a ``by`` column the key is (group, item):
the same item may sit in several groups (replicates, cities, years), each counted once per
group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import exposure_scale
from dwa_rater.store import ok_ratings

Measure = Literal["alpha", "beta", "gamma", "score"]
MEASURES: tuple[str, ...] = ("alpha", "beta", "gamma", "score")

#: Column of an item's sampling probability (from ``review select --strategy audit|active``).
PROBABILITY_COLUMN = "sampling_probability"
#: Column of the reason an item went to humans (from ``review select``).
REASON_COLUMN = "reason"


def coded_values(rows: pd.DataFrame, measure: str) -> pd.Series:
    """One number per ratings row: the label's code under ``measure``, or the ``score``.

    Labels are compared upper-cased and stripped; a label outside E0/E1/E2 is a
    :class:`DataError` naming it and the first item holding it.
    """
    if measure not in MEASURES:
        raise ConfigError(f"unknown measure {measure!r}; choose one of {', '.join(MEASURES)}")
    if measure == "score":
        if "score" not in rows.columns:
            raise DataError("the ratings table has no 'score' column")
        return pd.to_numeric(rows["score"], errors="coerce").astype(float)
    if "label" not in rows.columns:
        raise DataError("the ratings table has no 'label' column")
    labels = rows["label"].astype("string").str.strip().str.upper()
    mapping = exposure_scale().coding(measure)
    unknown = labels.notna() & ~labels.isin(list(mapping))
    if unknown.any():
        first = rows.loc[unknown, "item_id"].iloc[0]
        raise DataError(
            f"label(s) {', '.join(sorted(set(labels[unknown])))} not in the coding "
            f"({', '.join(mapping)}); {int(unknown.sum())} row(s), first at item {first}"
        )
    return labels.map(mapping).astype(float)


def _as_text(values: pd.Series) -> pd.Series:
    """``values`` as strings, without a Python-level pass when they already are."""
    return values if isinstance(values.dtype, pd.StringDtype) else values.astype(str)


def _check_columns(ratings: pd.DataFrame, by: str | None, weights: str | None) -> None:
    for option, column in (("--by", by), ("--weights", weights)):
        if column is not None and column not in ratings.columns:
            raise DataError(
                f"{option} column {column!r} is not in the ratings table; its columns: "
                f"{', '.join(map(str, ratings.columns))}"
            )


def item_table(
    ratings: pd.DataFrame,
    gold: str,
    predicted: Sequence[str],
    measure: str,
    by: str | None = None,
    weights: str | None = None,
) -> pd.DataFrame:
    """One row per (group, item): ``item_id``, ``gold``, one column per predicted rater.

    Columns: the ``by`` column (when given), ``item_id``, ``gold`` (NaN when the gold rater did
    not label the item), the predicted raters' values (named after the raters), ``weight``
    (1.0 without ``weights``; the first non-empty value of the item's rows otherwise), and
    ``sampling_probability`` / ``reason`` when the gold rater's rows carry those columns.
    """
    _check_columns(ratings, by, weights)
    raters = [gold, *predicted]
    if len(set(raters)) != len(raters):
        raise ConfigError("the gold rater and the predicted raters must all differ")
    present = {str(r) for r in ratings["rater"].dropna().unique()}
    missing = [r for r in raters if r not in present]
    if missing:
        raise DataError(
            f"rater(s) {', '.join(missing)} not in the ratings; known raters: "
            f"{', '.join(sorted(present))}"
        )
    rows = ok_ratings(ratings) if "status" in ratings.columns else ratings
    rows = rows[rows["rater"].isin(raters)]
    keys = [by] if by else []
    frame = pd.DataFrame({"item_id": _as_text(rows["item_id"]), "rater": rows["rater"]})
    if by:
        frame[by] = rows[by]
        if frame[by].isna().any():
            raise DataError(f"--by column {by!r} is empty on {int(frame[by].isna().sum())} row(s)")
    frame["value"] = coded_values(rows, measure).to_numpy()
    frame = frame[frame["value"].notna()]
    means = frame.groupby([*keys, "item_id", "rater"], sort=True, observed=True)["value"].mean()
    table = means.unstack("rater")
    for rater in raters:
        if rater not in table.columns:
            raise DataError(f"rater {rater!r} has no {measure} value (no label or score)")
    table = table[raters].rename(columns={gold: "gold"})
    table.columns.name = None
    extras = _item_extras(rows, keys, gold, weights)
    table = table.join(extras, how="left") if not extras.empty else table
    table = table.reset_index()
    if "weight" not in table.columns:
        table["weight"] = 1.0
    return table


def _item_extras(
    rows: pd.DataFrame, keys: list[str], gold: str, weights: str | None
) -> pd.DataFrame:
    """Per (group, item): weight (any rater's row), sampling probability and reason (gold rows)."""
    index = [*keys, "item_id"]
    parts = []
    base = rows.assign(item_id=_as_text(rows["item_id"]))
    if weights:
        values = pd.to_numeric(base[weights], errors="coerce")
        bad = values.isna() & base[weights].notna() & (base[weights].astype(str) != "")
        if bad.any():
            raise DataError(f"--weights column {weights!r} holds non-numbers")
        weight = base.assign(weight=values).groupby(index, sort=True)["weight"].first()
        if weight.isna().any() or (weight < 0).any():
            raise DataError(
                f"--weights column {weights!r} is empty or negative for "
                f"{int((weight.isna() | (weight < 0)).sum())} item(s)"
            )
        parts.append(weight.astype(float))
    gold_rows = base[base["rater"] == gold]
    if PROBABILITY_COLUMN in gold_rows.columns:
        probability = pd.to_numeric(gold_rows[PROBABILITY_COLUMN], errors="coerce")
        parts.append(
            gold_rows.assign(**{PROBABILITY_COLUMN: probability})
            .groupby(index, sort=True)[PROBABILITY_COLUMN]
            .first()
        )
    if REASON_COLUMN in gold_rows.columns:
        parts.append(gold_rows.groupby(index, sort=True)[REASON_COLUMN].first())
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, axis=1)


def attach_selection(table: pd.DataFrame, selection: pd.DataFrame) -> pd.DataFrame:
    """Add ``reason`` and ``sampling_probability`` from a ``review select`` table, by item_id.

    Values already in ``table`` (from the ratings rows) win; items absent from the selection get
    the reason ``unselected``.
    """
    chosen = selection.drop_duplicates("item_id").set_index(selection["item_id"].astype(str))
    out = table.copy()
    for column in (REASON_COLUMN, PROBABILITY_COLUMN):
        if column not in chosen.columns:
            continue
        values = out["item_id"].map(chosen[column])
        if column == PROBABILITY_COLUMN:
            values = pd.to_numeric(values.replace("", np.nan), errors="coerce")
        else:
            values = values.fillna("unselected").replace("", "unselected")
        if column in out.columns:
            out[column] = out[column].where(out[column].notna(), values)
        else:
            out[column] = values
    return out
