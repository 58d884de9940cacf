"""AI talent demand: postings, salaries, education, experience and skills of AI occupations.

For given AI occupations (matched on the occupation category or, as a substring, the title):
year-on-year posting growth, mean monthly salary (mean of each posting's salary midpoint) and
its growth, education and experience distributions and the top-N skills. Shares are in percent
(0-100) and their changes in percentage points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError
from dwa_rater.indices.periods import Period, parse_periods

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
    from_year: int | str,
    to_year: int | str,
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
    from_year: int | None = None,
    to_year: int | None = None,
    *,
    months: Sequence[int] | None = None,
    top_n: int = 10,
    periods: tuple[str | Period, str | Period] | None = None,
) -> AiTalentDemand:
    """AI talent tables comparing ``from_year`` with ``to_year`` (see the module doc).

    ``months`` restricts both years to those calendar months (e.g. ``range(1, 7)`` for the
    first half, as the report compares H1 2024 with H1 2023). Salary is the monthly CNY mean of
    posting midpoints ((min + max) / 2, or the one bound given). Education shares are among
    postings stating it, grouped as :data:`EDUCATION_GROUPS`; experience shares among postings
    stating it, binned as :data:`EXPERIENCE_BINS`. Skills: the ``top_n`` most frequent
    ``;``-separated tags (trimmed, compared case-insensitively, shown in their most common
    spelling) in ``to_year``, with the share of that year's postings listing them.

    ``periods`` (two windows such as ``("2023H1", "2024H1")``, the report's comparison)
    replace the years and months; the tables' ``*_from``/``*_to`` columns then refer to them.
    """
    dates = pd.to_datetime(postings["date"])
    first: int | str
    second: int | str
    if periods is not None:
        if from_year is not None or to_year is not None or months is not None:
            raise ConfigError("give periods, or years and months, not both")
        windows = parse_periods([str(p) for p in periods])
        first, second = windows[0].label, windows[1].label
        key = pd.Series(None, index=postings.index, dtype=object)
        key[windows[0].mask(dates)] = first
        key[windows[1].mask(dates)] = second
    else:
        if from_year is None or to_year is None:
            raise ConfigError("give the two years (or two periods) to compare")
        first, second = from_year, to_year
        keep = dates.dt.year.isin([from_year, to_year])
        if months is not None:
            keep &= dates.dt.month.isin(list(months))
        key = dates.dt.year.astype(object).where(keep, None)
    rows = postings[key.notna()]
    occupation = assign_ai_occupations(rows, ai_occupations)
    rows = rows[occupation.notna()]
    occupation = occupation[occupation.notna()]
    year = key[rows.index]
    names = list(ai_occupations)

    counts = pd.crosstab(occupation, year).reindex(
        index=names, columns=[first, second], fill_value=0
    )
    growth = pd.DataFrame(
        {
            "ai_occupation": names,
            "postings_from": counts[first].to_numpy(),
            "postings_to": counts[second].to_numpy(),
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
        .reindex(index=names, columns=[first, second])
    )
    salary = pd.DataFrame(
        {
            "ai_occupation": names,
            "salary_from": mean_salary[first].to_numpy(),
            "salary_to": mean_salary[second].to_numpy(),
        }
    )
    salary["salary_growth_pct"] = _growth(salary["salary_from"], salary["salary_to"]).to_numpy()

    group_of = {level: group for group, levels in EDUCATION_GROUPS.items() for level in levels}
    education = _distribution(
        rows["education"].astype(object).map(group_of),
        occupation,
        year,
        first,
        second,
        list(EDUCATION_GROUPS),
        "group",
        names,
    )
    experience_years = pd.to_numeric(rows["experience_years_min"], errors="coerce")
    bins = pd.Series(np.nan, index=rows.index, dtype=object)
    for label, (low, high) in EXPERIENCE_BINS.items():
        bins = bins.where(~((experience_years >= low) & (experience_years < high)), label)
    experience = _distribution(
        bins, occupation, year, first, second, list(EXPERIENCE_BINS), "bin", names
    )

    skills = _top_skills(rows[year == second], occupation[year == second], names, top_n)
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
