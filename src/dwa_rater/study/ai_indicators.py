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


def study_ai_indicators(
    config: StudyConfig,
    target: Path,
    data_dir: Path,
    *,
    postings_file: Path | None,
    periods: Callable[[], list[str] | None],
    record: dict[str, Any],
) -> Path:
    """The indicator table to build the index from, and ``record`` says where each came from.

    A configured ``indices.ai_indicators`` file is used as given. Otherwise the AI job share and
    AI applicant share come from ``postings_file`` (window: the last configured AI-talent
    period, else the last market period of ``periods()``, else all postings), joined on city
    code with the patents and universities of the report's published table, and written to
    ``target``. Without mapped postings or AI postings, the published table (all four
    indicators as the report printed them) is used and ``record["indicators_note"]`` says why.
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
    period = windows[-1] if windows else None
    external = published if published.is_file() else None
    try:
        built = ai_indicators_from_files(postings_file, occupations, external, period)
    except DataError as exc:
        record["indicators_note"] = f"posting indicators not built ({exc})"
        return published
    write_ai_indicators(built, target)
    window = f", window {period}" if period else ", all postings"
    sources = built.sources.groupby("source")["indicator"].agg(", ".join).to_dict()
    record["indicators_source"] = f"postings ({sources.get('postings', '')}{window})"
    if "external" in sources:
        record["indicators_source"] += (
            f" + published table {published.name} ({sources['external']})"
        )
    record["indicators_cities"] = len(built.table)
    return target
