"""Synthetic job postings whose duty lines are O*NET task statements of known DWAs.

They serve two purposes: measuring how well duty lines are mapped to DWAs (the truth table
lists each duty line's DWAs, from O*NET ``Tasks to DWAs``), and exercising every index at scale
(``scripts/bench_indices.py``). They are not a model of the Chinese labour market: categories,
cities and trends are only loosely shaped after the 2024 report so that the indices have
something to show.

- 13 occupation categories (the report's 职业大类), each tied to a handful of O*NET
  occupations (:data:`CATEGORY_OCCUPATIONS`; an illustrative assignment, not a crosswalk);
  every table lives in ``synthetic_tables.toml`` next to this module;
- cities from the report's top-30 list with four kinds of occupation mix (tech, manufacturing,
  sales and operations, balanced), years 2022-2024. By default every year is drawn from the
  same distributions (no built-in trend, so the indices cannot "confirm" the report by
  construction); ``SyntheticSpec(report_trends=True)`` (``--report-trends``) builds in the
  report's findings for demonstrations: posting shares drifting (sales and customer service
  down, software up), upskilling, AI title growth, salary and applicant growth;
- each posting has 3-8 duty lines (task statements of one occupation that the duty splitter
  returns unchanged, so the truth lines are exactly the split lines) and 1-4 distractor lines
  (benefits, company blurbs, requirements) in Chinese or English. 70% of descriptions have
  section headings (岗位职责 / Responsibilities, 任职要求, 福利待遇); the rest list every line
  under one heading or none, so distractors reach the mapper and must be rejected by its
  threshold;
- salary, education, experience, applicants and skills vary by category, city and year;
  some 软件/硬件研发 postings carry AI titles (自然语言处理工程师, 深度学习工程师, ...) whose
  share grows each year with ``report_trends``.

Everything is drawn from one ``numpy.random.Generator`` seeded by ``spec.seed``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import DataError
from dwa_rater.indices.duties import split_duties
from dwa_rater.indices.postings import CITY_CODES, EDUCATION_LEVELS, validate_postings

#: The generator's tables (categories, cities, distractor lines), shipped next to this module.
TABLES_FILE = Path(__file__).with_name("synthetic_tables.toml")


@dataclass(frozen=True)
class CategoryProfile:
    """Market traits of a category: salary, requirements, applicants, skills, share trend."""

    salary: float  # median monthly CNY in the first year
    education: tuple[float, ...]  # probabilities over EDUCATION_LEVELS
    experience: tuple[float, ...]  # probabilities over EXPERIENCE_CHOICES
    applicants: float  # mean applications per posting
    skills: tuple[str, ...]
    trend: float  # yearly relative change of the category's posting weight
    upskilling: float  # yearly probability of raising education / experience one step


EXPERIENCE_CHOICES: tuple[str, ...] = (
    "经验不限",
    "1年以下",
    "1-3年",
    "3-5年",
    "5-10年",
    "10年以上",
)


_OFFICE = ("Excel", "Word", "PPT", "沟通能力", "英语")


def _load_tables(path: Path = TABLES_FILE) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


_TABLES = _load_tables()
_CATEGORIES: dict[str, dict[str, Any]] = _TABLES["categories"]

#: The report's 13 occupation categories, each with O*NET-SOC occupations of similar work (an
#: illustrative assignment for demo data, not a crosswalk).
CATEGORY_OCCUPATIONS: Mapping[str, tuple[str, ...]] = {
    name: tuple(values["occupations"]) for name, values in _CATEGORIES.items()
}
CATEGORY_TITLES: Mapping[str, tuple[str, ...]] = {
    name: tuple(values["titles"]) for name, values in _CATEGORIES.items()
}
#: AI job titles (a subset of 软件/硬件研发) and the report's H1 2024 posting growth (+x).
AI_TITLES: Mapping[str, float] = dict(_TABLES["ai_titles"])
AI_SKILLS: tuple[str, ...] = tuple(_TABLES["ai_skills"])
PROFILES: Mapping[str, CategoryProfile] = {
    name: CategoryProfile(
        values["salary"],
        tuple(values["education"]),
        tuple(values["experience"]),
        values["applicants"],
        tuple(values["skills"]),
        values["trend"],
        values["upskilling"],
    )
    for name, values in _CATEGORIES.items()
}
BASE_WEIGHTS: Mapping[str, float] = {
    name: values["base_weight"] for name, values in _CATEGORIES.items()
}
#: City -> (kind of occupation mix, salary factor). Names are in the report's top-30 list.
CITIES: Mapping[str, tuple[str, float]] = {
    name: (values["mix"], values["salary_factor"]) for name, values in _TABLES["cities"].items()
}
MIX_FACTORS: Mapping[str, Mapping[str, float]] = {
    kind: dict(values) for kind, values in _TABLES["mix_factors"].items()
}
BENEFITS: tuple[str, ...] = tuple(_TABLES["distractors"]["benefits"])
BLURBS: tuple[str, ...] = tuple(_TABLES["distractors"]["blurbs"])
REQUIREMENTS: tuple[str, ...] = tuple(_TABLES["distractors"]["requirements"])


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate (see the module doc)."""

    n_postings: int = 3000
    years: tuple[int, ...] = (2022, 2023, 2024)
    cities: tuple[str, ...] = tuple(CITIES)
    duty_lines: tuple[int, int] = (3, 8)
    distractor_lines: tuple[int, int] = (1, 4)
    headed_share: float = 0.7
    seed: int = 0
    #: Off (default): every year is drawn from the same distributions, so no index "finds" a
    #: trend by construction. On: the report's findings are built in (posting shares drifting,
    #: upskilling, AI title growth, salary and applicant growth), for demonstrations only.
    report_trends: bool = False
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: CATEGORY_OCCUPATIONS)


@dataclass(frozen=True)
class SyntheticPostings:
    """Postings in the schema of :mod:`dwa_rater.indices.postings` and their truth table
    (posting_id, line, dwa_id: one row per true DWA of each duty line)."""

    postings: pd.DataFrame
    truth: pd.DataFrame


def usable_tasks(tables: OnetTables, occupations: Sequence[str]) -> pd.DataFrame:
    """onetsoc_code, task_id, task, line: tasks with DWAs that split into exactly one line.

    ``line`` is the task as the duty splitter returns it (trailing full stop removed).
    """
    linked = tables.task_dwas[tables.task_dwas["onetsoc_code"].isin(occupations)]
    tasks = tables.tasks[tables.tasks["task_id"].isin(set(linked["task_id"]))]
    tasks = tasks[tasks["onetsoc_code"].isin(occupations)].copy()
    split = tasks["task"].map(split_duties)
    tasks = tasks[split.map(len) == 1].copy()
    tasks["line"] = split[split.map(len) == 1].map(lambda lines: lines[0])
    return tasks[["onetsoc_code", "task_id", "task", "line"]].reset_index(drop=True)


def _category_weights(spec: SyntheticSpec, city: str, year: int) -> np.ndarray:
    kind = CITIES.get(city, ("balanced", 1.0))[0]
    factors = MIX_FACTORS[kind]
    step = (year - spec.years[0]) if spec.report_trends else 0
    weights = np.array(
        [
            BASE_WEIGHTS.get(c, 5) * factors.get(c, 1.0) * (1 + PROFILES[c].trend) ** step
            if c in PROFILES
            else 5.0
            for c in spec.categories
        ]
    )
    return weights / weights.sum()


def _bump(
    levels: np.ndarray, probability: np.ndarray, top: int, rng: np.random.Generator
) -> np.ndarray:
    raise_it = rng.random(len(levels)) < probability
    return np.where(raise_it, np.minimum(levels + 1, top), levels)


def make_synthetic_postings(
    tables: OnetTables, spec: SyntheticSpec = SyntheticSpec(), with_truth: bool = True
) -> SyntheticPostings:
    """Generate postings and their truth (skipped when ``with_truth`` is False, for speed)."""
    rng = np.random.default_rng(spec.seed)
    unknown = [c for c in spec.cities if c not in CITY_CODES]
    if unknown:
        raise DataError(f"no city code for {', '.join(unknown)}")
    categories = list(spec.categories)
    occupations = sorted({o for codes in spec.categories.values() for o in codes})
    tasks = usable_tasks(tables, occupations)
    pools = {code: rows for code, rows in tasks.groupby("onetsoc_code")}
    missing = [o for o in occupations if o not in pools]
    if missing:
        raise DataError(
            f"O*NET release has no usable tasks for {', '.join(missing)}; "
            "edit the category-occupation table"
        )
    dwas_of_task = tables.task_dwas.groupby("task_id")["dwa_id"].apply(list)

    n = spec.n_postings
    city = rng.choice(np.array(spec.cities, dtype=object), size=n)
    growth = 0.1 if spec.report_trends else 0.0
    year_weights = np.linspace(1.0, 1.0 + growth * (len(spec.years) - 1), len(spec.years))
    year = rng.choice(np.array(spec.years), size=n, p=year_weights / year_weights.sum())
    category_index = np.empty(n, dtype=np.int64)
    for c in spec.cities:
        for y in spec.years:
            where = np.flatnonzero((city == c) & (year == y))
            if len(where):
                probabilities = _category_weights(spec, c, int(y))
                category_index[where] = rng.choice(
                    len(categories), size=len(where), p=probabilities
                )
    category = np.array(categories, dtype=object)[category_index]

    occupation = np.empty(n, dtype=object)
    for i, c in enumerate(categories):
        where = np.flatnonzero(category_index == i)
        occupation[where] = rng.choice(np.array(spec.categories[c], dtype=object), size=len(where))

    low, high = spec.duty_lines
    n_duties = rng.integers(low, high + 1, size=n)
    duty_lines: list[list[str]] = [[] for _ in range(n)]
    truth_rows: list[tuple[int, str, str]] = []
    for code, pool in pools.items():
        where = np.flatnonzero(occupation == code)
        if not len(where):
            continue
        lines = pool["task"].to_numpy()
        split_lines = pool["line"].to_numpy()
        task_ids = pool["task_id"].to_numpy()
        order = rng.random((len(where), len(pool))).argsort(axis=1)
        for row, posting in enumerate(where):
            chosen = order[row, : min(n_duties[posting], len(pool))]
            duty_lines[posting] = list(lines[chosen])
            if with_truth:
                for task in chosen:
                    for dwa_id in dwas_of_task[task_ids[task]]:
                        truth_rows.append((posting, split_lines[task], dwa_id))

    distractors = np.array(BENEFITS + BLURBS + REQUIREMENTS, dtype=object)
    kinds = np.array(
        ["benefit"] * len(BENEFITS) + ["blurb"] * len(BLURBS) + ["requirement"] * len(REQUIREMENTS)
    )
    d_low, d_high = spec.distractor_lines
    n_distractors = rng.integers(d_low, d_high + 1, size=n)
    distractor_choice = rng.integers(0, len(distractors), size=(n, d_high))
    headed = rng.random(n) < spec.headed_share
    chinese_heading = rng.random(n) < 0.5
    numbered = rng.random(n) < 0.6
    descriptions = [
        _describe(
            duty_lines[i],
            list(distractors[distractor_choice[i, : n_distractors[i]]]),
            list(kinds[distractor_choice[i, : n_distractors[i]]]),
            bool(headed[i]),
            bool(chinese_heading[i]),
            bool(numbered[i]),
        )
        for i in range(n)
    ]

    profiles = [PROFILES.get(c) for c in categories]
    step = (year - spec.years[0]) if spec.report_trends else np.zeros_like(year)
    city_factor = {c: CITIES.get(c, ("balanced", 1.0))[1] for c in spec.cities}
    salary_factor = pd.Series(city).map(city_factor).to_numpy(dtype=float)
    base = np.array([p.salary if p else 8000.0 for p in profiles])[category_index]
    midpoint = base * salary_factor * 1.03**step * rng.lognormal(0.0, 0.25, size=n)
    salary_min = np.round(midpoint * 0.8, -2)
    salary_max = np.round(midpoint * 1.25, -2)

    education = np.empty(n, dtype=np.int64)
    experience = np.empty(n, dtype=np.int64)
    applicants = np.empty(n, dtype=np.int64)
    upskilling = np.array([p.upskilling if p else 0.0 for p in profiles])[category_index] * step
    for i, p in enumerate(profiles):
        where = np.flatnonzero(category_index == i)
        if not len(where) or p is None:
            continue
        education[where] = rng.choice(
            len(EDUCATION_LEVELS), size=len(where), p=_normalised(p.education)
        )
        experience[where] = rng.choice(
            len(EXPERIENCE_CHOICES), size=len(where), p=_normalised(p.experience)
        )
        attraction = p.applicants * (1 + 0.04 * step[where])
        applicants[where] = rng.poisson(attraction)
    education = _bump(education, upskilling, len(EDUCATION_LEVELS) - 1, rng)
    experience = _bump(experience, upskilling, len(EXPERIENCE_CHOICES) - 1, rng)
    education_text = np.array(
        ["不限", "高中", "中专", "大专", "本科", "硕士", "博士"], dtype=object
    )[education]

    titles = np.empty(n, dtype=object)
    skills = np.empty(n, dtype=object)
    for i, c in enumerate(categories):
        where = np.flatnonzero(category_index == i)
        names = CATEGORY_TITLES.get(c, (c,))
        titles[where] = rng.choice(np.array(names, dtype=object), size=len(where))
        pool = np.array(PROFILES[c].skills if c in PROFILES else _OFFICE, dtype=object)
        picks = rng.random((len(where), len(pool))).argsort(axis=1)
        counts = rng.integers(2, min(5, len(pool)) + 1, size=len(where))
        skills[where] = [";".join(pool[picks[j, : counts[j]]]) for j in range(len(where))]
    software = np.flatnonzero(category == "软件/硬件研发")
    if len(software):
        ai_names = np.array(list(AI_TITLES), dtype=object)
        ai_growth = np.array(list(AI_TITLES.values()))
        pick = rng.integers(0, len(ai_names), size=len(software))
        probability = 0.08 * (1 + ai_growth[pick]) ** step[software]
        is_ai = rng.random(len(software)) < probability
        chosen = software[is_ai]
        titles[chosen] = ai_names[pick[is_ai]]
        ai_pool = np.array(AI_SKILLS, dtype=object)
        weights = np.linspace(2.0, 0.5, len(ai_pool))
        weights /= weights.sum()
        skills[chosen] = [
            ";".join(rng.choice(ai_pool, size=5, replace=False, p=weights)) for _ in chosen
        ]

    day = rng.integers(0, 365, size=n)
    dates = pd.to_datetime(pd.Series(year).astype(str) + "-01-01") + pd.to_timedelta(day, unit="D")
    posting_ids = np.array([f"SYN{i:08d}" for i in range(n)], dtype=object)
    raw = pd.DataFrame(
        {
            "posting_id": posting_ids,
            "date": dates.dt.strftime("%Y-%m-%d").to_numpy(),
            "city_code": [CITY_CODES[c] for c in city],
            "city_name": city,
            "occupation_category": category,
            "title": titles,
            "description": descriptions,
            "salary_min": salary_min,
            "salary_max": salary_max,
            "education": education_text,
            "experience_years_min": np.array(EXPERIENCE_CHOICES, dtype=object)[experience],
            "applicants": applicants,
            "skills": skills,
            "onetsoc_code": occupation,
        }
    )
    postings = validate_postings(raw, source="synthetic postings")
    truth = pd.DataFrame(truth_rows, columns=["posting", "line", "dwa_id"])
    truth = truth.sort_values("posting", kind="stable")
    truth.insert(0, "posting_id", posting_ids[truth.pop("posting").to_numpy(dtype=np.int64)])
    truth = truth.reset_index(drop=True)
    return SyntheticPostings(postings, truth)


def _normalised(probabilities: Sequence[float]) -> np.ndarray:
    values = np.asarray(probabilities, dtype=float)
    return values / values.sum()


_HEADINGS = {
    True: ("岗位职责：", "任职要求：", "福利待遇：", "公司介绍："),
    False: ("Responsibilities:", "Requirements:", "Benefits:", "About us:"),
}


def _describe(
    duties: list[str],
    distractors: list[str],
    kinds: list[str],
    headed: bool,
    chinese: bool,
    numbered: bool,
) -> str:
    """One description: sectioned under headings, or every line in one list."""

    def listing(lines: list[str]) -> list[str]:
        if numbered:
            return [f"{i}. {line}" for i, line in enumerate(lines, start=1)]
        return [f"- {line}" for line in lines]

    if not headed:
        mixed = list(duties)
        for position, text in enumerate(distractors):
            mixed.insert((position * 3) % (len(mixed) + 1), text)
        return "\n".join(([_HEADINGS[chinese][0]] if chinese else []) + listing(mixed))
    duty_heading, requirement_heading, benefit_heading, blurb_heading = _HEADINGS[chinese]
    parts: list[str] = []
    blurbs = [t for t, k in zip(distractors, kinds, strict=True) if k == "blurb"]
    if blurbs:
        parts += [blurb_heading, *blurbs]
    parts += [duty_heading, *listing(duties)]
    requirements = [t for t, k in zip(distractors, kinds, strict=True) if k == "requirement"]
    if requirements:
        parts += [requirement_heading, *listing(requirements)]
    benefits = [t for t, k in zip(distractors, kinds, strict=True) if k == "benefit"]
    if benefits:
        parts += [benefit_heading, *benefits]
    return "\n".join(parts)


def write_synthetic_postings(
    onet_source: Path, out: Path, truth_out: Path, spec: SyntheticSpec = SyntheticSpec()
) -> SyntheticPostings:
    """Generate synthetic postings from an O*NET release and write postings and truth
    (CSV or Parquet, by suffix)."""
    from dwa_rater.catalog import load_onet
    from dwa_rater.indices.postings import write_postings

    result = make_synthetic_postings(load_onet(onet_source), spec)
    write_postings(result.postings, out)
    truth_out.parent.mkdir(parents=True, exist_ok=True)
    if truth_out.suffix.lower() == ".parquet":
        result.truth.to_parquet(truth_out, index=False)
    else:
        result.truth.to_csv(truth_out, index=False, encoding="utf-8")
    return result
