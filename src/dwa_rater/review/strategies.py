"""Which items go to humans under each strategy of ``review select --strategy``.

- ``contested`` (the default, :func:`dwa_rater.review.select.select_contested`): contested items
  plus a random audit of the uncontested ones. Good for finding disagreements; the contested
  part is not a random sample, so ``dwa-rater estimate`` uses only its audit items.
- ``audit``: a seeded simple random sample of *all* items, each with the recorded sampling
  probability ``size / N``; any estimate can use every label.
- ``active``: active statistical inference (Zrnic & Candes 2024): each item is drawn
  independently with probability ``pi_i`` growing with how uncertain the LLM raters are about it
  (the standard deviation of their coded labels over raters and samples, floored at
  :data:`UNCERTAINTY_FLOOR`), mixed with the uniform design (``uniform_share``), for an expected
  ``budget`` items; ``pi_i`` is recorded so that the estimate stays unbiased by inverse-
  probability weighting.

Both new strategies add the column ``sampling_probability`` to the selection table.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError
from dwa_rater.inference.active import draw_sample, sampling_probabilities
from dwa_rater.inference.items import PROBABILITY_COLUMN, coded_values
from dwa_rater.review.select import (
    SELECTION_COLUMNS,
    SelectionRule,
    item_disagreement,
    select_contested,
)
from dwa_rater.store import ok_ratings, read_many_ratings

Strategy = Literal["contested", "audit", "active"]
STRATEGIES: tuple[str, ...] = ("contested", "audit", "active")

#: Smallest uncertainty (standard deviation on the 0-1 scale) an item is given, so that items
#: on which every rater agrees can still be drawn (raters agreeing can still be wrong).
UNCERTAINTY_FLOOR = 0.1


def budget_of(rule: SelectionRule, population: int) -> int:
    """Items to draw: ``rule.audit_n`` when given (capped), else ``round(fraction * N)``."""
    if rule.audit_n is not None:
        return min(rule.audit_n, population)
    return round(rule.audit_fraction * population)


def rater_uncertainty(ratings: pd.DataFrame, measure: str = "beta") -> pd.Series:
    """Per item_id: ``sqrt(var + floor^2)`` of the coded labels over all ok rows (raters and
    samples; population variance), on the 0-1 scale of ``measure``."""
    rows = ok_ratings(ratings) if "status" in ratings.columns else ratings
    values = pd.DataFrame(
        {"item_id": rows["item_id"].astype(str), "value": coded_values(rows, measure).to_numpy()}
    )
    variance = values.groupby("item_id")["value"].var(ddof=0).fillna(0.0)
    return np.sqrt(variance + UNCERTAINTY_FLOOR**2)


def _with_columns(table: pd.DataFrame, chosen: pd.Series, reason: str) -> pd.DataFrame:
    picked = table[table["item_id"].isin(chosen.index)].copy()
    picked["reason"] = reason
    picked["reasons"] = reason
    picked[PROBABILITY_COLUMN] = picked["item_id"].map(chosen).astype(float)
    return picked[[*SELECTION_COLUMNS, PROBABILITY_COLUMN]].reset_index(drop=True)


def select_items(
    ratings: pd.DataFrame,
    strategy: str = "contested",
    rule: SelectionRule | None = None,
    measure: str = "beta",
    uniform_share: float = 0.2,
) -> pd.DataFrame:
    """The selection table of ``strategy`` (see the module doc); ``rule`` gives the raters,
    the seed and the size (``audit_n`` or ``audit_fraction`` of all items)."""
    rule = rule or SelectionRule()
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "contested":
        return select_contested(ratings, rule)
    table = item_disagreement(ratings, rule.raters, rule.score_spread)
    size = budget_of(rule, len(table))
    if size <= 0:
        return _with_columns(table, pd.Series(dtype=float), strategy)
    ids = table["item_id"].to_numpy()
    if strategy == "audit":
        rng = np.random.default_rng(rule.seed)
        drawn = ids[np.sort(rng.choice(len(ids), size=size, replace=False))]
        return _with_columns(table, pd.Series(size / len(ids), index=drawn), "audit")
    rows = ratings[ratings["rater"].isin(list(rule.raters))] if rule.raters else ratings
    uncertainty = rater_uncertainty(rows, measure).reindex(ids).fillna(1.0).to_numpy()
    pi = sampling_probabilities(uncertainty, size, uniform_share)
    drawn_mask = draw_sample(pi, rule.seed)
    return _with_columns(table, pd.Series(pi[drawn_mask], index=ids[drawn_mask]), "active")


def select_items_to_file(
    ratings_paths: Sequence[Path],
    out: Path,
    strategy: str = "contested",
    rule: SelectionRule | None = None,
    measure: str = "beta",
) -> pd.DataFrame:
    """Select from ratings files and write the selection table as CSV (atomically)."""
    selection = select_items(read_many_ratings(ratings_paths), strategy, rule, measure)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    selection.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, out)
    return selection
