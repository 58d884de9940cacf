"""All labour-market tables from postings and their scores, in one value."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.labour_market.occupations import (
    city_exposure_index_by_year,
    occupation_index_by_year,
    occupation_index_change,
    occupation_market_changes,
)
from dwa_rater.indices.labour_market.relationships import index_relationships


@dataclass(frozen=True)
class LabourMarketIndices:
    """Every table of the postings side of the study."""

    posting_scores: pd.DataFrame
    occupation_index: pd.DataFrame
    occupation_change: pd.DataFrame
    city_index: pd.DataFrame
    market_changes: pd.DataFrame
    relationships: pd.DataFrame
    from_year: int
    to_year: int


def build_labour_market_indices(
    postings: pd.DataFrame,
    posting_scores: pd.DataFrame,
    from_year: int | None = None,
    to_year: int | None = None,
) -> LabourMarketIndices:
    """Occupation index by year and change, city index by year, market changes and their
    relationships with the occupation index of ``from_year`` (default: first and last year)."""
    index_by_year = occupation_index_by_year(postings, posting_scores)
    if index_by_year.empty:
        raise DataError("no posting has a score: check the mapping and the DWA score table")
    years = sorted(index_by_year["year"].unique())
    start = int(years[0]) if from_year is None else from_year
    end = int(years[-1]) if to_year is None else to_year
    if start == end:
        raise DataError(f"need two different years to compare (got {start} and {end})")
    change = occupation_index_change(index_by_year, start, end)
    city = city_exposure_index_by_year(postings, index_by_year)
    market = occupation_market_changes(postings, start, end)
    base = index_by_year[index_by_year["year"] == start].set_index("occupation_category")["index"]
    relationships = index_relationships(base, market)
    return LabourMarketIndices(
        posting_scores, index_by_year, change, city, market, relationships, start, end
    )
