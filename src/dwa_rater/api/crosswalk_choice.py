"""``crosswalk choose``: the LLM stage of the occupation crosswalk, end to end.

Reads a crosswalk proposed by ``dwa-rater crosswalk build`` (its ``embedding`` rows), rates one
item per category under ``crosswalk-choice@v1`` through the ordinary rating path
(:func:`dwa_rater.api.rating.rate`: cache, resume, provenance), applies reviewers' overrides
last (human decisions win) and writes the decided crosswalk, its decisions table
(``<out stem>_choices.csv``) and its rating rows (``<out stem>_ratings.csv``). The pure parts
are :mod:`dwa_rater.indices.crosswalk_choice`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.api.choice_stage import choice_stage, rate_choices
from dwa_rater.api.rating import RatersInput
from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import (
    apply_overrides,
    read_csv_table,
    read_overrides,
    write_crosswalk,
)
from dwa_rater.indices.crosswalk_choice import (
    CROSSWALK_CHOICE_K,
    CROSSWALK_CHOICE_RUBRIC,
    apply_crosswalk_choices,
    crosswalk_choice_items,
)

PROPOSAL_COLUMNS = ("category", "category_name", "rank", "onetsoc_code", "onet_title", "method")


@dataclass(frozen=True)
class CrosswalkChoiceResult:
    """What ``crosswalk choose`` did: counts for the CLI, the table and the files written."""

    n_categories: int
    n_llm: int
    n_none: int
    n_fallback: int
    n_overridden: int
    n_failed_rows: int
    table: pd.DataFrame
    paths: list[Path]


def side_files(out: Path) -> tuple[Path, Path]:
    """The decisions and ratings files written beside ``out``."""
    return (
        out.with_name(f"{out.stem}_choices.csv"),
        out.with_name(f"{out.stem}_ratings.csv"),
    )


def read_proposal(path: Path) -> pd.DataFrame:
    """The embedding rows of a crosswalk written by ``crosswalk build``."""
    table = read_csv_table(path, ())
    missing = [c for c in PROPOSAL_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; give the file that "
            "`dwa-rater crosswalk build` wrote"
        )
    proposal = table[table["method"] == "embedding"].copy()
    if proposal.empty:
        raise DataError(f"{path}: no proposed (method = embedding) rows to choose among")
    rank = pd.to_numeric(proposal["rank"], errors="coerce")
    if rank.isna().any():
        raise DataError(f"{path}: rank must be a whole number in every proposed row")
    for column in ("similarity", "weight"):
        if column in proposal:
            proposal[column] = pd.to_numeric(proposal[column], errors="coerce")
    return proposal.assign(rank=rank.astype(int))


def choose_crosswalk(
    proposal_file: str | os.PathLike[str],
    out: str | os.PathLike[str],
    raters: RatersInput = None,
    *,
    k: int = CROSSWALK_CHOICE_K,
    occupations: pd.DataFrame | None = None,
    overrides: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> CrosswalkChoiceResult:
    """Let ``raters`` (default: the embedded model) choose each category's O*NET occupation among
    its ``k`` best proposed candidates, or none; apply ``overrides`` (their categories are not
    rated); write ``out``.

    ``occupations`` (onetsoc_code, title, description) adds the start of each description to the
    candidates shown. Rerunning resumes from ``<out stem>_ratings.csv`` and the response cache.
    """
    target = Path(out)
    env = dict(os.environ if environ is None else environ)
    stage = choice_stage(
        CROSSWALK_CHOICE_RUBRIC, raters, "embedded-crosswalk-choice", prompts_dir, env
    )
    decided_by_people = read_overrides(Path(overrides)) if overrides is not None else None
    proposal = read_proposal(Path(proposal_file))
    descriptions = (
        occupations.set_index("onetsoc_code")["description"] if occupations is not None else None
    )
    # Categories that people decided are not asked about: their decision wins anyway.
    people = set(decided_by_people["category"]) if decided_by_people is not None else set()
    items = crosswalk_choice_items(proposal[~proposal["category"].isin(people)], k, descriptions)
    choices_path, ratings_path = side_files(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    ratings = rate_choices(stage, items, ratings_path, cache_dir=cache_dir, on_progress=on_progress)
    table, decisions = apply_crosswalk_choices(proposal, ratings, stage.labels)
    if decided_by_people is not None:
        table = apply_overrides(table, decided_by_people, occupations)
        decisions.loc[decisions["category"].isin(people), "source"] = "override"
    write_crosswalk(table, target)
    write_crosswalk(decisions, choices_path)
    failed = int((ratings["status"] != "ok").sum()) if len(ratings) else 0
    return CrosswalkChoiceResult(
        n_categories=len(decisions),
        n_llm=int((decisions["source"] == "llm").sum()),
        n_none=int((decisions["decision"] == "none").sum()),
        n_fallback=int((decisions["source"] == "embedding").sum()),
        n_overridden=int((decisions["source"] == "override").sum()),
        n_failed_rows=failed,
        table=table,
        paths=[target, choices_path, ratings_path],
    )
