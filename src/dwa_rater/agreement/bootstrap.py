"""Nonparametric bootstrap over items: seeded resamples and percentile intervals.

Items (activities) are the sampling units: each resample draws n items with replacement from
the n items a statistic is computed on (Efron & Tibshirani 1993, ch. 6), and the interval is the
(1 - confidence)/2 and (1 + confidence)/2 percentiles of the resampled statistics (ch. 13;
numpy's default linear interpolation between order statistics). Resamples where a statistic is
undefined (e.g. kappa of a resample holding one category only) are left out and counted.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Upper bound on resample-matrix cells held in memory at once (about 32 MB of float64).
_CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class BootstrapSpec:
    """How many resamples, the seed, and the interval's coverage (0-1)."""

    n_resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    def generator(self, *context: str) -> np.random.Generator:
        """A Generator seeded by the seed and a context (e.g. the rater pair and the group).

        Seeding by context makes a pair's interval independent of which other raters or groups
        are in the run, and reproducible given the seed.
        """
        entropy = [self.seed, *(zlib.crc32(part.encode("utf-8")) for part in context)]
        return np.random.default_rng(entropy)


def resample_indices(
    rng: np.random.Generator, n_items: int, n_resamples: int
) -> Iterator[NDArray[np.int64]]:
    """Yield ``(chunk, n_items)`` arrays of item indices drawn with replacement, in chunks."""
    chunk = max(1, min(n_resamples, _CELLS_PER_CHUNK // max(n_items, 1)))
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        yield rng.integers(0, n_items, size=(size, n_items))
        done += size


def resample_counts(indices: NDArray[np.int64], n_items: int) -> NDArray[np.float64]:
    """How often each item was drawn in each resample: ``(chunk, n_items)`` weights."""
    rows = indices.shape[0]
    offsets = (np.arange(rows)[:, None] * n_items + indices).ravel()
    return np.bincount(offsets, minlength=rows * n_items).reshape(rows, n_items).astype(float)


def resample_tables(
    indices: NDArray[np.int64], cells: NDArray[np.int64], n_categories: int
) -> NDArray[np.float64]:
    """Contingency tables ``(chunk, K, K)`` of resampled items, given each item's cell a*K + b."""
    rows = indices.shape[0]
    k2 = n_categories * n_categories
    offsets = (np.arange(rows)[:, None] * k2 + cells[indices]).ravel()
    counts = np.bincount(offsets, minlength=rows * k2)
    return counts.reshape(rows, n_categories, n_categories).astype(float)


@dataclass(frozen=True)
class Interval:
    """A percentile interval and how many resamples gave a defined statistic."""

    low: float
    high: float
    n_valid: int

    def to_dict(self) -> dict[str, float | int]:
        return {"low": self.low, "high": self.high, "n_valid": self.n_valid}


def percentile_interval(replicates: NDArray[np.float64], confidence: float) -> Interval | None:
    """Percentile interval of the finite replicates; None if fewer than two are finite."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size < 2:
        return None
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(float(low), float(high), int(finite.size))


def add_intervals(
    replicates: dict[str, list[np.ndarray]],
    point: dict[str, Any],
    ci: dict[str, Any],
    notes: list[str],
    keys: Sequence[str],
    spec: BootstrapSpec,
) -> None:
    """Fill ``ci[key]`` with the percentile interval of each statistic in ``keys``.

    Only statistics whose point estimate in ``point`` is defined get one. A note is appended
    when some resamples left a statistic undefined (the interval then uses the others).
    """
    for key in keys:
        if point.get(key) is None or key not in replicates:
            continue
        interval = percentile_interval(np.concatenate(replicates[key]), spec.confidence)
        ci[key] = None if interval is None else interval.to_dict()
        if interval is not None and interval.n_valid < spec.n_resamples:
            notes.append(
                f"{key} interval from {interval.n_valid} of {spec.n_resamples} resamples "
                "(undefined in the others)"
            )
