"""Task labels carried to DWAs: a DWA-level human reference through O*NET's Tasks to DWAs.

The Eloundou et al. labels are on task statements of an older O*NET release (27.x); the
DWA links come from the release the user points at. A labelled task is matched to the release
by its Task ID when the release has that id (``same_id``; ``text_changed`` counts those whose
statement was since reworded), else by its exact statement text (``same_text``: the task was
renumbered), else it is ``not_found``. Each DWA linked to matched tasks gets, over the human
labels of those tasks (each task counted once per DWA):

- ``n_tasks``, ``n_occupations``: labelled tasks and their distinct occupations;
- ``share_E0``, ``share_E1``, ``share_E2``: shares of each label (sum to 1);
- ``mean_alpha``, ``mean_beta``, ``mean_gamma``: mean codes (Eloundou et al. 2023, section
  3.3: alpha = E1, beta = E1 + 0.5 E2, gamma = E1 + E2), 0-1;
- ``label``: the most frequent label (first of E0, E1, E2 on a tie).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.reference.vote import LABELS

#: Columns of the DWA reference table, in order.
DWA_REFERENCE_COLUMNS: tuple[str, ...] = (
    "dwa_id",
    "dwa_title",
    "n_tasks",
    "n_occupations",
    "share_E0",
    "share_E1",
    "share_E2",
    "mean_alpha",
    "mean_beta",
    "mean_gamma",
    "label",
)

_CODES = {"alpha": (0.0, 1.0, 0.0), "beta": (0.0, 1.0, 0.5), "gamma": (0.0, 1.0, 1.0)}


@dataclass
class DwaReference:
    """The DWA table and how the labelled tasks matched the release."""

    table: pd.DataFrame
    coverage: dict[str, Any] = field(default_factory=dict)


def match_tasks(labels: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Map labelled tasks to the release's task ids (see the module docstring).

    ``labels``: item_id, item_text, label, optionally onetsoc_code; ``tasks``: the release's
    onetsoc_code, task_id, task. Returns labels plus ``release_task_id`` and ``match``.
    """
    by_id = tasks.drop_duplicates("task_id").set_index("task_id")["task"]
    by_text = tasks.drop_duplicates("task").set_index("task")["task_id"]
    ids = labels["item_id"].astype(str)
    texts = labels["item_text"].astype("string").fillna("").str.strip()
    in_release = ids.isin(by_id.index)
    release_text = ids.map(by_id).astype("string").fillna("").str.strip()
    text_hit = texts.map(by_text)
    match = np.where(
        in_release,
        np.where(release_text == texts, "same_id", "text_changed"),
        np.where(text_hit.notna(), "same_text", "not_found"),
    )
    release_id = np.where(in_release, ids, text_hit.astype(object))
    return labels.assign(release_task_id=release_id, match=match)


def dwa_reference(
    labels: pd.DataFrame,
    tasks: pd.DataFrame,
    task_dwas: pd.DataFrame,
    dwas: pd.DataFrame,
    release: str = "",
) -> DwaReference:
    """Build the DWA reference table (see the module docstring).

    ``labels`` has one row per labelled task (item_id, item_text, label E0/E1/E2); the O*NET
    frames are those of :class:`dwa_rater.catalog.OnetTables`.
    """
    if labels.empty:
        raise DataError("no labelled task to carry to DWAs")
    matched = match_tasks(labels, tasks)
    counts = matched["match"].value_counts()
    usable = matched[matched["match"] != "not_found"]
    links = task_dwas[["task_id", "dwa_id", "onetsoc_code"]].astype(str)
    joined = usable.merge(
        links.rename(columns={"task_id": "release_task_id", "onetsoc_code": "link_occupation"}),
        on="release_task_id",
    ).drop_duplicates(["dwa_id", "release_task_id"])
    position = {label: k for k, label in enumerate(LABELS)}
    onehot = np.eye(len(LABELS))[[position[v] for v in joined["label"]]]
    frame = pd.DataFrame(onehot, columns=[f"share_{c}" for c in LABELS])
    frame["dwa_id"] = joined["dwa_id"].to_numpy()
    frame["occupation"] = joined["link_occupation"].to_numpy()
    for name, codes in _CODES.items():
        frame[f"mean_{name}"] = onehot @ np.array(codes)
    grouped = frame.groupby("dwa_id", sort=True)
    table = grouped[[f"share_{c}" for c in LABELS] + [f"mean_{n}" for n in _CODES]].mean()
    table["n_tasks"] = grouped.size()
    table["n_occupations"] = grouped["occupation"].nunique()
    shares = table[[f"share_{c}" for c in LABELS]].to_numpy()
    table["label"] = [LABELS[k] for k in shares.argmax(axis=1)] if len(table) else []
    table = table.reset_index()
    titles = dwas.set_index("dwa_id")["dwa_title"]
    table["dwa_title"] = table["dwa_id"].map(titles)
    linked_tasks = joined["release_task_id"].nunique()
    coverage = {
        "onet_release": release,
        "labelled_tasks": len(labels),
        "matched_same_id": int(counts.get("same_id", 0)),
        "matched_same_id_text_changed": int(counts.get("text_changed", 0)),
        "matched_by_text_only": int(counts.get("same_text", 0)),
        "not_found": int(counts.get("not_found", 0)),
        "labelled_tasks_linked_to_dwas": int(linked_tasks),
        "dwas_in_release": len(dwas),
        "dwas_covered": len(table),
        "dwa_coverage": round(len(table) / len(dwas), 4) if len(dwas) else None,
    }
    return DwaReference(table=table[list(DWA_REFERENCE_COLUMNS)], coverage=coverage)
