"""City LLM-exposure index: occupation indices weighted by a city's postings.

The 2024 PKU NSD / Zhaopin report: 「在职业“大语言模型影响指数”的基础上，将城市中各类职业的
招聘岗位数量占全国各职业招聘总数的比例作为权重，加权计算得出该城市的“大语言模型影响指数”」
and 「这些城市的经济体量和招聘岗位量全国领先，因此权重较高」. Three weightings, for postings of
one period (a year or any :class:`~dwa_rater.indices.periods.Period`); ``n_{c,o}`` is the
number of city c's postings in occupation o, ``I_o`` the occupation index (0-1):

- ``national`` (the report's wording, the default): ``index_c = sum_o (n_{c,o} / N_o) * I_o``,
  with ``N_o`` the national postings of occupation o in the period. The weights of a city
  are its shares of each occupation's national postings, so larger cities get larger values;
  summed over cities the index equals ``sum_o I_o``.
- ``national-all``: ``index_c = sum_o (n_{c,o} / N) * I_o``, with ``N`` all national postings
  of the period (every occupation, with or without an index). Also grows with city size.
- ``within-city``: ``index_c = sum_o (n_{c,o} / n_c) * I_o``, with ``n_c`` the city's postings
  whose occupation has an index: the mean occupation index over the city's own postings, a
  size-free average (an earlier version of this tool used it as the only city index).

Occupations without an index contribute nothing (and are left out of ``n_c`` for
``within-city``); ``coverage`` is the share (0-1) of the city's postings whose occupation has
an index. Rank 1 is the highest index (ties share the lower rank).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.periods import Period, parse_period, postings_in

CityWeighting = Literal["national", "national-all", "within-city"]
CITY_WEIGHTINGS: tuple[str, ...] = get_args(CityWeighting)
DEFAULT_CITY_WEIGHTING: CityWeighting = "national"

#: What each weighting means, for table and plot titles.
WEIGHTING_DESCRIPTIONS: dict[str, str] = {
    "national": "weights n(city, occ) / N(occ): the city's share of each occupation's national "
    "postings (the report's wording)",
    "national-all": "weights n(city, occ) / N: the city's postings in the occupation over all "
    "national postings",
    "within-city": "weights n(city, occ) / n(city): the city's own posting mix (size-free mean)",
}

CITY_POSTING_COLUMNS: tuple[str, ...] = ("city_code", "city_name", "occupation_category", "date")
CITY_COLUMNS: tuple[str, ...] = (
    "city_code",
    "city_name",
    "index",
    "rank",
    "n_postings",
    "coverage",
    "weighting",
)


def check_weighting(weighting: str) -> CityWeighting:
    """``weighting`` if it is one of :data:`CITY_WEIGHTINGS`, else a :class:`ConfigError`."""
    if weighting not in CITY_WEIGHTINGS:
        raise ConfigError(
            f"unknown city weighting {weighting!r} (use {', '.join(CITY_WEIGHTINGS)})"
        )
    return weighting  # type: ignore[return-value]


def city_index(
    postings: pd.DataFrame,
    occupation_index: pd.Series,
    weighting: str = DEFAULT_CITY_WEIGHTING,
) -> pd.DataFrame:
    """City index over all of ``postings`` (already restricted to one period); see the module
    docstring for the formulas. Returns :data:`CITY_COLUMNS`, sorted by rank.

    ``occupation_index``: ``I_o`` per occupation_category (NaN values count as missing).
    """
    chosen = check_weighting(weighting)
    if postings.empty:
        raise DataError("no postings to weight")
    category = postings["occupation_category"].astype(str)
    index = occupation_index.copy()
    index.index = index.index.astype(str)
    index = index[~index.index.duplicated()].astype(float)
    value = category.map(index).to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "city_code": postings["city_code"].astype(str).to_numpy(),
            "occupation_category": category.to_numpy(),
            "value": value,
        }
    )
    covered = frame[~np.isnan(frame["value"])]
    if covered.empty:
        raise DataError("no posting's occupation has an index: check the occupation names")
    totals = frame.groupby("city_code", sort=True).size()
    if chosen == "national":
        national = covered.groupby("occupation_category").size()
        weight = 1.0 / covered["occupation_category"].map(national).to_numpy(dtype=float)
    elif chosen == "national-all":
        weight = np.full(len(covered), 1.0 / len(frame))
    else:
        in_city = covered.groupby("city_code").size()
        weight = 1.0 / covered["city_code"].map(in_city).to_numpy(dtype=float)
    # Summing weight x I_o over a city's postings = sum over occupations of n_{c,o} x w x I_o.
    contribution = pd.Series(weight * covered["value"].to_numpy(), index=covered.index)
    summed = contribution.groupby(covered["city_code"]).sum()
    names = (
        postings.assign(city_code=postings["city_code"].astype(str))
        .groupby("city_code", sort=True)["city_name"]
        .first()
    )
    counts = covered.groupby("city_code").size()
    out = pd.DataFrame(
        {
            "city_name": names.reindex(totals.index),
            "index": summed.reindex(totals.index),
            "n_postings": totals.astype(np.int64),
            "coverage": counts.reindex(totals.index).fillna(0) / totals,
        }
    )
    out.index.name = "city_code"
    out["rank"] = out["index"].rank(ascending=False, method="min").astype("Int64")
    out["weighting"] = chosen
    out = out.reset_index().sort_values(["rank", "city_code"], na_position="last")
    return out[list(CITY_COLUMNS)].reset_index(drop=True)


def city_index_for_period(
    postings: pd.DataFrame,
    occupation_index: pd.Series,
    period: Period | str | int,
    weighting: str = DEFAULT_CITY_WEIGHTING,
) -> pd.DataFrame:
    """:func:`city_index` for the postings dated in ``period``, with a ``period`` column."""
    window = parse_period(period)
    out = city_index(postings_in(postings, window), occupation_index, weighting)
    out.insert(0, "period", window.label)
    return out


def city_index_by_year(
    postings: pd.DataFrame, index_by_year: pd.DataFrame, weighting: str = DEFAULT_CITY_WEIGHTING
) -> pd.DataFrame:
    """:func:`city_index` for every year of ``index_by_year`` (occupation_category, year,
    index), each year's postings weighted with that year's occupation index."""
    years = pd.to_datetime(postings["date"]).dt.year
    parts = []
    for year, rows in index_by_year.groupby("year", sort=True):
        series = rows.set_index("occupation_category")["index"]
        chosen = postings[(years == int(year)).to_numpy()]
        if chosen.empty:
            continue
        parts.append(city_index(chosen, series, weighting).assign(year=int(year)))
    if not parts:
        raise DataError("no occupation index to weight (no scored postings)")
    out = pd.concat(parts, ignore_index=True)
    return out[["year", *[c for c in out.columns if c != "year"]]]


def _read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: {what} not found")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read {what} ({exc})") from exc


def read_city_postings(path: Path) -> pd.DataFrame:
    """Postings with at least :data:`CITY_POSTING_COLUMNS`; dates parsed (clear errors)."""
    frame = _read_table(path, "postings file")
    missing = [c for c in CITY_POSTING_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = frame.copy()
    dates = pd.to_datetime(frame["date"], errors="coerce", format="mixed")
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path} row {row + 1}: date {frame['date'].iloc[row]!r} is not a date")
    frame["date"] = dates
    for column in ("city_code", "occupation_category"):
        empty = frame[column].astype(str).str.strip() == ""
        if empty.any():
            row = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataError(f"{path} row {row + 1}: {column} is empty")
    return frame


def read_occupation_index(path: Path) -> pd.DataFrame:
    """An occupation-index file: ``occupation_category, index`` and optionally ``year`` or
    ``period`` (e.g. ``occupation_index.csv`` of ``postings indices``)."""
    frame = _read_table(path, "occupation-index file")
    missing = [c for c in ("occupation_category", "index") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    frame = frame.copy()
    values = pd.to_numeric(frame["index"], errors="coerce")
    bad = values.isna() & (frame["index"].astype(str).str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path} row {row + 1}: index {frame['index'].iloc[row]!r} is not a number")
    frame["index"] = values
    if "year" in frame.columns:
        years = pd.to_numeric(frame["year"], errors="coerce")
        if years.isna().any():
            raise DataError(f"{path}: column year holds a value that is not a year")
        frame["year"] = years.astype(np.int64)
    return frame


def _index_rows(
    index: pd.DataFrame, year: int | None, period: Period | None, source: str
) -> pd.Series:
    rows = index
    if "period" in index.columns and period is not None:
        rows = index[index["period"].astype(str) == period.label]
        if rows.empty:
            raise DataError(f"{source}: no rows for period {period}")
    elif "year" in index.columns:
        wanted = year if year is not None else period.year if period is not None else None
        if wanted is None:
            present = sorted(index["year"].unique())
            if len(present) > 1:
                hint = "; pass --year" if period is None else " (the period spans two years)"
                raise ConfigError(f"{source} has several years {present}{hint}")
            wanted = int(present[0])
        rows = index[index["year"] == wanted]
        if rows.empty:
            raise DataError(f"{source}: no rows for year {wanted}")
    duplicated = rows["occupation_category"].astype(str).duplicated()
    if duplicated.any():
        name = rows["occupation_category"].astype(str)[duplicated].iloc[0]
        raise DataError(f"{source}: occupation {name!r} appears twice for the same year")
    return rows.set_index(rows["occupation_category"].astype(str))["index"]


def city_index_from_files(
    postings_path: Path,
    occupation_index_path: Path,
    *,
    year: int | None = None,
    period: str | None = None,
    weighting: str = DEFAULT_CITY_WEIGHTING,
) -> pd.DataFrame:
    """``dwa-rater indices city``: read both files, choose the postings of ``year`` (or
    ``period``; default all postings) and the index rows of that year, and weight.

    The result has :data:`CITY_COLUMNS` plus ``period`` (the window used, or ``all``)."""
    check_weighting(weighting)
    if year is not None and period is not None:
        raise ConfigError("give --year or --period, not both")
    postings = read_city_postings(postings_path)
    index = read_occupation_index(occupation_index_path)
    chosen_window = period if period is not None else year
    window = parse_period(chosen_window) if chosen_window is not None else None
    series = _index_rows(index, year, window, str(occupation_index_path))
    chosen = postings_in(postings, window) if window is not None else postings
    out = city_index(chosen, series, weighting)
    out.insert(len(out.columns), "period", window.label if window is not None else "all")
    return out


def write_city_index(table: pd.DataFrame, out: Path) -> Path:
    """Write the city table as CSV (UTF-8 with BOM for spreadsheet programs) or Parquet."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    if out.suffix.lower() == ".parquet":
        table.to_parquet(temporary, index=False)
    else:
        table.to_csv(temporary, index=False, encoding="utf-8-sig")
    temporary.replace(out)
    return out


def compare_city_ranks(
    llm_index: pd.DataFrame, ai_scores: pd.DataFrame, ai_city_column: str = "city"
) -> pd.DataFrame:
    """The report's comparison of the two city rankings
    (「将主要城市的“大语言模型影响指数”与“人工智能发展指数”排名进行对比」).

    ``llm_index``: city_name, index (:func:`city_index`); ``ai_scores``: city, score (the AI
    development index). Both are re-ranked among the cities present in both (rank 1 = highest,
    ties share the lower rank). Returns city, llm_index, llm_rank, ai_score, ai_rank,
    rank_difference = ai_rank - llm_rank (positive: the city ranks higher on LLM exposure than
    on AI development, as the report says of 成都, 郑州, 西安), sorted by rank_difference."""
    llm = llm_index.assign(city=llm_index["city_name"].astype(str).str.strip())
    ai = ai_scores.assign(city=ai_scores[ai_city_column].astype(str).str.strip())
    both = llm[["city", "index"]].merge(ai[["city", "score"]], on="city", how="inner")
    both = both.dropna(subset=["index", "score"])
    if both.empty:
        raise DataError("no city is in both rankings (compare city names)")
    out = pd.DataFrame(
        {
            "city": both["city"],
            "llm_index": both["index"].astype(float),
            "llm_rank": both["index"].rank(ascending=False, method="min").astype(np.int64),
            "ai_score": both["score"].astype(float),
            "ai_rank": both["score"].rank(ascending=False, method="min").astype(np.int64),
        }
    )
    out["rank_difference"] = out["ai_rank"] - out["llm_rank"]
    return out.sort_values(["rank_difference", "city"], ascending=[False, True]).reset_index(
        drop=True
    )
