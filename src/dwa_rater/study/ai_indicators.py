"""The study's four-indicator table for the AI development index, built as the report does.

The report: 「从产业基础（人工智能职位数在全国占比）、技术创新（人工智能相关专利数量）、
人才供给（人工智能求职人数在全国占比）、人才培养（开设人工智能专业的院校数量）4个维度进行评估」.
The two shares come from postings; patents and universities come from outside (here, the
report's published city table).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from dwa_rater.errors import DataError
from dwa_rater.study.config import StudyConfig

PUBLISHED = Path("report_2024") / "ai_city_indicators_top30.csv"
#: Fewer cities with AI postings than this make no ranking: the next fallback is used.
MIN_CITIES = 5


def study_ai_indicators(
    config: StudyConfig,
    target: Path,
    data_dir: Path,
    *,
    postings_file: Path | None,
    periods: Callable[[], list[str] | None],
    record: dict[str, Any],
    min_cities: int = MIN_CITIES,
) -> Path:
    """The indicator table to build the index from, and ``record`` says where each came from.

    A configured ``indices.ai_indicators`` file is used as given. Otherwise the AI job share and
    AI applicant share come from ``postings_file`` (window: the last configured AI-talent
    period, else the last market period of ``periods()``, else all postings), joined on city
    code with the patents and universities of the report's published table, and written to
    ``target``. Without mapped postings or AI postings, the published table (all four
    indicators as the report printed them) is used and ``record["indicators_note"]`` says why.
    A window with AI postings in fewer than ``min_cities`` cities widens to all postings, and
    the note says so.
    """
    if config.indices.ai_indicators:
        record["indicators_source"] = f"given file {config.indices.ai_indicators}"
        return Path(config.indices.ai_indicators)
    published = data_dir / PUBLISHED
    record["indicators_source"] = f"published table {published.name} (all four indicators)"
    occupations = list(config.postings.ai_occupations)
    if postings_file is None or not occupations:
        record["indicators_note"] = "no mapped postings or no AI occupations configured"
        return published
    from dwa_rater.indices.ai_indicators import ai_indicators_from_files, write_ai_indicators

    windows = list(config.postings.ai_periods) or periods() or []
    tries: list[str | None] = [windows[-1], None] if windows else [None]
    external = published if published.is_file() else None
    reasons: list[str] = []
    built = None
    for period in tries:
        label = f"window {period}" if period else "all postings"
        try:
            candidate = ai_indicators_from_files(postings_file, occupations, external, period)
        except DataError as exc:
            reasons.append(f"{label}: {exc}")
            continue
        if len(candidate.table) < min_cities:
            cities = len(candidate.table)
            reasons.append(f"{label}: AI postings in {cities} cities (< {min_cities})")
            continue
        built = candidate
        break
    if reasons:
        record["indicators_note"] = "; ".join(reasons)
    if built is None:
        record["indicators_note"] = "posting indicators not built (" + "; ".join(reasons) + ")"
        return published
    write_ai_indicators(built, target)
    window = f", window {period}" if period else ", all postings"  # the period that was used
    sources = built.sources.groupby("source")["indicator"].agg(", ".join).to_dict()
    record["indicators_source"] = f"postings ({sources.get('postings', '')}{window})"
    if "external" in sources:
        record["indicators_source"] += (
            f" + published table {published.name} ({sources['external']})"
        )
    record["indicators_cities"] = len(built.table)
    return target
