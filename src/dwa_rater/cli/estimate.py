"""``dwa-rater estimate``: a measure's mean with a confidence interval resting on gold labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.errors import ConfigError
from dwa_rater.inference.estimate import EstimateOptions
from dwa_rater.inference.files import estimate_files


def _raters(values: list[str]) -> tuple[str, ...]:
    names = [name.strip() for value in values for name in value.split(",")]
    if any(not name for name in names):
        raise ConfigError("--predicted holds an empty rater name")
    return tuple(dict.fromkeys(names))


def _format(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def estimate(
    ratings: Annotated[list[Path], typer.Argument(help="Ratings tables (CSV or Parquet).")],
    gold: Annotated[str, typer.Option("--gold", help="The gold (human) rater.")],
    predicted: Annotated[
        list[str],
        typer.Option("--predicted", help="Predicted rater(s): RATER[,RATER...]; repeatable."),
    ],
    out: Annotated[Path, typer.Option("--out", help="Estimate table to write (.csv/.parquet).")],
    measure: Annotated[
        str, typer.Option("--measure", help="alpha, beta, gamma (label codings) or score.")
    ] = "beta",
    by: Annotated[
        str | None, typer.Option("--by", help="One estimate per value of this column.")
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="Column of item weights (e.g. Core tasks 2, others 1)."),
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
    selection: Annotated[
        Path | None,
        typer.Option(
            "--selection",
            help="The `review select` table the gold items came from (reasons, probabilities).",
        ),
    ] = None,
    folds: Annotated[
        int, typer.Option("--folds", help="Folds of the cross-fitted rater combination.")
    ] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the fold split.")] = 0,
) -> None:
    """Mean of a measure (per --by group) with a prediction-powered confidence interval."""
    options = EstimateOptions(
        gold=gold,
        predicted=_raters(predicted),
        measure=measure,
        by=by,
        weights=weights,
        level=level,
        folds=folds,
        seed=seed,
    )
    run = estimate_files(ratings, out, options, selection)
    for note in run.result.notes:
        typer.echo(f"warning: {note}", err=True)
    table = run.result.table
    if by is None:
        row = table.iloc[0]
        typer.echo(
            f"{measure}: {row['estimate']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}] "
            f"({row['method']}; {row['n_gold']} gold of {row['n']} items, worth "
            f"{_format(row['n_effective'])} gold labels; gold-only interval "
            f"[{row['classical_ci_low']:.4f}, {row['classical_ci_high']:.4f}])"
        )
    else:
        width = (table["ci_high"] - table["ci_low"]).mean()
        typer.echo(
            f"{len(table)} groups of {by!r}; mean interval width {width:.4f} = "
            f"{table['width_ratio'].mean():.3f} of the gold-only intervals"
        )
    typer.echo(f"wrote {run.table}")
    typer.echo(f"wrote {run.manifest}")


def register(app: typer.Typer) -> None:
    app.command("estimate")(estimate)
