"""O*NET task and occupation exposure scores from DWA-level (or task-level) item scores.

Aggregation, following Eloundou, Manning, Mishkin & Rock (2023), "GPTs are GPTs", section 3.3:

- a task's score is the mean of the scores of its rated DWAs (O*NET ``Tasks to DWAs``); when the
  ratings are of tasks themselves, their scores are used directly;
- an occupation's alpha / beta / gamma (and score) is the weighted mean of its tasks' scores.
  Weights (``weights=``):

  - ``"core2"`` (default, Eloundou et al.): Core tasks weigh 2, Supplemental and ``n/a`` tasks 1;
  - ``"importance"``: the O*NET task importance (IM scale, 1-5) from Task Ratings; tasks without
    an importance rating are left out (and counted in the notes);
  - ``"equal"``: every task weighs 1.

All scores stay on the 0-1 scale of the item scores. Task-level ratings tables that carry
``onetsoc_code`` and ``task_type`` columns (published label sets do, from older O*NET releases)
define their own occupation-task lists, which then take precedence over the O*NET tables.

This product includes information from the O*NET 30.1 Database by the U.S. Department of Labor,
Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 license. O*NET® is a
trademark of USDOL/ETA. Occupation scores built here are modified by the dwa_rater project.
USDOL/ETA has not approved, endorsed, or tested these modifications.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
import pandas as pd

from dwa_rater.catalog import load_onet, load_task_ratings
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.scores import read_score_input, score_items
from dwa_rater.schemas import NotedTable

TaskWeighting = Literal["core2", "importance", "equal"]
RatingLevel = Literal["dwa", "task"]

#: Task weights of the Eloundou et al. convention; any other task type (``n/a``, missing) is 1.
TASK_TYPE_WEIGHTS: dict[str, float] = {"Core": 2.0, "Supplemental": 1.0}
OTHER_TASK_TYPE_WEIGHT = 1.0

#: Score columns carried from items to tasks to occupations.
VALUE_COLUMNS: tuple[str, ...] = ("alpha", "beta", "gamma", "score")

ONET_ATTRIBUTION = (
    "This product includes information from the O*NET 30.1 Database by the U.S. Department of "
    "Labor, Employment and Training Administration (USDOL/ETA). Used under the CC BY 4.0 license. "
    "O*NET® is a trademark of USDOL/ETA."
)
ONET_MODIFIED = (
    "Modified by the dwa_rater project. USDOL/ETA has not approved, endorsed, or tested these "
    "modifications."
)

_DWA_ID = re.compile(r"^\d+(\.[A-Za-z0-9]+){2,}$")
_TASK_ID = re.compile(r"^\d+$")


def rating_level(frame: pd.DataFrame) -> RatingLevel:
    """Whether a ratings (or score) table rates DWAs or tasks.

    Uses ``item_type`` when it holds a single value of ``dwa`` or ``task``; otherwise the shape of
    the ids (DWA ids look like ``4.A.2.a.4.I09.D03``, task ids are integers).
    """
    if "item_type" in frame.columns:
        types = set(frame["item_type"].dropna().astype(str).str.lower())
        if types == {"dwa"}:
            return "dwa"
        if types == {"task"}:
            return "task"
        if len(types) > 1:
            raise DataError(
                f"ratings mix item types ({', '.join(sorted(types))}); rate DWAs or tasks, not both"
            )
    ids = frame["item_id"].dropna().astype(str).str.strip()
    if ids.empty:
        raise DataError("ratings table has no item ids")
    if ids.str.match(_DWA_ID).all():
        return "dwa"
    if ids.str.match(_TASK_ID).all():
        return "task"
    odd = ids[~(ids.str.match(_DWA_ID) | ids.str.match(_TASK_ID))]
    example = odd.iloc[0] if not odd.empty else ids.iloc[0]
    raise DataError(
        f"cannot tell whether the items are DWAs or tasks (e.g. item_id {example!r}); "
        "set item_type to 'dwa' or 'task'"
    )


def task_metadata(frame: pd.DataFrame) -> pd.DataFrame | None:
    """The ratings' own occupation-task list (item_id, onetsoc_code, task_type[, title]), if any.

    Present only when the table carries both ``onetsoc_code`` and ``task_type`` columns.
    """
    if not {"onetsoc_code", "task_type"} <= set(frame.columns):
        return None
    columns = ["item_id", "onetsoc_code", "task_type"]
    if "title" in frame.columns:
        columns.append("title")
    meta = frame[columns].dropna(subset=["item_id", "onetsoc_code"]).astype(str)
    meta = meta.drop_duplicates(subset=["item_id", "onetsoc_code"])
    return meta.rename(columns={"item_id": "task_id"}).reset_index(drop=True)


def task_scores_from_dwas(item_scores: pd.DataFrame, task_dwas: pd.DataFrame) -> pd.DataFrame:
    """Task scores as the mean of the task's rated DWAs' scores.

    ``item_scores`` has item_id (DWA ids) and the value columns; ``task_dwas`` has onetsoc_code,
    task_id, dwa_id. Returns onetsoc_code, task_id, the value columns and n_dwas (how many of the
    task's DWAs were rated). Tasks none of whose DWAs were rated are left out.
    """
    values = [c for c in VALUE_COLUMNS if c in item_scores.columns]
    links = task_dwas[["onetsoc_code", "task_id", "dwa_id"]].astype(str)
    scored = item_scores[["item_id", *values]].assign(item_id=item_scores["item_id"].astype(str))
    merged = links.merge(scored, left_on="dwa_id", right_on="item_id", how="inner")
    grouped = merged.groupby(["onetsoc_code", "task_id"], sort=True)
    out = grouped[values].mean()
    out["n_dwas"] = grouped.size()
    return out.reset_index()


def _task_weights(
    tasks: pd.DataFrame, weights: TaskWeighting, importance: pd.DataFrame | None
) -> pd.Series:
    if weights == "equal":
        return pd.Series(1.0, index=tasks.index)
    if weights == "core2":
        types = (
            tasks["task_type"] if "task_type" in tasks.columns else pd.Series(pd.NA, tasks.index)
        )
        return types.map(TASK_TYPE_WEIGHTS).fillna(OTHER_TASK_TYPE_WEIGHT).astype(float)
    if weights == "importance":
        if importance is None:
            raise ConfigError("weights 'importance' need a task ratings table (importance column)")
        keyed = importance[["onetsoc_code", "task_id", "importance"]].astype(
            {"onetsoc_code": str, "task_id": str}
        )
        keyed = keyed.drop_duplicates(subset=["onetsoc_code", "task_id"])
        joined = tasks[["onetsoc_code", "task_id"]].merge(
            keyed, on=["onetsoc_code", "task_id"], how="left"
        )
        return pd.Series(joined["importance"].to_numpy(dtype=float), index=tasks.index)
    raise ConfigError(f"unknown task weighting {weights!r} (use core2, importance or equal)")


def occupation_scores(
    task_scores: pd.DataFrame,
    weights: TaskWeighting = "core2",
    importance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The table of :func:`weighted_occupation_scores` (without its notes)."""
    return weighted_occupation_scores(task_scores, weights, importance).table


def weighted_occupation_scores(
    task_scores: pd.DataFrame,
    weights: TaskWeighting = "core2",
    importance: pd.DataFrame | None = None,
) -> NotedTable:
    """Occupation scores as the weighted mean of task scores.

    ``task_scores`` has onetsoc_code, task_id, task_type (for ``core2``) and value columns.
    Weights: see the module docstring (Core = 2, Supplemental and n/a = 1 by default).
    ``importance`` (onetsoc_code, task_id, importance) is needed for ``weights="importance"``.
    Each value column is averaged over the tasks where it is not missing. Returns onetsoc_code,
    the value columns and n_tasks (tasks with a weight), sorted by code; the notes say how many
    tasks lacked an importance weight.
    """
    values = [c for c in VALUE_COLUMNS if c in task_scores.columns]
    frame = task_scores.reset_index(drop=True).astype({"onetsoc_code": str, "task_id": str})
    frame["weight"] = _task_weights(frame, weights, importance)
    notes: list[str] = []
    unweighted = frame["weight"].isna()
    if unweighted.any():
        notes.append(
            f"{int(unweighted.sum())} of {len(frame)} tasks have no importance rating "
            "and were left out"
        )
        frame = frame[~unweighted]
    if (frame["weight"] < 0).any():
        raise DataError("task weights must not be negative")
    out = pd.DataFrame(index=pd.Index(sorted(frame["onetsoc_code"].unique()), name="onetsoc_code"))
    for column in values:
        present = frame[column].notna()
        weighted = (
            (frame[column].where(present, 0.0) * frame["weight"])
            .groupby(frame["onetsoc_code"])
            .sum()
        )
        total = frame["weight"].where(present, 0.0).groupby(frame["onetsoc_code"]).sum()
        out[column] = (weighted / total.replace(0.0, np.nan)).reindex(out.index)
    out["n_tasks"] = frame.groupby("onetsoc_code").size().reindex(out.index).astype(int)
    return NotedTable(out.reset_index(), tuple(notes))


def occupation_index(
    ratings: pd.DataFrame,
    tasks: pd.DataFrame | None,
    task_dwas: pd.DataFrame | None,
    occupations: pd.DataFrame | None,
    *,
    rater: str | list[str] | None = None,
    weights: TaskWeighting = "core2",
    importance: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The table of :func:`build_occupation_index` (without its notes)."""
    return build_occupation_index(
        ratings, tasks, task_dwas, occupations, rater=rater, weights=weights, importance=importance
    ).table


def build_occupation_index(
    ratings: pd.DataFrame,
    tasks: pd.DataFrame | None,
    task_dwas: pd.DataFrame | None,
    occupations: pd.DataFrame | None,
    *,
    rater: str | list[str] | None = None,
    weights: TaskWeighting = "core2",
    importance: pd.DataFrame | None = None,
) -> NotedTable:
    """Occupation alpha/beta/gamma from a ratings or score table and the O*NET tables.

    ``ratings`` is a long ratings table or an exported score table (see
    :func:`dwa_rater.indices.scores.score_items`); ``tasks`` (onetsoc_code, task_id, task_type),
    ``task_dwas`` (onetsoc_code, task_id, dwa_id) and ``occupations`` (onetsoc_code, title) are the
    O*NET tables (:func:`dwa_rater.catalog.load_onet`). DWA ratings go through ``task_dwas``; task
    ratings are used directly, placed in occupations by their own ``onetsoc_code``/``task_type``
    columns when present, else by ``tasks``. Returns onetsoc_code, title, alpha, beta, gamma,
    n_tasks and score when any item has one.
    """
    scored = score_items(ratings, rater=rater)
    scores, notes = scored.table, list(scored.notes)
    level = rating_level(ratings)
    titles: pd.Series | None = None
    if level == "dwa":
        if tasks is None or task_dwas is None:
            raise ConfigError("DWA ratings need the O*NET Task Statements and Tasks to DWAs tables")
        task_table = task_scores_from_dwas(scores, task_dwas)
        types = tasks[["onetsoc_code", "task_id", "task_type"]].astype(str)
        task_table = task_table.merge(types, on=["onetsoc_code", "task_id"], how="left")
        linked = int(scores["item_id"].isin(task_dwas["dwa_id"].astype(str)).sum())
        notes.append(
            f"{len(task_table)} tasks scored from {linked} rated DWAs "
            "(mean of each task's rated DWAs)"
        )
    else:
        meta = task_metadata(ratings)
        if meta is not None:
            notes.append(
                "task list and task types taken from the ratings table (onetsoc_code, task_type)"
            )
            if "title" in meta.columns:
                titles = meta.drop_duplicates("onetsoc_code").set_index("onetsoc_code")["title"]
                meta = meta.drop(columns="title")
        else:
            if tasks is None:
                raise ConfigError(
                    "task ratings without onetsoc_code/task_type need Task Statements"
                )
            meta = tasks[["task_id", "onetsoc_code", "task_type"]].astype(str)
        task_table = meta.merge(
            scores.drop(columns="n"), left_on="task_id", right_on="item_id", how="inner"
        ).drop(columns="item_id")
        notes.append(f"{len(task_table)} task-occupation pairs scored from task ratings")
    if task_table.empty:
        raise DataError("no rated item links to any O*NET task; check the item ids")
    weighted = weighted_occupation_scores(task_table, weights=weights, importance=importance)
    result = weighted.table
    notes.extend(weighted.notes)
    title_map = (
        occupations.astype({"onetsoc_code": str}).set_index("onetsoc_code")["title"]
        if occupations is not None
        else pd.Series(dtype=str)
    )
    result.insert(1, "title", result["onetsoc_code"].map(title_map))
    if titles is not None:
        result["title"] = result["title"].fillna(result["onetsoc_code"].map(titles))
    result["title"] = result["title"].fillna("")
    columns = ["onetsoc_code", "title", "alpha", "beta", "gamma", "n_tasks"]
    if "score" in result.columns and result["score"].notna().any():
        columns.append("score")
    result = result[columns]
    notes.append(f"{len(result)} occupations, task weights: {weights}")
    return NotedTable(result, tuple(notes))


#: The O*NET 29.3 summary that stands in for Task Ratings (see docs/data.md).
TASK_SUMMARY_PATH = Path("supplementary") / "task_ratings_summary_onet29.3.csv"


def importance_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Task importance from O*NET task ratings: the ``IM`` rows' Data Value (1-5).

    ``ratings`` is :func:`dwa_rater.catalog.load_task_ratings`'s table. Returns onetsoc_code,
    task_id, importance; ratings without a number are dropped.
    """
    rows = ratings[ratings["scale_id"] == "IM"]
    out = pd.DataFrame(
        {
            "onetsoc_code": rows["onetsoc_code"].astype(str).str.strip(),
            "task_id": rows["task_id"].astype(str).str.strip(),
            "importance": pd.to_numeric(rows["data_value"], errors="coerce"),
        }
    )
    return out.dropna(subset=["importance"]).reset_index(drop=True)


def load_task_importance(path: Path) -> pd.DataFrame:
    """Task importance (IM, 1-5) keyed by (onetsoc_code, task_id), from any of three layouts.

    Accepts an O*NET text release (a folder or the official zip) holding ``Task Ratings.txt``,
    the official ``Task Ratings.txt`` itself (tab-separated; rows with Scale ID ``IM``, value in
    ``Data Value``), or a summary CSV with ``O*NET-SOC Code``, ``Task ID`` and ``importance``
    columns (the O*NET 29.3 substitute in ``onet/supplementary/``, see docs/data.md).
    """
    if not path.exists():
        raise DataError(f"{path}: task ratings file not found")
    if path.is_dir() or path.suffix.lower() == ".zip":
        ratings = load_task_ratings(path)
        if ratings is None:
            raise DataError(f"{path}: the O*NET release holds no Task Ratings.txt")
        return importance_from_ratings(ratings)
    try:
        if path.suffix.lower() == ".txt":
            raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read task ratings ({exc})") from exc
    if {"O*NET-SOC Code", "Task ID", "Scale ID", "Data Value"} <= set(raw.columns):
        raw = raw[raw["Scale ID"] == "IM"].rename(columns={"Data Value": "importance"})
    code = "O*NET-SOC Code" if "O*NET-SOC Code" in raw.columns else "onetsoc_code"
    task = "Task ID" if "Task ID" in raw.columns else "task_id"
    missing = [c for c in (code, task, "importance") if c not in raw.columns]
    if missing:
        raise DataError(
            f"{path}: task ratings lack column(s) {', '.join(missing)} (need O*NET-SOC Code, "
            "Task ID and importance, or the official Task Ratings layout)"
        )
    out = pd.DataFrame(
        {
            "onetsoc_code": raw[code].str.strip(),
            "task_id": raw[task].str.strip(),
            "importance": pd.to_numeric(raw["importance"], errors="coerce"),
        }
    )
    return out.dropna(subset=["importance"]).reset_index(drop=True)


def default_importance_path(onet_source: Path) -> Path | None:
    """Where importance weights come from for an O*NET release (a folder or a zip).

    The release itself when it holds ``Task Ratings.txt`` (the folder or zip is returned, for
    :func:`load_task_importance`), else the O*NET 29.3 summary in ``supplementary/`` beside the
    tables (for a zip: beside the zip), else None.
    """
    if _release_has_task_ratings(onet_source):
        return onet_source
    folder = onet_source if onet_source.is_dir() else onet_source.parent
    summary = folder / TASK_SUMMARY_PATH
    return summary if summary.is_file() else None


def _release_has_task_ratings(onet_source: Path) -> bool:
    """True when the release (folder, its one release subfolder, or zip) holds Task Ratings."""
    if onet_source.is_dir():
        return (onet_source / "Task Ratings.txt").is_file() or any(
            (child / "Task Ratings.txt").is_file()
            for child in onet_source.iterdir()
            if child.is_dir() and (child / "DWA Reference.txt").is_file()
        )
    if not zipfile.is_zipfile(onet_source):
        return False
    with zipfile.ZipFile(onet_source) as archive:
        return any(PurePosixPath(name).name == "Task Ratings.txt" for name in archive.namelist())


def occupation_index_from_files(
    ratings_path: Path,
    onet_source: Path,
    *,
    rater: str | list[str] | None = None,
    weights: TaskWeighting = "core2",
    importance_path: Path | None = None,
) -> pd.DataFrame:
    """The table of :func:`build_occupation_index_from_files` (without its notes)."""
    return build_occupation_index_from_files(
        ratings_path, onet_source, rater=rater, weights=weights, importance_path=importance_path
    ).table


def build_occupation_index_from_files(
    ratings_path: Path,
    onet_source: Path,
    *,
    rater: str | list[str] | None = None,
    weights: TaskWeighting = "core2",
    importance_path: Path | None = None,
) -> NotedTable:
    """:func:`build_occupation_index` on files: a ratings/score table and an O*NET release.

    For ``weights="importance"`` without ``importance_path`` the task ratings are looked up with
    :func:`default_importance_path`.
    """
    ratings = read_score_input(ratings_path)
    onet = load_onet(onet_source)
    importance = None
    if weights == "importance":
        path = importance_path or default_importance_path(onet_source)
        if path is None:
            raise ConfigError(
                "weights 'importance' need task ratings: pass --importance FILE (found no "
                f"Task Ratings.txt in {onet_source} nor {TASK_SUMMARY_PATH} beside it; "
                "`dwa-rater data fetch onet` gets the release with Task Ratings)"
            )
        importance = load_task_importance(path)
    return build_occupation_index(
        ratings,
        onet.tasks,
        onet.task_dwas,
        onet.occupations,
        rater=rater,
        weights=weights,
        importance=importance,
    )
