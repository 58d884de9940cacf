"""HTML report sections for the labour-market indices and AI talent demand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dwa_rater.indices.labour_market.relationships import (
    RELATIONSHIP_VARIABLES,
    plot_relationship,
)

if TYPE_CHECKING:
    from dwa_rater.indices.labour_market.ai_talent import AiTalentDemand
    from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
    from dwa_rater.report.html import HtmlReport


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
