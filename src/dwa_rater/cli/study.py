"""``dwa-rater study``: the whole study in one command, and one HTML report."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.paths import (
    resolve_annotations_dir,
    resolve_data_dir,
    resolve_home,
    resolve_onet_source,
)
from dwa_rater.study.config import load_study_config
from dwa_rater.study.pipeline import StudyInputs, run_study

from .progress import RunDisplay


def study(
    config: Annotated[
        Path | None, typer.Option(help="study settings (TOML); defaults if absent")
    ] = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("out/study"),
    sample: Annotated[int | None, typer.Option(help="DWAs to rate (seeded sample)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the DWA sample")] = None,
    all_dwas: Annotated[bool, typer.Option("--all", help="rate all 2,087 DWAs")] = False,
    postings: Annotated[
        Path | None, typer.Option(help="your postings file (default: synthetic)")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="reference data; env DWA_RATER_DATA_DIR")
    ] = None,
    onet_dir: Annotated[
        Path | None, typer.Option(help="O*NET release; env DWA_RATER_ONET_DIR")
    ] = None,
    annotations_dir: Annotated[
        Path | None,
        typer.Option(
            help="pulled Label Studio exports "
            "[default: $DWA_RATER_ANNOTATIONS_DIR or ./annotations]"
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="show the live progress bar")] = True,
) -> None:
    """Rate, measure agreement, select for review, calibrate, build every index, write a report."""
    settings = load_study_config(
        config,
        **{
            "study.sample": sample,
            "study.seed": seed,
            "study.all": True if all_dwas else None,
            "postings.file": str(postings) if postings else None,
        },
    )
    data = resolve_data_dir(data_dir, os.environ)
    environ = dict(os.environ)
    environ.setdefault("DWA_RATER_DATA_DIR", str(data))
    inputs = StudyInputs(
        data_dir=data,
        onet_source=resolve_onet_source(onet_dir, environ),
        annotations_dir=resolve_annotations_dir(annotations_dir, os.environ),
        home=resolve_home(os.environ),
    )
    with RunDisplay(enabled=progress) as display:
        result = run_study(
            settings, out, inputs, os.environ, log=typer.echo, on_progress=display.update
        )
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"report: {result.paths.report}\nmanifest: {result.paths.manifest}")


def register(app: typer.Typer) -> None:
    app.command("study")(study)
