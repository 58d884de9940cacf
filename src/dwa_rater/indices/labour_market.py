"""Labour-market indices from scored postings, as in the 2024 PKU NSD / Zhaopin report.

All functions are pure and vectorised (pandas/numpy); scores stay on the 0-1 scale of the DWA
score table; shares are in percent (0-100) and their changes in percentage points.

- Posting score (:func:`score_postings`): the weighted mean of the scores of the posting's DWAs,
  ``sum_d W_d s_d / sum_d W_d``, where ``W_d`` is the DWA's weight summed over the posting's
  lines (:mod:`dwa_rater.indices.mapping`). DWAs without a score are left out of both sums; a
  posting with no scored DWA has no score (NaN).
- Occupation index (:func:`occupation_index_by_year`): the mean posting score per occupation
  category and calendar year (postings without a score are left out); its change between two
  years (:func:`occupation_index_change`).
- City LLM-exposure index (:func:`city_exposure_index`): ``sum_o share_{c,o} * I_o``, where
  ``share_{c,o}`` is the share of city c's postings (in the year) that are in occupation o,
  computed over the postings whose occupation has an index, and ``I_o`` the occupation index
  of that year. Rank 1 is the most exposed city (ties share the lower rank).
- Market changes per occupation (:func:`occupation_market_changes`), between two years: posting
  share (the occupation's postings / all postings of the year), applicant share (applications
  to the occupation's postings / all applications of the year; postings without an applicant
  count are left out), share of postings requiring a bachelor's degree or more and share
  requiring 3+ years of experience (both among postings stating the requirement).
- Relationships across occupations (:func:`index_relationships`): Pearson r with its two-sided
  p-value and the OLS slope of each change on the occupation index (of the first year) with a
  t-based 95% interval (closed form, standard simple-regression formulas).
- AI talent demand (:func:`ai_talent_demand`): for given AI occupations (matched on the
  occupation category or, as a substring, the title), year-on-year posting growth, mean
  monthly salary (mean of each posting's salary midpoint) and its growth, education and
  experience distributions and the top-N skills.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.mapping import PostingLines
from dwa_rater.indices.postings import EDUCATION_LEVELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.report.html import HtmlReport

#: A function (posting lines, line mapping, DWA scores) -> posting scores, like
#: :func:`score_postings`.
PostingScorer = Callable[[PostingLines, pd.DataFrame, pd.Series], pd.DataFrame]

#: Score columns a DWA score table offers (see :mod:`dwa_rater.indices.scores`).
MEASURES: tuple[str, ...] = ("alpha", "beta", "gamma", "score")

#: Variables related to the occupation index, with axis labels (units included).
RELATIONSHIP_VARIABLES: Mapping[str, str] = {
    "posting_share_change": "Change in posting share (percentage points)",
    "applicant_share_change": "Change in applicant share (percentage points)",
    "bachelor_share_change": "Change in share requiring a bachelor's degree or more (points)",
    "experience3_share_change": "Change in share requiring 3+ years' experience (points)",
}

#: Education groups of the AI talent tables (the report quotes master's/PhD together).
EDUCATION_GROUPS: Mapping[str, tuple[str, ...]] = {
    "below_bachelor": ("none", "high_school", "vocational", "associate"),
    "bachelor": ("bachelor",),
    "master_or_phd": ("master", "phd"),
}
#: Experience bins of the AI talent tables: label -> [low, high) in years.
EXPERIENCE_BINS: Mapping[str, tuple[float, float]] = {
    "<1": (0.0, 1.0),
    "1-3": (1.0, 3.0),
    "3-5": (3.0, 5.0),
    "5+": (5.0, float("inf")),
}
_BACHELOR = EDUCATION_LEVELS.index("bachelor")


# --- Posting scores ------------------------------------------------------------------------


def dwa_score_series(score_table: pd.DataFrame, measure: str = "beta") -> pd.Series:
    """DWA score per ``dwa_id`` from a score table (item_id + alpha/beta/gamma/score columns).

    ``measure`` picks the column (default ``beta``, the headline measure of Eloundou et al.).
    Rows without a value are dropped.
    """
    if measure not in MEASURES:
        raise ConfigError(f"measure must be one of {', '.join(MEASURES)}, not {measure!r}")
    key = "item_id" if "item_id" in score_table.columns else "dwa_id"
    if key not in score_table.columns or measure not in score_table.columns:
        raise DataError(f"score table needs columns item_id (or dwa_id) and {measure}")
    values = pd.to_numeric(score_table[measure], errors="coerce").astype(float)
    series = pd.Series(
        values.to_numpy(), index=score_table[key].astype(str).to_numpy(), name=measure
    )
    series = series[series.notna()]
    if series.empty:
        raise DataError(f"score table has no {measure} values")
    if series.index.duplicated().any():
        raise DataError(f"score table lists DWA {series.index[series.index.duplicated()][0]} twice")
    series.index.name = "dwa_id"
    return series


def score_postings(
    posting_lines: PostingLines, line_mapping: pd.DataFrame, dwa_scores: pd.Series
) -> pd.DataFrame:
    """posting_id, score, matched_weight, n_lines, n_matched_lines (postings in input order).

    ``line_mapping``: line_sha, dwa_id, weight; ``dwa_scores``: score per dwa_id.
    ``matched_weight`` is the total weight of the posting's scored DWAs (with per-line weights
    summing to 1, the number of lines matched to a scored DWA). Linear in the number of line
    occurrences: per-line numerators and denominators are summed with ``np.bincount``.
    """
    scores = line_mapping["dwa_id"].map(dwa_scores).to_numpy(dtype=np.float64)
    weights = line_mapping["weight"].to_numpy(dtype=np.float64)
    lines = pd.Index(posting_lines.line_sha).get_indexer(line_mapping["line_sha"])
    usable = (lines >= 0) & ~np.isnan(scores)
    n_distinct = len(posting_lines.lines)
    line_numerator = np.bincount(
        lines[usable], weights=weights[usable] * scores[usable], minlength=n_distinct
    )
    line_denominator = np.bincount(lines[usable], weights=weights[usable], minlength=n_distinct)
    n_postings = len(posting_lines.posting_ids)
    occurrence_denominator = line_denominator[posting_lines.line]
    numerator = np.bincount(
        posting_lines.posting,
        weights=line_numerator[posting_lines.line],
        minlength=n_postings,
    )
    denominator = np.bincount(
        posting_lines.posting, weights=occurrence_denominator, minlength=n_postings
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(denominator > 0, numerator / denominator, np.nan)
    return pd.DataFrame(
        {
            "posting_id": posting_lines.posting_ids,
            "score": score,
            "matched_weight": denominator,
            "n_lines": np.bincount(posting_lines.posting, minlength=n_postings),
            "n_matched_lines": np.bincount(
                posting_lines.posting,
                weights=(occurrence_denominator > 0).astype(np.float64),
                minlength=n_postings,
            ).astype(np.int64),
        }
    )


def score_postings_from_dwas(posting_dwas: pd.DataFrame, dwa_scores: pd.Series) -> pd.DataFrame:
    """posting_id, score, matched_weight from a posting_id, dwa_id, weight table (same formula)."""
    scores = posting_dwas["dwa_id"].map(dwa_scores).astype(float)
    usable = posting_dwas.assign(score=scores)[scores.notna()]
    usable = usable.assign(product=usable["weight"] * usable["score"])
    grouped = usable.groupby("posting_id", sort=False)[["product", "weight"]].sum()
    everyone = pd.Index(posting_dwas["posting_id"].unique(), name="posting_id")
    grouped = grouped.reindex(everyone)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = grouped["product"] / grouped["weight"].where(grouped["weight"] > 0)
    return pd.DataFrame(
        {
            "posting_id": everyone.to_numpy(),
            "score": score.to_numpy(dtype=float),
            "matched_weight": grouped["weight"].fillna(0.0).to_numpy(dtype=float),
        }
    )


# --- Occupation and city indices ------------------------------------------------------------


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


# --- Market changes and relationships --------------------------------------------------------


def occupation_market_shares(postings: pd.DataFrame, year: int) -> pd.DataFrame:
    """Per occupation in ``year`` (percent): posting_share, applicant_share, bachelor_share,
    experience3_share, plus the counts n_postings and applicants."""
    years = pd.to_datetime(postings["date"]).dt.year
    rows = postings[years == year]
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


def occupation_market_changes(postings: pd.DataFrame, from_year: int, to_year: int) -> pd.DataFrame:
    """Per occupation: each share of :func:`occupation_market_shares` in both years (suffixes
    ``_from``/``_to``) and its change in percentage points (suffix ``_change``)."""
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
    out.insert(0, "from_year", from_year)
    out.insert(1, "to_year", to_year)
    return out.reset_index()


@dataclass(frozen=True)
class LinearFit:
    """Pearson correlation and OLS fit of y on x (two-sided tests, t-based interval)."""

    n: int
    pearson_r: float
    pearson_p: float
    slope: float
    slope_se: float
    slope_ci_low: float
    slope_ci_high: float
    intercept: float


def linear_fit(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> LinearFit:
    """Simple regression of ``y`` on ``x`` with the textbook closed forms.

    slope = Sxy / Sxx, intercept = mean(y) - slope mean(x), se(slope) = sqrt(SSE / (n - 2) /
    Sxx), interval slope +- t_{(1+confidence)/2, n-2} se; r = Sxy / sqrt(Sxx Syy), with p from
    t = r sqrt((n - 2) / (1 - r^2)) on n - 2 degrees of freedom (the same test as the slope's).
    Pairs with a missing value are dropped. With fewer than 3 pairs, or no spread in x, the
    statistics that need them are NaN.
    """
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    keep = ~(np.isnan(xs) | np.isnan(ys))
    xs, ys = xs[keep], ys[keep]
    n = len(xs)
    nan = float("nan")
    if n < 2:
        return LinearFit(n, nan, nan, nan, nan, nan, nan, nan)
    dx, dy = xs - xs.mean(), ys - ys.mean()
    sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
    if sxx == 0:
        return LinearFit(n, nan, nan, nan, nan, nan, nan, nan)
    slope = sxy / sxx
    intercept = float(ys.mean() - slope * xs.mean())
    r = sxy / np.sqrt(sxx * syy) if syy > 0 else nan
    if n < 3:
        return LinearFit(n, float(r), nan, slope, nan, nan, nan, intercept)
    sse = max(syy - slope * sxy, 0.0)
    se = float(np.sqrt(sse / (n - 2) / sxx))
    quantile = float(stats.t.ppf((1 + confidence) / 2, n - 2))
    if np.isnan(r) or abs(r) >= 1:
        p = 0.0 if not np.isnan(r) else nan
    else:
        t_stat = r * np.sqrt((n - 2) / (1 - r * r))
        p = float(2 * stats.t.sf(abs(t_stat), n - 2))
    return LinearFit(
        n, float(r), p, slope, se, slope - quantile * se, slope + quantile * se, intercept
    )


def index_relationships(
    occupation_index: pd.Series,
    changes: pd.DataFrame,
    variables: Sequence[str] = tuple(RELATIONSHIP_VARIABLES),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per variable: n, pearson_r, pearson_p, slope, slope_se, slope_ci_low,
    slope_ci_high, intercept of ``variable`` (y) on the occupation index (x), across
    occupations present in both."""
    frame = changes.set_index("occupation_category")
    x = occupation_index.reindex(frame.index).to_numpy(dtype=float)
    rows = []
    for variable in variables:
        if variable not in frame.columns:
            raise DataError(f"changes table has no column {variable!r}")
        fit = linear_fit(x, frame[variable].to_numpy(dtype=float), confidence)
        rows.append({"variable": variable, **fit.__dict__})
    return pd.DataFrame(rows)


def plot_relationship(
    occupation_index: pd.Series,
    values: pd.Series,
    *,
    x_label: str = "LLM exposure index (0-1)",
    y_label: str = "",
    title: str = "",
) -> Figure:
    """Scatter of ``values`` against the index, one labelled point per occupation, OLS line."""
    from dwa_rater.report.plotting import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt

    joined = pd.DataFrame({"x": occupation_index, "y": values}).dropna()
    figure, axes = plt.subplots(figsize=(7.5, 5.0))
    axes.scatter(joined["x"], joined["y"], color="#335", zorder=3)
    for label, row in joined.iterrows():
        axes.annotate(
            str(label), (row["x"], row["y"]), fontsize=8, xytext=(4, 3), textcoords="offset points"
        )
    fit = linear_fit(joined["x"], joined["y"])
    if not np.isnan(fit.slope):
        xs = np.linspace(joined["x"].min(), joined["x"].max(), 50)
        axes.plot(
            xs,
            fit.intercept + fit.slope * xs,
            color="#c33",
            label=(
                f"OLS slope {fit.slope:.2f} (95% CI {fit.slope_ci_low:.2f} to "
                f"{fit.slope_ci_high:.2f}), "
                f"r = {fit.pearson_r:.2f}, n = {fit.n}"
            ),
        )
        axes.legend(loc="best", fontsize=8)
    axes.axhline(0, color="#999", linewidth=0.6)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title or y_label)
    axes.grid(alpha=0.3)
    return figure


# --- AI talent demand -----------------------------------------------------------------------


@dataclass(frozen=True)
class AiTalentDemand:
    """Tables of :func:`ai_talent_demand` (shares in percent, changes in points)."""

    growth: pd.DataFrame  # ai_occupation, postings_from, postings_to, growth_pct
    salary: pd.DataFrame  # ai_occupation, salary_from, salary_to, salary_growth_pct
    education: pd.DataFrame  # ai_occupation, group, share_from, share_to, change
    experience: pd.DataFrame  # ai_occupation, bin, share_from, share_to, change
    skills: pd.DataFrame  # ai_occupation, rank, skill, postings, share


def assign_ai_occupations(postings: pd.DataFrame, ai_occupations: Sequence[str]) -> pd.Series:
    """The first name in ``ai_occupations`` that equals the posting's occupation_category or
    appears (case-insensitively) in its title; NaN for other postings."""
    if not ai_occupations:
        raise ConfigError("name at least one AI occupation")
    result = pd.Series(np.nan, index=postings.index, dtype=object)
    category = postings["occupation_category"].astype(str)
    title = postings["title"].astype(str).str.casefold()
    for name in ai_occupations:
        match = (category == name) | title.str.contains(name.casefold(), regex=False)
        result = result.where(result.notna() | ~match, name)
    return result


def _growth(start: pd.Series, end: pd.Series) -> pd.Series:
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100 * (end / start.where(start > 0) - 1)


def _distribution(
    labels: pd.Series,
    occupation: pd.Series,
    year: pd.Series,
    from_year: int,
    to_year: int,
    order: Sequence[str],
    name: str,
    occupations: Sequence[str],
) -> pd.DataFrame:
    frame = pd.DataFrame({"occ": occupation, "year": year, name: labels}).dropna()
    counts = frame.groupby(["occ", "year", name]).size()
    totals = frame.groupby(["occ", "year"]).size()
    shares = 100 * counts / totals.reindex(counts.index.droplevel(name)).to_numpy()
    rows = []
    for occ in occupations:
        for label in order:
            start = shares.get(
                (occ, from_year, label), 0.0 if (occ, from_year) in totals.index else np.nan
            )
            end = shares.get(
                (occ, to_year, label), 0.0 if (occ, to_year) in totals.index else np.nan
            )
            rows.append(
                {
                    "ai_occupation": occ,
                    name: label,
                    "share_from": start,
                    "share_to": end,
                    "change": end - start,
                }
            )
    return pd.DataFrame(rows)


def ai_talent_demand(
    postings: pd.DataFrame,
    ai_occupations: Sequence[str],
    from_year: int,
    to_year: int,
    *,
    months: Sequence[int] | None = None,
    top_n: int = 10,
) -> AiTalentDemand:
    """AI talent tables comparing ``from_year`` with ``to_year`` (see the module doc).

    ``months`` restricts both years to those calendar months (e.g. ``range(1, 7)`` for the
    first half, as the report compares H1 2024 with H1 2023). Salary is the monthly CNY mean of
    posting midpoints ((min + max) / 2, or the one bound given). Education shares are among
    postings stating it, grouped as :data:`EDUCATION_GROUPS`; experience shares among postings
    stating it, binned as :data:`EXPERIENCE_BINS`. Skills: the ``top_n`` most frequent
    ``;``-separated tags (trimmed, compared case-insensitively, shown in their most common
    spelling) in ``to_year``, with the share of that year's postings listing them.
    """
    dates = pd.to_datetime(postings["date"])
    keep = dates.dt.year.isin([from_year, to_year])
    if months is not None:
        keep &= dates.dt.month.isin(list(months))
    rows = postings[keep]
    occupation = assign_ai_occupations(rows, ai_occupations)
    rows = rows[occupation.notna()]
    occupation = occupation[occupation.notna()]
    year = pd.to_datetime(rows["date"]).dt.year
    names = list(ai_occupations)

    counts = pd.crosstab(occupation, year).reindex(
        index=names, columns=[from_year, to_year], fill_value=0
    )
    growth = pd.DataFrame(
        {
            "ai_occupation": names,
            "postings_from": counts[from_year].to_numpy(),
            "postings_to": counts[to_year].to_numpy(),
        }
    )
    growth["growth_pct"] = _growth(
        growth["postings_from"].astype(float), growth["postings_to"].astype(float)
    ).to_numpy()

    midpoint = rows[["salary_min", "salary_max"]].astype(float).mean(axis=1, skipna=True)
    mean_salary = (
        pd.DataFrame({"occ": occupation, "year": year, "salary": midpoint})
        .dropna()
        .groupby(["occ", "year"])["salary"]
        .mean()
        .unstack("year")
        .reindex(index=names, columns=[from_year, to_year])
    )
    salary = pd.DataFrame(
        {
            "ai_occupation": names,
            "salary_from": mean_salary[from_year].to_numpy(),
            "salary_to": mean_salary[to_year].to_numpy(),
        }
    )
    salary["salary_growth_pct"] = _growth(salary["salary_from"], salary["salary_to"]).to_numpy()

    group_of = {level: group for group, levels in EDUCATION_GROUPS.items() for level in levels}
    education = _distribution(
        rows["education"].astype(object).map(group_of),
        occupation,
        year,
        from_year,
        to_year,
        list(EDUCATION_GROUPS),
        "group",
        names,
    )
    experience_years = pd.to_numeric(rows["experience_years_min"], errors="coerce")
    bins = pd.Series(np.nan, index=rows.index, dtype=object)
    for label, (low, high) in EXPERIENCE_BINS.items():
        bins = bins.where(~((experience_years >= low) & (experience_years < high)), label)
    experience = _distribution(
        bins, occupation, year, from_year, to_year, list(EXPERIENCE_BINS), "bin", names
    )

    skills = _top_skills(rows[year == to_year], occupation[year == to_year], names, top_n)
    return AiTalentDemand(growth, salary, education, experience, skills)


def _top_skills(
    rows: pd.DataFrame, occupation: pd.Series, names: Sequence[str], top_n: int
) -> pd.DataFrame:
    columns = ["ai_occupation", "rank", "skill", "postings", "share"]
    if "skills" not in rows.columns or rows.empty:
        return pd.DataFrame(columns=columns)
    tags = pd.DataFrame(
        {
            "occ": occupation,
            "skill": rows["skills"].fillna("").astype(str).str.split(";"),
            "posting": rows.index,
        }
    ).explode("skill")
    tags["skill"] = tags["skill"].str.strip()
    tags = tags[tags["skill"] != ""]
    tags["key"] = tags["skill"].str.casefold()
    tags = tags.drop_duplicates(["posting", "key"])
    totals = occupation.value_counts()
    spelling = tags.groupby("key")["skill"].agg(lambda s: s.value_counts().index[0])
    counted = tags.groupby(["occ", "key"]).size().rename("postings").reset_index()
    counted = counted.sort_values(["occ", "postings", "key"], ascending=[True, False, True])
    counted["rank"] = counted.groupby("occ").cumcount() + 1
    counted = counted[counted["rank"] <= top_n]
    counted["skill"] = counted["key"].map(spelling)
    counted["share"] = 100 * counted["postings"] / counted["occ"].map(totals)
    counted = counted.rename(columns={"occ": "ai_occupation"})
    order = {name: i for i, name in enumerate(names)}
    counted = counted.sort_values(
        ["ai_occupation", "rank"], key=lambda s: s.map(order) if s.name == "ai_occupation" else s
    )
    return counted[columns].reset_index(drop=True)


# --- Pipeline and report --------------------------------------------------------------------


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


def write_labour_market_indices(result: LabourMarketIndices, out_dir: Path) -> list[Path]:
    """Write each table as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in (
        "posting_scores",
        "occupation_index",
        "occupation_change",
        "city_index",
        "market_changes",
        "relationships",
    ):
        path = out_dir / f"{name}.csv"
        getattr(result, name).to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    return written


def labour_market_report(
    result: LabourMarketIndices,
    ai: AiTalentDemand | None = None,
    title: str = "LLM exposure of the labour market",
) -> HtmlReport:
    """An HTML report: occupation index and change, city ranking, relationships with plots,
    and AI talent demand when given."""
    from dwa_rater.report.html import HtmlReport

    report = HtmlReport(title)
    add_labour_market_sections(report, result, ai)
    return report


def add_labour_market_sections(
    report: HtmlReport, result: LabourMarketIndices, ai: AiTalentDemand | None = None
) -> None:
    """Append the labour-market sections (also used by the study's single report)."""
    report.paragraph(
        "Posting score: weighted mean of the scores of the DWAs a posting's duty lines map to. "
        "Occupation index: mean posting score per occupation category and year. City index: "
        "sum over occupations of the city's posting share times the occupation index. Scores are "
        "on a 0-1 scale; shares in percent; changes in percentage points."
    )
    report.heading("Occupation index by year")
    wide = result.occupation_index.pivot(
        index="occupation_category", columns="year", values="index"
    )
    wide.columns = [str(c) for c in wide.columns]
    report.table(wide.reset_index())
    report.heading(f"Change {result.from_year} to {result.to_year}")
    report.table(result.occupation_change.sort_values("index_from", ascending=False))
    report.heading("City LLM-exposure index")
    latest = result.city_index[result.city_index["year"] == result.city_index["year"].max()]
    report.table(latest)
    report.heading(f"Relationships across occupations (index of {result.from_year})")
    report.table(result.relationships)
    base = result.occupation_index[result.occupation_index["year"] == result.from_year].set_index(
        "occupation_category"
    )["index"]
    market = result.market_changes.set_index("occupation_category")
    for variable, label in RELATIONSHIP_VARIABLES.items():
        figure = plot_relationship(
            base,
            market[variable],
            x_label=f"LLM exposure index, {result.from_year} (0-1)",
            y_label=label,
            title=f"{label}, {result.from_year}-{result.to_year}",
        )
        report.figure(figure, caption=f"{label} against the occupation index; line: OLS fit.")
    if ai is not None:
        report.heading("AI talent demand")
        for name in ("growth", "salary", "education", "experience", "skills"):
            report.heading(name.capitalize(), level=3)
            report.table(getattr(ai, name))


def write_ai_talent_demand(result: AiTalentDemand, out_dir: Path) -> list[Path]:
    """Write each AI talent table as ``ai_<name>.csv`` (UTF-8 with BOM)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("growth", "salary", "education", "experience", "skills"):
        path = out_dir / f"ai_{name}.csv"
        getattr(result, name).to_csv(path, index=False, encoding="utf-8-sig")
        written.append(path)
    return written


def read_dwa_scores(
    path: Path, rater: str | Sequence[str] | None = None, measure: str = "beta"
) -> pd.Series:
    """DWA scores from an exported score table or a long ratings table (see
    :mod:`dwa_rater.indices.scores`), as a Series of ``measure`` per dwa_id."""
    from dwa_rater.indices.scores import dwa_scores, read_score_input

    return dwa_score_series(dwa_scores(read_score_input(path), rater), measure)


def indices_from_files(
    postings_path: Path,
    mapping_dir: Path,
    scores_path: Path,
    out_dir: Path,
    *,
    rater: str | Sequence[str] | None = None,
    measure: str = "beta",
    from_year: int | None = None,
    to_year: int | None = None,
    ai_occupations: Sequence[str] = (),
    months: Sequence[int] | None = None,
    report: bool = True,
    posting_scorer: PostingScorer | None = None,
) -> tuple[LabourMarketIndices, list[Path]]:
    """Postings + mapping (``dwa-rater postings map``) + DWA scores -> every index, written as
    CSV to ``out_dir`` with ``report.html`` (and the AI talent tables when AI occupations are
    named).

    ``posting_scorer`` computes the posting scores (default :func:`score_postings`); the
    distributed engine passes one that scores partitions on a cluster."""
    from dwa_rater.indices.mapping import read_mapping
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    posting_lines, line_mapping = read_mapping(mapping_dir)
    scores = read_dwa_scores(scores_path, rater, measure)
    scorer = posting_scorer or score_postings
    posting_scores = scorer(posting_lines, line_mapping, scores)
    result = build_labour_market_indices(postings, posting_scores, from_year, to_year)
    written = write_labour_market_indices(result, out_dir)
    ai = None
    if ai_occupations:
        ai = ai_talent_demand(
            postings, ai_occupations, result.from_year, result.to_year, months=months
        )
        written += write_ai_talent_demand(ai, out_dir)
    if report:
        written.append(labour_market_report(result, ai).write(out_dir / "report.html"))
    return result, written


def ai_talent_from_file(
    postings_path: Path,
    ai_occupations: Sequence[str],
    out_dir: Path,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
    months: Sequence[int] | None = None,
    top_n: int = 10,
) -> tuple[AiTalentDemand, list[Path]]:
    """AI talent demand tables from a postings file (default years: the last two present)."""
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    years = sorted(pd.to_datetime(postings["date"]).dt.year.unique())
    if to_year is None:
        to_year = int(years[-1])
    if from_year is None:
        from_year = to_year - 1
    result = ai_talent_demand(
        postings, ai_occupations, from_year, to_year, months=months, top_n=top_n
    )
    return result, write_ai_talent_demand(result, out_dir)
