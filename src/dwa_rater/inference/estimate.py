"""Means of an exposure measure with intervals that carry the gold-label evidence, per group.

For each group (of ``by``; one group without it) the items with a prediction from every
predicted rater form the population; the gold rater's labels on some of them are the evidence.
Which estimator runs depends on how the gold items were chosen:

- every gold item has a recorded ``sampling_probability`` (``review select --strategy
  audit|active``): the active-inference IPW mean (:func:`.active.ipw_mean`), ``active-ipw``;
- gold items carry a selection ``reason`` (a ``review select`` table passed as ``selection``, or
  a ``reason`` column on the gold rows): contested items were chosen *because* the raters
  disagreed, which is not a random sample, so only the ``audit`` items count as gold; the
  others keep their predictions and the row's ``warning`` says how many were left out;
- otherwise the gold items are taken as a simple random sample, and a two-sample z-test of the
  predictions (gold items vs the others) flags samples that do not look random (p < 0.001).

With one predicted rater the estimator is PPI++ (:func:`.ppi.ppi_mean`), with several the
cross-fitted combination (:func:`.combine.cross_ppi_mean`). Each row also carries the classical
gold-only interval, the ratio of the widths, the effective number of gold labels and the naive
mean of the predictions. Values are on the 0-1 scale of the measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.active import ipw_mean
from dwa_rater.inference.combine import cross_ppi_mean
from dwa_rater.inference.items import (
    MEASURES,
    PROBABILITY_COLUMN,
    REASON_COLUMN,
    attach_selection,
    item_table,
)
from dwa_rater.inference.ppi import MeanInterval, classical_mean, ppi_mean

#: Columns every estimate table starts with (after the ``by`` column when there is one).
ESTIMATE_COLUMNS: tuple[str, ...] = ("estimate", "ci_low", "ci_high", "n_gold", "n", "method")
#: Further columns, in order.
DETAIL_COLUMNS: tuple[str, ...] = (
    "se",
    "lam",
    "n_effective",
    "classical_estimate",
    "classical_ci_low",
    "classical_ci_high",
    "width_ratio",
    "predicted_mean",
    "n_gold_excluded",
    "measure",
    "gold_rater",
    "predicted_raters",
    "level",
    "warning",
)
#: Selection reasons whose items were drawn at random (see ``review select``).
RANDOM_REASONS: frozenset[str] = frozenset({"audit", "active", "random"})
#: p-value below which a gold sample is flagged as not random.
RANDOMNESS_ALARM = 1e-3


@dataclass(frozen=True)
class EstimateOptions:
    """What to estimate: ``measure`` (alpha, beta, gamma or score) of ``gold`` helped by the
    ``predicted`` raters, per ``by`` group, weighted by column ``weights``, at ``level``;
    ``folds`` and ``seed`` of the cross-fitted combination of several predicted raters."""

    gold: str
    predicted: tuple[str, ...]
    measure: str = "beta"
    by: str | None = None
    weights: str | None = None
    level: float = 0.95
    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.measure not in MEASURES:
            raise ConfigError(
                f"unknown measure {self.measure!r}; choose one of {', '.join(MEASURES)}"
            )
        if not self.predicted:
            raise ConfigError("name at least one predicted rater")
        if not 0.0 < self.level < 1.0:
            raise ConfigError(f"--level must be strictly between 0 and 1, got {self.level}")
        if self.folds < 2:
            raise ConfigError(f"folds must be 2 or more, got {self.folds}")


@dataclass
class EstimateResult:
    """The estimate table (one row per group) and notes for the user."""

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """Counts for a manifest: groups, gold labels used, methods."""
        return {
            "groups": len(self.table),
            "n_gold": int(self.table["n_gold"].sum()),
            "n_gold_excluded": int(self.table["n_gold_excluded"].sum()),
            "methods": sorted(set(self.table["method"])),
        }


def randomness_p_value(predicted_gold: np.ndarray, predicted_other: np.ndarray) -> float:
    """Two-sided p of a Welch z-test that gold and other items have the same mean prediction.

    ``z = (mean_g - mean_o) / sqrt(var_g / n_g + var_o / n_o)`` (ddof 1); 1.0 when undefined.
    """
    if len(predicted_gold) < 2 or len(predicted_other) < 2:
        return 1.0
    variance = np.var(predicted_gold, ddof=1) / len(predicted_gold) + np.var(
        predicted_other, ddof=1
    ) / len(predicted_other)
    if not variance > 0:
        return 1.0
    z = (predicted_gold.mean() - predicted_other.mean()) / math.sqrt(variance)
    return float(2 * norm.sf(abs(z)))


def _row(result: MeanInterval | None, classical: MeanInterval | None) -> dict[str, object]:
    if result is None:
        return {
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "se": np.nan,
            "lam": np.nan,
            "n_effective": np.nan,
        }
    row: dict[str, object] = {
        "estimate": result.estimate,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "se": result.se,
        "lam": result.lam,
        "n_effective": result.n_effective,
        "method": result.method,
    }
    if classical is not None:
        row.update(
            classical_estimate=classical.estimate,
            classical_ci_low=classical.ci_low,
            classical_ci_high=classical.ci_high,
            width_ratio=result.width / classical.width if classical.width > 0 else np.nan,
        )
    return row


def estimate_group(items: pd.DataFrame, options: EstimateOptions) -> dict[str, object]:
    """One output row (without the ``by`` column) from one group's item table."""
    predicted_columns = list(options.predicted)
    warnings: list[str] = []
    has_prediction = items[predicted_columns].notna().all(axis=1).to_numpy()
    gold = items["gold"].to_numpy(dtype=np.float64).copy()
    excluded = int((~np.isnan(gold) & ~has_prediction).sum())
    if excluded:
        warnings.append(f"{excluded} gold item(s) without a prediction left out")
    population = items[has_prediction]
    gold = gold[has_prediction]
    predictions = population[predicted_columns].to_numpy(dtype=np.float64)
    weights = population["weight"].to_numpy(dtype=np.float64)
    labelled = ~np.isnan(gold)
    probabilities = None
    if PROBABILITY_COLUMN in population.columns:
        known = population[PROBABILITY_COLUMN].to_numpy(dtype=np.float64)
        if labelled.any() and not np.isnan(known[labelled]).any():
            probabilities = known
    if probabilities is None and REASON_COLUMN in population.columns:
        reasons = population[REASON_COLUMN].fillna("unselected").astype(str).to_numpy()
        chosen_on_purpose = labelled & ~np.isin(reasons, list(RANDOM_REASONS))
        if chosen_on_purpose.any():
            k = int(chosen_on_purpose.sum())
            excluded += k
            gold[chosen_on_purpose] = np.nan
            labelled = ~np.isnan(gold)
            warnings.append(
                f"{k} gold label(s) of contested (non-random) items left out; only the random "
                "audit sample counts, and it covers only the uncontested items"
            )
    n_gold = int(labelled.sum())
    row: dict[str, object] = {"n_gold": n_gold, "n": len(population), "method": "none"}
    row["n_gold_excluded"] = excluded
    mean_prediction = predictions.mean(axis=1)
    if len(population):
        row["predicted_mean"] = float(np.average(mean_prediction, weights=weights))
    if n_gold < 2:
        warnings.append(f"{n_gold} usable gold label(s): no interval")
        row.update(_row(None, None))
        row["warning"] = "; ".join(warnings)
        return row
    if probabilities is not None:
        if len(predicted_columns) > 1:
            warnings.append("several predicted raters averaged (no combination under IPW)")
        result = ipw_mean(mean_prediction, gold, probabilities, options.level, weights)
        classical = ipw_mean(mean_prediction, gold, probabilities, options.level, weights, lam=0.0)
        classical = MeanInterval(**{**classical.__dict__, "method": "horvitz-thompson"})
    else:
        classical = classical_mean(gold[labelled], options.level, weights[labelled], len(gold))
        p_value = randomness_p_value(mean_prediction[labelled], mean_prediction[~labelled])
        if p_value < RANDOMNESS_ALARM:
            warnings.append(
                f"gold items do not look like a random sample: their mean prediction "
                f"{mean_prediction[labelled].mean():.3f} vs {mean_prediction[~labelled].mean():.3f}"
                f" for the others (p={p_value:.1e}); pass the `review select` table with "
                "--selection, or draw gold items with --strategy audit|active"
            )
        if labelled.all():
            result = classical
            warnings.append("every item has a gold label: classical mean")
        elif len(predicted_columns) == 1:
            result = ppi_mean(
                gold[labelled],
                predictions[labelled, 0],
                predictions[~labelled, 0],
                options.level,
                weights=weights[labelled],
                weights_unlabelled=weights[~labelled],
            )
        else:
            result = cross_ppi_mean(
                gold[labelled],
                predictions[labelled],
                predictions[~labelled],
                options.level,
                weights=weights[labelled],
                weights_unlabelled=weights[~labelled],
                folds=options.folds,
                seed=options.seed,
            )
    row.update(_row(result, classical))
    row["warning"] = "; ".join(warnings)
    return row


def _groups(items: pd.DataFrame, by: str | None) -> Iterator[tuple[object, pd.DataFrame]]:
    if by is None:
        yield None, items
        return
    yield from items.groupby(by, sort=True, observed=True)


def estimate_items(items: pd.DataFrame, options: EstimateOptions) -> pd.DataFrame:
    """The estimate table from an item table of :func:`.items.item_table`."""
    rows = []
    for key, group in _groups(items, options.by):
        row = estimate_group(group, options)
        if options.by is not None:
            row = {options.by: key, **row}
        rows.append(row)
    table = pd.DataFrame.from_records(rows)
    table["measure"] = options.measure
    table["gold_rater"] = options.gold
    table["predicted_raters"] = ",".join(options.predicted)
    table["level"] = options.level
    lead = [options.by] if options.by is not None else []
    for column in (*ESTIMATE_COLUMNS, *DETAIL_COLUMNS):
        if column not in table.columns:
            table[column] = np.nan
    table["warning"] = table["warning"].fillna("")
    return table[[*lead, *ESTIMATE_COLUMNS, *DETAIL_COLUMNS]]


def estimate_ratings(
    ratings: pd.DataFrame, options: EstimateOptions, selection: pd.DataFrame | None = None
) -> EstimateResult:
    """Estimates from a long ratings table (and optionally a ``review select`` table)."""
    items = item_table(
        ratings, options.gold, options.predicted, options.measure, options.by, options.weights
    )
    if selection is not None:
        items = attach_selection(items, selection)
    table = estimate_items(items, options)
    notes = []
    if options.by is None and table["method"].iloc[0] == "none":
        raise DataError(f"no interval: {table['warning'].iloc[0]}")
    warned = table[table["warning"] != ""]
    if len(warned):
        first = warned["warning"].iloc[0]
        where = f" ({len(warned)} of {len(table)} groups)" if options.by is not None else ""
        notes.append(f"{first}{where}")
    return EstimateResult(table=table, notes=notes)
