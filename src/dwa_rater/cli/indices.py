"""``dwa-rater indices``: the city AI-development index and the remote-work index.

``indices_app`` is module-level so other command modules (postings) can add commands to it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.cli.options import measure_option
from dwa_rater.indices.ai_development import (
    AiIndexMethod,
    ai_development_from_file,
    write_ai_development,
)
from dwa_rater.indices.ai_indicators import ai_indicators_from_files, write_ai_indicators
from dwa_rater.indices.city import (
    DEFAULT_CITY_WEIGHTING,
    WEIGHTING_DESCRIPTIONS,
    CityWeighting,
    city_index_from_files,
    write_city_index,
)
from dwa_rater.indices.remote_work import remote_work_from_files, write_remote_work
from dwa_rater.indices.remote_work_trend import (
    remote_work_trend_from_files,
    write_remote_work_trend,
)
from dwa_rater.paths import resolve_data_dir
from dwa_rater.report.ai_development import write_ai_development_report

indices_app = typer.Typer(
    help="Indices: city AI development, remote work, and posting-based exposure.",
    no_args_is_help=True,
)


@indices_app.command("ai-dev")
def ai_dev(
    indicators: Annotated[
        Path, typer.Argument(help="City indicator table: city + numeric columns.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Scores to write (CSV).")],
    method: Annotated[
        AiIndexMethod, typer.Option("--method", help="minmax, zscore, entropy, pca or rank.")
    ] = "minmax",
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights", help="equal (default), 'a=0.4,b=0.6', or numbers in column order."
        ),
    ] = None,
    city_column: Annotated[
        str, typer.Option("--city-column", help="Column naming the city.")
    ] = "city",
    indicator_columns: Annotated[
        list[str] | None, typer.Option("--indicators", help="Indicator column (repeatable).")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the HTML report.")
    ] = None,
) -> None:
    """City AI-development index: normalise, weight, sum; rank sensitivity across methods."""
    result = ai_development_from_file(indicators, method, weights, city_column, indicator_columns)
    paths = write_ai_development(result, out)
    if report is not None:
        paths.append(write_ai_development_report(result, report))
    weights_used = ", ".join(f"{k}={v:.4f}" for k, v in result.index.weights.items())
    typer.echo(f"weights ({method}): {weights_used}")
    for note in result.index.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(result.index.scores.head(10).to_string(index=False))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@indices_app.command("ai-indicators")
def ai_indicators(
    postings: Annotated[Path, typer.Argument(help="Postings file (CSV or Parquet).")],
    ai_occupation: Annotated[
        list[str], typer.Option("--ai-occupation", help="AI occupation (category or title).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Indicator table to write (CSV).")],
    external: Annotated[
        Path | None,
        typer.Option(
            "--external", help="ai_patents, ai_universities keyed by city_code (or city)."
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="Window of postings, e.g. 2024H1.")
    ] = None,
    method: Annotated[
        AiIndexMethod | None,
        typer.Option("--method", help="Also build the index (indices ai-dev) with this method."),
    ] = None,
) -> None:
    """The report's four AI-development indicators: two from postings, two from a file."""
    result = ai_indicators_from_files(postings, ai_occupation, external, period)
    paths = write_ai_indicators(result, out)
    typer.echo(result.sources.to_string(index=False))
    typer.echo(result.table.head(15).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if method is not None:
        index = ai_development_from_file(out, method)
        index_out = out.with_name(f"{out.stem}_index.csv")
        paths += write_ai_development(index, index_out)
        typer.echo(index.index.scores.head(10).to_string(index=False))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@indices_app.command("city")
def city(
    postings: Annotated[
        Path,
        typer.Argument(help="Postings: city_code, city_name, occupation_category, date."),
    ],
    occupation_index: Annotated[
        Path,
        typer.Option(
            "--occupation-index", help="occupation_category, index[, year or period] (CSV/Parquet)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="City table to write (CSV or Parquet).")],
    year: Annotated[
        int | None, typer.Option("--year", help="Calendar year of postings and index rows.")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option("--period", help="Window instead of a year: 2024H1, 2022, 2024-01..2024-06."),
    ] = None,
    weighting: Annotated[
        CityWeighting,
        typer.Option(
            "--weighting",
            help="national (report: n(c,o)/N(o)), national-all (n(c,o)/N) or within-city.",
        ),
    ] = DEFAULT_CITY_WEIGHTING,
) -> None:
    """City LLM-exposure index: occupation indices weighted by the city's postings."""
    table = city_index_from_files(
        postings, occupation_index, year=year, period=period, weighting=weighting
    )
    write_city_index(table, out)
    typer.echo(f"city index, weighting {weighting}: {WEIGHTING_DESCRIPTIONS[weighting]}")
    typer.echo(table.head(20).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(f"wrote {out}")


@indices_app.command("remote-trend")
def remote_trend(
    postings: Annotated[
        Path, typer.Argument(help="Postings: occupation_category, date (CSV or Parquet).")
    ],
    occupation_index: Annotated[
        Path,
        typer.Option(
            "--occupation-index", help="occupation_category, index, year or period per row."
        ),
    ],
    crosswalk: Annotated[
        Path, typer.Option("--crosswalk", help="Category -> O*NET table (crosswalk build).")
    ],
    out: Annotated[Path, typer.Option("--out", help="National indices per period (CSV).")],
    period: Annotated[
        list[str] | None,
        typer.Option("--period", help="Windows (repeatable): 2022, 2024H1, ... Default: years."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Reference data root (telework/).")
    ] = None,
) -> None:
    """The report's remote-work trend: national remote-work and LLM indices per period."""
    trend = remote_work_trend_from_files(
        postings, occupation_index, crosswalk, resolve_data_dir(data_dir, os.environ), period
    )
    paths = write_remote_work_trend(trend, out)
    typer.echo(trend.national.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    typer.echo(trend.correlations.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@indices_app.command("remote-work")
def remote_work(
    occupations: Annotated[
        Path, typer.Option("--occupations", help="LLM occupation index keyed by onetsoc_code.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Occupation table to write (CSV).")],
    weights: Annotated[
        Path | None,
        typer.Option(
            "--weights", help="onetsoc_code, weight[, period]: posting or employment counts."
        ),
    ] = None,
    measure: Annotated[
        str | None, typer.Option("--measure", help="LLM index column (default beta).")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", hidden=True, help="Old name of --measure.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Reference data root (telework/, crosswalks/)."),
    ] = None,
) -> None:
    """Dingel-Neiman remote-work index vs the LLM occupation index."""
    result = remote_work_from_files(
        occupations,
        resolve_data_dir(data_dir, os.environ),
        measure_option(measure, column) or "beta",
        weights,
    )
    paths = write_remote_work(result, out)
    typer.echo(result.correlations.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if result.by_period is not None:
        typer.echo(result.by_period.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    """Mount ``indices`` (ai-dev, ai-indicators, city, remote-trend, remote-work)."""
    app.add_typer(indices_app, name="indices")
