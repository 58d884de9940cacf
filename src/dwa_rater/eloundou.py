"""The published Eloundou et al. task labels as rows of the long ratings table.

Eloundou, Manning, Mishkin & Rock (2024), "GPTs are GPTs", *Science* 384(6702); release
``openai/GPTs-are-GPTs``, ``data/full_labelset.tsv`` (tab-separated, an unnamed index column
first). Each labelled column becomes one rater; the task is the item (``item_id`` = the O*NET
``Task ID`` without its ``.0``), and the task's occupation and type are kept as extra columns:
``onetsoc_code``, ``task_type`` and ``core_weight`` (2 for Core tasks, 1 otherwise: the paper's
occupation weighting).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from dwa_rater.errors import DataError

#: Rater name -> label column of ``full_labelset.tsv``.
ELOUNDOU_RATERS: Mapping[str, str] = {
    "human": "human_exposure_agg",
    "gpt4": "gpt4_exposure",
    "gpt4_alt": "gpt4_exposure_alt_rubric",
}

_NEEDED = ("O*NET-SOC Code", "Task ID", "Task", "Task Type")


def read_eloundou_tasks(path: Path | str) -> pd.DataFrame:
    """One row per task: item_id, item_text, onetsoc_code, task_type, core_weight and the
    label columns of :data:`ELOUNDOU_RATERS` (E0/E1/E2 strings)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the Eloundou label set ({exc})") from exc
    missing = [c for c in (*_NEEDED, *ELOUNDOU_RATERS.values()) if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: lacks column(s) {', '.join(missing)}")
    task_id = frame["Task ID"].str.strip().str.replace(r"\.0$", "", regex=True)
    out = pd.DataFrame(
        {
            "item_id": task_id,
            "item_text": frame["Task"],
            "onetsoc_code": frame["O*NET-SOC Code"],
            "task_type": frame["Task Type"],
            "core_weight": (frame["Task Type"] == "Core").map({True: 2.0, False: 1.0}),
        }
    )
    for column in ELOUNDOU_RATERS.values():
        out[column] = frame[column].str.strip()
    return out


def eloundou_ratings(
    tasks: pd.DataFrame, raters: Mapping[str, str] = ELOUNDOU_RATERS
) -> pd.DataFrame:
    """Long ratings rows (item_id, item_type, item_text, rater, model, label, status and the
    task's extra columns) from :func:`read_eloundou_tasks`; empty labels are left out."""
    frames = []
    for rater, column in raters.items():
        part = tasks[["item_id", "item_text", "onetsoc_code", "task_type", "core_weight"]].copy()
        part.insert(1, "item_type", "task")
        part.insert(3, "rater", rater)
        part.insert(4, "model", column)
        part["label"] = tasks[column]
        part["status"] = "ok"
        frames.append(part[part["label"] != ""])
    return pd.concat(frames, ignore_index=True)
