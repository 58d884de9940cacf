"""``dwa-rater ratings show|raw``: what a ratings file holds, and the raw completions behind it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from dwa_rater.cli.progress import output_console
from dwa_rater.runs import raw_completions, summarise_ratings
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


@ratings_app.command("raw")
def raw(
    item_id: Annotated[str, typer.Argument(help="the item (activity) id, e.g. a DWA ID")],
    ratings: Annotated[
        Path, typer.Option("--ratings", "--out", help="the ratings file the run wrote")
    ] = Path("out/ratings.csv"),
    rater: Annotated[str | None, typer.Option(help="only this rater")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON lines")] = False,
) -> None:
    """The raw completions behind an item's ratings (from the audit log beside the ratings)."""
    records = raw_completions(ratings, item_id, rater=rater)
    if as_json:
        for record in records:
            typer.echo(json.dumps(record, ensure_ascii=False))
        return
    console = output_console()
    for record in records:
        position = record["item_ids"].index(item_id) + 1 if item_id in record["item_ids"] else "?"
        usage = record.get("usage") or {}
        console.print(
            f"[bold]{record['created_at']}[/bold] run {record['run_id']} rater {record['rater']} "
            f"model {record['model']} ({record['structured_output']}) attempt {record['attempt']}"
            f" HTTP {record['status']}, {record.get('latency_s')} s, item {position} of "
            f"{len(record['item_ids'])}, tokens {usage.get('prompt_tokens', '-')}/"
            f"{usage.get('completion_tokens', '-')}, request sha256 {record['request_sha256'][:12]}"
        )
        if record.get("error"):
            console.print(f"  error: {record['error']}", markup=False)
        console.print(record.get("response_text") or "", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(ratings_app, name="ratings")
