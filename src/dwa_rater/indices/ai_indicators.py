"""The four indicators of the city AI-development index, as the 2024 report builds them.

The report: 「从产业基础（人工智能职位数在全国占比）、技术创新（人工智能相关专利数量）、
人才供给（人工智能求职人数在全国占比）、人才培养（开设人工智能专业的院校数量）4个维度进行评估」.

- ``ai_job_share`` (产业基础), from postings: a city's AI postings as a percentage of the
  national AI postings of the period, ``100 * n_c^AI / N^AI``;
- ``ai_applicant_share`` (人才供给), from postings with an ``applicants`` column: applications to
  the city's AI postings as a percentage of all applications to AI postings, ``100 * a_c / A``
  (postings without a count are left out of both sums);
- ``ai_patents`` (技术创新) and ``ai_universities`` (人才培养), from an external file keyed by
  ``city_code`` (or by ``city`` name, mapped with the GB/T 2260 codes the tool knows), e.g.
  ``report_2024/ai_city_indicators_top30.csv``.

AI postings are those whose occupation category or title names an AI occupation
(:func:`dwa_rater.indices.labour_market.ai_talent.assign_ai_occupations`). Every indicator's
origin is returned in ``sources``; the result feeds ``indices ai-dev`` (column ``city``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.indices.labour_market.ai_talent import assign_ai_occupations
from dwa_rater.indices.periods import parse_period, postings_in
from dwa_rater.indices.postings import CITY_CODES

POSTING_INDICATORS: tuple[str, ...] = ("ai_job_share", "ai_applicant_share")
EXTERNAL_INDICATORS: tuple[str, ...] = ("ai_patents", "ai_universities")


@dataclass(frozen=True)
class AiIndicators:
    """Indicator table (city, city_code, indicators...) and where each indicator came from."""

    table: pd.DataFrame
    sources: pd.DataFrame  # indicator, source, detail


def posting_indicators(
    postings: pd.DataFrame, ai_occupations: Sequence[str], period: str | None = None
) -> pd.DataFrame:
    """city_code, city, n_ai_postings, ai_job_share and (with applicant counts)
    ai_applicant_share, in percent, for the postings of ``period`` (default: all)."""
    rows = postings_in(postings, parse_period(period)) if period else postings
    is_ai = assign_ai_occupations(rows, ai_occupations).notna()
    ai = rows[is_ai.to_numpy()]
    if ai.empty:
        raise DataError(f"no AI postings ({', '.join(ai_occupations)}) in the postings")
    codes = ai["city_code"].astype(str)
    counts = ai.groupby(codes).size()
    out = pd.DataFrame(
        {
            "city": ai.groupby(codes)["city_name"].first(),
            "n_ai_postings": counts.astype(np.int64),
            "ai_job_share": 100 * counts / counts.sum(),
        }
    )
    if "applicants" in ai.columns:
        applicants = pd.to_numeric(ai["applicants"], errors="coerce")
        if applicants.notna().any():
            summed = applicants.groupby(codes).sum(min_count=1)
            out["ai_applicant_share"] = 100 * summed / applicants.sum()
    out.index.name = "city_code"
    return out.reset_index()


def read_external_indicators(path: Path) -> pd.DataFrame:
    """city_code plus the external indicator columns present, from CSV or Parquet."""
    if not path.is_file():
        raise DataError(f"{path}: external indicator file not found")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"city_code": str}, encoding="utf-8-sig")
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from exc
    if "city_code" not in frame.columns:
        if "city" not in frame.columns:
            raise DataError(f"{path}: needs a city_code (or city) column")
        names = frame["city"].astype(str).str.strip()
        unknown = sorted(set(names) - set(CITY_CODES))
        if unknown:
            raise DataError(
                f"{path}: no city code for {', '.join(unknown[:5])}; add a city_code column"
            )
        frame = frame.assign(city_code=names.map(CITY_CODES))
    present = [c for c in EXTERNAL_INDICATORS if c in frame.columns]
    if not present:
        raise DataError(f"{path}: none of the columns {', '.join(EXTERNAL_INDICATORS)}")
    values = frame[present].apply(pd.to_numeric, errors="coerce")
    if values.isna().any().any():
        raise DataError(f"{path}: {', '.join(present)} must be numbers in every row")
    return pd.concat([frame[["city_code"]].astype(str), values], axis=1)


def build_ai_indicators(
    postings: pd.DataFrame,
    ai_occupations: Sequence[str],
    external: pd.DataFrame | None = None,
    *,
    period: str | None = None,
    postings_source: str = "postings",
    external_source: str = "external file",
) -> AiIndicators:
    """Posting-based indicators joined (inner, on city_code) with the external ones."""
    table = posting_indicators(postings, ai_occupations, period)
    window = f" ({period})" if period else ""
    sources = [
        {"indicator": "ai_job_share", "source": "postings", "detail": postings_source + window}
    ]
    if "ai_applicant_share" in table.columns:
        sources.append(
            {
                "indicator": "ai_applicant_share",
                "source": "postings",
                "detail": postings_source + window,
            }
        )
    if external is not None:
        table = table.merge(external, on="city_code", how="inner")
        if table.empty:
            raise DataError("no city is both in the postings and in the external file")
        for column in EXTERNAL_INDICATORS:
            if column in external.columns:
                sources.append(
                    {"indicator": column, "source": "external", "detail": external_source}
                )
    columns = ["city", "city_code", "n_ai_postings"]
    columns += [c for c in (*POSTING_INDICATORS, *EXTERNAL_INDICATORS) if c in table.columns]
    ordered = table[columns].sort_values("ai_job_share", ascending=False, ignore_index=True)
    return AiIndicators(ordered, pd.DataFrame(sources))


def indicator_columns(result: AiIndicators) -> list[str]:
    """The indicator columns of the table, in the report's order."""
    known = (*POSTING_INDICATORS, *EXTERNAL_INDICATORS)
    return [c for c in known if c in result.table.columns]


def write_ai_indicators(result: AiIndicators, out: Path) -> list[Path]:
    """``out``: city and the indicators (the input of ``indices ai-dev``);
    ``<stem>_detail.csv``: with city_code and n_ai_postings; ``<stem>_sources.csv``: where each
    indicator came from."""
    out.parent.mkdir(parents=True, exist_ok=True)
    result.table[["city", *indicator_columns(result)]].to_csv(out, index=False, encoding="utf-8")
    detail = out.with_name(f"{out.stem}_detail.csv")
    result.table.to_csv(detail, index=False, encoding="utf-8")
    sources = out.with_name(f"{out.stem}_sources.csv")
    result.sources.to_csv(sources, index=False, encoding="utf-8")
    return [out, detail, sources]


def ai_indicators_from_files(
    postings_path: Path,
    ai_occupations: Sequence[str],
    external_path: Path | None = None,
    period: str | None = None,
) -> AiIndicators:
    """:func:`build_ai_indicators` on a postings file and an optional external file."""
    from dwa_rater.indices.postings import read_postings

    external = read_external_indicators(external_path) if external_path is not None else None
    return build_ai_indicators(
        read_postings(postings_path),
        ai_occupations,
        external,
        period=period,
        postings_source=str(postings_path),
        external_source=str(external_path) if external_path is not None else "",
    )
