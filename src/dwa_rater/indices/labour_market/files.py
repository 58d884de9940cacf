"""Labour-market indices from files: read postings, mapping and DWA scores; write CSV tables
and the HTML report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from dwa_rater.errors import ConfigError
from dwa_rater.indices.labour_market.ai_talent import AiTalentDemand, ai_talent_demand
from dwa_rater.indices.labour_market.pipeline import (
    LabourMarketIndices,
    build_labour_market_indices,
)
from dwa_rater.indices.labour_market.scoring import (
    PostingScorer,
    dwa_score_series,
    score_postings,
)
from dwa_rater.indices.periods import REPORT_AI_TALENT_WINDOWS

#: Renders the tables to a file (``report/``'s job; passed in so that indices never import it).
ReportWriter = Callable[[LabourMarketIndices, AiTalentDemand | None, Path], Path]


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
    report: ReportWriter | None = None,
    posting_scorer: PostingScorer | None = None,
    periods: Sequence[str] | None = None,
    ai_periods: Sequence[str] | None = None,
    city_weighting: str = "national",
) -> tuple[LabourMarketIndices, list[Path]]:
    """Postings + mapping (``dwa-rater postings map``) + DWA scores -> every index, written as
    CSV to ``out_dir`` (and the AI talent tables when AI occupations are named); ``report``,
    when given, renders ``report.html``.

    ``periods``: two windows to compare instead of years (e.g. ``["2022", "2024H1"]``);
    ``ai_periods``: the AI talent tables' windows (default: ``periods``, else the years and
    ``months``). ``city_weighting``: see :mod:`dwa_rater.indices.city`.
    ``posting_scorer`` computes the posting scores (default :func:`score_postings`); the
    distributed engine passes one that scores partitions on a cluster."""
    from dwa_rater.indices.mapping_files import read_mapping
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    posting_lines, line_mapping = read_mapping(mapping_dir)
    scores = read_dwa_scores(scores_path, rater, measure)
    scorer = posting_scorer or score_postings
    posting_scores = scorer(posting_lines, line_mapping, scores)
    windows = _two_periods(periods)
    result = build_labour_market_indices(
        postings,
        posting_scores,
        from_year,
        to_year,
        from_period=windows[0] if windows else None,
        to_period=windows[1] if windows else None,
        city_weighting=city_weighting,
    )
    written = write_labour_market_indices(result, out_dir)
    ai = None
    if ai_occupations:
        ai_windows = _two_periods(ai_periods) or windows
        if ai_windows:
            ai = ai_talent_demand(postings, ai_occupations, periods=ai_windows)
        else:
            ai = ai_talent_demand(
                postings, ai_occupations, result.from_year, result.to_year, months=months
            )
        written += write_ai_talent_demand(ai, out_dir)
    if report is not None:
        written.append(report(result, ai, out_dir / "report.html"))
    return result, written


def _two_periods(periods: Sequence[str] | None) -> tuple[str, str] | None:
    if not periods:
        return None
    if len(periods) != 2:
        raise ConfigError(f"give two periods to compare (got {len(periods)}: {list(periods)})")
    return str(periods[0]), str(periods[1])


def ai_talent_from_file(
    postings_path: Path,
    ai_occupations: Sequence[str],
    out_dir: Path,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
    months: Sequence[int] | None = None,
    top_n: int = 10,
    periods: Sequence[str] | None = None,
) -> tuple[AiTalentDemand, list[Path]]:
    """AI talent demand tables from a postings file. Windows: ``periods`` (two, e.g.
    ``2023H1 2024H1``); else ``from_year``/``to_year`` (and ``months``); else the report's
    2023H1 vs 2024H1 when the postings cover both; else the last two years present."""
    from dwa_rater.indices.periods import report_windows_if_covered
    from dwa_rater.indices.postings import read_postings

    postings = read_postings(postings_path)
    windows = _two_periods(periods)
    if windows is None and from_year is None and to_year is None and months is None:
        found = report_windows_if_covered(postings["date"], REPORT_AI_TALENT_WINDOWS)
        windows = (found[0].label, found[1].label) if found else None
    if windows is not None:
        result = ai_talent_demand(postings, ai_occupations, periods=windows, top_n=top_n)
        return result, write_ai_talent_demand(result, out_dir)
    years = sorted(pd.to_datetime(postings["date"]).dt.year.unique())
    if to_year is None:
        to_year = int(years[-1])
    if from_year is None:
        from_year = to_year - 1
    result = ai_talent_demand(
        postings, ai_occupations, from_year, to_year, months=months, top_n=top_n
    )
    return result, write_ai_talent_demand(result, out_dir)
