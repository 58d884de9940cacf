"""What the LLM choice stages share (``postings choose``, ``crosswalk choose``).

Both show a rater an item with numbered candidates under a rubric whose labels are ``none`` and
candidate numbers, through the ordinary rating path (:func:`dwa_rater.api.rating.rate`: cache,
resume, provenance). This module resolves their raters and rubric and runs the ratings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.api.rating import RatersInput, as_raters, rate
from dwa_rater.config import RaterSpec, default_rater
from dwa_rater.errors import ConfigError
from dwa_rater.paths import resolve_prompts_dir
from dwa_rater.prompts import load_prompt


@dataclass(frozen=True)
class ChoiceStage:
    """The raters, rubric folder and labels of one choice-stage run."""

    specs: list[RaterSpec]
    prompts_dir: Path
    labels: Sequence[str]
    environ: dict[str, str]


def choice_stage(
    rubric: str,
    raters: RatersInput,
    default_name: str,
    prompts_dir: str | os.PathLike[str] | None,
    environ: dict[str, str],
) -> ChoiceStage:
    """Raters for ``rubric`` (``name@version``): ``raters`` (given the rubric when they name
    none), else the embedded model named ``default_name``; every rater must use that rubric."""
    name, version = rubric.split("@")
    specs = (
        [default_rater(name=default_name, rubric=rubric)]
        if raters is None
        else as_raters(raters, rubric)
    )
    for spec in specs:
        if not str(spec.rubric).startswith(name):
            raise ConfigError(f"rater {spec.name!r} uses rubric {spec.rubric!r}, not {name}")
    rubrics = resolve_prompts_dir(Path(prompts_dir) if prompts_dir is not None else None, environ)
    prompt = load_prompt(name, version, rubrics)
    assert prompt.scale is not None
    return ChoiceStage(specs, rubrics, prompt.scale.labels, environ)


def rate_choices(
    stage: ChoiceStage,
    items: pd.DataFrame,
    out: Path,
    *,
    cache_dir: str | os.PathLike[str] | None,
    on_progress: Callable[[Any], None] | None,
) -> pd.DataFrame:
    """The rating rows of ``items`` (kept and resumed in ``out``); an empty table (item_id,
    status, label, score) when there is nothing to rate."""
    if not len(items):
        return pd.DataFrame({"item_id": [], "status": [], "label": [], "score": []})
    return rate(
        items,
        stage.specs,
        out=out,
        cache_dir=cache_dir,
        prompts_dir=stage.prompts_dir,
        environ=stage.environ,
        on_progress=on_progress,
    )
