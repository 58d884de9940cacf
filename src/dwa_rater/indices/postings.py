"""Job postings: the input schema, its loader and validator, and adapters for sample scrapes.

Postings schema (one row per posting; CSV with a header row, or Parquet):

======================  ========  ==========================================================
column                  required  meaning
======================  ========  ==========================================================
posting_id              yes       unique identifier (text)
date                    yes       posting date, ISO ``YYYY-MM-DD`` (a time part is allowed)
city_code               yes       stable city code, e.g. GB/T 2260 ``110000`` for 北京
city_name               yes       display name (may be empty)
occupation_category     yes       occupation category, code or name (e.g. a Zhaopin-style
                                  职业大类 such as ``软件/硬件研发``)
title                   yes       job title (may be empty)
description             yes       full description text (may be empty; then no duty lines)
salary_min, salary_max  yes       monthly pay in CNY, numbers >= 0, min <= max (may be empty)
education               yes       minimum education, one of :data:`EDUCATION_LEVELS` (ordered:
                                  none < high_school < vocational < associate < bachelor <
                                  master < phd) or a common Chinese form: 不限/学历不限 -> none,
                                  高中 -> high_school, 中专/中技/技校 -> vocational,
                                  大专/专科 -> associate, 本科 -> bachelor, 硕士/研究生 -> master,
                                  博士 -> phd; suffixes 及以上/以上/学历 are ignored (may be empty)
experience_years_min    yes       minimum years of experience, a number or a common form:
                                  不限/经验不限/无经验/应届生 -> 0, ``1年以下`` -> 0,
                                  ``3-5年`` -> 3, ``10年以上`` -> 10 (may be empty)
applicants              no        number of applications received (integer >= 0)
skills                  no        skill tags separated by ``;`` (e.g. ``Python;PyTorch``)
======================  ========  ==========================================================

Extra columns are kept. Empty required values are allowed only where marked "may be empty";
they become missing values (NaN / ``<NA>``). Bad values are reported together (up to
:data:`MAX_REPORTED_ERRORS`) with their location: in a CSV the file line (row index + 2, the
header being line 1), in Parquet or an in-memory frame the row number (row index + 1), e.g.
``postings.csv line 17: salary_min 'abc' is not a number``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError

#: Every column of the schema, in order.
POSTING_COLUMNS: tuple[str, ...] = (
    "posting_id",
    "date",
    "city_code",
    "city_name",
    "occupation_category",
    "title",
    "description",
    "salary_min",
    "salary_max",
    "education",
    "experience_years_min",
    "applicants",
    "skills",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("applicants", "skills")
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in POSTING_COLUMNS if c not in OPTIONAL_COLUMNS)
#: Columns that must hold a value in every row.
NON_EMPTY_COLUMNS: tuple[str, ...] = ("posting_id", "date", "city_code", "occupation_category")

#: Minimum education levels, lowest first (the order of the categorical ``education`` column).
EDUCATION_LEVELS: tuple[str, ...] = (
    "none",
    "high_school",
    "vocational",
    "associate",
    "bachelor",
    "master",
    "phd",
)
#: Accepted spellings (compared case-folded, after removing 及以上/以上/学历 and spaces).
EDUCATION_ALIASES: Mapping[str, str] = {
    **{level: level for level in EDUCATION_LEVELS},
    "不限": "none", "学历不限": "none", "无": "none", "无要求": "none", "无学历要求": "none",
    "初中": "none", "初中及以下": "none", "小学": "none", "any": "none", "no requirement": "none",
    "高中": "high_school", "普高": "high_school", "high school": "high_school",
    "中专": "vocational", "中技": "vocational", "中专/中技": "vocational", "技校": "vocational",
    "职高": "vocational", "中职": "vocational",
    "大专": "associate", "专科": "associate", "高职": "associate", "大学专科": "associate",
    "本科": "bachelor", "学士": "bachelor", "统招本科": "bachelor", "大学本科": "bachelor",
    "硕士": "master", "研究生": "master", "mba": "master", "emba": "master", "硕士研究生": "master",
    "博士": "phd", "博士研究生": "phd", "博士后": "phd", "doctorate": "phd",
}  # fmt: skip
_EDUCATION_SUFFIX = re.compile(r"(及以上|或以上|以上|及以下|学历|\s+)")

#: Up to this many bad values are listed in one error.
MAX_REPORTED_ERRORS = 20

#: GB/T 2260 codes of the cities the demo data and sample adapters use (prefecture level).
CITY_CODES: Mapping[str, str] = {
    "北京": "110000", "天津": "120000", "上海": "310000", "重庆": "500000",
    "石家庄": "130100", "太原": "140100", "呼和浩特": "150100", "沈阳": "210100", "大连": "210200",
    "长春": "220100", "哈尔滨": "230100", "南京": "320100", "无锡": "320200", "徐州": "320300",
    "常州": "320400", "苏州": "320500", "南通": "320600", "杭州": "330100", "宁波": "330200",
    "温州": "330300", "嘉兴": "330400", "绍兴": "330600", "金华": "330700", "合肥": "340100",
    "福州": "350100", "厦门": "350200", "泉州": "350500", "南昌": "360100", "济南": "370100",
    "青岛": "370200", "烟台": "370600", "潍坊": "370700", "郑州": "410100", "洛阳": "410300",
    "武汉": "420100", "长沙": "430100", "广州": "440100", "深圳": "440300", "珠海": "440400",
    "佛山": "440600", "惠州": "441300", "东莞": "441900", "中山": "442000", "南宁": "450100",
    "海口": "460100", "成都": "510100", "贵阳": "520100", "昆明": "530100", "拉萨": "540100",
    "西安": "610100", "兰州": "620100", "西宁": "630100", "银川": "640100", "乌鲁木齐": "650100",
}  # fmt: skip

_ZERO_EXPERIENCE = re.compile(
    r"不限|无经验|无需经验|无工作经验|经验不限|应届|在校|no experience|\bnone\b|\bany\b|\bentry\b",
    re.IGNORECASE,
)
_BELOW = re.compile(r"\d+(?:\.\d+)?\s*年?\s*(?:以下|以内)|less than|under|<", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def parse_education(value: object) -> str | None:
    """The education level of ``value``; ``None`` when empty; raise ``ValueError`` if unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    if not text:
        return None
    key = text.casefold()
    if key in EDUCATION_ALIASES:
        return EDUCATION_ALIASES[key]
    stripped = _EDUCATION_SUFFIX.sub("", key)
    if stripped in EDUCATION_ALIASES:
        return EDUCATION_ALIASES[stripped]
    raise ValueError(f"education {text!r} is not one of {', '.join(EDUCATION_LEVELS)}")


def parse_experience(value: object) -> float | None:
    """Minimum years of experience in ``value`` (see the module doc); ``None`` when empty.

    Raises ``ValueError`` when no number or known phrase is found, or the number is negative.
    """
    if value is None or value is pd.NA:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        if np.isnan(value):
            return None
        if value < 0:
            raise ValueError(f"experience_years_min {value!r} is negative")
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    if _BELOW.search(text) or _ZERO_EXPERIENCE.search(text):
        return 0.0
    number = _NUMBER.search(text)
    if number is None or text.lstrip().startswith("-"):
        raise ValueError(f"experience_years_min {text!r} is not a number of years")
    return float(number.group())


def _is_empty(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype("string").str.strip() == "")


def _location(source: str, kind: Literal["line", "row"]) -> Callable[[int], str]:
    offset = 2 if kind == "line" else 1
    return lambda position: f"{source} {kind} {position + offset}"


def validate_postings(
    frame: pd.DataFrame, source: str = "postings", location: Literal["line", "row"] = "row"
) -> pd.DataFrame:
    """Check and type a raw postings table; return a new frame in the documented schema.

    ``source`` names the input in messages; ``location="line"`` numbers rows as CSV file lines
    (row index + 2), ``"row"`` as 1-based rows. Raises :class:`DataError` listing missing
    columns, or up to :data:`MAX_REPORTED_ERRORS` bad values with their locations.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)} "
            f"(the postings schema needs {', '.join(REQUIRED_COLUMNS)})"
        )
    where = _location(source, location)
    raw = frame.reset_index(drop=True)
    out = raw.copy()
    errors: list[tuple[int, str]] = []
    counted = [0]

    def report(mask: pd.Series, message: str | Callable[[object], str], column: str) -> None:
        """Record bad rows; ``message`` is a template with {column} and {value!r}, or a
        function of the value."""
        positions = np.flatnonzero(mask.fillna(False).to_numpy(dtype=bool))
        counted[0] += len(positions)
        for position in positions[:MAX_REPORTED_ERRORS]:
            value = raw[column].iloc[position]
            text = (
                message.format(column=column, value=value)
                if isinstance(message, str)
                else message(value)
            )
            errors.append((int(position), text))

    for column in NON_EMPTY_COLUMNS:
        report(_is_empty(raw[column]), "{column} is empty", column)
    for column in ("posting_id", "city_code", "city_name", "occupation_category", "title"):
        out[column] = raw[column].astype("string").str.strip().fillna("").astype(str)
    out["description"] = raw["description"].astype("string").fillna("").astype(str)

    duplicated = out["posting_id"].duplicated(keep="first") & (out["posting_id"] != "")
    report(duplicated, "posting_id {value!r} is repeated", "posting_id")

    empty_date = _is_empty(raw["date"])
    dates = pd.to_datetime(
        raw["date"].astype("string").str.strip(), errors="coerce", format="ISO8601"
    )
    report(dates.isna() & ~empty_date, "date {value!r} is not an ISO date", "date")
    out["date"] = dates.dt.tz_localize(None) if dates.dt.tz is not None else dates

    for column in ("salary_min", "salary_max"):
        empty = _is_empty(raw[column])
        numbers = pd.to_numeric(raw[column].where(~empty), errors="coerce").astype(float)
        report(numbers.isna() & ~empty, "{column} {value!r} is not a number", column)
        report(numbers < 0, "{column} {value!r} is negative", column)
        out[column] = numbers
    report(
        out["salary_min"] > out["salary_max"],
        "salary_min {value!r} is above salary_max",
        "salary_min",
    )

    out["education"] = _parse_column(raw["education"], parse_education, report, "education")
    out["education"] = pd.Categorical(out["education"], categories=EDUCATION_LEVELS, ordered=True)
    experience = _parse_column(
        raw["experience_years_min"], parse_experience, report, "experience_years_min"
    )
    out["experience_years_min"] = pd.to_numeric(experience, errors="coerce").astype(float)

    if "applicants" in raw.columns:
        empty = _is_empty(raw["applicants"])
        numbers = pd.to_numeric(raw["applicants"].where(~empty), errors="coerce")
        bad = (numbers.isna() & ~empty) | (numbers < 0) | (numbers.notna() & (numbers % 1 != 0))
        report(bad, "applicants {value!r} is not a whole number >= 0", "applicants")
        out["applicants"] = numbers.where(~bad).astype("Int64")
    else:
        out["applicants"] = pd.array([pd.NA] * len(raw), dtype="Int64")
    skills = raw["skills"] if "skills" in raw.columns else pd.Series("", index=raw.index)
    out["skills"] = skills.astype("string").fillna("").str.strip().astype(str)

    if errors:
        errors.sort()
        shown = [f"{where(position)}: {message}" for position, message in errors]
        total = counted[0]
        head = f"{source}: {total} bad value(s)"
        if total > MAX_REPORTED_ERRORS:
            head += f", the first {MAX_REPORTED_ERRORS} by position"
        raise DataError(head + "\n" + "\n".join(shown[:MAX_REPORTED_ERRORS]))
    extra = [c for c in out.columns if c not in POSTING_COLUMNS]
    return out[[*POSTING_COLUMNS, *extra]]


def _parse_column(
    values: pd.Series,
    parse: Callable[[object], object],
    report: Callable[[pd.Series, Callable[[object], str], str], None],
    column: str,
) -> pd.Series:
    """Apply ``parse`` to each distinct value once; report values it rejects."""
    results: dict[object, object] = {}
    failures: dict[object, str] = {}
    for value in pd.unique(values[values.notna()].astype(object)):
        try:
            parsed = parse(value)
        except ValueError as exc:
            failures[value] = str(exc)
            continue
        if parsed is not None:
            results[value] = parsed
    if failures:
        report(values.isin(list(failures)), lambda v: failures[v], column)
    return values.astype(object).map(results)


def read_postings(path: Path | str) -> pd.DataFrame:
    """Load a postings CSV (UTF-8) or Parquet file and validate it (see the module doc)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
            kind: Literal["line", "row"] = "row"
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
            kind = "line"
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read postings ({exc})") from exc
    return validate_postings(frame, source=path.name, location=kind)


def write_postings(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write postings as CSV or Parquet (by suffix); dates as ISO text in CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        out = frame.copy()
        out["education"] = out["education"].astype("string")
        out.to_parquet(path, index=False)
    else:
        out = frame.copy()
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
        out.to_csv(path, index=False, encoding="utf-8")
    return path


# --- Adapters for the public sample scrapes (demo and parser fixtures only) -------------------

_SALARY_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(千|万|[kK]|元)?")
_PERIOD_FACTOR: tuple[tuple[str, float], ...] = (
    ("年", 1 / 12),
    ("天", 21.75),
    ("日", 21.75),
    ("小时", 8 * 21.75),
    ("时", 8 * 21.75),
)
_UNIT_FACTOR = {"千": 1_000.0, "k": 1_000.0, "K": 1_000.0, "万": 10_000.0, "元": 1.0, None: 1.0}


def parse_salary(text: object) -> tuple[float, float]:
    """Monthly CNY (min, max) from a scraped salary text; (NaN, NaN) when absent or 面议.

    Handles ``1-1.5万/月``, ``6千-8千``, ``8千-1万``, ``10-20K·13薪``, ``15-25万/年`` (divided by
    12), ``150元/天`` (times 21.75 working days) and ``1万以上`` (min = max). A number without a
    unit takes the unit of the next number (``1-1.5万`` is 10,000-15,000).
    """
    if not isinstance(text, str) or not text.strip():
        return (float("nan"), float("nan"))
    head = re.split(r"[·•]", text)[0]
    parts = _SALARY_PART.findall(head.split("/")[0])
    if not parts:
        return (float("nan"), float("nan"))
    units = [unit or None for _, unit in parts]
    for i in range(len(units) - 2, -1, -1):
        if units[i] is None:
            units[i] = units[i + 1]
    factor = next((f for key, f in _PERIOD_FACTOR if key in text), 1.0)
    values = [
        float(number) * _UNIT_FACTOR[unit] * factor
        for (number, _), unit in zip(parts, units, strict=True)
    ]
    low, high = values[0], values[1] if len(values) > 1 else values[0]
    return (round(low, 2), round(high, 2))


def _city_code(name: str) -> str:
    return CITY_CODES.get(name, name)


def _lenient(values: pd.Series, parse: Callable[[object], object]) -> pd.Series:
    def safe(value: object) -> object:
        try:
            return parse(value)
        except ValueError:
            return None

    return values.map(safe)


@dataclass(frozen=True)
class AdaptedPostings:
    """A sample scrape in the postings schema, and how many of its rows were dropped."""

    postings: pd.DataFrame
    dropped: int


def adapt_51job_sample(path: Path | str, occupation_category: str = "大数据") -> AdaptedPostings:
    """The 51job "大数据" sample (see ``docs/data.md``, job postings) in the postings schema.

    Best effort: salary parsed by :func:`parse_salary`; unrecognised education or experience
    becomes empty; no applicants or skills; rows without a city or date are dropped (and
    counted); ``source_line`` is the row's line in the file. For demos and
    parser tests only.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    salary = raw["salary_raw"].map(parse_salary)
    city = raw["city"].str.strip()
    frame = pd.DataFrame(
        {
            "posting_id": [f"51job-{i + 1}" for i in range(len(raw))],
            "date": raw["post_date"],
            "city_code": city.map(_city_code),
            "city_name": city,
            "occupation_category": occupation_category,
            "title": raw["title"].str.strip(),
            "description": raw["description"],
            "salary_min": salary.map(lambda pair: pair[0]),
            "salary_max": salary.map(lambda pair: pair[1]),
            "education": _lenient(raw["education"], parse_education),
            "experience_years_min": _lenient(raw["experience"], parse_experience),
            "source_line": np.arange(len(raw)) + 2,
        }
    )
    return _keep_complete(frame, Path(path).name)


def adapt_zhilian_sample(
    path: Path | str, occupation_category: str = "数据分析", date: str = "2019-04-15"
) -> AdaptedPostings:
    """The Zhaopin "数据分析" sample (see ``docs/data.md``, job postings) in the postings schema.

    The file has no posting date (it was scraped in April 2019), so every row gets ``date``;
    the city is the part of ``address`` before ``-``; ids come from the posting URLs.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    salary = raw["salary"].map(parse_salary)
    city = raw["address"].str.split("-").str[0].str.strip()
    ids = raw["url"].str.extract(r"/([A-Za-z0-9]+)\.htm", expand=False)
    ids = ids.where(
        ids.notna() & ~ids.duplicated(), pd.Series([f"zhilian-{i + 1}" for i in range(len(raw))])
    )
    frame = pd.DataFrame(
        {
            "posting_id": ids,
            "date": date,
            "city_code": city.map(_city_code),
            "city_name": city,
            "occupation_category": occupation_category,
            "title": raw["title"].str.strip(),
            "description": raw["requirements"],
            "salary_min": salary.map(lambda pair: pair[0]),
            "salary_max": salary.map(lambda pair: pair[1]),
            "education": _lenient(raw["education"], parse_education),
            "experience_years_min": _lenient(raw["work_experience"], parse_experience),
            "source_line": np.arange(len(raw)) + 2,
        }
    )
    return _keep_complete(frame, Path(path).name)


def _keep_complete(frame: pd.DataFrame, source: str) -> AdaptedPostings:
    """Drop rows missing a required value (and count them), then validate."""
    complete = ~pd.concat([_is_empty(frame[c]) for c in NON_EMPTY_COLUMNS], axis=1).any(axis=1)
    dates = pd.to_datetime(frame["date"], errors="coerce", format="ISO8601")
    complete &= dates.notna()
    out = validate_postings(frame[complete], source=source)
    return AdaptedPostings(out, int((~complete).sum()))


SAMPLE_ADAPTERS: Mapping[str, Callable[[Path], AdaptedPostings]] = {
    "51job_bigdata_2019_sample.csv": adapt_51job_sample,
    "zhilian_data_analysis_2019_sample.csv": adapt_zhilian_sample,
}


def adapt_sample(path: Path | str) -> AdaptedPostings:
    """Convert one of the known sample files (chosen by file name) to the postings schema."""
    path = Path(path)
    adapter = SAMPLE_ADAPTERS.get(path.name)
    if adapter is None:
        raise DataError(
            f"{path.name}: no adapter for this file (known: {', '.join(SAMPLE_ADAPTERS)})"
        )
    if not path.exists():
        raise DataError(f"{path}: file not found")
    return adapter(path)


def convert_sample(path: Path | str, out: Path | str) -> AdaptedPostings:
    """:func:`adapt_sample` then :func:`write_postings`; returns the converted postings."""
    adapted = adapt_sample(path)
    write_postings(adapted.postings, out)
    return adapted
