"""Occupation and city indices, and market shares per occupation, from scored postings.

Scores stay on the 0-1 scale of the DWA score table; shares are in percent (0-100) and their
changes in percentage points.

- Occupation index (:func:`occupation_index_by_year`): the mean posting score per occupation
  category and calendar year (postings without a score are left out); its change between two
  years (:func:`occupation_index_change`).
- City LLM-exposure index (:func:`city_exposure_index`): ``sum_o share_{c,o} * I_o``, where
  ``share_{c,o}`` is the share of city c's postings (in the year) that are in occupation o,
  computed over the postings whose occupation has an index, and ``I_o`` the occupation index
  of that year. Rank 1 is the most exposed city (ties share the lower rank).
- City index with the report's weighting and its variants: :mod:`dwa_rater.indices.city`
  (:func:`city_exposure_index` here is its ``within-city`` weighting, kept for callers).
- Occupation index of a time window (:func:`occupation_index_in`) and its change between two
  windows (:func:`occupation_index_change_between`), e.g. 2022 against 2024H1 as the report.
- Market changes per occupation (:func:`occupation_market_changes`), between two years or
  windows (:class:`~dwa_rater.indices.periods.Period`): posting
  share (the occupation's postings / all postings of the year), applicant share (applications
  to the occupation's postings / all applications of the year; postings without an applicant
  count are left out), share of postings requiring a bachelor's degree or more and share
  requiring 3+ years of experience (both among postings stating the requirement).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.periods import Period, parse_period
from dwa_rater.indices.postings import EDUCATION_LEVELS

#: A year (2022) or a window (``"2024H1"`` or a :class:`Period`).
When = int | str | Period

_BACHELOR = EDUCATION_LEVELS.index("bachelor")


def _with_scores(postings: pd.DataFrame, posting_scores: pd.DataFrame) -> pd.DataFrame:
    position = pd.Index(posting_scores["posting_id"].astype(str)).get_indexer(
        postings["posting_id"].astype(str)
    )
    score = posting_scores["score"].to_numpy(dtype=float)
    values = np.where(position >= 0, score[np.maximum(position, 0)], np.nan)
    return pd.DataFrame(
        {
            "occupation_category": postings["occupation_category"].to_numpy(),
            "city_code": postings["city_code"].to_numpy(),
            "city_name": postings["city_name"].to_numpy(),
            "year": pd.to_datetime(postings["date"]).dt.year.to_numpy(),
            "score": values,
        }
    )


def occupation_index_by_year(postings: pd.DataFrame, posting_scores: pd.DataFrame) -> pd.DataFrame:
    """occupation_category, year, index (mean posting score), n_postings (scored), sorted."""
    frame = _with_scores(postings, posting_scores)
    frame = frame[frame["score"].notna()]
    grouped = frame.groupby(["occupation_category", "year"], sort=True)["score"]
    out = pd.DataFrame({"index": grouped.mean(), "n_postings": grouped.size()}).reset_index()
    out["year"] = out["year"].astype(np.int64)
    return out


def _years(frame: pd.DataFrame, from_year: int, to_year: int) -> None:
    known = set(frame["year"].unique())
    for year in (from_year, to_year):
        if year not in known:
            raise DataError(f"no postings in {year} (years present: {sorted(known)})")


def occupation_index_change(
    index_by_year: pd.DataFrame, from_year: int, to_year: int
) -> pd.DataFrame:
    """occupation_category, index_from, index_to, change (to minus from), for both years present."""
    _years(index_by_year, from_year, to_year)
    wide = index_by_year.pivot(index="occupation_category", columns="year", values="index")
    out = pd.DataFrame(
        {
            "index_from": wide[from_year],
            "index_to": wide[to_year],
        }
    )
    out["change"] = out["index_to"] - out["index_from"]
    out.insert(0, "from_year", from_year)
    out.insert(1, "to_year", to_year)
    return out.reset_index()


def city_exposure_index(
    postings: pd.DataFrame, occupation_index: pd.Series, year: int | None = None
) -> pd.DataFrame:
    """city_code, city_name, index, rank, n_postings, coverage for one year (or all postings).

    ``occupation_index``: index per occupation_category. ``coverage`` is the share (0-1) of the
    city's postings whose occupation has an index; shares are taken over those postings.
    """
    years = pd.to_datetime(postings["date"]).dt.year
    chosen = postings if year is None else postings[years == year]
    if chosen.empty:
        raise DataError(f"no postings in {year}")
    index = chosen["occupation_category"].map(occupation_index).astype(float)
    frame = pd.DataFrame({"city_code": chosen["city_code"].to_numpy(), "index": index.to_numpy()})
    totals = frame.groupby("city_code", sort=True).size()
    covered = frame[frame["index"].notna()]
    # Mean of the occupation index over covered postings = sum over occupations of share x index.
    summary = covered.groupby("city_code", sort=True)["index"].agg(["mean", "size"])
    names = chosen.groupby("city_code", sort=True)["city_name"].first()
    out = pd.DataFrame(
        {
            "city_name": names,
            "index": summary["mean"].reindex(totals.index),
            "n_postings": totals,
            "coverage": summary["size"].reindex(totals.index).fillna(0) / totals,
        }
    )
    out["rank"] = out["index"].rank(ascending=False, method="min").astype("Int64")
    out = out.reset_index().sort_values(["rank", "city_code"], na_position="last")
    return out[["city_code", "city_name", "index", "rank", "n_postings", "coverage"]].reset_index(
        drop=True
    )


def city_exposure_index_by_year(
    postings: pd.DataFrame, index_by_year: pd.DataFrame
) -> pd.DataFrame:
    """:func:`city_exposure_index` for every year, each with that year's occupation index."""
    parts = []
    for year, rows in index_by_year.groupby("year", sort=True):
        series = rows.set_index("occupation_category")["index"]
        parts.append(city_exposure_index(postings, series, int(year)).assign(year=int(year)))
    if not parts:
        raise DataError("no occupation index to weight (no scored postings)")
    out = pd.concat(parts, ignore_index=True)
    return out[["year", *[c for c in out.columns if c != "year"]]]


def occupation_index_in(
    postings: pd.DataFrame, posting_scores: pd.DataFrame, when: When
) -> pd.DataFrame:
    """occupation_category, index (mean posting score), n_postings (scored) in one window."""
    window = parse_period(when)
    frame = _with_scores(postings, posting_scores)
    frame = frame[window.mask(postings["date"]) & frame["score"].notna().to_numpy()]
    grouped = frame.groupby("occupation_category", sort=True)["score"]
    return pd.DataFrame({"index": grouped.mean(), "n_postings": grouped.size()}).reset_index()


def _labels(out: pd.DataFrame, start: Period, end: Period) -> None:
    """Columns from_year/to_year (a window's year, or its first) and from_period/to_period."""
    out.insert(0, "from_year", start.year if start.year is not None else int(start.start.year))
    out.insert(1, "to_year", end.year if end.year is not None else int(end.start.year))
    out.insert(2, "from_period", start.label)
    out.insert(3, "to_period", end.label)


def occupation_index_change_between(
    postings: pd.DataFrame, posting_scores: pd.DataFrame, from_when: When, to_when: When
) -> pd.DataFrame:
    """Like :func:`occupation_index_change` for two windows: from_year, to_year, from_period,
    to_period, occupation_category, index_from, index_to, change (to minus from)."""
    start, end = parse_period(from_when), parse_period(to_when)
    before = occupation_index_in(postings, posting_scores, start)
    after = occupation_index_in(postings, posting_scores, end)
    for window, table in ((start, before), (end, after)):
        if table.empty:
            raise DataError(f"no scored postings in {window}")
    out = pd.DataFrame(
        {
            "index_from": before.set_index("occupation_category")["index"],
            "index_to": after.set_index("occupation_category")["index"],
        }
    )
    out.index.name = "occupation_category"
    out["change"] = out["index_to"] - out["index_from"]
    out = out.reset_index()
    _labels(out, start, end)
    return out


def occupation_market_shares(postings: pd.DataFrame, year: When) -> pd.DataFrame:
    """Per occupation in ``year`` (a year or a window; percent): posting_share,
    applicant_share, bachelor_share, experience3_share, plus the counts n_postings and
    applicants."""
    rows = postings[parse_period(year).mask(postings["date"])]
    if rows.empty:
        raise DataError(f"no postings in {year}")
    category = rows["occupation_category"]
    education = pd.Categorical(rows["education"], categories=EDUCATION_LEVELS, ordered=True)
    codes = pd.Series(education.codes, index=rows.index)
    experience = pd.to_numeric(rows["experience_years_min"], errors="coerce")
    applicants = (
        pd.to_numeric(rows["applicants"], errors="coerce")
        if "applicants" in rows.columns
        else pd.Series(np.nan, index=rows.index)
    )
    frame = pd.DataFrame(
        {
            "occupation_category": category,
            "one": 1.0,
            "applicants": applicants.astype(float),
            "education_known": (codes >= 0).astype(float),
            "bachelor": (codes >= _BACHELOR).astype(float),
            "experience_known": experience.notna().astype(float),
            "experience3": (experience >= 3).astype(float),
        }
    )
    sums = frame.groupby("occupation_category", sort=True).sum(min_count=1)
    total_applicants = frame["applicants"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame(
            {
                "n_postings": sums["one"].astype(np.int64),
                "applicants": sums["applicants"],
                "posting_share": 100 * sums["one"] / sums["one"].sum(),
                "applicant_share": 100 * sums["applicants"] / total_applicants
                if total_applicants > 0
                else np.nan,
                "bachelor_share": 100
                * sums["bachelor"]
                / sums["education_known"].where(sums["education_known"] > 0),
                "experience3_share": 100
                * sums["experience3"]
                / sums["experience_known"].where(sums["experience_known"] > 0),
            }
        )
    return out.reset_index()


_SHARES = ("posting_share", "applicant_share", "bachelor_share", "experience3_share")


def occupation_market_changes(
    postings: pd.DataFrame, from_year: When, to_year: When
) -> pd.DataFrame:
    """Per occupation: each share of :func:`occupation_market_shares` in both years or windows
    (suffixes ``_from``/``_to``) and its change in percentage points (suffix ``_change``).
    Columns from_year/to_year hold the years; with windows also from_period/to_period."""
    before = occupation_market_shares(postings, from_year).set_index("occupation_category")
    after = occupation_market_shares(postings, to_year).set_index("occupation_category")
    both = before.index.union(after.index)
    out = pd.DataFrame(index=both)
    out.index.name = "occupation_category"
    for column in _SHARES:
        start = before[column].reindex(both)
        end = after[column].reindex(both)
        # An occupation absent in a year holds 0% of that year's postings (and of its
        # applicants, when the year has applicant counts at all).
        if column == "posting_share" or (
            column == "applicant_share" and before["applicants"].notna().any()
        ):
            start = start.fillna(0.0)
        if column == "posting_share" or (
            column == "applicant_share" and after["applicants"].notna().any()
        ):
            end = end.fillna(0.0)
        out[f"{column}_from"] = start
        out[f"{column}_to"] = end
        out[f"{column}_change"] = end - start
    if isinstance(from_year, int) and isinstance(to_year, int):
        out.insert(0, "from_year", from_year)
        out.insert(1, "to_year", to_year)
    else:
        _labels(out, parse_period(from_year), parse_period(to_year))
    return out.reset_index()
