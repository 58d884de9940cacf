"""The study's labour-market and city indices with intervals resting on its human sample (issue 15).

The human sample is the study's own: labels of the review's human rater (Label Studio exports
pulled into ``annotations/``) on the rated DWAs. Items chosen for review *because* the raters
disagreed (``review/contested.csv``) are not a random sample, so only the random audit items
count as gold, as in :mod:`dwa_rater.study.uncertainty`. The predictions are the panel's raters
that give the measure (a rubric with a 0-1 score only, such as ``ilo``, has no E0/E1/E2 label to
code as beta), averaged. Without at least two usable human labels there is no interval, and the
tables get no interval columns: the step's record says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
from dwa_rater.inference.estimate import RANDOM_REASONS
from dwa_rater.inference.items import (
    PROBABILITY_COLUMN,
    REASON_COLUMN,
    attach_selection,
    coded_values,
    item_table,
)


@dataclass(frozen=True)
class HumanItems:
    """An item table whose gold labels may serve as a random sample, and what it rests on."""

    items: pd.DataFrame
    predicted: tuple[str, ...]
    human: str
    n_gold: int
    n_excluded: int

    def describe(self) -> str:
        left_out = f"; {self.n_excluded} contested item(s) left out" if self.n_excluded else ""
        return (
            f"{self.n_gold} human labels of rater {self.human!r} on a random audit sample of the "
            f"{len(self.items)} rated DWAs (the study's review{left_out}); predictions: mean of "
            f"{', '.join(self.predicted)}"
        )


def raters_with_measure(ratings: pd.DataFrame, raters: Sequence[str], measure: str) -> list[str]:
    """Those of ``raters`` with at least one ok rating that has a value under ``measure``."""
    ok = ratings[ratings["status"] == "ok"] if "status" in ratings.columns else ratings
    out = []
    for rater in raters:
        rows = ok[ok["rater"] == rater]
        if len(rows) and coded_values(rows, measure).notna().any():
            out.append(rater)
    return out


def human_items(
    ratings: pd.DataFrame,
    human: str,
    panel: Sequence[str],
    measure: str,
    selection: pd.DataFrame | None = None,
) -> HumanItems | str:
    """The item table for the intervals, or the reason there is none (a sentence)."""
    present = set(ratings["rater"].dropna().astype(str))
    if human not in present:
        return f"no human labels (rater {human!r}) in this run"
    predicted = raters_with_measure(ratings, [r for r in panel if r != human], measure)
    if not predicted:
        return f"no panel rater gives a {measure} value to predict with"
    items = item_table(ratings, human, predicted, measure)
    if selection is not None:
        items = attach_selection(items, selection)
    labelled = items["gold"].notna()
    excluded = 0
    if REASON_COLUMN in items.columns:
        on_purpose = labelled & ~items[REASON_COLUMN].isin(list(RANDOM_REASONS))
        excluded = int(on_purpose.sum())
        items.loc[on_purpose, "gold"] = np.nan
    if PROBABILITY_COLUMN in items.columns:
        known = pd.to_numeric(items[PROBABILITY_COLUMN], errors="coerce")
        without = items["gold"].notna() & known.isna()
        excluded += int(without.sum())
        items.loc[without, "gold"] = np.nan
        gold_probabilities = known[items["gold"].notna()]
        if gold_probabilities.empty or np.ptp(gold_probabilities) < 1e-12:
            # equal probabilities: a simple random sample (as in inference.estimate)
            items = items.drop(columns=PROBABILITY_COLUMN)
    n_gold = int(items["gold"].notna().sum())
    if n_gold < 2:
        left_out = f"{excluded} contested or unselected left out; " if excluded else ""
        return f"{n_gold} usable human label(s) of rater {human!r} ({left_out}an interval needs 2)"
    return HumanItems(items, tuple(predicted), human, n_gold, excluded)


def labour_market_with_intervals(
    labour: LabourMarketIndices,
    sample: HumanItems,
    postings: pd.DataFrame,
    posting_dwas: pd.DataFrame,
    level: float = 0.95,
) -> LabourMarketIndices:
    """``labour`` with interval columns on its occupation, change and city tables."""
    from dwa_rater.indices.labour_market.intervals import labour_market_intervals, with_intervals

    periods = (labour.from_label or str(labour.from_year), labour.to_label or str(labour.to_year))
    intervals = labour_market_intervals(
        sample.items,
        postings,
        posting_dwas,
        sample.predicted,
        years=sorted(int(y) for y in labour.occupation_index["year"].unique()),
        periods=periods,
        city_periods=list(labour.city_index["period"].astype(str).drop_duplicates()),
        weighting=labour.city_weighting,
        level=level,
    )
    return with_intervals(labour, intervals)


def study_intervals(
    labour: LabourMarketIndices,
    ratings: pd.DataFrame,
    human: str,
    panel: Sequence[str],
    measure: str,
    *,
    postings_file: Path,
    mapping_dir: Path,
    selection_file: Path | None,
) -> tuple[LabourMarketIndices, dict[str, Any]]:
    """The study's step: intervals when there is a human sample, else ``labour`` unchanged and
    a record whose ``reason`` says why there are none."""
    from dwa_rater.indices.labour_market.intervals import posting_dwa_weights
    from dwa_rater.indices.mapping_files import read_mapping
    from dwa_rater.indices.postings import read_postings
    from dwa_rater.inference.files import read_selection_table

    selection = (
        read_selection_table(selection_file)
        if selection_file is not None and selection_file.is_file()
        else None
    )
    sample = human_items(ratings, human, panel, measure, selection)
    if isinstance(sample, str):
        return labour, {"intervals": False, "reason": sample}
    posting_lines, line_mapping = read_mapping(mapping_dir)
    with_ci = labour_market_with_intervals(
        labour,
        sample,
        read_postings(postings_file),
        posting_dwa_weights(posting_lines, line_mapping),
    )
    return with_ci, {"intervals": True, "human_sample": sample.describe()}
