"""What a review task shows around a DWA: linked O*NET task statements, occupations, translation.

O*NET links a DWA to task statements through ``Tasks to DWAs`` (one row per occupation x task x
DWA); each task statement belongs to one occupation. For a DWA this module lists

- its task statements, distinct by text, Core tasks before Supplemental ones, then by how many
  occupations share the same text (most first), then alphabetically; and
- its occupations, ranked by how many of their tasks link to the DWA (most first), ties by title,

keeping at most ``limit`` of each and the full counts. A machine translation of a statement is a
:class:`Translation`, read from a table (see :func:`read_translations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dwa_rater.catalog import OnetTables
from dwa_rater.errors import ConfigError, DataError

#: How many linked task statements and occupations a task lists before giving a count.
MAX_LISTED = 10


@dataclass(frozen=True)
class LinkedContext:
    """The task statements and occupations linked to one DWA (first ``limit``) and their counts."""

    tasks: tuple[str, ...]
    n_tasks: int
    occupations: tuple[str, ...]
    n_occupations: int


@dataclass(frozen=True)
class Translation:
    """A machine translation of a statement and what produced it (e.g. ``gpt-4o-mini``)."""

    text: str
    source: str


def linked_context(
    tables: OnetTables, dwa_ids: Sequence[str], limit: int = MAX_LISTED
) -> dict[str, LinkedContext]:
    """DWA ID -> its linked task statements and occupations (see the module docstring).

    A DWA with no linked task gets empty lists and zero counts; an id not in ``tables.dwas`` is a
    ``DataError``. Keys follow the order of ``dwa_ids``.
    """
    if limit < 0:
        raise ConfigError(f"number of listed tasks must be 0 or more, got {limit}")
    wanted = list(dict.fromkeys(str(i) for i in dwa_ids))
    unknown = sorted(set(wanted) - set(tables.dwas["dwa_id"]))
    if unknown:
        shown = ", ".join(repr(i) for i in unknown[:5])
        raise DataError(f"{len(unknown)} DWA id(s) not in the O*NET DWA Reference: {shown}")
    links = tables.task_dwas[tables.task_dwas["dwa_id"].isin(wanted)]
    tasks = links.merge(
        tables.tasks[["onetsoc_code", "task_id", "task", "task_type"]],
        on=["onetsoc_code", "task_id"],
        how="inner",
    )
    tasks = tasks.assign(core=(tasks["task_type"] != "Core").astype(int))
    by_text = (
        tasks.groupby(["dwa_id", "task"], sort=False)
        .agg(core=("core", "min"), n=("onetsoc_code", "nunique"))
        .reset_index()
        .sort_values(["dwa_id", "core", "n", "task"], ascending=[True, True, False, True])
    )
    occupations = (
        links.groupby(["dwa_id", "onetsoc_code"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .merge(tables.occupations[["onetsoc_code", "title"]], on="onetsoc_code", how="inner")
        .sort_values(["dwa_id", "n", "title"], ascending=[True, False, True], kind="stable")
    )
    task_lists = {k: g["task"].tolist() for k, g in by_text.groupby("dwa_id", sort=False)}
    occupation_lists = {
        k: g["title"].tolist() for k, g in occupations.groupby("dwa_id", sort=False)
    }
    found = {}
    for dwa_id in wanted:
        statements = task_lists.get(dwa_id, [])
        titles = occupation_lists.get(dwa_id, [])
        found[dwa_id] = LinkedContext(
            tasks=tuple(statements[:limit]),
            n_tasks=len(statements),
            occupations=tuple(titles[:limit]),
            n_occupations=len(titles),
        )
    return found


def read_translations(path: Path) -> dict[str, Translation]:
    """A translations table (CSV or Parquet): ``item_id, translation[, source]`` -> by item id.

    ``review translate`` writes one; any table with those columns works. Rows with an empty
    translation are left out; an id given twice keeps its last row.
    """
    try:
        if path.suffix.lower() == ".parquet":
            table = pd.read_parquet(path)
        else:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the translations table ({exc})") from exc
    missing = [c for c in ("item_id", "translation") if c not in table.columns]
    if missing:
        raise DataError(f"{path}: translations table lacks column(s) {', '.join(missing)}")
    sources = table["source"] if "source" in table.columns else pd.Series("", index=table.index)
    found: dict[str, Translation] = {}
    for item_id, translated, source in zip(
        table["item_id"], table["translation"], sources, strict=True
    ):
        if isinstance(translated, str) and translated.strip():
            found[str(item_id)] = Translation(translated.strip(), str(source or "").strip())
    return found


def translations_for(
    translations: Mapping[str, Translation] | None, dwa_ids: Sequence[str]
) -> dict[str, Translation]:
    """The translations of ``dwa_ids`` that exist (others are shown without one)."""
    if not translations:
        return {}
    return {i: translations[i] for i in dwa_ids if i in translations}
