"""``dwa-rater calibrate`` and ``dwa-rater export``: calibrated item scores and their export."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from dwa_rater.calibration import CalibrationOptions, calibrate_files
from dwa_rater.cli.options import PromptsDirOption
from dwa_rater.export import export_scores
from dwa_rater.paths import optional_onet_source, resolve_home, resolve_prompts_dir
from dwa_rater.report.calibration import write_calibration_report


def _number(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.3f}"  # type: ignore[arg-type]


def calibrate(
    ratings: Annotated[list[Path], typer.Argument(help="Ratings tables (CSV or Parquet).")],
    human: Annotated[str, typer.Option("--human", help="Name of the human rater.")],
    out: Annotated[Path, typer.Option("--out", help="Score table to write (.csv or .parquet).")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the HTML report (calibration.html).")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of the evaluation.")] = 5,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random draw.")] = 0,
    onet_dir: Annotated[
        Path | None,
        typer.Option(
            "--onet-dir", help="O*NET release for occupation-level evaluation (else env)."
        ),
    ] = None,
    neighbours: Annotated[
        bool,
        typer.Option(
            help="use the votes of the most similar human-labelled statements (item_text) as "
            "features"
        ),
    ] = True,
    rubric: Annotated[
        str | None,
        typer.Option(
            "--rubric",
            help="rubric whose labels and codings to use, NAME[@VERSION] (default: the one the "
            "ratings name)",
        ),
    ] = None,
    prompts_dir: PromptsDirOption = None,
) -> None:
    """Combine raters and human labels into one calibrated score per item."""
    run = calibrate_files(
        ratings,
        out,
        CalibrationOptions(human=human, folds=folds, seed=seed, neighbours=neighbours),
        onet_source=optional_onet_source(onet_dir, os.environ),
        embeddings_dir=resolve_home(os.environ) / "embeddings",
        rubric=rubric,
        prompts_dir=resolve_prompts_dir(prompts_dir, os.environ),
    )
    report_path = write_calibration_report(run.result, report) if report is not None else None
    result = run.result
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    counts = result.source_counts()
    typer.echo(
        f"method: {result.method.replace('_', ' ')}; {len(result.scores)} items "
        f"({counts['human']} human, {counts['calibrated']} calibrated, {counts['raw']} raw)"
    )
    if result.evaluation is not None:
        typer.echo(f"evaluation ({result.evaluation.description}):")
        mae = f"{result.scale.default_coding}_mae"
        for row in result.evaluation.table.to_dict(orient="records"):
            typer.echo(
                f"  {row['method']}: kappa={_number(row['kappa'])} "
                f"accuracy={_number(row['accuracy'])} brier={_number(row['brier'])} "
                f"ece={_number(row['ece'])} {mae}={_number(row[mae])} "
                f"occupation_mae={_number(row['occupation_mae'])}"
            )
    typer.echo(f"wrote {run.scores}")
    typer.echo(f"wrote {run.manifest}")
    if report_path is not None:
        typer.echo(f"wrote {report_path}")


def export(
    scores: Annotated[Path, typer.Argument(help="Calibrated score table from `calibrate`.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the export into.")],
) -> None:
    """Export the DWA score table (CSV and Parquet) with the provenance of every upstream run."""
    result = export_scores(scores, out)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"{result.n_items} items")
    for path in (result.csv, result.parquet, result.provenance):
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Mount ``calibrate`` and ``export``."""
    app.command("calibrate")(calibrate)
    app.command("export")(export)
