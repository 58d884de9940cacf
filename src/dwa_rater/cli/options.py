"""Option helpers shared by command groups: one vocabulary across commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dwa_rater.config import RaterSpec, raters_for_run
from dwa_rater.errors import ConfigError

#: ``--prompts-dir`` of every command that loads rubrics (resolve with
#: :func:`dwa_rater.paths.resolve_prompts_dir`).
PromptsDirOption = Annotated[
    Path | None,
    typer.Option(
        help="your folder of versioned rubrics, on top of the shipped ones; "
        "env DWA_RATER_PROMPTS_DIR"
    ),
]


def measure_option(measure: str | None, old_name: str | None) -> str | None:
    """The value of ``--measure``, accepting its old spelling (``--coding``/``--column``) for
    one release; giving both with different values is an error."""
    if measure is not None and old_name is not None and measure != old_name:
        raise ConfigError(f"--measure {measure} contradicts its old spelling ({old_name})")
    return measure if measure is not None else old_name


# The ad-hoc rater options of the second-stage commands (`postings choose`, `crosswalk choose`).
RatersFileOption = Annotated[
    Path | None, typer.Option("--raters", help="TOML file naming the raters")
]
ProviderOption = Annotated[str | None, typer.Option(help="ad-hoc rater: provider preset")]
BaseUrlOption = Annotated[str | None, typer.Option(help="ad-hoc rater: OpenAI-compatible base URL")]
ModelOption = Annotated[str | None, typer.Option(help="ad-hoc rater: model")]
ApiKeyEnvOption = Annotated[
    str | None, typer.Option(help="ad-hoc rater: NAME of the env var holding the key")
]
SamplesOption = Annotated[int | None, typer.Option(help="ad-hoc rater: samples per item")]
TemperatureOption = Annotated[float | None, typer.Option(help="ad-hoc rater: temperature")]
ConcurrencyOption = Annotated[int | None, typer.Option(help="ad-hoc rater: requests in flight")]
ProgressOption = Annotated[bool, typer.Option(help="show the live progress bar")]


def stage_raters(
    raters: Path | None, ad_hoc: dict[str, Any], rubric: str, default_name: str
) -> list[RaterSpec]:
    """The raters of a second-stage command: the ``--raters`` file, else one ad-hoc rater
    (``ad_hoc``: provider, base_url, model, ...) with ``rubric``; the embedded default is
    renamed ``default_name`` so that its rows say which stage they belong to."""
    specs = raters_for_run(raters, {**ad_hoc, "rubric": rubric if raters is None else None})
    if raters is None and specs[0].name == "embedded-exposure":
        specs = [specs[0].model_copy(update={"name": default_name})]
    return specs
