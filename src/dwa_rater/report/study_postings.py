"""Study report sections computed from postings: city index, rank comparison, remote work.

Rendering only; the tables come from :mod:`dwa_rater.indices`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dwa_rater.errors import present
from dwa_rater.indices.city import WEIGHTING_DESCRIPTIONS, compare_city_ranks
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.labour_market import city_index_title, latest_city_table
from dwa_rater.report.study_evidence import draw_intervals, interval_note

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.study.artifacts import StudyArtifacts


def add_city_sections(
    report: HtmlReport, artifacts: StudyArtifacts, record: dict[str, Any] | None = None
) -> None:
    """The city LLM-exposure index of the last compared window, its weighting named, with
    intervals when the labour-market step's ``record`` says it made them."""
    import matplotlib.pyplot as plt

    labour = present(artifacts.labour, "labour")
    weighting = labour.city_weighting
    label, latest = latest_city_table(labour)
    latest = latest.sort_values("index")
    title = city_index_title(weighting, label)
    report.paragraph(f"Weighting {weighting}: {WEIGHTING_DESCRIPTIONS[weighting]}.")
    report.paragraph(interval_note(record or {}), css_class="note")
    figure, ax = plt.subplots(figsize=(7, 0.28 * len(latest) + 1.5))
    ax.barh(latest["city_name"].astype(str), latest["index"], color="#d9534f")
    if "ci_low" in latest.columns:
        draw_intervals(
            ax, np.arange(len(latest)), latest["ci_low"], latest["ci_high"], horizontal=True
        )
    unit = "0-1" if weighting == "within-city" else "sum of weighted occupation indices"
    ax.set_xlabel(f"city LLM exposure index ({unit})")
    ax.set_ylabel("city")
    ax.set_title(title)
    bars = "; lines: 95% intervals" if "ci_low" in latest.columns else ""
    report.figure(figure, title + bars)
    report.heading(title, level=3)
    report.table(latest.sort_values("rank"))


def _rank_chart(ranks: pd.DataFrame) -> Figure:
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.5, 6.0))
    ax.scatter(ranks["ai_rank"], ranks["llm_rank"], color="#4a6fa5", zorder=3)
    for row in ranks.itertuples(index=False):
        ax.annotate(
            str(row.city),
            (row.ai_rank, row.llm_rank),
            fontsize=8,
            xytext=(4, 2),
            textcoords="offset points",
        )
    top = int(max(ranks["ai_rank"].max(), ranks["llm_rank"].max())) + 1
    ax.plot([0.5, top], [0.5, top], color="#999", linewidth=0.8, linestyle="--")
    ax.set_xlim(top, 0.5)
    ax.set_ylim(top, 0.5)
    ax.set_xlabel("AI development index rank (1 = highest)")
    ax.set_ylabel("LLM exposure index rank (1 = highest)")
    ax.set_title("City ranks: LLM exposure against AI development")
    return figure


def add_rank_comparison(report: HtmlReport, artifacts: StudyArtifacts) -> None:
    """Table of both ranks with their difference, and the rank-versus-rank chart."""
    labour = present(artifacts.labour, "labour")
    label, latest = latest_city_table(labour)
    ai_development = present(artifacts.ai_development, "ai development")
    scores = ai_development.index.scores
    ranks = compare_city_ranks(latest, scores)
    report.paragraph(
        f"LLM exposure index: {label}, weighting {labour.city_weighting}; AI development index: "
        f"method {ai_development.index.method}. Both re-ranked among the "
        f"{len(ranks)} cities present in both. rank_difference = AI rank - LLM rank: positive "
        "means the city ranks higher on LLM exposure than on AI development."
    )
    report.table(ranks, float_format="{:.3f}")
    report.figure(
        _rank_chart(ranks), "Points above the diagonal rank higher on LLM exposure than on AI."
    )


def add_remote_work_trend(report: HtmlReport, artifacts: StudyArtifacts) -> None:
    """The report's trend of both national indices, and the cross-occupation view."""
    import matplotlib.pyplot as plt

    trend = artifacts.remote_trend
    if trend is None:
        return
    national = trend.national
    report.heading("National remote-work and LLM indices by period (report's method)", level=3)
    report.paragraph(
        "Each index is the posting-share-weighted mean over occupation categories; a "
        "category's remote-work index is the crosswalk-weighted mean of Dingel-Neiman "
        "teleworkability over its O*NET occupations (crosswalk: the crosswalk step)."
    )
    report.table(national, float_format="{:.4f}")
    figure, ax = plt.subplots(figsize=(7, 4.0))
    periods = national["period"].astype(str)
    ax.plot(periods, national["remote_work_index"], marker="o", label="remote-work index")
    ax.plot(periods, national["llm_index"], marker="s", label="LLM exposure index")
    ax.set_xlabel("period")
    ax.set_ylabel("index (0-1)")
    ax.set_title("LLM exposure and remote-work indices over time")
    ax.legend()
    report.figure(figure, "Both posting-share-weighted over occupation categories.")
    report.heading("Across occupation categories", level=3)
    report.table(trend.correlations, float_format="{:.3f}")
    categories = trend.categories.dropna(subset=["remote_work", "index"])
    if categories.empty:
        return
    last = categories["period"].astype(str).max()
    rows = categories[categories["period"].astype(str) == last]
    figure, ax = plt.subplots(figsize=(7, 4.6))
    ax.scatter(rows["remote_work"], rows["index"], color="#4a6fa5")
    for row in rows.itertuples(index=False):
        ax.annotate(
            str(row.occupation_category),
            (row.remote_work, row.index),
            fontsize=7,
            xytext=(3, 2),
            textcoords="offset points",
        )
    if len(rows) >= 2 and rows["remote_work"].nunique() > 1:
        slope, intercept = np.polyfit(rows["remote_work"], rows["index"], 1)
        xs = np.linspace(rows["remote_work"].min(), rows["remote_work"].max(), 10)
        ax.plot(xs, slope * xs + intercept, color="#d9534f", linewidth=1)
    ax.set_xlabel("category remote-work index (0-1)")
    ax.set_ylabel("LLM exposure index (0-1)")
    ax.set_title(f"Remote work vs LLM exposure by occupation category, {last}")
    report.figure(figure, "Categories of the postings; line: OLS fit.")
