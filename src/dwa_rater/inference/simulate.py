"""Replicated designs for checking intervals: random subsets of labelled items, gold on a few.

The check of ``dwa-rater estimate`` (issue 15): draw ``replicates`` subsets of ``size`` items
from a table where every item has a gold label and predictions, keep the gold label on a simple
random ``gold_fraction`` of each subset, and see whether the intervals cover each subset's
all-gold mean. Draws use numpy ``default_rng(seed)``; items are drawn without replacement within
a replicate and independently across replicates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError

REPLICATE_COLUMN = "replicate"


def replicate_ratings(
    ratings: pd.DataFrame,
    gold: str,
    predicted: Sequence[str],
    replicates: int = 100,
    size: int = 3000,
    gold_fraction: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """A long ratings table with a ``replicate`` column (1..replicates).

    ``ratings`` holds one row per (item, rater) for the gold and predicted raters (extra
    columns are carried along). In each replicate, ``size`` items that every rater labelled are
    drawn; the predicted raters' rows are kept for all of them and the gold rater's rows for a
    random ``round(gold_fraction * size)`` of them.
    """
    if not 0.0 < gold_fraction <= 1.0:
        raise ConfigError(f"gold fraction must be in (0, 1], got {gold_fraction}")
    raters = [gold, *predicted]
    rows = ratings[ratings["rater"].isin(raters)]
    per_rater = {
        r: rows[rows["rater"] == r].drop_duplicates("item_id").set_index("item_id") for r in raters
    }
    common = sorted(set.intersection(*(set(frame.index) for frame in per_rater.values())))
    if size > len(common):
        raise ConfigError(
            f"replicate size {size} exceeds the {len(common)} items every rater labelled"
        )
    rng = np.random.default_rng(seed)
    n_gold = round(gold_fraction * size)
    item_ids = np.asarray(common, dtype=object)
    frames = []
    for replicate in range(1, replicates + 1):
        chosen = item_ids[rng.choice(len(common), size=size, replace=False)]
        gold_ids = chosen[rng.choice(size, size=n_gold, replace=False)]
        for rater in raters:
            ids = gold_ids if rater == gold else chosen
            part = per_rater[rater].loc[ids].reset_index()
            part.insert(0, REPLICATE_COLUMN, replicate)
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def replicate_truth(replicated: pd.DataFrame, gold: str, values: pd.Series) -> pd.Series:
    """Per replicate, the mean of ``values`` (gold value per item_id) over all its items.

    ``replicated`` is the output of :func:`replicate_ratings`; the items of a replicate are
    those of its predicted rows.
    """
    items = replicated[replicated["rater"] != gold][[REPLICATE_COLUMN, "item_id"]].drop_duplicates()
    items = items.assign(value=items["item_id"].map(values))
    return items.groupby(REPLICATE_COLUMN)["value"].mean()
