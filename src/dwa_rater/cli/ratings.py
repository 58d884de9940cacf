"""``dwa-rater ratings show``: what a ratings file holds, per rater."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from dwa_rater.cli.progress import output_console
from dwa_rater.runs import summarise_ratings
from dwa_rater.store import read_many_ratings

ratings_app = typer.Typer(help="Inspect ratings files.", no_args_is_help=True)


def _print_frame(console: Console, title: str, frame: pd.DataFrame) -> None:
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            if isinstance(value, float):
                cells.append("" if pd.isna(value) else f"{value:,.4f}")
            else:
                cells.append("" if value is None or value is pd.NA else str(value))
        table.add_row(*cells)
    console.print(table)


@ratings_app.command("show")
def show(
    files: Annotated[list[Path], typer.Argument(help="ratings files (CSV or Parquet)")],
    failures: Annotated[int, typer.Option(help="list at most N failed ratings")] = 20,
) -> None:
    """Label distribution per rater, failures, tokens and cost."""
    summary = summarise_ratings(read_many_ratings(files))
    console = output_console()
    _print_frame(console, "raters", summary["per_rater"])
    _print_frame(console, "labels", summary["labels"])
    if len(summary["failures"]):
        _print_frame(console, f"failures (first {failures})", summary["failures"].head(failures))


def register(app: typer.Typer) -> None:
    app.add_typer(ratings_app, name="ratings")
