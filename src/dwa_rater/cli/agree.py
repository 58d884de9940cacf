"""``dwa-rater agree`` and ``dwa-rater agree-scores``: agreement between raters or score tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from dwa_rater.agreement import (
    BootstrapSpec,
    agree_files,
    build_scale,
    compare_score_files,
    write_text,
)
from dwa_rater.agreement.scale import LabelScale
from dwa_rater.agreement.tables import Collapse
from dwa_rater.calibration.scale import scale_for_ratings
from dwa_rater.cli.options import PromptsDirOption, measure_option
from dwa_rater.paths import optional_onet_source, resolve_prompts_dir
from dwa_rater.report.agreement import write_agreement_report, write_score_comparison_report


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return parts or None


def _numbers(text: str | None) -> list[float] | None:
    parts = _split(text)
    if parts is None:
        return None
    try:
        return [float(part) for part in parts]
    except ValueError as exc:
        raise typer.BadParameter(f"--codes takes numbers separated by commas: {text}") from exc


def _fmt(value: Any, interval: dict[str, Any] | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:.3f}"
    return f"{text} [{interval['low']:.3f}, {interval['high']:.3f}]" if interval else text


def agree(
    files: Annotated[list[Path], typer.Argument(help="Ratings tables (CSV or Parquet).")],
    json_out: Annotated[Path, typer.Option("--json", help="JSON result to write.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for the HTML report (agreement.html).")
    ] = None,
    raters: Annotated[
        str | None, typer.Option("--raters", help="Raters to compare, comma-separated.")
    ] = None,
    order: Annotated[
        str | None,
        typer.Option(
            "--order",
            help="Labels from lowest to highest, comma-separated [default: the rubric's order, "
            "E0,E2,E1 for exposure].",
        ),
    ] = None,
    codes: Annotated[
        str | None, typer.Option("--codes", help="Numeric code per label in --order, e.g. 0,0.5,1.")
    ] = None,
    measure: Annotated[
        str | None,
        typer.Option(
            "--measure", help="Coding of the labels: the rubric's default (beta), alpha or gamma."
        ),
    ] = None,
    rubric: Annotated[
        str | None,
        typer.Option(
            "--rubric",
            help="Rubric (name or name@version) whose scale the labels are on [default: the one "
            "the ratings name; exposure when they name none].",
        ),
    ] = None,
    prompts_dir: PromptsDirOption = None,
    coding: Annotated[
        str | None, typer.Option("--coding", hidden=True, help="Old name of --measure.")
    ] = None,
    collapse: Annotated[
        Collapse,
        typer.Option("--collapse", help="One label per item and rater: mode or first sample."),
    ] = "mode",
    by: Annotated[
        str | None,
        typer.Option("--by", help="Group column: a ratings column, or gwa_title/iwa_id/... ."),
    ] = None,
    onet_dir: Annotated[
        Path | None,
        typer.Option("--onet-dir", help="O*NET release for --by gwa_*/iwa_* (else env)."),
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=0, help="Bootstrap resamples (0 = no intervals).")
    ] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap.")] = 0,
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="Interval coverage.")
    ] = 0.95,
) -> None:
    """Agreement between raters: pairs, all raters, self-consistency, groups."""
    chosen = measure_option(measure, coding)
    folder = resolve_prompts_dir(prompts_dir, os.environ)

    def scale_of_ratings(ratings: pd.DataFrame) -> LabelScale:
        found = scale_for_ratings(ratings, rubric=rubric, prompts_dir=folder)
        return build_scale(_split(order), _numbers(codes), chosen, rubric=found)

    result = agree_files(
        files,
        scale_of_ratings,
        raters=_split(raters),
        collapse=collapse,
        by=by,
        onet_source=optional_onet_source(onet_dir, os.environ),
        bootstrap=BootstrapSpec(bootstrap, seed, confidence),
    )
    write_text(result.to_json(), json_out)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for pair in result.summary["pairs"]:
        ci = pair["ci"]
        typer.echo(
            f"{pair['rater_a']} vs {pair['rater_b']}: n={pair['n']} "
            f"agreement={_fmt(pair['percent_agreement'])} "
            f"kappa={_fmt(pair['cohen_kappa'], ci['cohen_kappa'])} "
            f"quadratic kappa={_fmt(pair['weighted_kappa_quadratic'])}"
        )
    overall = result.summary["overall"]
    typer.echo(
        f"all {overall['n_raters']} raters, {overall['n_items']} items: "
        f"alpha ordinal={_fmt(overall['krippendorff_alpha_ordinal'])} "
        f"fleiss={_fmt(overall['fleiss_kappa'])} icc2_1={_fmt(overall['icc2_1'])}"
    )
    typer.echo(f"wrote {json_out}")
    if report is not None:
        typer.echo(f"wrote {write_agreement_report(result, report)}")


def agree_scores(
    table_a: Annotated[Path, typer.Argument(help="First score table (CSV, TSV or Parquet).")],
    table_b: Annotated[Path, typer.Argument(help="Second score table.")],
    key: Annotated[str, typer.Option("--key", help="Key column(s), comma-separated.")],
    a_column: Annotated[str, typer.Option("--a-column", help="Value column of the first table.")],
    b_column: Annotated[str, typer.Option("--b-column", help="Value column of the second table.")],
    json_out: Annotated[Path, typer.Option("--json", help="JSON result to write.")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Folder for score_agreement.html.")
    ] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap.")] = 0,
    confidence: Annotated[
        float, typer.Option("--confidence", min=0.5, max=0.999, help="Interval coverage.")
    ] = 0.95,
) -> None:
    """Agreement of two score tables keyed by the same IDs (e.g. occupation indices)."""
    comparison = compare_score_files(
        table_a,
        table_b,
        _split(key) or [key],
        a_column,
        b_column,
        bootstrap=BootstrapSpec(bootstrap, seed, confidence),
    )
    write_text(comparison.to_json(), json_out)
    for note in comparison.warnings:
        typer.echo(f"warning: {note}", err=True)
    summary = comparison.summary
    ci = summary["ci"]
    typer.echo(
        f"n={summary['n']} pearson={_fmt(summary['pearson'], ci['pearson'])} "
        f"spearman={_fmt(summary['spearman'], ci['spearman'])} "
        f"kendall={_fmt(summary['kendall'], ci['kendall'])} "
        f"mean difference={_fmt(summary['mean_difference'], ci['mean_difference'])}"
    )
    typer.echo(f"wrote {json_out}")
    if report is not None:
        typer.echo(f"wrote {write_score_comparison_report(comparison, report)}")


def register(app: typer.Typer) -> None:
    """Mount ``agree`` and ``agree-scores``."""
    app.command("agree")(agree)
    app.command("agree-scores")(agree_scores)
