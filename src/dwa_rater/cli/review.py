"""``dwa-rater review``: contested activities to Label Studio annotators, and their labels back.

Label Studio is found through ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY`` (from the
environment only: ``eval "$(scripts/labelstudio.sh env)"``); the token is never written to disk.
Annotator pseudonyms are keyed by ``DWA_RATER_PSEUDONYM_KEY`` (environment only, never written).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from dwa_rater import resources
from dwa_rater.errors import ConfigError
from dwa_rater.paths import resolve_annotations_dir, resolve_home, resolve_onet_source
from dwa_rater.review.labeling import ReviewMode
from dwa_rater.review.live_agreement import FLAG_MARGIN, MIN_ITEMS
from dwa_rater.review.pseudonyms import PSEUDONYM_KEY_ENV, key_from_environment
from dwa_rater.review.select import SelectionRule, reason_counts, select_to_file
from dwa_rater.review.wording import ReviewLanguage

if TYPE_CHECKING:  # the studio package needs the optional Label Studio SDK at run time
    from dwa_rater.review.studio import ProjectStatus, PushReport, StudioConnection

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
LangOption = Annotated[
    ReviewLanguage,
    typer.Option("--lang", help="Language of the screen and instructions: zh, en or zh+en."),
]
TranslationsOption = Annotated[
    Path | None,
    typer.Option(
        "--translations",
        help="Machine translations of the statements (from `review translate`), shown beside "
        "the English and marked as such.",
    ),
]
OnetOption = Annotated[
    Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
]
AnnotationsDirOption = Annotated[
    Path | None,
    typer.Option(
        "--annotations-dir",
        help="Folder of raw exports [default: $DWA_RATER_ANNOTATIONS_DIR or ./annotations].",
    ),
]


def _studio() -> ModuleType:
    try:
        from dwa_rater.review import studio
    except ImportError as exc:  # the SDK is the optional [review] extra
        raise ConfigError(
            f"Label Studio client missing ({exc.name}); install dwa_rater[review]"
        ) from exc
    return studio


def _connection(studio: ModuleType) -> StudioConnection:
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
    onet_dir: OnetOption = None,
    score_spread: ScoreSpreadOption = 0.25,
    audit_fraction: AuditFractionOption = 0.1,
    audit_n: AuditNOption = None,
    seed: SeedOption = 0,
    rater: RaterOption = None,
    lang: LangOption = "en",
    translations: TranslationsOption = None,
    update: Annotated[
        bool,
        typer.Option(
            "--update/--no-update",
            help="Update existing tasks whose data changed (annotations are kept).",
        ),
    ] = True,
) -> None:
    """Create or update the project, import the items it lacks, update tasks that changed."""
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
        lang=lang,
        translations_path=translations,
        update=update,
    )
    _print_push(report)


def _print_push(report: PushReport) -> None:
    project = report.project
    state = "created" if report.created_project else "updated" if report.config_updated else "kept"
    typer.echo(
        f"project {project.title!r} (id {project.id}, {project.mode}, {project.lang}, "
        f"overlap {project.overlap}) {state}: {report.imported} tasks imported, "
        f"{report.already_present} already there"
    )
    updated = report.updated
    if updated:
        fields = ", ".join(f"{k} {n}" for k, n in report.changed_fields().items())
        typer.echo(f"  {len(updated)} existing tasks updated (annotations kept); changed: {fields}")
    _print_reasons(report.reasons)


@review_app.command("pull")
def pull(
    project: ProjectOption,
    annotations_dir: AnnotationsDirOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Ratings table to write [default: <annotations-dir>/<project>/ratings.csv].",
        ),
    ] = None,
    adjudication: Annotated[
        str | None,
        typer.Option(
            "--adjudication",
            help="The round's adjudication project (pulled first): its answers become the "
            "final human labels of disputed items.",
        ),
    ] = None,
) -> None:
    """Fetch new, updated and deleted annotations; write a dated export and the ratings."""
    key = key_from_environment(os.environ)  # before anything else: pull needs the key
    studio = _studio()
    folder = resolve_annotations_dir(annotations_dir, os.environ)
    target = out or folder / studio.project_slug(project) / "ratings.csv"
    report = studio.pull_annotations(
        _connection(studio),
        project,
        folder,
        resolve_home(os.environ),
        out=target,
        key=key,
        adjudication=adjudication,
    )
    for path in report.converted:
        typer.echo(f"converted the pseudonyms of {path} to keyed ones")
    if report.export_path is None:
        typer.echo(f"no changes since the last pull ({report.listed_tasks} tasks checked)")
    else:
        typer.echo(f"{report.changed_tasks} changed tasks written to {report.export_path}")
    typer.echo(f"wrote {len(report.ratings)} ratings rows to {target}")


@review_app.command("status")
def status(
    project: ProjectOption,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the status as an HTML page.")
    ] = None,
    margin: Annotated[
        float,
        typer.Option(help="Flag annotators this far (0-1) below the others' median agreement."),
    ] = FLAG_MARGIN,
    min_items: Annotated[
        int, typer.Option(help="Items with a consensus an annotator needs before flagging.")
    ] = MIN_ITEMS,
    bootstrap: Annotated[
        int, typer.Option(help="Bootstrap resamples for the intervals (0: none).")
    ] = 1000,
) -> None:
    """Progress, lead times, and agreement between annotators (read incrementally)."""
    from dwa_rater.agreement.bootstrap import BootstrapSpec

    studio = _studio()
    key = key_from_environment(os.environ) if os.environ.get(PSEUDONYM_KEY_ENV) else None
    report = studio.project_status(
        _connection(studio),
        project,
        resolve_home(os.environ),
        key,
        bootstrap=BootstrapSpec(n_resamples=bootstrap),
        margin=margin,
        min_items=min_items,
    )
    _print_status(report)
    if html is not None:
        from dwa_rater.report.review_status import write_status_html

        typer.echo(f"wrote {write_status_html(report, html)}")


def _interval(value: object, interval: object) -> str:
    if not isinstance(value, int | float):
        return "undefined"
    text = f"{value:.2f}"
    if isinstance(interval, dict) and interval.get("low") is not None:
        text += f" [{interval['low']:.2f}, {interval['high']:.2f}]"
    return text


def _print_status(report: ProjectStatus) -> None:
    project = report.project
    typer.echo(
        f"project {project.title!r} (id {project.id}, {project.mode}, {project.lang}, "
        f"overlap {project.overlap})"
    )
    typer.echo(
        f"tasks {report.tasks}  annotated {report.annotated}  done {report.done}  "
        f"remaining {report.remaining}"
    )
    how = "incrementally" if report.incremental else "in full"
    typer.echo(f"read {report.fetched_tasks} tasks {how}")
    agreement = report.agreement
    by_rater = {a.rater: a for a in agreement.annotators} if agreement else {}
    for annotator in report.annotators:
        line = (
            f"  {annotator.rater}  {annotator.email}  submitted {annotator.submitted}  "
            f"skipped {annotator.skipped}"
        )
        live = by_rater.get(annotator.rater)
        if live is not None:
            if live.lead_time_median_s is not None:
                line += f"  lead time median {live.lead_time_median_s:.1f} s"
            line += f"  unsure {live.unsure}"
            if live.agreement_with_consensus is not None:
                line += (
                    f"  vs consensus {live.agreement_with_consensus:.0%} of {live.n_consensus}"
                    f" (kappa {_interval(live.kappa_with_consensus, None)})"
                )
            if live.flagged:
                line += f"  FLAGGED: {live.flag_reason}"
        typer.echo(line)
    if agreement is None:
        return
    if agreement.lead_time_median_s is not None:
        typer.echo(
            f"lead time per item: median {agreement.lead_time_median_s:.1f} s, "
            f"mean {agreement.lead_time_mean_s:.1f} s"
        )
    alpha = "krippendorff_alpha_nominal"
    whole = agreement.overall
    if whole:
        typer.echo(
            "agreement between annotators: Krippendorff's alpha "
            f"{_interval(whole.get(alpha), whole['ci'].get(alpha))}"
            f" on {whole.get('n_items_pairable')} items (95% CI)"
        )
    for pair in agreement.pairs:
        typer.echo(
            f"  {pair['rater_a']} vs {pair['rater_b']}: {pair['n']} items, kappa "
            f"{_interval(pair['cohen_kappa'], pair['ci']['cohen_kappa'])}, alpha "
            f"{_interval(pair[alpha], pair['ci'][alpha])}"
        )
    for note in (*report.notes, *agreement.notes):
        typer.echo(f"note: {note}")


@review_app.command("adjudicate")
def adjudicate(
    project: ProjectOption,
    into: Annotated[
        str | None,
        typer.Option("--into", help="Adjudication project [default: '<project> adjudication']."),
    ] = None,
    ratings: Annotated[
        list[Path] | None,
        typer.Option("--ratings", help="LLM ratings to show beside the annotators'; repeatable."),
    ] = None,
    onet_dir: OnetOption = None,
    lang: LangOption = "en",
    translations: TranslationsOption = None,
) -> None:
    """Push the items whose annotators disagree into an assisted adjudication project."""
    key = key_from_environment(os.environ)
    studio = _studio()
    from dwa_rater.review.studio.adjudicate import push_adjudication

    report = push_adjudication(
        _connection(studio),
        project,
        into or f"{project} adjudication",
        resolve_onet_source(onet_dir, os.environ),
        key,
        ratings_paths=ratings or [],
        lang=lang,
        translations_path=translations,
    )
    _print_push(report)


@review_app.command("translate")
def translate(
    ratings: RatingsFiles,
    out: Annotated[Path, typer.Option("--out", help="Translations table to write (CSV).")],
    base_url: Annotated[str, typer.Option("--base-url", help="OpenAI-compatible endpoint.")],
    model: Annotated[str, typer.Option("--model", help="Model that translates.")],
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", help="Environment variable holding the key.")
    ] = None,
    selection: Annotated[
        Path | None, typer.Option("--selection", help="Translate the items of this table.")
    ] = None,
    onet_dir: OnetOption = None,
    score_spread: ScoreSpreadOption = 0.25,
    audit_fraction: AuditFractionOption = 0.1,
    audit_n: AuditNOption = None,
    seed: SeedOption = 0,
    rater: RaterOption = None,
) -> None:
    """Machine-translate the statements of the items to review into Chinese (cached)."""
    from dwa_rater.catalog import load_onet
    from dwa_rater.review.select import read_selection, select_contested
    from dwa_rater.review.translate import (
        TranslatorSpec,
        openai_translator,
        statements_of,
        translate_statements,
        write_translations,
    )
    from dwa_rater.store import read_many_ratings

    chosen = (
        read_selection(selection)
        if selection is not None
        else select_contested(
            read_many_ratings(ratings),
            _rule(score_spread, audit_fraction, audit_n, seed, rater or []),
        )
    )
    tables = load_onet(resolve_onet_source(onet_dir, os.environ))
    spec = TranslatorSpec(base_url=base_url, model=model, api_key_env=api_key_env)
    table, sent = translate_statements(
        statements_of(chosen, tables.dwas),
        spec,
        resolve_home(os.environ) / "translations",
        openai_translator(spec, os.environ),
    )
    write_translations(table, out)
    typer.echo(f"wrote {len(table)} translations to {out} ({sent} requests, the rest cached)")


@review_app.command("add-annotator")
def add_annotator(
    email: Annotated[str, typer.Argument(help="The annotator's e-mail (their login).")],
) -> None:
    """Create an annotator account; its random password is printed once, never stored."""
    import secrets

    studio = _studio()
    key = key_from_environment(os.environ) if os.environ.get(PSEUDONYM_KEY_ENV) else None
    password = secrets.token_urlsafe(12)
    account = studio.create_annotator(_connection(studio), email, password, key)
    rater = account.rater or f"set {PSEUDONYM_KEY_ENV} to see it"
    typer.echo(f"created {account.email} (rater id {rater}); password: {password}")


@review_app.command("guidelines")
def guidelines(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the annotators' files (guidelines, workflow, config) here."
        ),
    ] = None,
) -> None:
    """Print the annotators' guidelines shipped with the package (or write all their files)."""
    if out is None:
        typer.echo(resources.annotation_text("guidelines.md"), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    for name in resources.ANNOTATION_FILES:
        (out / name).write_text(resources.annotation_text(name), encoding="utf-8")
    typer.echo(f"wrote {', '.join(resources.ANNOTATION_FILES)} to {out}")


def register(app: typer.Typer) -> None:
    """Mount ``review`` (select, push, pull, status, adjudicate, translate, add-annotator,
    guidelines, crosswalk-push, crosswalk-pull)."""
    from dwa_rater.cli.review_crosswalk import register_crosswalk_review

    if "crosswalk-push" not in {c.name for c in review_app.registered_commands}:
        register_crosswalk_review(review_app)
    app.add_typer(review_app, name="review")
