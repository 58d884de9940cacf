"""Leaderboard metrics of one rater against human labels, with bootstrap intervals.

Per rater, on the benchmark items it rated (its label: the most frequent over its samples,
first of E0, E1, E2 on a tie):

- ``kappa``: Cohen's kappa with the human label (Cohen 1960);
- ``kappa_binary``: Cohen's kappa of exposed or not (E0 against E1 + E2);
- ``weighted_kappa``: linearly weighted kappa along E0 < E2 < E1 (Cohen 1968), the order of
  the beta code (E0 = 0, E2 = 0.5, E1 = 1);
- ``occupation_beta_r``: Pearson r across occupations with at least ``min_tasks`` sampled
  tasks between the rater's and the humans' mean beta code (tasks weighted 2 when Core, else
  1, as in Eloundou et al. 2024); ``n_occupations`` of them;
- ``kappa_vs_gpt4``: Cohen's kappa with the reference's GPT-4 labels on the same items (how
  close the rater is to the published model rater);
- ``*_low`` / ``*_high``: 95% percentile intervals from ``resamples`` bootstrap resamples of
  the items (Efron & Tibshirani 1993), seeded;
- ``failed_share``: items with no usable rating over all benchmark items.

All kappas are computed by :func:`dwa_rater.agreement.metrics.cohen_kappa`, which equals
scikit-learn's ``cohen_kappa_score``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from dwa_rater.agreement.metrics import UndefinedMetricError, cohen_kappa, kappa_from_tables

LABELS: tuple[str, ...] = ("E0", "E1", "E2")
#: Label -> position along E0 < E2 < E1 (the beta order) for the weighted kappa.
ORDINAL: dict[str, int] = {"E0": 0, "E2": 1, "E1": 2}
BETA: dict[str, float] = {"E0": 0.0, "E1": 1.0, "E2": 0.5}


def _safe_kappa(a: Sequence[int], b: Sequence[int], k: int, weights: str = "none") -> float:
    try:
        return cohen_kappa(a, b, k, weights)  # type: ignore[arg-type]
    except UndefinedMetricError:
        return float("nan")


def modal_labels(rows: pd.DataFrame) -> pd.Series:
    """Per item, the most frequent ok label over samples (first of E0, E1, E2 on a tie)."""
    ok = rows[(rows["status"].fillna("ok") == "ok") & rows["label"].isin(LABELS)]
    if ok.empty:
        return pd.Series(dtype=object)
    counts = ok.groupby(["item_id", "label"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(LABELS), fill_value=0)
    return counts.idxmax(axis=1)


def _kappas_from_tables(tables: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """kappa, kappa_binary and weighted_kappa from (..., 3, 3) tables over E0, E2, E1."""
    binary = np.stack(
        [
            np.stack([tables[..., 0, 0], tables[..., 0, 1:].sum(-1)], -1),
            np.stack([tables[..., 1:, 0].sum(-1), tables[..., 1:, 1:].sum((-1, -2))], -1),
        ],
        -2,
    )
    return {
        "kappa": kappa_from_tables(tables),
        "kappa_binary": kappa_from_tables(binary),
        "weighted_kappa": kappa_from_tables(tables, "linear"),
    }


def occupation_beta_r(
    truth: Sequence[str],
    predicted: Sequence[str],
    occupations: Sequence[str | None],
    core: Sequence[bool],
    min_tasks: int = 5,
) -> tuple[float, int]:
    """Pearson r of mean beta per occupation (Core tasks weight 2) and how many occupations."""
    frame = pd.DataFrame(
        {
            "g": list(occupations),
            "w": np.where(np.asarray(core, dtype=bool), 2.0, 1.0),
            "t": [BETA[v] for v in truth],
            "p": [BETA[v] for v in predicted],
        }
    ).dropna(subset=["g"])
    sizes = frame.groupby("g").size()
    frame = frame[frame["g"].isin(sizes[sizes >= min_tasks].index)]
    if frame["g"].nunique() < 3:
        return float("nan"), int(frame["g"].nunique())
    frame = frame.assign(t=frame["t"] * frame["w"], p=frame["p"] * frame["w"])
    sums = frame.groupby("g")[["w", "t", "p"]].sum()
    human, rater = sums["t"] / sums["w"], sums["p"] / sums["w"]
    if human.std() == 0 or rater.std() == 0:
        return float("nan"), len(sums)
    return float(np.corrcoef(human, rater)[0, 1]), len(sums)


def rater_metrics(
    truth: pd.Series,
    predicted: pd.Series,
    *,
    gpt4: pd.Series | None = None,
    occupations: pd.Series | None = None,
    core: pd.Series | None = None,
    n_items: int | None = None,
    resamples: int = 1000,
    seed: int = 0,
    min_tasks: int = 5,
) -> dict[str, float]:
    """The leaderboard columns for one rater (see the module docstring).

    ``truth`` and ``predicted`` are labels indexed by item id; ``gpt4``, ``occupations`` and
    ``core`` are indexed the same way; ``n_items`` is the benchmark size (for failed_share).
    """
    common = truth.index.intersection(predicted.index)
    t = [ORDINAL[v] for v in truth[common]]
    p = [ORDINAL[v] for v in predicted[common]]
    total = n_items if n_items is not None else len(truth)
    out: dict[str, float] = {
        "n": float(len(common)),
        "failed_share": 1.0 - len(common) / total if total else float("nan"),
    }
    if not len(common):
        return out
    cells = np.asarray(t) * 3 + np.asarray(p)
    table = np.bincount(cells, minlength=9).reshape(3, 3).astype(np.float64)
    for name, value in _kappas_from_tables(table).items():
        out[name] = float(value)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(common), size=(resamples, len(common)))
    tables = np.zeros((resamples, 9))
    np.add.at(tables, (np.repeat(np.arange(resamples), len(common)), cells[draws].ravel()), 1.0)
    for name, values in _kappas_from_tables(tables.reshape(resamples, 3, 3)).items():
        finite = values[np.isfinite(values)]
        if len(finite):
            out[f"{name}_low"] = float(np.quantile(finite, 0.025))
            out[f"{name}_high"] = float(np.quantile(finite, 0.975))
    if gpt4 is not None:
        shared = common.intersection(gpt4.dropna().index)
        if len(shared):
            out["kappa_vs_gpt4"] = _safe_kappa(
                [ORDINAL[v] for v in gpt4[shared]], [ORDINAL[v] for v in predicted[shared]], 3
            )
    if occupations is not None:
        r, n_occupations = occupation_beta_r(
            list(truth[common]),
            list(predicted[common]),
            list(occupations.reindex(common)),
            list(core.reindex(common).fillna(False)) if core is not None else [False] * len(common),
            min_tasks,
        )
        out["occupation_beta_r"] = r
        out["n_occupations"] = float(n_occupations)
    return out
