"""``dwa-rater review crosswalk-push`` / ``crosswalk-pull``: a proposed occupation crosswalk
reviewed in Label Studio, and the reviewers' decisions back as an overrides file for
``dwa-rater crosswalk build --overrides``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from dwa_rater.catalog import load_onet
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.paths import resolve_onet_source
from dwa_rater.provenance import write_table_atomic
from dwa_rater.review.pseudonyms import key_from_environment

if TYPE_CHECKING:  # the studio package needs the optional Label Studio SDK at run time
    from dwa_rater.review.studio import StudioConnection


def _read_crosswalk(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype={"category": str, "onetsoc_code": str})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the crosswalk ({exc})") from exc


def _descriptions(onet_dir: Path | None) -> dict[str, str]:
    """O*NET-SOC code -> description, when an O*NET release is found (else none shown)."""
    try:
        source = resolve_onet_source(onet_dir, os.environ)
    except ConfigError:  # no release configured: the screen shows titles only
        return {}
    occupations = load_onet(source).occupations
    column = "description" if "description" in occupations.columns else None
    if column is None:
        return {}
    return dict(zip(occupations["onetsoc_code"], occupations[column].astype(str), strict=True))


ProjectOption = Annotated[str, typer.Option("--project", help="Label Studio project title.")]


def _connection() -> StudioConnection:
    """Label Studio from the environment (``ConfigError`` when the review extra is missing)."""
    try:
        from dwa_rater.review.studio import StudioConnection
    except ImportError as exc:  # the SDK is the optional [review] extra
        raise ConfigError(
            f"Label Studio client missing ({exc.name}); install dwa_rater[review]"
        ) from exc
    return StudioConnection(
        url=os.environ.get("LABEL_STUDIO_URL", ""),
        api_key=os.environ.get("LABEL_STUDIO_API_KEY", ""),
    )


def register_crosswalk_review(review_app: typer.Typer) -> None:
    """Add ``crosswalk-push`` and ``crosswalk-pull`` to ``dwa-rater review``."""

    @review_app.command("crosswalk-push")
    def crosswalk_push(
        crosswalk: Annotated[Path, typer.Argument(help="Crosswalk from `crosswalk build`.")],
        project: ProjectOption,
        overlap: Annotated[int, typer.Option("--overlap", help="Reviewers per category.")] = 1,
        onet_dir: Annotated[
            Path | None, typer.Option("--onet-dir", help="O*NET release (descriptions).")
        ] = None,
    ) -> None:
        """Push one task per category (its proposed O*NET candidates) to Label Studio."""
        connection = _connection()
        from dwa_rater.review.studio.crosswalk import push_crosswalk

        table = _read_crosswalk(crosswalk)
        report = push_crosswalk(
            connection, project, table, _descriptions(onet_dir), overlap=overlap
        )
        state = "created" if report.created else "kept"
        typer.echo(
            f"crosswalk project {project!r} (id {report.project.id}, {report.project.top_k} "
            f"candidates, overlap {report.project.overlap}) {state}: {report.imported} "
            f"categories imported, {report.already_present} already there"
        )

    @review_app.command("crosswalk-pull")
    def crosswalk_pull(
        project: ProjectOption,
        out: Annotated[
            Path, typer.Option("--out", help="Overrides to write (category, onetsoc_code, weight).")
        ],
        decisions: Annotated[
            Path | None,
            typer.Option("--decisions", help="Also write one row per annotation here."),
        ] = None,
    ) -> None:
        """Reviewers' decisions into an overrides file for `crosswalk build --overrides`."""
        key = key_from_environment(os.environ)
        connection = _connection()
        from dwa_rater.review.studio.crosswalk import pull_crosswalk

        report = pull_crosswalk(connection, project, key)
        write_table_atomic(report.overrides, out)
        if decisions is not None:
            write_table_atomic(report.decisions, decisions)
        typer.echo(
            f"{len(report.decisions)} annotations on {report.annotated_categories} categories: "
            f"{report.overrides['category'].nunique()} decided"
            + (f", {len(report.undecided)} without a majority" if report.undecided else "")
        )
        typer.echo(f"wrote {out}")
