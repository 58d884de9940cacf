"""``postings choose``: the LLM second stage of posting-line matching, end to end.

Reads a mapping folder written by ``dwa-rater postings map`` (its ``line_candidates.parquet``
and ``posting_lines.parquet``), rates one item per distinct line under ``line-choice@v1``
through the ordinary rating path (:func:`dwa_rater.api.rating.rate`: cache, resume, provenance),
and writes a mapping folder of the same shape (``posting_lines``, ``line_dwas``,
``posting_dwas``) plus ``line_choices.parquet`` (the decision per line) and
``line_choice_ratings.csv`` (the rating rows). The pure parts are
:mod:`dwa_rater.indices.line_choice`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.api.choice_stage import choice_stage, rate_choices
from dwa_rater.api.rating import RatersInput
from dwa_rater.errors import DataError
from dwa_rater.indices.line_choice import (
    CHOICE_K,
    CHOICE_RUBRIC,
    apply_choices,
    choice_items,
    read_choices,
)
from dwa_rater.indices.mapping import MappingResult
from dwa_rater.indices.mapping_files import (
    LINE_CANDIDATES_FILE,
    read_mapping,
    write_mapping,
    write_parquet_atomic,
)

#: Files written next to the three mapping tables.
LINE_CHOICES_FILE = "line_choices.parquet"
CHOICE_RATINGS_FILE = "line_choice_ratings.csv"


@dataclass(frozen=True)
class ChoiceResult:
    """What ``postings choose`` did: counts for the CLI and the files it wrote."""

    n_lines: int
    n_llm: int
    n_none: int
    n_fallback: int
    n_failed_rows: int
    paths: list[Path]


def read_candidates(map_dir: Path) -> pd.DataFrame:
    """``line_candidates.parquet`` of a mapping folder, with a clear error when it is missing."""
    path = Path(map_dir) / LINE_CANDIDATES_FILE
    if not path.exists():
        raise DataError(
            f"{path}: not found; run `dwa-rater postings map` (local engine) with this version "
            "first, it writes the candidates the second stage chooses among"
        )
    table = pd.read_parquet(path)
    needed = ("line_sha", "rank", "dwa_id", "dwa_title", "similarity")
    missing = [c for c in needed if c not in table]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    return table


def choose_posting_lines(
    map_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    raters: RatersInput = None,
    *,
    k: int = CHOICE_K,
    cache_dir: str | os.PathLike[str] | None = None,
    prompts_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    on_progress: Callable[[Any], None] | None = None,
) -> ChoiceResult:
    """Let ``raters`` (default: the embedded model) choose each line's DWA among its ``k``
    best candidates, or none; write the second stage's mapping folder to ``out_dir``.

    Rerunning resumes: rows already in ``out_dir/line_choice_ratings.csv`` and answers in the
    response cache are reused. Raters must use the ``line-choice`` rubric (they are given it
    when they name none).
    """
    source, target = Path(map_dir), Path(out_dir)
    env = dict(os.environ if environ is None else environ)
    stage = choice_stage(CHOICE_RUBRIC, raters, "embedded-line-choice", prompts_dir, env)
    posting_lines, first_stage = read_mapping(source)
    candidates = read_candidates(source)
    lines = pd.DataFrame({"line_sha": posting_lines.line_sha, "line": posting_lines.lines})
    titles = candidates.drop_duplicates("dwa_id").set_index("dwa_id")["dwa_title"]
    items = choice_items(lines, candidates, titles, k)
    target.mkdir(parents=True, exist_ok=True)
    ratings = rate_choices(
        stage, items, target / CHOICE_RATINGS_FILE, cache_dir=cache_dir, on_progress=on_progress
    )
    decisions = read_choices(ratings, stage.labels)
    line_mapping, choices = apply_choices(
        first_stage, candidates, decisions, list(posting_lines.line_sha)
    )
    text_of = dict(zip(posting_lines.line_sha, posting_lines.lines, strict=True))
    choices = choices.assign(
        line=choices["line_sha"].map(text_of),
        dwa_title=choices["dwa_id"].map(titles),
    )
    result = MappingResult(
        posting_lines=posting_lines,
        line_mapping=line_mapping,
        n_postings=len(np.unique(posting_lines.posting_ids)),
        n_postings_with_lines=len(np.unique(posting_lines.posting)),
        n_embedded=0,
        encode_seconds=0.0,
    )
    catalogue = pd.DataFrame({"dwa_id": titles.index, "dwa_title": titles.to_numpy()})
    first_titles = first_stage[~first_stage["dwa_id"].isin(titles.index)]
    if len(first_titles):
        raise DataError("line_dwas names DWAs that line_candidates does not list")
    paths = write_mapping(result, catalogue, target)
    paths += [
        write_parquet_atomic(choices, target / LINE_CHOICES_FILE),
        target / CHOICE_RATINGS_FILE,
    ]
    failed = int((ratings["status"] != "ok").sum()) if len(ratings) else 0
    return ChoiceResult(
        n_lines=len(choices),
        n_llm=int((choices["source"] == "llm").sum()),
        n_none=int((choices["decision"] == "none").sum()),
        n_fallback=int((choices["source"] == "embedding").sum()),
        n_failed_rows=failed,
        paths=paths,
    )
