"""HTML sections for the city AI-development index (tables from
:mod:`dwa_rater.indices.ai_development`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dwa_rater.indices.ai_development import METHODS, SCORE_UNITS, AiDevelopmentResult
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib


def _plots(result: AiDevelopmentResult) -> list[tuple[object, str]]:
    import matplotlib.pyplot as plt

    configure_matplotlib()
    index = result.index
    scores = index.scores.sort_values("score")
    fig_scores, ax = plt.subplots(figsize=(7, max(3.0, 0.25 * len(scores) + 1)))
    ax.barh(scores["city"], scores["score"], color="#4a6fa5")
    ax.set_title(f"City AI development index ({index.method})")
    ax.set_xlabel(f"score ({SCORE_UNITS[index.method]})")
    ax.set_ylabel("city")
    ranks = result.sensitivity.ranks
    fig_ranks, ax2 = plt.subplots(figsize=(8, max(3.0, 0.25 * len(ranks) + 1)))
    positions = np.arange(len(METHODS))
    for _, row in ranks.iterrows():
        values = [row[f"rank_{m}"] for m in METHODS]
        ax2.plot(positions, values, marker="o", linewidth=1, alpha=0.7)
        for x, y, align, shift in ((0, values[0], "right", -4), (-1, values[-1], "left", 4)):
            ax2.annotate(
                str(row["city"]),
                (positions[x], y),
                xytext=(shift, 0),
                textcoords="offset points",
                ha=align,
                va="center",
                fontsize=7,
            )
    ax2.set_xticks(positions, list(METHODS))
    ax2.set_ylim(len(ranks) + 0.5, 0.5)
    ax2.set_title("City rank under each method")
    ax2.set_xlabel("method (normalisation and weighting)")
    ax2.set_ylabel("rank (1 = highest)")
    return [
        (fig_scores, f"Scores under the {index.method} method."),
        (fig_ranks, "Rank of each city under each method; flat lines mean robust ranks."),
    ]


def add_ai_development_sections(report: HtmlReport, result: AiDevelopmentResult) -> None:
    """Append weights, scores, rank sensitivity and plots (also used by the study report)."""
    index = result.index
    report.paragraph(
        "Score = sum of weighted normalised indicators; rank 1 = highest. Every indicator is "
        "taken as higher = more developed."
    )
    for note in index.notes:
        report.paragraph(note, css_class="note")
    report.heading("Weights used")
    report.table(index.weights.rename_axis("indicator").reset_index(), float_format="{:.4f}")
    report.heading("Scores")
    report.table(index.scores, float_format="{:.4f}")
    report.heading("Rank sensitivity across methods")
    report.table(result.sensitivity.ranks)
    report.heading("Kendall tau-b between the methods' scores")
    report.table(result.sensitivity.kendall.reset_index())
    for figure, caption in _plots(result):
        report.figure(figure, caption)  # type: ignore[arg-type]


def write_ai_development_report(result: AiDevelopmentResult, report_dir: Path) -> Path:
    """Write ``ai_development.html`` into ``report_dir``."""
    report = HtmlReport(f"City AI development index ({result.index.method})")
    add_ai_development_sections(report, result)
    return report.write(report_dir / "ai_development.html")
