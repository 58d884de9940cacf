"""``dwa-rater review``: contested activities to Label Studio annotators, and their labels back.

Label Studio is found through ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (from the
environment only: ``eval "$(scripts/labelstudio.sh env)"``); the token is never written to disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Annotated

import typer

from dwa_rater.errors import ConfigError
from dwa_rater.paths import resolve_home, resolve_onet_source
from dwa_rater.review.labeling import ReviewMode
from dwa_rater.review.select import SelectionRule, reason_counts, select_to_file

review_app = typer.Typer(
    help="Human review in Label Studio: select contested items, push, pull, status.",
    no_args_is_help=True,
)

RatingsFiles = Annotated[list[Path], typer.Argument(help="Ratings files (CSV or Parquet).")]
ProjectOption = Annotated[str, typer.Option("--project", help="Label Studio project title.")]
ScoreSpreadOption = Annotated[
    float,
    typer.Option(help="Contested when rater mean scores (0-1) span more than this."),
]
AuditFractionOption = Annotated[
    float, typer.Option(help="Share of uncontested items drawn as a random audit sample.")
]
AuditNOption = Annotated[
    int | None, typer.Option(help="Draw exactly N audit items instead of --audit-fraction.")
]
SeedOption = Annotated[int, typer.Option(help="Seed of the audit draw.")]
RaterOption = Annotated[
    list[str] | None, typer.Option("--rater", help="Only these raters count; repeatable.")
]


def _studio() -> ModuleType:
    try:
        from dwa_rater.review import studio
    except ImportError as exc:  # the SDK is the optional [review] extra
        raise ConfigError(
            f"Label Studio client missing ({exc.name}); install dwa_rater[review]"
        ) from exc
    return studio


def _connection(studio: ModuleType) -> object:
    return studio.StudioConnection(
        url=os.environ.get("LABEL_STUDIO_URL", ""),
        api_key=os.environ.get("LABEL_STUDIO_API_KEY", ""),
    )


def _rule(
    score_spread: float, audit_fraction: float, audit_n: int | None, seed: int, rater: list[str]
) -> SelectionRule:
    return SelectionRule(
        score_spread=score_spread,
        audit_fraction=audit_fraction,
        audit_n=audit_n,
        seed=seed,
        raters=tuple(rater),
    )


def _print_reasons(counts: dict[str, int]) -> None:
    typer.echo("  " + ", ".join(f"{reason}: {n}" for reason, n in counts.items()))


@review_app.command("select")
def select(
    ratings: RatingsFiles,
    out: Annotated[Path, typer.Option("--out", help="Selection table to write (CSV).")],
    score_spread: ScoreSpreadOption = 0.25,
    audit_fraction: AuditFractionOption = 0.1,
    audit_n: AuditNOption = None,
    seed: SeedOption = 0,
    rater: RaterOption = None,
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            help="contested: contested items + audit; audit: a random sample of all items; "
            "active: drawn by rater uncertainty, probabilities recorded (size: --audit-n or "
            "--audit-fraction of all items).",
        ),
    ] = "contested",
    measure: Annotated[
        str, typer.Option("--measure", help="Coding behind the uncertainty of --strategy active.")
    ] = "beta",
) -> None:
    """Write the items for human review with the reason (and probability) each was chosen."""
    rule = _rule(score_spread, audit_fraction, audit_n, seed, rater or [])
    if strategy == "contested":
        selection = select_to_file(ratings, out, rule)
        typer.echo(f"wrote {len(selection)} items to {out}")
        _print_reasons(reason_counts(selection))
        return
    from dwa_rater.review.strategies import select_items_to_file

    selection = select_items_to_file(ratings, out, strategy, rule, measure)
    typer.echo(
        f"wrote {len(selection)} items to {out} ({strategy} draw; sampling probabilities "
        "recorded for `dwa-rater estimate --selection`)"
    )


@review_app.command("push")
def push(
    ratings: RatingsFiles,
    project: ProjectOption,
    mode: Annotated[
        ReviewMode, typer.Option("--mode", help="blind: no model output; assisted: show it.")
    ] = "blind",
    overlap: Annotated[int, typer.Option("--overlap", help="Annotators per task.")] = 2,
    selection: Annotated[
        Path | None,
        typer.Option("--selection", help="Push the items of this table (from `review select`)."),
    ] = None,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
    score_spread: ScoreSpreadOption = 0.25,
    audit_fraction: AuditFractionOption = 0.1,
    audit_n: AuditNOption = None,
    seed: SeedOption = 0,
    rater: RaterOption = None,
) -> None:
    """Create or update the project and import the contested items it does not hold yet."""
    studio = _studio()
    report = studio.push_ratings(
        _connection(studio),
        project,
        ratings,
        resolve_onet_source(onet_dir, os.environ),
        mode=mode,
        overlap=overlap,
        rule=_rule(score_spread, audit_fraction, audit_n, seed, rater or []),
        selection_path=selection,
    )
    state = "created" if report.created_project else "updated" if report.config_updated else "kept"
    typer.echo(
        f"project {report.project.title!r} (id {report.project.id}, {report.project.mode}, "
        f"overlap {report.project.overlap}) {state}: {report.imported} tasks imported, "
        f"{report.already_present} already there"
    )
    _print_reasons(report.reasons)


@review_app.command("pull")
def pull(
    project: ProjectOption,
    annotations_dir: Annotated[
        Path | None,
        typer.Option("--annotations-dir", help="Folder of raw exports [default: annotations/]."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Ratings table to write [default: <annotations-dir>/<project>/ratings.csv].",
        ),
    ] = None,
) -> None:
    """Fetch new, updated and deleted annotations; write a dated export and the ratings."""
    studio = _studio()
    folder = annotations_dir or studio.DEFAULT_ANNOTATIONS_DIR
    target = out or folder / studio.project_slug(project) / "ratings.csv"
    report = studio.pull_annotations(
        _connection(studio), project, folder, resolve_home(os.environ), out=target
    )
    if report.export_path is None:
        typer.echo(f"no changes since the last pull ({report.listed_tasks} tasks checked)")
    else:
        typer.echo(f"{report.changed_tasks} changed tasks written to {report.export_path}")
    typer.echo(f"wrote {len(report.ratings)} ratings rows to {target}")


@review_app.command("status")
def status(project: ProjectOption) -> None:
    """Tasks, annotated, remaining, and annotations per annotator."""
    studio = _studio()
    report = studio.project_status(_connection(studio), project)
    typer.echo(
        f"project {report.project.title!r} (id {report.project.id}, {report.project.mode}, "
        f"overlap {report.project.overlap})"
    )
    typer.echo(
        f"tasks {report.tasks}  annotated {report.annotated}  done {report.done}  "
        f"remaining {report.remaining}"
    )
    for annotator in report.annotators:
        typer.echo(
            f"  {annotator.rater}  {annotator.email}  submitted {annotator.submitted}  "
            f"skipped {annotator.skipped}"
        )


@review_app.command("add-annotator")
def add_annotator(
    email: Annotated[str, typer.Argument(help="The annotator's e-mail (their login).")],
) -> None:
    """Create an annotator account; its random password is printed once, never stored."""
    import secrets

    studio = _studio()
    password = secrets.token_urlsafe(12)
    account = studio.create_annotator(_connection(studio), email, password)
    typer.echo(f"created {account.email} (rater id {account.rater}); password: {password}")


def register(app: typer.Typer) -> None:
    """Mount ``review`` (select, push, pull, status, add-annotator)."""
    app.add_typer(review_app, name="review")
