"""``dwa-rater rate``: rate DWAs (or tasks, or your own statements) with one or more raters."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dwa_rater.batch_api import BatchSettings, run_batch_api
from dwa_rater.cli.options import PromptsDirOption
from dwa_rater.config import raters_for_run
from dwa_rater.errors import ConfigError
from dwa_rater.items import items_for_run, parse_item_ids
from dwa_rater.paths import resolve_home, resolve_onet_source, resolve_prompts_dir
from dwa_rater.runs import RunResult, execute_run

from .batches import print_outcome
from .progress import RunDisplay, output_console


def parse_extra_body(text: str | None) -> dict[str, object] | None:
    """``--extra-body``: a JSON object merged into every request body."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--extra-body: not JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(value, dict):
        raise ConfigError("--extra-body: give a JSON object, e.g. '{\"enable_thinking\": false}'")
    return value


def print_result(result: RunResult, console: Console) -> None:
    if result.dry_run:
        table = Table(title="dry run: nothing was sent")
        for column in (
            "rater",
            "units",
            "done",
            "cached",
            "requests",
            "prompt tok",
            "output tok",
            "cost $",
        ):
            table.add_column(column, justify="right")
        for e in result.dry_run:
            cost = "unknown" if e.cost_usd is None else f"{e.cost_usd:.4f}"
            table.add_row(
                e.rater,
                str(e.units),
                str(e.skipped),
                str(e.cached),
                str(e.requests),
                f"{e.prompt_tokens:,}",
                f"{e.completion_tokens:,}",
                cost,
            )
        console.print(table)
        return
    p = result.progress
    console.print(
        f"run {result.run_id}: {p.done} rated, {p.cached} from cache, {p.skipped} already done, "
        f"{p.failed} failed; {p.requests} requests, "
        f"{p.prompt_tokens + p.completion_tokens:,} tokens"
        + (f" ({p.reasoning_tokens:,} reasoning)" if p.reasoning_tokens else "")
        + f", ${p.cost_usd:.4f}, "
        f"{result.wall_s:.1f} s"
    )
    console.print(f"ratings: {result.out}\nmanifest: {result.manifest}")
    if p.failed:
        console.print(
            f"[yellow]{p.failed} rating(s) failed; run the same command again to retry them "
            f"(see `dwa-rater ratings show {result.out}`)[/yellow]"
        )


def rate(
    onet_dir: Annotated[
        Path | None, typer.Option(help="O*NET text release (folder or zip); env DWA_RATER_ONET_DIR")
    ] = None,
    items_file: Annotated[
        Path | None,
        typer.Option("--items", help="CSV/Parquet of your own statements: id, text[, context]"),
    ] = None,
    item_type: Annotated[str, typer.Option(help="what to rate from O*NET: dwa or task")] = "dwa",
    ids: Annotated[str | None, typer.Option(help="comma-separated item ids")] = None,
    limit: Annotated[int | None, typer.Option(help="only the first N items")] = None,
    sample: Annotated[int | None, typer.Option(help="a seeded random sample of N items")] = None,
    seed: Annotated[int, typer.Option(help="seed of --sample")] = 0,
    raters: Annotated[
        Path | None, typer.Option("--raters", help="TOML file naming the raters")
    ] = None,
    name: Annotated[str | None, typer.Option(help="ad-hoc rater: name")] = None,
    provider: Annotated[
        str | None,
        typer.Option(help="ad-hoc rater: provider preset (see `dwa-rater providers`)"),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="ad-hoc rater: OpenAI-compatible base URL (overrides the preset's)"),
    ] = None,
    model: Annotated[str | None, typer.Option(help="ad-hoc rater: model")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="ad-hoc rater: NAME of the env var holding the key")
    ] = None,
    rubric: Annotated[
        str | None, typer.Option(help="ad-hoc rater: rubric, e.g. exposure or ilo@v1")
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="ad-hoc rater: items per request")] = None,
    samples: Annotated[int | None, typer.Option(help="ad-hoc rater: samples per item")] = None,
    temperature: Annotated[float | None, typer.Option(help="ad-hoc rater: temperature")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="ad-hoc rater: requests in flight")
    ] = None,
    structured_output: Annotated[
        str | None,
        typer.Option(
            help="ad-hoc rater: auto|json_schema|json_object|tools|md_json (auto: the preset's)"
        ),
    ] = None,
    extra_body: Annotated[
        str | None,
        typer.Option(help="ad-hoc rater: JSON object merged into every request body"),
    ] = None,
    reasoning: Annotated[
        bool | None,
        typer.Option(
            "--reasoning/--no-reasoning",
            help="ad-hoc rater: reasoning model (default: by name, o1/o3/o4/gpt-5)",
        ),
    ] = None,
    reasoning_effort: Annotated[
        str | None, typer.Option(help="ad-hoc rater: minimal|low|medium|high (reasoning models)")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(help="ad-hoc rater: output-token budget per request")
    ] = None,
    cny_per_usd: Annotated[
        float | None, typer.Option(help="ad-hoc rater: CNY per USD for CNY list prices")
    ] = None,
    out: Annotated[Path, typer.Option(help="ratings file (.csv journal, or .parquet)")] = Path(
        "out/ratings.csv"
    ),
    prompts_dir: PromptsDirOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count requests, tokens and cost; send nothing")
    ] = False,
    progress: Annotated[bool, typer.Option(help="show the live progress bar")] = True,
    batch_api: Annotated[
        bool,
        typer.Option("--batch-api", help="use the provider's Batch API: half price, within 24 h"),
    ] = False,
    poll_interval: Annotated[
        float, typer.Option(min=0.01, help="--batch-api: seconds between status checks")
    ] = 30.0,
    max_enqueued_tokens: Annotated[
        int | None,
        typer.Option(min=1, help="--batch-api: cap on estimated tokens in flight per model"),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option(help="--batch-api: wait for results (else submit; `batches resume` later)"),
    ] = True,
) -> None:
    """Rate every DWA (default) with the configured raters; resumable and cached."""
    items = items_for_run(
        items_file=items_file,
        onet_source=None if items_file is not None else resolve_onet_source(onet_dir, os.environ),
        item_type=item_type,
        ids=parse_item_ids(ids),
        limit=limit,
        sample=sample,
        seed=seed,
    )
    specs = raters_for_run(
        raters,
        {
            "name": name,
            "provider": provider,
            "base_url": base_url,
            "model": model,
            "api_key_env": api_key_env,
            "rubric": rubric,
            "batch_size": batch_size,
            "samples": samples,
            "temperature": temperature,
            "concurrency": concurrency,
            "structured_output": structured_output,
            "extra_body": parse_extra_body(extra_body),
            "reasoning": reasoning,
            "reasoning_effort": reasoning_effort,
            "max_tokens": max_tokens,
            "cny_per_usd": cny_per_usd,
        },
    )
    cache_dir = resolve_home(os.environ) / "responses"
    rubrics = resolve_prompts_dir(prompts_dir, os.environ)
    console = output_console()
    if batch_api:
        settings = BatchSettings(
            poll_interval_s=poll_interval, max_enqueued_tokens=max_enqueued_tokens
        )
        with RunDisplay(enabled=progress and not dry_run) as display:
            outcome = run_batch_api(
                items,
                specs,
                out=out,
                cache_dir=cache_dir,
                environ=os.environ,
                prompts_dir=rubrics,
                settings=settings,
                wait=wait,
                dry_run=dry_run,
                on_progress=display.update,
            )
        if dry_run:
            print_result(outcome.run, console)
        else:
            print_outcome(outcome, console)
        if outcome.run.progress.failed:
            raise typer.Exit(code=1)
        return
    with RunDisplay(enabled=progress and not dry_run) as display:
        result = execute_run(
            items,
            specs,
            out=out,
            cache_dir=cache_dir,
            environ=os.environ,
            prompts_dir=rubrics,
            dry_run=dry_run,
            on_progress=display.update,
        )
    print_result(result, console)
    if result.progress.failed:
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    app.command("rate")(rate)
