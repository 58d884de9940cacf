"""``dwa-rater batches status|resume|cancel``: Batch API work started by ``rate --batch-api``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dwa_rater.batch_api import (
    BatchOutcome,
    batch_status,
    cancel_batches,
    resume_batches,
)
from dwa_rater.paths import resolve_home, resolve_prompts_dir

from .progress import RunDisplay, output_console

app = typer.Typer(
    name="batches",
    help="Batch API work started by `rate --batch-api`: status, resume, cancel.",
    no_args_is_help=True,
)

OutOption = Annotated[
    Path, typer.Option(help="the ratings output the batches write to (as given to `rate --out`)")
]
PromptsOption = Annotated[
    Path | None,
    typer.Option(
        help="your folder of versioned rubrics, on top of the shipped ones; "
        "env DWA_RATER_PROMPTS_DIR"
    ),
]
WaitOption = Annotated[
    bool, typer.Option(help="wait until the batches finish (else check once and return)")
]


def print_outcome(outcome: BatchOutcome, console: Console) -> None:
    """The summary of one Batch API invocation, and what to do next."""
    run, p = outcome.run, outcome.run.progress
    console.print(
        f"run {run.run_id} (Batch API): {p.done} rated, {p.cached} from cache, "
        f"{p.skipped} already done, {p.failed} failed; {p.requests} requests submitted, "
        f"{p.prompt_tokens + p.completion_tokens:,} tokens, ${p.cost_usd:.4f} at batch prices, "
        f"{run.wall_s:.1f} s"
    )
    console.print(f"ratings: {run.out}\nmanifest: {run.manifest}\nbatch state: {outcome.state_dir}")
    resume = f"`dwa-rater batches resume --out {run.out}`"
    if outcome.outcome == "submitted":
        console.print(
            f"{len(outcome.open_parts)} batch(es) open, {outcome.waiting_requests} request(s) "
            f"waiting; collect and continue with {resume}"
        )
    elif outcome.outcome == "cancelled":
        console.print(
            f"cancelled; {outcome.waiting_requests} request(s) did not run: {resume} submits "
            "them again"
        )
    if p.failed:
        console.print(
            f"[yellow]{p.failed} rating(s) failed; run the same `rate --batch-api` command "
            f"again to retry them (see `dwa-rater ratings show {run.out}`)[/yellow]"
        )


@app.command("status")
def status(out: OutOption = Path("out/ratings.csv")) -> None:
    """Show the batches of an output as last saved (sends nothing)."""
    report = batch_status(out)
    table = Table(title=f"batches of {report.out}")
    for column in ("part", "batch id", "status", "requests", "completed", "failed", "ingested"):
        table.add_column(column)
    for part in report.parts:
        counts = part.request_counts or {}
        table.add_row(
            part.name,
            part.batch_id or "-",
            part.status,
            str(part.requests),
            str(counts.get("completed", "-")),
            str(counts.get("failed", "-")),
            "yes" if part.ingested else "no",
        )
    console = output_console()
    console.print(table)
    for part in report.parts:
        for error in part.errors:
            console.print(f"{part.name}: {error}")
    console.print(
        f"{report.submitted_requests} request(s) submitted and not yet ingested, "
        f"{report.waiting_requests} waiting ({report.waiting_units} unit(s)); "
        f"{'a process is driving them' if report.driven else 'no process is driving them'}"
        f"{'; cancel requested' if report.cancel_requested else ''}"
    )


@app.command("resume")
def resume(
    out: OutOption = Path("out/ratings.csv"),
    prompts_dir: PromptsOption = None,
    poll_interval: Annotated[
        float | None, typer.Option(min=0.01, help="seconds between status checks")
    ] = None,
    wait: WaitOption = True,
    progress: Annotated[bool, typer.Option(help="show the live progress bar")] = True,
) -> None:
    """Collect finished batches, resubmit what is missing, and wait for the rest."""
    with RunDisplay(description="batches", enabled=progress) as display:
        outcome = resume_batches(
            out,
            cache_dir=resolve_home(os.environ) / "responses",
            environ=os.environ,
            prompts_dir=resolve_prompts_dir(prompts_dir, os.environ),
            poll_interval_s=poll_interval,
            wait=wait,
            on_progress=display.update,
        )
    print_outcome(outcome, output_console())
    if outcome.run.progress.failed:
        raise typer.Exit(code=1)


@app.command("cancel")
def cancel(
    out: OutOption = Path("out/ratings.csv"),
    prompts_dir: PromptsOption = None,
    wait: WaitOption = True,
) -> None:
    """Cancel the running batches; keep what they completed; submit nothing new."""
    outcome = cancel_batches(
        out,
        cache_dir=resolve_home(os.environ) / "responses",
        environ=os.environ,
        prompts_dir=resolve_prompts_dir(prompts_dir, os.environ),
        wait=wait,
    )
    console = output_console()
    if outcome is None:
        console.print("another process drives these batches; it was asked to cancel them")
        return
    print_outcome(outcome, console)


def register(app_: typer.Typer) -> None:
    app_.add_typer(app, name="batches")
