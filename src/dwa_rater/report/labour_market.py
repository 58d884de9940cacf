"""HTML report sections for the labour-market indices and AI talent demand.

Rendering only: the tables come from :mod:`dwa_rater.indices.labour_market`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dwa_rater.indices.city import WEIGHTING_DESCRIPTIONS
from dwa_rater.indices.labour_market.relationships import RELATIONSHIP_VARIABLES, linear_fit
from dwa_rater.report.html import HtmlReport
from dwa_rater.report.plotting import configure_matplotlib

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dwa_rater.indices.labour_market.ai_talent import AiTalentDemand
    from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices


def plot_relationship(
    occupation_index: pd.Series,
    values: pd.Series,
    *,
    x_label: str = "LLM exposure index (0-1)",
    y_label: str = "",
    title: str = "",
) -> Figure:
    """Scatter of ``values`` against the index, one labelled point per occupation, OLS line."""
    configure_matplotlib()
    import matplotlib.pyplot as plt

    joined = pd.DataFrame({"x": occupation_index, "y": values}).dropna()
    figure, axes = plt.subplots(figsize=(7.5, 5.0))
    axes.scatter(joined["x"], joined["y"], color="#335", zorder=3)
    for label, row in joined.iterrows():
        axes.annotate(
            str(label), (row["x"], row["y"]), fontsize=8, xytext=(4, 3), textcoords="offset points"
        )
    fit = linear_fit(joined["x"], joined["y"])
    if not np.isnan(fit.slope):
        xs = np.linspace(joined["x"].min(), joined["x"].max(), 50)
        axes.plot(
            xs,
            fit.intercept + fit.slope * xs,
            color="#c33",
            label=(
                f"OLS slope {fit.slope:.2f} (95% CI {fit.slope_ci_low:.2f} to "
                f"{fit.slope_ci_high:.2f}), "
                f"r = {fit.pearson_r:.2f}, n = {fit.n}"
            ),
        )
        axes.legend(loc="best", fontsize=8)
    axes.axhline(0, color="#999", linewidth=0.6)
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.set_title(title or y_label)
    axes.grid(alpha=0.3)
    return figure


def labour_market_report(
    result: LabourMarketIndices,
    ai: AiTalentDemand | None = None,
    title: str = "LLM exposure of the labour market",
) -> HtmlReport:
    """An HTML report: occupation index and change, city ranking, relationships with plots,
    and AI talent demand when given."""
    report = HtmlReport(title)
    add_labour_market_sections(report, result, ai)
    return report


def city_index_title(weighting: str, period: str) -> str:
    """Title of a city-index table or plot, naming the window and the weighting."""
    return f"City LLM-exposure index, {period} (weighting: {weighting})"


def latest_city_table(result: LabourMarketIndices) -> tuple[str, pd.DataFrame]:
    """The city table of the last compared window (or year): (its label, its rows)."""
    city = result.city_index
    label = result.to_label or str(result.to_year)
    if "period" in city.columns and (city["period"].astype(str) == label).any():
        return label, city[city["period"].astype(str) == label]
    year = city["year"].max()
    return str(year), city[city["year"] == year]


def base_index(result: LabourMarketIndices) -> pd.Series:
    """The occupation index the relationships use: of the first compared window or year."""
    if result.periods:
        return result.occupation_change.set_index("occupation_category")["index_from"]
    rows = result.occupation_index[result.occupation_index["year"] == result.from_year]
    return rows.set_index("occupation_category")["index"]


def add_labour_market_sections(
    report: HtmlReport, result: LabourMarketIndices, ai: AiTalentDemand | None = None
) -> None:
    """Append the labour-market sections (also used by the study's single report)."""
    start = result.from_label or str(result.from_year)
    end = result.to_label or str(result.to_year)
    weighting = result.city_weighting
    report.paragraph(
        "Posting score: weighted mean of the scores of the DWAs a posting's duty lines map to. "
        "Occupation index: mean posting score per occupation category and year (or window). "
        f"City index, weighting {weighting}: {WEIGHTING_DESCRIPTIONS[weighting]}. Scores are "
        "on a 0-1 scale; shares in percent; changes in percentage points."
    )
    report.heading("Occupation index by year")
    wide = result.occupation_index.pivot(
        index="occupation_category", columns="year", values="index"
    )
    wide.columns = [str(c) for c in wide.columns]
    report.table(wide.reset_index())
    report.heading(f"Change {start} to {end}")
    report.table(result.occupation_change.sort_values("index_from", ascending=False))
    label, latest = latest_city_table(result)
    report.heading(city_index_title(weighting, label))
    report.table(latest)
    report.heading(f"Relationships across occupations (index of {start})")
    report.table(result.relationships)
    base = base_index(result)
    market = result.market_changes.set_index("occupation_category")
    for variable, text in RELATIONSHIP_VARIABLES.items():
        figure = plot_relationship(
            base,
            market[variable],
            x_label=f"LLM exposure index, {start} (0-1)",
            y_label=text,
            title=f"{text}, {start} to {end}",
        )
        report.figure(figure, caption=f"{text} against the occupation index; line: OLS fit.")
    if ai is not None:
        report.heading("AI talent demand")
        for name in ("growth", "salary", "education", "experience", "skills"):
            report.heading(name.capitalize(), level=3)
            report.table(getattr(ai, name))


def write_labour_market_report(
    result: LabourMarketIndices, ai: AiTalentDemand | None, path: Path
) -> Path:
    """Write :func:`labour_market_report` to ``path`` and return it."""
    return labour_market_report(result, ai).write(path)
