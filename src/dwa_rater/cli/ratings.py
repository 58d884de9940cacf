"""``dwa-rater ratings show|raw|import|dwa-reference``: what a ratings file holds, the raw
completions behind it, published labels imported, and task labels carried to DWAs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from dwa_rater.cli.progress import output_console
from dwa_rater.paths import resolve_onet_source
from dwa_rater.reference.files import dwa_reference_file, import_label_file
from dwa_rater.runs import raw_completions, summarise_ratings
from dwa_rater.store import read_many_ratings

ratings_app = typer.Typer(
    help="Inspect ratings files; import published labels; DWA-level references.",
    no_args_is_help=True,
)


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


@ratings_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="label file (TSV, CSV or Parquet)")],
    out: Annotated[Path, typer.Option("--out", help="ratings table to write (.csv or .parquet)")],
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            help="eloundou (full_labelset.tsv of Eloundou et al. 2024) or wide (one column "
            "per rater)",
        ),
    ] = "eloundou",
    rater: Annotated[
        list[str] | None,
        typer.Option("--rater", help="wide format: a rater column (repeat; default: all)"),
    ] = None,
) -> None:
    """Published or external labels into the long ratings table (one rater per source)."""
    run = import_label_file(file, format_, out, raters=rater)
    for note in run.result.notes:
        typer.echo(f"note: {note}", err=True)
    counts = ", ".join(f"{name} {n:,}" for name, n in run.result.counts.items())
    typer.echo(f"{len(run.result.ratings):,} ratings ({counts})")
    typer.echo(f"wrote {run.out}")
    typer.echo(f"wrote {run.manifest}")


@ratings_app.command("dwa-reference")
def dwa_reference(
    labels: Annotated[Path, typer.Argument(help="ratings table with task labels (item_text)")],
    out: Annotated[Path, typer.Option("--out", help="DWA table to write (.csv or .parquet)")],
    onet_dir: Annotated[
        Path | None,
        typer.Option("--onet-dir", help="O*NET release (folder or zip); env DWA_RATER_ONET_DIR"),
    ] = None,
    rater: Annotated[str, typer.Option("--rater", help="whose labels")] = "human",
) -> None:
    """Shares of E0/E1/E2 and mean beta per DWA, through O*NET's Tasks to DWAs."""
    run = dwa_reference_file(labels, resolve_onet_source(onet_dir, os.environ), out, rater=rater)
    c = run.reference.coverage
    typer.echo(
        f"{c['labelled_tasks']:,} labelled tasks vs O*NET {c['onet_release'] or '(release?)'}: "
        f"{c['matched_same_id']:,} same id and text, {c['matched_same_id_text_changed']:,} same "
        f"id with reworded text, {c['matched_by_text_only']:,} found by text only, "
        f"{c['not_found']:,} not found"
    )
    typer.echo(
        f"{c['dwas_covered']:,} of {c['dwas_in_release']:,} DWAs covered "
        f"({c['dwa_coverage']:.1%}) by {c['labelled_tasks_linked_to_dwas']:,} linked tasks"
    )
    typer.echo(f"wrote {run.out}")
    typer.echo(f"wrote {run.manifest}")


def register(app: typer.Typer) -> None:
    app.add_typer(ratings_app, name="ratings")
