"""Means of an exposure measure with intervals that carry the gold-label evidence, per group.

For each group (of ``by``; one group without it) the items with a prediction from every
predicted rater form the population; the gold rater's labels on some of them are the evidence.
Which estimator runs depends on how the gold items were chosen:

- gold items have a recorded ``sampling_probability`` (``review select --strategy
  audit|active``): gold items without one are left out; unequal probabilities give the
  active-inference IPW mean (:func:`.active.ipw_mean`), ``active-ipw``; equal ones (a simple
  random sample, ``--strategy audit``) the PPI++ estimators below;
- gold items carry a selection ``reason`` (a ``review select`` table passed as ``selection``, or
  a ``reason`` column on the gold rows): contested items were chosen *because* the raters
  disagreed, which is not a random sample, so only the ``audit`` items count as gold; the
  others keep their predictions and the row's ``warning`` says how many were left out;
- otherwise the gold items are taken as a simple random sample, and two-sample z-tests of the
  predictions and of the raters' spread (gold items vs the others) flag samples that do not
  look random (p < 0.001): the row's ``warning`` says so.

With one predicted rater the estimator is PPI++ (:func:`.ppi.ppi_mean`), with several the
cross-fitted combination (:func:`.combine.cross_ppi_mean`). Each row also carries the classical
gold-only interval, the ratio of the widths, the effective number of gold labels and the naive
mean of the predictions. Values are on the 0-1 scale of the measure.
"""

from __future__ import annotations

import math
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


def randomness_warning(predictions: np.ndarray, labelled: np.ndarray) -> str:
    """A warning when the gold items do not look like a random sample of all items, else "".

    Two Welch z-tests of gold vs other items (:func:`randomness_p_value`), Bonferroni-combined:
    on the mean prediction and, with several predicted raters, on the raters' spread
    ``max - min`` (contested-item selection picks items where raters disagree).
    """
    mean_prediction = predictions.mean(axis=1)
    tests = {"mean prediction": mean_prediction}
    if predictions.shape[1] > 1:
        tests["rater spread"] = predictions.max(axis=1) - predictions.min(axis=1)
    for name, values in tests.items():
        p_value = min(1.0, len(tests) * randomness_p_value(values[labelled], values[~labelled]))
        if p_value < RANDOMNESS_ALARM:
            return (
                f"gold items do not look like a random sample: their {name} "
                f"{values[labelled].mean():.3f} vs {values[~labelled].mean():.3f} for the others "
                f"(p={p_value:.1e}); pass the `review select` table with --selection, or draw "
                "gold items with `review select --strategy audit|active`"
            )
    return ""


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


@dataclass(frozen=True)
class GroupItems:
    """One group's items as arrays: gold (NaN if unlabelled), predictions (items x raters, NaN
    if missing), weights, and the optional sampling probabilities and selection reasons."""

    gold: np.ndarray
    predictions: np.ndarray
    weights: np.ndarray
    probabilities: np.ndarray | None = None
    reasons: np.ndarray | None = None

    def subset(self, keep: np.ndarray) -> GroupItems:
        """The same arrays restricted to ``keep`` (a boolean mask or row positions)."""
        return GroupItems(
            gold=self.gold[keep],
            predictions=self.predictions[keep],
            weights=self.weights[keep],
            probabilities=None if self.probabilities is None else self.probabilities[keep],
            reasons=None if self.reasons is None else self.reasons[keep],
        )


def estimate_group(items: GroupItems, options: EstimateOptions) -> dict[str, object]:
    """One output row (without the ``by`` column) from one group's items."""
    warnings: list[str] = []
    has_prediction = ~np.isnan(items.predictions).any(axis=1)
    excluded = int((~np.isnan(items.gold) & ~has_prediction).sum())
    if excluded:
        warnings.append(f"{excluded} gold item(s) without a prediction left out")
    population = items.subset(has_prediction)
    gold = population.gold.copy()
    predictions = population.predictions
    weights = population.weights
    labelled = ~np.isnan(gold)
    probabilities = None
    if population.probabilities is not None:
        known = population.probabilities
        with_probability = labelled & ~np.isnan(known)
        if with_probability.any():
            probabilities = known
            without = labelled & np.isnan(known)
            if without.any():
                k = int(without.sum())
                excluded += k
                gold[without] = np.nan
                labelled = ~np.isnan(gold)
                warnings.append(f"{k} gold label(s) without a sampling probability left out")
            waiting = int((~labelled & ~np.isnan(known)).sum())
            if waiting:
                warnings.append(
                    f"{waiting} drawn item(s) have no gold label yet; the estimate treats them "
                    "as not drawn, which is unbiased only if they are missing at random"
                )
            if labelled.any() and np.ptp(known[labelled]) < 1e-12:
                # equal probabilities: a simple random sample, for which PPI++ is more efficient
                # (IPW's variance also counts the squared bias of the predictions)
                probabilities = None
    if probabilities is None and population.reasons is not None:
        chosen_on_purpose = labelled & ~np.isin(population.reasons, list(RANDOM_REASONS))
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
    size = len(gold)
    row: dict[str, object] = {"n_gold": n_gold, "n": size, "method": "none"}
    row["n_gold_excluded"] = excluded
    mean_prediction = predictions.mean(axis=1)
    if size:
        row["predicted_mean"] = float(np.average(mean_prediction, weights=weights))
    if n_gold < 2:
        warnings.append(f"{n_gold} usable gold label(s): no interval")
        row.update(_row(None, None))
        row["warning"] = "; ".join(warnings)
        return row
    classical: MeanInterval
    if probabilities is not None:
        if predictions.shape[1] > 1:
            warnings.append("several predicted raters averaged (no combination under IPW)")
        result = ipw_mean(mean_prediction, gold, probabilities, options.level, weights)
        classical = ipw_mean(mean_prediction, gold, probabilities, options.level, weights, lam=0.0)
        classical = MeanInterval(**{**classical.__dict__, "method": "horvitz-thompson"})
    else:
        classical = classical_mean(gold[labelled], options.level, weights[labelled], size)
        warning = randomness_warning(predictions, labelled)
        if warning:
            warnings.append(warning)
        if labelled.all():
            result = classical
            warnings.append("every item has a gold label: classical mean")
        elif predictions.shape[1] == 1:
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


def _group_arrays(items: pd.DataFrame, options: EstimateOptions) -> GroupItems:
    probabilities = (
        pd.to_numeric(items[PROBABILITY_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
        if PROBABILITY_COLUMN in items.columns
        else None
    )
    reasons = (
        items[REASON_COLUMN].fillna("unselected").astype(str).to_numpy()
        if REASON_COLUMN in items.columns
        else None
    )
    return GroupItems(
        gold=items["gold"].to_numpy(dtype=np.float64),
        predictions=items[list(options.predicted)].to_numpy(dtype=np.float64),
        weights=items["weight"].to_numpy(dtype=np.float64),
        probabilities=probabilities,
        reasons=reasons,
    )


def _sorted_keys(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Group keys in natural order (numbers numerically) and each row's group position."""
    numeric = pd.to_numeric(values, errors="coerce")
    keys = numeric if numeric.notna().all() else values.astype(str)
    codes, uniques = pd.factorize(keys, sort=True)
    originals = values.groupby(codes, sort=True).first().to_numpy()
    return codes, originals if len(originals) == len(uniques) else uniques


def estimate_items(items: pd.DataFrame, options: EstimateOptions) -> pd.DataFrame:
    """The estimate table from an item table of :func:`.items.item_table`.

    Groups are split once with numpy (fast for hundreds of groups); ``by`` values that are all
    numbers come out in numeric order.
    """
    arrays = _group_arrays(items, options)
    rows = []
    if options.by is None:
        rows.append(estimate_group(arrays, options))
    else:
        codes, keys = _sorted_keys(items[options.by])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
        for position, key in enumerate(keys):
            members = order[bounds[position] : bounds[position + 1]]
            rows.append({options.by: key, **estimate_group(arrays.subset(members), options)})
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
