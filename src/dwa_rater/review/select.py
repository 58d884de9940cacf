"""Which rated items go to human annotators, and why: contested items plus a random audit.

An item is *contested* when its LLM raters disagree in one of three ways (all on the ``ok`` rows
of the long ratings table, see :mod:`dwa_rater.schemas`):

- ``label_disagreement``: no exposure label is a majority label of every rater. A rater's
  majority labels are the labels it gave most often over its samples (several on a tie), so a
  rater split E1/E2 does not disagree with a rater saying E1, but E0 and E2 do disagree.
- ``score_spread``: the raters' mean scores (each rater's mean over its samples, on the rubric's
  0-1 scale) span more than ``SelectionRule.score_spread``: ``max_r mean_r - min_r mean_r``.
- ``self_inconsistent``: at least one rater gave different labels across its samples.

Human-vs-LLM agreement measured on contested items only would be biased toward hard cases, so a
seeded random ``audit`` sample of the uncontested items is added (``audit_fraction`` of them,
rounded to the nearest integer, or ``audit_n``). Every function here is pure except the two
file helpers at the end.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import exposure_scale
from dwa_rater.store import ok_ratings, read_many_ratings

#: Reasons in order of priority; an item's ``reason`` is the first that applies.
REASONS: tuple[str, ...] = ("label_disagreement", "score_spread", "self_inconsistent", "audit")

#: Columns of the selection table (one row per chosen item), in order.
SELECTION_COLUMNS: tuple[str, ...] = (
    "item_id",
    "item_type",
    "item_text",
    "reason",
    "reasons",
    "n_raters",
    "n_ratings",
    "labels",
    "score_min",
    "score_max",
    "score_spread",
)


@dataclass(frozen=True)
class SelectionRule:
    """Parameters of the contested-item rule.

    - ``score_spread``: an item is contested when the raters' mean scores (0-1 scale) span
      strictly more than this.
    - ``audit_fraction``: share of the uncontested items drawn for the audit sample (0-1).
    - ``audit_n``: draw exactly this many instead (capped at the number of uncontested items).
    - ``seed``: seed of the audit draw (numpy ``default_rng``); same table + seed, same draw.
    - ``raters``: only these raters' rows count (empty: every rater in the table).
    """

    score_spread: float = 0.25
    audit_fraction: float = 0.1
    audit_n: int | None = None
    seed: int = 0
    raters: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_spread <= 1.0:
            raise ConfigError(f"score spread threshold must be in [0, 1], got {self.score_spread}")
        if not 0.0 <= self.audit_fraction <= 1.0:
            raise ConfigError(f"audit fraction must be in [0, 1], got {self.audit_fraction}")
        if self.audit_n is not None and self.audit_n < 0:
            raise ConfigError(f"audit size must be 0 or more, got {self.audit_n}")


def _label_order(label: str) -> tuple[int, str]:
    known = {name: i for i, name in enumerate(exposure_scale().labels)}
    return (known.get(label, len(known)), label)


def _majority_labels(labels: pd.Series) -> frozenset[str]:
    counts = labels.value_counts()
    if counts.empty:
        return frozenset()
    return frozenset(counts.index[counts == counts.max()])


def item_disagreement(
    ratings: pd.DataFrame, raters: Sequence[str] = (), score_spread: float = 0.25
) -> pd.DataFrame:
    """One row per item with its disagreement measures and the reasons it is contested.

    Columns: item_id, item_type, item_text, n_raters (raters with at least one ok row),
    n_ratings (ok rows), labels (distinct labels given, rubric order, joined by " vs "),
    score_min / score_max (extreme rater mean scores, 0-1), score_spread (their difference;
    NaN with fewer than two scoring raters), label_disagreement, score_spread_exceeded,
    self_inconsistent (booleans) and reasons ("|"-joined, empty when uncontested). Sorted by
    item_id.
    """
    missing = [c for c in ("item_id", "rater", "label", "score") if c not in ratings.columns]
    if missing:
        raise DataError(f"ratings table lacks column(s) {', '.join(missing)}")
    rows = ok_ratings(ratings)
    if raters:
        unknown = sorted(set(raters) - set(rows["rater"].dropna()))
        if unknown:
            raise ConfigError(f"rater(s) not in the ratings table: {', '.join(unknown)}")
        rows = rows[rows["rater"].isin(list(raters))]
    rows = rows[rows["label"].notna() | rows["score"].notna()]
    records = []
    for item_id, item_rows in rows.groupby("item_id", sort=True):
        labelled = item_rows[item_rows["label"].notna()]
        by_rater = labelled.groupby("rater")["label"]
        majorities = [_majority_labels(group) for _, group in by_rater]
        label_disagreement = len(majorities) >= 2 and not frozenset.intersection(*majorities)
        self_inconsistent = bool((by_rater.nunique() > 1).any())
        rater_means = item_rows.groupby("rater")["score"].mean().dropna()
        spread = float(rater_means.max() - rater_means.min()) if len(rater_means) >= 2 else np.nan
        spread_exceeded = bool(not np.isnan(spread) and spread > score_spread + 1e-12)
        flags = {
            "label_disagreement": bool(label_disagreement),
            "score_spread": spread_exceeded,
            "self_inconsistent": self_inconsistent,
        }
        records.append(
            {
                "item_id": str(item_id),
                "item_type": _first_text(item_rows, "item_type", "dwa"),
                "item_text": _first_text(item_rows, "item_text", ""),
                "n_raters": int(item_rows["rater"].nunique()),
                "n_ratings": len(item_rows),
                "labels": " vs ".join(sorted(set(labelled["label"]), key=_label_order)),
                "score_min": float(rater_means.min()) if len(rater_means) else np.nan,
                "score_max": float(rater_means.max()) if len(rater_means) else np.nan,
                "score_spread": spread,
                "label_disagreement": flags["label_disagreement"],
                "score_spread_exceeded": flags["score_spread"],
                "self_inconsistent": flags["self_inconsistent"],
                "reasons": "|".join(reason for reason, hit in flags.items() if hit),
            }
        )
    columns = [
        "item_id",
        "item_type",
        "item_text",
        "n_raters",
        "n_ratings",
        "labels",
        "score_min",
        "score_max",
        "score_spread",
        "label_disagreement",
        "score_spread_exceeded",
        "self_inconsistent",
        "reasons",
    ]
    return pd.DataFrame.from_records(records, columns=columns)


def _first_text(rows: pd.DataFrame, column: str, default: str) -> str:
    if column not in rows.columns:
        return default
    values = rows[column].dropna()
    return str(values.iloc[0]) if len(values) else default


def draw_audit(item_ids: Sequence[str], fraction: float, n: int | None, seed: int) -> list[str]:
    """A seeded simple random sample (without replacement) of ``item_ids``, sorted.

    Size: ``n`` when given (capped at the population), else ``round(fraction * population)``
    (Python's round-half-to-even). The population is sorted first, so the draw depends only
    on the set of ids, the size and the seed.
    """
    population = sorted(set(item_ids))
    size = min(n, len(population)) if n is not None else round(fraction * len(population))
    if size <= 0:
        return []
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(population), size=size, replace=False)
    return sorted(population[i] for i in chosen)


def select_contested(ratings: pd.DataFrame, rule: SelectionRule | None = None) -> pd.DataFrame:
    """The items to review: every contested item plus the audit sample of uncontested ones.

    Returns the table of ``SELECTION_COLUMNS``: ``reason`` is the first reason that applies
    (priority label_disagreement, score_spread, self_inconsistent; ``audit`` for the random
    draw) and ``reasons`` lists all of them joined by "|". Contested items come first, then the
    audit items, each group sorted by item_id.
    """
    rule = rule or SelectionRule()
    table = item_disagreement(ratings, rule.raters, rule.score_spread)
    contested = table[table["reasons"] != ""].copy()
    contested["reason"] = contested["reasons"].str.split("|").str[0]
    calm = table[table["reasons"] == ""]
    audit_ids = draw_audit(calm["item_id"].tolist(), rule.audit_fraction, rule.audit_n, rule.seed)
    audit = calm[calm["item_id"].isin(audit_ids)].copy()
    audit["reason"] = "audit"
    audit["reasons"] = "audit"
    chosen = pd.concat([contested, audit], ignore_index=True)
    return chosen[list(SELECTION_COLUMNS)].reset_index(drop=True)


def reason_counts(selection: pd.DataFrame) -> dict[str, int]:
    """How many chosen items have each primary reason (every reason listed, zeros included)."""
    counts = selection["reason"].value_counts()
    return {reason: int(counts.get(reason, 0)) for reason in REASONS}


# --------------------------------------------------------------------------------------------
# Files (the only functions here that touch the disk)


def select_to_file(
    ratings_paths: Sequence[Path], out: Path, rule: SelectionRule | None = None
) -> pd.DataFrame:
    """Select from ratings files and write the selection table as CSV (atomically)."""
    selection = select_contested(read_many_ratings(ratings_paths), rule)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    selection.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, out)
    return selection


def read_selection(path: Path) -> pd.DataFrame:
    """A selection table written by :func:`select_to_file` (or any CSV with ``item_id``)."""
    try:
        table = pd.read_csv(path, dtype={"item_id": str}, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the selection table ({exc})") from exc
    if "item_id" not in table.columns:
        raise DataError(f"{path}: selection table lacks column 'item_id'")
    if "reason" not in table.columns:
        table["reason"] = ""
    return table
