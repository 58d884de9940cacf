"""All labour-market tables from postings and their scores, in one value."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.city import (
    DEFAULT_CITY_WEIGHTING,
    check_weighting,
    city_index,
    city_index_by_year,
)
from dwa_rater.indices.labour_market.occupations import (
    occupation_index_by_year,
    occupation_index_change,
    occupation_index_change_between,
    occupation_index_in,
    occupation_market_changes,
)
from dwa_rater.indices.labour_market.relationships import index_relationships
from dwa_rater.indices.periods import Period, parse_period, postings_in


@dataclass(frozen=True)
class LabourMarketIndices:
    """Every table of the postings side of the study.

    ``from_label``/``to_label`` name the two compared windows (``2022``, ``2024H1``; the
    years when no windows were given); ``city_weighting`` the city index's weighting
    (:mod:`dwa_rater.indices.city`)."""

    posting_scores: pd.DataFrame
    occupation_index: pd.DataFrame
    occupation_change: pd.DataFrame
    city_index: pd.DataFrame
    market_changes: pd.DataFrame
    relationships: pd.DataFrame
    from_year: int
    to_year: int
    from_label: str = ""
    to_label: str = ""
    city_weighting: str = DEFAULT_CITY_WEIGHTING
    periods: bool = False


def _city_by_window(
    postings: pd.DataFrame,
    posting_scores: pd.DataFrame,
    windows: tuple[Period, Period],
    weighting: str,
) -> pd.DataFrame:
    parts = []
    for window in windows:
        index = occupation_index_in(postings, posting_scores, window)
        series = index.set_index("occupation_category")["index"]
        table = city_index(postings_in(postings, window), series, weighting)
        table.insert(0, "period", window.label)
        table.insert(0, "year", window.year if window.year is not None else window.start.year)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def build_labour_market_indices(
    postings: pd.DataFrame,
    posting_scores: pd.DataFrame,
    from_year: int | None = None,
    to_year: int | None = None,
    *,
    from_period: str | Period | None = None,
    to_period: str | Period | None = None,
    city_weighting: str = DEFAULT_CITY_WEIGHTING,
) -> LabourMarketIndices:
    """Occupation index by year, its change, the city index, market changes and their
    relationships with the occupation index of the first compared year or window.

    Years: default the first and last year present. Windows (``from_period``/``to_period``,
    e.g. ``2022`` and ``2024H1`` as the report; both or neither) replace the years: the
    change, market changes, relationships and city index are then computed on the postings of
    each window. The city index uses ``city_weighting`` (default ``national``, the report's)."""
    check_weighting(city_weighting)
    index_by_year = occupation_index_by_year(postings, posting_scores)
    if index_by_year.empty:
        raise DataError("no posting has a score: check the mapping and the DWA score table")
    if (from_period is None) != (to_period is None):
        raise ConfigError("give both periods to compare (from and to), or neither")
    if from_period is not None and to_period is not None:
        if from_year is not None or to_year is not None:
            raise ConfigError("give years or periods to compare, not both")
        windows = (parse_period(from_period), parse_period(to_period))
        if windows[0].label == windows[1].label:
            raise DataError(f"need two different periods to compare (got {windows[0]} twice)")
        change = occupation_index_change_between(postings, posting_scores, *windows)
        market = occupation_market_changes(postings, windows[0], windows[1])
        city = _city_by_window(postings, posting_scores, windows, city_weighting)
        base = occupation_index_in(postings, posting_scores, windows[0])
        relationships = index_relationships(base.set_index("occupation_category")["index"], market)
        start = int(change["from_year"].iloc[0]) if len(change) else windows[0].start.year
        end = int(change["to_year"].iloc[0]) if len(change) else windows[1].start.year
        return LabourMarketIndices(
            posting_scores,
            index_by_year,
            change,
            city,
            market,
            relationships,
            start,
            end,
            windows[0].label,
            windows[1].label,
            city_weighting,
            periods=True,
        )
    years = sorted(index_by_year["year"].unique())
    start = int(years[0]) if from_year is None else from_year
    end = int(years[-1]) if to_year is None else to_year
    if start == end:
        raise DataError(f"need two different years to compare (got {start} and {end})")
    change = occupation_index_change(index_by_year, start, end)
    city = city_index_by_year(postings, index_by_year, city_weighting)
    city.insert(1, "period", city["year"].astype(str))
    market = occupation_market_changes(postings, start, end)
    base = index_by_year[index_by_year["year"] == start].set_index("occupation_category")["index"]
    relationships = index_relationships(base, market)
    return LabourMarketIndices(
        posting_scores,
        index_by_year,
        change,
        city,
        market,
        relationships,
        start,
        end,
        str(start),
        str(end),
        city_weighting,
    )
