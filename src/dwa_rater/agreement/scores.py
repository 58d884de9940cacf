"""Agreement of two score tables keyed by the same IDs (e.g. two occupation-level indices).

Rows are matched on the key; only keys present with a numeric value in both tables are
compared. Pearson, Spearman and Kendall tau-b come from ``scipy.stats``; the mean difference is
mean(a - b) in the tables' own units, with Bland-Altman 95% limits of agreement (mean +- 1.96
SD of the differences). Every statistic gets a percentile bootstrap interval over keys.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import dwa_rater.agreement.metrics as m
from dwa_rater.agreement.bootstrap import BootstrapSpec, add_intervals, resample_indices
from dwa_rater.agreement.jsonable import to_jsonable
from dwa_rater.errors import DataError

SCORE_TABLE_METRICS: tuple[str, ...] = ("pearson", "spearman", "kendall", "mean_difference")


@dataclass(frozen=True)
class ScoreComparison:
    """The JSON document and the matched rows (key, a, b) it was computed from."""

    summary: dict[str, Any]
    matched: pd.DataFrame

    @property
    def warnings(self) -> list[str]:
        return list(self.summary["notes"])

    def to_json(self) -> str:
        return json.dumps(to_jsonable(self.summary), indent=2, allow_nan=False, ensure_ascii=False)


def compare_score_tables(
    a: pd.DataFrame,
    b: pd.DataFrame,
    key: str | Sequence[str],
    column_a: str,
    column_b: str,
    *,
    bootstrap: BootstrapSpec | None = None,
    names: tuple[str, str] = ("a", "b"),
) -> ScoreComparison:
    """Compare ``a[column_a]`` with ``b[column_b]`` on rows matched by ``key``.

    Raises :class:`DataError` if a key or value column is missing or a key is duplicated in
    either table. Keys are compared as strings (so ``"11-1011.00"`` and leading zeros survive).
    """
    spec = bootstrap or BootstrapSpec()
    keys = [key] if isinstance(key, str) else list(key)
    left = _prepare(a, keys, column_a, names[0], "a")
    right = _prepare(b, keys, column_b, names[1], "b")
    matched = left.merge(right, on=keys, how="inner")
    notes: list[str] = []
    n_only_a = len(left) - len(matched)
    n_only_b = len(right) - len(matched)
    if n_only_a or n_only_b:
        notes.append(f"{n_only_a} key(s) only in {names[0]}, {n_only_b} only in {names[1]}")
    x = matched["a"].to_numpy(dtype=float)
    y = matched["b"].to_numpy(dtype=float)
    n = len(matched)
    out: dict[str, Any] = {
        "a": {"name": names[0], "column": column_a},
        "b": {"name": names[1], "column": column_b},
        "key": keys,
        "n": n,
        "n_only_a": n_only_a,
        "n_only_b": n_only_b,
    }
    out |= dict.fromkeys(SCORE_TABLE_METRICS)
    out |= {"loa_low": None, "loa_high": None}
    ci: dict[str, Any] = dict.fromkeys(SCORE_TABLE_METRICS)
    if n == 0:
        notes.append("no key has a value in both tables")
    else:
        out["mean_difference"] = float(np.mean(x - y))
    if n >= 2:
        spread = float(np.std(x - y, ddof=1))
        out["loa_low"] = out["mean_difference"] - 1.96 * spread
        out["loa_high"] = out["mean_difference"] + 1.96 * spread
        try:
            out |= m.correlations(x, y)
        except m.UndefinedMetricError:
            side = names[0] if np.all(x == x[0]) else names[1]
            notes.append(f"correlations undefined: every value of {side} is the same")
    elif n == 1:
        notes.append("correlations undefined: only one key in both tables")
    if n >= 2 and spec.n_resamples > 0:
        replicates: dict[str, list[np.ndarray]] = {}
        rng = spec.generator("score-tables", column_a, column_b)
        for idx in resample_indices(rng, n, spec.n_resamples):
            xs, ys = x[idx], y[idx]
            replicates.setdefault("mean_difference", []).append((xs - ys).mean(axis=1))
            if out["pearson"] is not None:
                replicates.setdefault("pearson", []).append(m.pearson_rows(xs, ys))
                replicates.setdefault("spearman", []).append(m.spearman_rows(xs, ys))
                replicates.setdefault("kendall", []).append(_kendall_rows(xs, ys))
        add_intervals(replicates, out, ci, notes, SCORE_TABLE_METRICS, spec)
    out |= {
        "ci": ci,
        "settings": {
            "n_bootstrap": spec.n_resamples,
            "seed": spec.seed,
            "confidence": spec.confidence,
            "interval": "percentile bootstrap, keys resampled with replacement",
        },
        "notes": notes,
    }
    return ScoreComparison(to_jsonable(out), matched)


def _prepare(
    frame: pd.DataFrame, keys: list[str], column: str, name: str, side: str
) -> pd.DataFrame:
    """Key columns as stripped strings plus the numeric value as column ``side``."""
    missing = [c for c in [*keys, column] if c not in frame.columns]
    if missing:
        raise DataError(f"score table {name} lacks column(s) {', '.join(missing)}")
    table = frame[[*keys, column]].copy()
    for k in keys:
        table[k] = table[k].astype("string").str.strip()
    table = table.dropna(subset=keys)
    duplicated = table.duplicated(keys)
    if duplicated.any():
        first = table.loc[duplicated, keys].iloc[0].tolist()
        raise DataError(f"score table {name}: key {first} occurs more than once")
    values = pd.to_numeric(table[column], errors="coerce")
    table = table.assign(**{side: values.astype(float)}).dropna(subset=[side])
    table = table[np.isfinite(table[side])]
    return table[[*keys, side]]


def _kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b per resample (scipy; there is no vectorised form for continuous values)."""
    values = np.empty(x.shape[0])
    for row in range(x.shape[0]):
        if np.all(x[row] == x[row, 0]) or np.all(y[row] == y[row, 0]):
            values[row] = math.nan
        else:
            values[row] = stats.kendalltau(x[row], y[row], variant="b").statistic
    return values
