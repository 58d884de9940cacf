"""Confidence intervals of the labour-market indices, with the weighting of their point estimates.

The indices of :mod:`.pipeline` are linear in the DWA scores, so each one's interval comes from
:mod:`dwa_rater.indices.uncertainty` (a design-based difference estimator on the human-labelled
DWAs; units those of the DWA scores, 0-1):

- occupation index of a year or window: :func:`~dwa_rater.indices.uncertainty.posting_links` on
  that period's postings (a DWA weighs its mean share ``W_pd / sum_d W_pd`` over the
  occupation's postings, as in :func:`.scoring.score_postings`);
- its change between the two compared periods: the same links of both periods
  (:func:`~dwa_rater.indices.uncertainty.index_change_intervals`);
- city index: the occupation links composed with the city's weights of
  :mod:`dwa_rater.indices.city` (:func:`city_weights`; ``compose_links``). The interval functions
  normalise a group's weights to sum 1, so the ``national`` and ``national-all`` indices, which
  are sums that grow with the city, are the normalised mean times the city's total weight
  ``sum_o w_{c,o}`` (a known constant): estimate, interval and se are scaled back by it.

Only DWAs with a prediction count (``posting_dwas`` is restricted to them first), as the point
estimate leaves unscored DWAs out of each posting's score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from dwa_rater.indices.city import check_weighting
from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
from dwa_rater.indices.mapping import PostingLines
from dwa_rater.indices.periods import Period, parse_period, postings_in
from dwa_rater.indices.uncertainty import (
    compose_links,
    index_change_intervals,
    index_intervals,
    posting_links,
)

#: Columns an interval adds to a labour-market table (``ci_estimate`` is the estimate the
#: interval is built around; it estimates the same index as the table's point value).
CI_COLUMNS: tuple[str, ...] = ("ci_estimate", "ci_low", "ci_high", "n_gold", "ci_method")
_FROM_INTERVAL = {"estimate": "ci_estimate", "method": "ci_method"}
_SCALED = ("estimate", "ci_low", "ci_high", "se", "predicted_index")


def posting_dwa_weights(posting_lines: PostingLines, line_mapping: pd.DataFrame) -> pd.DataFrame:
    """posting_id, dwa_id, weight: ``W_pd``, the DWA's mapping weight summed over the posting's
    line occurrences (``line_mapping``: line_sha, dwa_id, weight)."""
    occurrences = pd.DataFrame(
        {
            "posting_id": np.asarray(posting_lines.posting_ids)[posting_lines.posting],
            "line_sha": np.asarray(posting_lines.line_sha)[posting_lines.line],
        }
    )
    merged = occurrences.merge(
        line_mapping[["line_sha", "dwa_id", "weight"]], on="line_sha", how="inner"
    )
    merged["posting_id"] = merged["posting_id"].astype(str)
    merged["dwa_id"] = merged["dwa_id"].astype(str)
    return merged.groupby(["posting_id", "dwa_id"], as_index=False, sort=True)["weight"].sum()


def city_weights(
    postings: pd.DataFrame, occupations: Sequence[str], weighting: str
) -> pd.DataFrame:
    """Links ``group`` (city_code), ``item_id`` (occupation_category), ``weight`` of one period's
    postings, as :func:`dwa_rater.indices.city.city_index` weights occupation indices:
    ``n_{c,o} / N_o`` (national), ``n_{c,o} / N`` (national-all) or ``n_{c,o} / n_c``
    (within-city), counting postings whose occupation is in ``occupations`` (has an index);
    ``N`` counts every posting of the period."""
    chosen = check_weighting(weighting)
    category = postings["occupation_category"].astype(str)
    covered = postings[category.isin({str(o) for o in occupations})]
    counts = (
        covered.assign(
            city_code=covered["city_code"].astype(str),
            occupation_category=covered["occupation_category"].astype(str),
        )
        .groupby(["city_code", "occupation_category"], sort=True)
        .size()
        .rename("n")
        .reset_index()
    )
    if chosen == "national":
        total = counts.groupby("occupation_category")["n"].transform("sum")
    elif chosen == "national-all":
        total = pd.Series(float(len(postings)), index=counts.index)
    else:
        total = counts.groupby("city_code")["n"].transform("sum")
    return pd.DataFrame(
        {
            "group": counts["city_code"],
            "item_id": counts["occupation_category"],
            "weight": counts["n"] / total,
        }
    )


def city_intervals(
    items: pd.DataFrame,
    postings: pd.DataFrame,
    posting_dwas: pd.DataFrame,
    predicted: Sequence[str],
    weighting: str,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per city of one period's ``postings``: the city index of ``weighting`` with its interval
    (``group`` = city_code; see the module docstring for the scaling)."""
    occupation_links = posting_links(posting_dwas, postings, by="occupation_category")
    upper = city_weights(postings, occupation_links["group"].unique().tolist(), weighting)
    table = index_intervals(items, compose_links(upper, occupation_links), predicted, level)
    scale = upper.groupby("group")["weight"].sum()
    factor = table["group"].map(scale).astype(float)
    for column in _SCALED:
        table[column] = pd.to_numeric(table[column], errors="coerce") * factor
    return table


@dataclass(frozen=True)
class LabourMarketIntervals:
    """Interval tables: occupation index per year, per compared period, its change, cities."""

    by_year: pd.DataFrame
    by_period: pd.DataFrame
    change: pd.DataFrame
    city: pd.DataFrame


def labour_market_intervals(
    items: pd.DataFrame,
    postings: pd.DataFrame,
    posting_dwas: pd.DataFrame,
    predicted: Sequence[str],
    *,
    years: Sequence[int],
    periods: tuple[str, str],
    city_periods: Sequence[str],
    weighting: str,
    level: float = 0.95,
) -> LabourMarketIntervals:
    """Intervals of every linear labour-market index (see the module docstring).

    ``items``: an item table (:func:`dwa_rater.inference.items.item_table`) keyed by DWA id;
    ``years``: calendar years of the occupation index; ``periods``: the two compared windows
    (or years); ``city_periods``: the periods of the city table.
    """
    known = set(items["item_id"].astype(str))
    links = posting_dwas[posting_dwas["dwa_id"].astype(str).isin(known)]

    def occupation_links(when: str | int | Period) -> pd.DataFrame:
        return posting_links(links, postings_in(postings, parse_period(when)))

    by_year = []
    for year in years:
        table = index_intervals(items, occupation_links(int(year)), predicted, level)
        by_year.append(table.assign(year=int(year)))
    by_period = []
    for label in periods:
        table = index_intervals(items, occupation_links(label), predicted, level)
        by_period.append(table.assign(period=str(label)))
    change = index_change_intervals(
        items, occupation_links(periods[0]), occupation_links(periods[1]), predicted, level
    )
    city = []
    for label in city_periods:
        window = postings_in(postings, parse_period(label))
        table = city_intervals(items, window, links, predicted, weighting, level)
        city.append(table.assign(period=str(label)))
    return LabourMarketIntervals(
        by_year=_concat(by_year),
        by_period=_concat(by_period),
        change=change,
        city=_concat(city),
    )


def _concat(tables: list[pd.DataFrame]) -> pd.DataFrame:
    tables = [t for t in tables if len(t)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["group"])


def _ci(table: pd.DataFrame, key: str, prefix: str = "") -> pd.DataFrame:
    """The interval columns of ``table`` keyed by ``key`` (``group`` renamed), with ``prefix``."""
    out = table.rename(columns={"group": key, **_FROM_INTERVAL})
    keep = [key, *[c for c in CI_COLUMNS if c in out.columns]]
    out = out[[c for c in keep if c in out.columns] + [c for c in ("year", "period") if c in out]]
    return out.rename(columns={c: f"{prefix}{c}" for c in CI_COLUMNS if c in out.columns})


def with_intervals(
    result: LabourMarketIndices, intervals: LabourMarketIntervals
) -> LabourMarketIndices:
    """``result`` with the interval columns added:
    :data:`CI_COLUMNS` on the occupation index (by year) and the city index (by period);
    ``from_``/``to_``/``change_`` prefixed ones on the occupation change."""
    occupation_index = result.occupation_index.merge(
        _ci(intervals.by_year, "occupation_category"),
        on=["occupation_category", "year"],
        how="left",
    )
    change = result.occupation_change
    by_period = intervals.by_period
    periods = list(by_period["period"].drop_duplicates()) if len(by_period) else []
    for prefix, label in zip(("from_", "to_"), periods, strict=False):
        rows = by_period[by_period["period"] == label].drop(columns="period")
        change = change.merge(
            _ci(rows, "occupation_category", prefix), on="occupation_category", how="left"
        )
    change = change.merge(
        _ci(intervals.change, "occupation_category", "change_"),
        on="occupation_category",
        how="left",
    )
    city = result.city_index.copy()
    city["city_code"] = city["city_code"].astype(str)
    city = city.merge(_ci(intervals.city, "city_code"), on=["city_code", "period"], how="left")
    return replace(
        result,
        occupation_index=occupation_index,
        occupation_change=change,
        city_index=city,
    )
