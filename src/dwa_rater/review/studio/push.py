"""Push review tasks to a project, idempotently.

Each task carries ``data.ext_id`` (``dwa:<DWA ID>``); existing ext_ids are listed once and only
the missing tasks are imported, in chunks. Label Studio itself never deduplicates imports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dwa_rater.catalog import load_onet
from dwa_rater.errors import ConfigError
from dwa_rater.review.labeling import (
    MODEL_OUTPUT_KEYS,
    ReviewMode,
    build_task,
    review_items_from_catalog,
)
from dwa_rater.review.select import SelectionRule, read_selection, reason_counts, select_contested
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.studio.projects import ReviewProject, ensure_project
from dwa_rater.store import read_many_ratings

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

#: Tasks per import request (2,000 tasks in chunks of 500 take about 10 s on 2 cores).
IMPORT_CHUNK = 500


@dataclass(frozen=True)
class PushReport:
    project: ReviewProject
    created_project: bool
    config_updated: bool
    submitted: int
    imported: int
    already_present: int
    reasons: dict[str, int] = field(default_factory=dict)


def _check_tasks(tasks: Sequence[dict[str, Any]], mode: ReviewMode) -> list[dict[str, Any]]:
    """Tasks with a unique ext_id each (first kept); blind tasks must carry no model output."""
    unique: dict[str, dict[str, Any]] = {}
    for task in tasks:
        data = task.get("data")
        if not isinstance(data, dict) or not data.get("ext_id"):
            raise ConfigError("every review task needs data.ext_id")
        if task.get("predictions"):
            raise ConfigError("review tasks never carry predictions (quick view pre-fills them)")
        if mode == "blind" and MODEL_OUTPUT_KEYS & data.keys():
            keys = ", ".join(sorted(MODEL_OUTPUT_KEYS & data.keys()))
            raise ConfigError(f"blind task {data['ext_id']} carries model output ({keys})")
        unique.setdefault(str(data["ext_id"]), task)
    return list(unique.values())


def existing_external_ids(
    client: LabelStudio, connection: StudioConnection, project_id: int
) -> dict[str, int]:
    """ext_id -> task id of every task already in the project."""
    found: dict[str, int] = {}
    with _calls(connection, "listing the project's tasks"):
        pages: Any = client.tasks.list(
            project=project_id, fields="task_only", include="id,data", page_size=500
        )
        for task in pages:
            ext_id = (task.data or {}).get("ext_id")
            if ext_id:
                found.setdefault(str(ext_id), int(task.id))
    return found


def push_tasks(
    connection: StudioConnection,
    title: str,
    tasks: Sequence[dict[str, Any]],
    mode: ReviewMode = "blind",
    overlap: int = 2,
    chunk_size: int = IMPORT_CHUNK,
) -> PushReport:
    """Create or update the project and import the tasks it does not hold yet (by ext_id).

    ``tasks`` are built by :func:`dwa_rater.review.labeling.build_task` in the same ``mode``.
    Imports go in chunks of ``chunk_size``; if one fails, the chunks before it stay imported and
    pushing again imports the rest.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be 1 or more, got {chunk_size}")
    checked = _check_tasks(tasks, mode)
    client = connect(connection)
    project, created, config_updated = ensure_project(client, connection, title, mode, overlap)
    present = existing_external_ids(client, connection, project.id) if not created else {}
    missing = [t for t in checked if str(t["data"]["ext_id"]) not in present]
    imported = 0
    for start in range(0, len(missing), chunk_size):
        chunk = [{"data": t["data"]} for t in missing[start : start + chunk_size]]
        with _calls(connection, f"importing tasks {start + 1}-{start + len(chunk)}"):
            answer = client.projects.import_tasks(
                project.id,
                request=chunk,  # type: ignore[arg-type]
                return_task_ids=True,
            )
        imported += int(answer.task_count or 0)
    return PushReport(
        project=project,
        created_project=created,
        config_updated=config_updated,
        submitted=len(checked),
        imported=imported,
        already_present=len(checked) - len(missing),
    )


def push_ratings(
    connection: StudioConnection,
    title: str,
    ratings_paths: Sequence[Path],
    onet_source: Path,
    mode: ReviewMode = "blind",
    overlap: int = 2,
    rule: SelectionRule | None = None,
    selection_path: Path | None = None,
    chunk_size: int = IMPORT_CHUNK,
) -> PushReport:
    """Select the contested items of the ratings (or take ``selection_path``) and push them.

    The O*NET release gives each DWA's IWA/GWA context and example occupations.
    """
    ratings = read_many_ratings(ratings_paths)
    selection = (
        read_selection(selection_path)
        if selection_path is not None
        else select_contested(ratings, rule)
    )
    items = review_items_from_catalog(selection, ratings, load_onet(onet_source))
    tasks = [build_task(item, mode) for item in items]
    report = push_tasks(connection, title, tasks, mode=mode, overlap=overlap, chunk_size=chunk_size)
    return dataclasses.replace(report, reasons=reason_counts(selection))
