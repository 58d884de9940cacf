"""``dwa-rater onet``: occupation scores from ratings; comparison with published measures."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.cli.options import measure_option
from dwa_rater.indices.onet import TaskWeighting, build_occupation_index_from_files
from dwa_rater.indices.published import compare_files, write_with_attribution
from dwa_rater.paths import resolve_data_dir, resolve_onet_source

onet_app = typer.Typer(
    help="O*NET occupations: exposure scores from ratings, comparison with published measures.",
    no_args_is_help=True,
)


@onet_app.command("occupations")
def occupations(
    ratings: Annotated[
        Path, typer.Option("--ratings", help="Ratings table or exported DWA score table.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Occupation table to write (CSV).")],
    rater: Annotated[
        list[str] | None,
        typer.Option("--rater", help="Rater to use; repeat to average several, or 'all'."),
    ] = None,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
    weights: Annotated[
        TaskWeighting,
        typer.Option("--weights", help="Task weights: Core=2 (core2), importance, equal."),
    ] = "core2",
    importance: Annotated[
        Path | None,
        typer.Option(
            "--importance",
            help="Task importance for --weights importance: an O*NET release (folder or zip) "
            "with Task Ratings.txt, that file, or the 29.3 summary CSV (default: from the "
            "release, else its supplementary/ summary).",
        ),
    ] = None,
) -> None:
    """Occupation alpha/beta/gamma as the weighted mean of task scores."""
    source = resolve_onet_source(onet_dir, os.environ)
    chosen = rater[0] if rater and len(rater) == 1 else rater
    built = build_occupation_index_from_files(
        ratings, source, rater=chosen, weights=weights, importance_path=importance
    )
    table = built.table
    write_with_attribution(table, out)
    for note in built.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"wrote {len(table)} occupations to {out}")


@onet_app.command("compare")
def compare(
    occupations: Annotated[
        Path, typer.Option("--occupations", help="Occupation table keyed by onetsoc_code.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Comparison table to write (CSV).")],
    measure: Annotated[
        str | None, typer.Option("--measure", help="Score column to compare (default beta).")
    ] = None,
    column: Annotated[
        str | None, typer.Option("--column", hidden=True, help="Old name of --measure.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Reference data root (exposure/, crosswalks/)."),
    ] = None,
) -> None:
    """Correlate an occupation score with published AI-exposure and telework measures."""
    column = measure_option(measure, column) or "beta"
    table = compare_files(occupations, column, resolve_data_dir(data_dir, os.environ))
    sidecar = write_with_attribution(table, out)
    shown = table[["measure", "n_matched", "pearson", "spearman", "kendall"]]
    typer.echo(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"wrote {out} (attribution in {sidecar.name})")


def register(app: typer.Typer) -> None:
    """Mount ``onet`` (occupations, compare)."""
    app.add_typer(onet_app, name="onet")
