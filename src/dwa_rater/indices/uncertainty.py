"""The project's indices with confidence intervals that rest on the human (gold) labels.

An index is described by *links*: a table ``group, item_id, weight`` saying how much each item
(DWA or task) weighs in each group (occupation, occupation-year, city). The index of a group is
the weighted mean of its items' scores, ``sum_i w_gi Y_i / sum_i w_gi`` over the items that have
a prediction; its interval comes from :func:`dwa_rater.inference.linear.linear_estimate`
(difference estimator, design-based), so it carries the uncertainty of replacing human labels by
LLM predictions on the items nobody labelled.

- Occupation index from task scores (Eloundou et al. 2023): weights 2 for Core tasks, 1 for the
  others (:func:`core_task_links`).
- Occupation index from DWA scores: the links of
  :func:`dwa_rater.calibration.evaluate.occupation_weights` (O*NET Tasks to DWAs).
- Posting-based occupation index by year (:func:`posting_links` on one year's postings), and
  the city index, which composes occupation links with the city's occupation shares
  (:func:`compose_links`).
- A change between two years: :func:`index_change_intervals` (coefficients ``a_to - a_from``).

Scores are on the 0-1 scale of the measure; weights are relative (only ratios matter).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.inference.items import PROBABILITY_COLUMN, item_table
from dwa_rater.inference.linear import linear_estimate

#: Columns of the tables returned here (after ``group``).
INTERVAL_COLUMNS: tuple[str, ...] = (
    "estimate",
    "ci_low",
    "ci_high",
    "n_gold",
    "n",
    "method",
    "se",
    "lam",
    "n_effective",
    "predicted_index",
)


def core_task_links(tasks: pd.DataFrame) -> pd.DataFrame:
    """Links ``group`` (onetsoc_code), ``item_id`` (task), ``weight`` (2 Core, 1 otherwise).

    ``tasks`` needs ``onetsoc_code``, ``item_id`` and ``task_type``.
    """
    missing = [c for c in ("onetsoc_code", "item_id", "task_type") if c not in tasks.columns]
    if missing:
        raise DataError(f"task table lacks column(s) {', '.join(missing)}")
    return pd.DataFrame(
        {
            "group": tasks["onetsoc_code"].astype(str),
            "item_id": tasks["item_id"].astype(str),
            "weight": np.where(tasks["task_type"].astype(str) == "Core", 2.0, 1.0),
        }
    )


def posting_links(
    posting_dwas: pd.DataFrame, postings: pd.DataFrame, by: str = "occupation_category"
) -> pd.DataFrame:
    """Links of the posting-based index of each ``by`` group: its mean posting score.

    A posting's score is ``sum_d W_d s_d / sum_d W_d`` over its DWAs
    (:mod:`dwa_rater.indices.labour_market.scoring`), so a group's mean posting score weighs DWA
    ``d`` by ``mean over the group's postings of W_pd / sum_d W_pd``. ``posting_dwas`` has
    posting_id, dwa_id, weight; ``postings`` has posting_id and ``by`` (filter it to one year
    first for the index by year; two years' links give the change).
    """
    for column in ("posting_id", "dwa_id", "weight"):
        if column not in posting_dwas.columns:
            raise DataError(f"posting DWA table lacks column {column!r}")
    if by not in postings.columns or "posting_id" not in postings.columns:
        raise DataError(f"postings need columns posting_id and {by!r}")
    links = posting_dwas[posting_dwas["weight"] > 0].copy()
    links["share"] = links["weight"] / links.groupby("posting_id")["weight"].transform("sum")
    group = postings.set_index(postings["posting_id"].astype(str))[by]
    links["group"] = links["posting_id"].astype(str).map(group)
    links = links[links["group"].notna()]
    size = links.groupby("group")["posting_id"].nunique()
    out = links.groupby(["group", "dwa_id"], as_index=False, sort=True)["share"].sum()
    out["weight"] = out["share"] / out["group"].map(size)
    return out.rename(columns={"dwa_id": "item_id"})[["group", "item_id", "weight"]]


def compose_links(upper: pd.DataFrame, lower: pd.DataFrame) -> pd.DataFrame:
    """Links of a composite index: ``upper`` (group, item_id = a lower group, weight) over
    ``lower`` (group, item_id, weight). Each lower group's weights are normalised to sum 1 first,
    so a city index with occupation shares as ``upper`` weights is
    ``sum_o share_o * I_o`` expressed on the items."""
    lower = lower.assign(weight=lower["weight"] / lower.groupby("group")["weight"].transform("sum"))
    merged = upper.rename(columns={"item_id": "lower", "weight": "upper_weight"}).merge(
        lower.rename(columns={"group": "lower"}), on="lower", how="inner"
    )
    merged["weight"] = merged["upper_weight"] * merged["weight"]
    return merged.groupby(["group", "item_id"], as_index=False, sort=True)["weight"].sum()


def _coefficients(links: pd.DataFrame, position: pd.Index, size: int) -> dict[object, np.ndarray]:
    """Per group: the vector ``a`` over the items (weights normalised to sum 1 over the items
    that are in ``position``)."""
    known = links[links["item_id"].astype(str).isin(position)]
    out: dict[object, np.ndarray] = {}
    for group, rows in known.groupby("group", sort=True):
        a = np.zeros(size)
        np.add.at(a, position.get_indexer(rows["item_id"].astype(str)), rows["weight"].to_numpy())
        total = a.sum()
        if total > 0:
            out[group] = a / total
    return out


def _interval_row(
    group: object, a: np.ndarray, items: pd.DataFrame, predicted: np.ndarray, level: float
) -> dict[str, object]:
    gold = items["gold"].to_numpy(dtype=np.float64)
    probabilities = (
        items[PROBABILITY_COLUMN].to_numpy(dtype=np.float64)
        if PROBABILITY_COLUMN in items.columns
        else None
    )
    row: dict[str, object] = {"group": group, "predicted_index": float(a @ predicted)}
    try:
        result = linear_estimate(a, predicted, gold, probabilities, level)
    except DataError as exc:
        return {**row, "n": int(np.count_nonzero(a)), "method": f"none ({exc})"}
    return {
        **row,
        "estimate": result.estimate,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "n_gold": result.n_gold,
        "n": result.n,
        "method": result.method,
        "se": result.se,
        "lam": result.lam,
        "n_effective": result.n_effective,
    }


def _prepared(items: pd.DataFrame, predicted: Sequence[str]) -> tuple[pd.DataFrame, np.ndarray]:
    missing = [c for c in ("item_id", "gold", *predicted) if c not in items.columns]
    if missing:
        raise DataError(f"item table lacks column(s) {', '.join(missing)}")
    usable = items[items[list(predicted)].notna().all(axis=1)].reset_index(drop=True)
    if usable["item_id"].astype(str).duplicated().any():
        raise DataError("item table holds an item twice (estimate one group of --by at a time)")
    return usable, usable[list(predicted)].to_numpy(dtype=np.float64).mean(axis=1)


def index_intervals(
    items: pd.DataFrame, links: pd.DataFrame, predicted: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Per group of ``links``: the index with its interval (columns ``group`` +
    :data:`INTERVAL_COLUMNS`).

    ``items`` is an item table of :func:`dwa_rater.inference.items.item_table` (one row per item;
    ``gold`` NaN where unlabelled; optional ``sampling_probability``); several ``predicted``
    raters are averaged. ``predicted_index`` is the index on predictions alone.
    """
    usable, prediction = _prepared(items, predicted)
    position = pd.Index(usable["item_id"].astype(str))
    coefficients = _coefficients(links, position, len(usable))
    rows = [_interval_row(g, a, usable, prediction, level) for g, a in coefficients.items()]
    return _table(rows)


def index_change_intervals(
    items: pd.DataFrame,
    links_from: pd.DataFrame,
    links_to: pd.DataFrame,
    predicted: Sequence[str],
    level: float = 0.95,
) -> pd.DataFrame:
    """Per group in both link tables: ``index_to - index_from`` with its interval (the same
    human sample serves both years, so the interval accounts for their correlation)."""
    usable, prediction = _prepared(items, predicted)
    position = pd.Index(usable["item_id"].astype(str))
    before = _coefficients(links_from, position, len(usable))
    after = _coefficients(links_to, position, len(usable))
    rows = [
        _interval_row(g, after[g] - before[g], usable, prediction, level)
        for g in sorted(set(before) & set(after), key=str)
    ]
    return _table(rows)


def _table(rows: list[dict[str, object]]) -> pd.DataFrame:
    table = pd.DataFrame.from_records(rows, columns=["group", *INTERVAL_COLUMNS])
    return table


def occupation_index_intervals(
    ratings: pd.DataFrame,
    links: pd.DataFrame,
    gold: str,
    predicted: Sequence[str],
    measure: str = "beta",
    level: float = 0.95,
) -> pd.DataFrame:
    """The helper for the study: ratings (long table) + links -> index intervals per group."""
    items = item_table(ratings, gold, predicted, measure)
    return index_intervals(items, links, predicted, level)
