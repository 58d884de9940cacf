"""``dwa-rater benchmark``: rate a sample of human-labelled items with every rater; leaderboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from dwa_rater.benchmark.run import run_benchmark
from dwa_rater.config import load_raters
from dwa_rater.paths import resolve_home
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR
from dwa_rater.report.benchmark import write_benchmark_report

from .progress import RunDisplay


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def benchmark(
    reference: Annotated[
        Path, typer.Option("--reference", help="ratings table with human labels and item_text")
    ],
    raters: Annotated[Path, typer.Option("--raters", help="TOML file naming the raters")],
    out: Annotated[Path, typer.Option("--out", help="folder for the leaderboard and report")],
    n: Annotated[int, typer.Option("--n", min=1, help="items to sample")] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0, help="seed of the sample")] = 0,
    reference_rater: Annotated[
        str, typer.Option("--reference-rater", help="whose labels are the truth")
    ] = "human",
    resamples: Annotated[
        int, typer.Option("--resamples", min=100, help="bootstrap resamples of the intervals")
    ] = 1000,
    prompts_dir: Annotated[Path, typer.Option(help="folder of versioned rubrics")] = (
        DEFAULT_PROMPTS_DIR
    ),
    progress: Annotated[bool, typer.Option(help="show the live progress bar")] = True,
) -> None:
    """Benchmark raters against human labels: leaderboard.csv and report.html."""
    specs = load_raters(raters)
    with RunDisplay(enabled=progress) as display:
        result = run_benchmark(
            reference,
            specs,
            n=n,
            seed=seed,
            out_dir=out,
            cache_dir=resolve_home(os.environ) / "responses",
            environ=os.environ,
            reference_rater=reference_rater,
            resamples=resamples,
            prompts_dir=prompts_dir,
            on_progress=display.update,
        )
    report = write_benchmark_report(result, out / "report.html")
    for row in result.leaderboard.to_dict(orient="records"):
        typer.echo(
            f"{row['rater']}: kappa {_cell(row['kappa'])} [{_cell(row['kappa_low'])}, "
            f"{_cell(row['kappa_high'])}], binary {_cell(row['kappa_binary'])}, occupation r "
            f"{_cell(row['occupation_beta_r'])}, s/1000 {_cell(row['seconds_per_1000'])}"
        )
    typer.echo(f"wrote {result.leaderboard_path}")
    typer.echo(f"wrote {report}")


def register(app: typer.Typer) -> None:
    app.command("benchmark")(benchmark)
