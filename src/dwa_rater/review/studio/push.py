"""Push review tasks to a project, idempotently, updating tasks whose data changed.

Each task carries ``data.ext_id`` (``dwa:<DWA ID>``); existing tasks are listed once with their
data, the missing tasks are imported in chunks (Label Studio itself never deduplicates imports),
and an existing task whose data differs (a corrected statement, new context, a new version of
the guidelines, another language) is updated in place: Label Studio keeps its annotations. The
task then records the change in ``data.revisions``: a list of ``{"at": UTC time, "changed":
[data keys]}``, oldest first, which the pulled exports carry along.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dwa_rater.catalog import load_onet
from dwa_rater.errors import ConfigError
from dwa_rater.review.context import read_translations
from dwa_rater.review.labeling import MODEL_OUTPUT_KEYS, ReviewMode
from dwa_rater.review.select import SelectionRule, read_selection, reason_counts, select_contested
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.studio.projects import ReviewProject, ensure_project
from dwa_rater.review.tasks import build_task, review_items_from_catalog
from dwa_rater.review.wording import ReviewLanguage
from dwa_rater.store import read_many_ratings

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

#: Tasks per import request (2,000 tasks in chunks of 500 take about 10 s on 2 cores).
IMPORT_CHUNK = 500
#: Task data keys that record history; they are never compared.
BOOKKEEPING_KEYS: frozenset[str] = frozenset({"revisions"})


@dataclass(frozen=True)
class TaskUpdate:
    """An existing task whose data changed: its ext_id, task id and the data keys that differ."""

    ext_id: str
    task_id: int
    changed: tuple[str, ...]


@dataclass(frozen=True)
class PushReport:
    project: ReviewProject
    created_project: bool
    config_updated: bool
    submitted: int
    imported: int
    already_present: int
    reasons: dict[str, int] = field(default_factory=dict)
    updated: tuple[TaskUpdate, ...] = ()

    def changed_fields(self) -> dict[str, int]:
        """How many updated tasks changed each data key."""
        counts: dict[str, int] = {}
        for update in self.updated:
            for key in update.changed:
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items()))


def changed_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Data keys whose values differ between an existing task and its new version, sorted.

    Keys present on one side only count as changed; ``BOOKKEEPING_KEYS`` never do.
    """
    keys = (set(old) | set(new)) - BOOKKEEPING_KEYS
    return tuple(sorted(k for k in keys if old.get(k) != new.get(k)))


def revised_data(
    old: Mapping[str, Any], new: Mapping[str, Any], changed: Sequence[str], now: dt.datetime
) -> dict[str, Any]:
    """The new data with the old revision history plus this change appended."""
    history = list(old.get("revisions") or [])
    stamp = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    history.append({"at": stamp, "changed": list(changed)})
    return {**new, "revisions": history}


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


def existing_tasks(
    client: LabelStudio, connection: StudioConnection, project_id: int
) -> dict[str, tuple[int, dict[str, Any]]]:
    """ext_id -> (task id, data) of every task already in the project (first one per ext_id)."""
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    with _calls(connection, "listing the project's tasks"):
        pages: Any = client.tasks.list(
            project=project_id, fields="task_only", include="id,data", page_size=500
        )
        for task in pages:
            data = dict(task.data or {})
            ext_id = data.get("ext_id")
            if ext_id:
                found.setdefault(str(ext_id), (int(task.id), data))
    return found


def existing_external_ids(
    client: LabelStudio, connection: StudioConnection, project_id: int
) -> dict[str, int]:
    """ext_id -> task id of every task already in the project."""
    return {k: v[0] for k, v in existing_tasks(client, connection, project_id).items()}


def import_in_chunks(
    client: LabelStudio,
    connection: StudioConnection,
    project_id: int,
    tasks: Sequence[dict[str, Any]],
    chunk_size: int = IMPORT_CHUNK,
    what: str = "tasks",
) -> int:
    """Import ``tasks`` (their ``data``) in chunks; returns how many the server took. A failing
    chunk raises, and the chunks before it stay imported."""
    imported = 0
    for start in range(0, len(tasks), chunk_size):
        chunk = [{"data": t["data"]} for t in tasks[start : start + chunk_size]]
        with _calls(connection, f"importing {what} {start + 1}-{start + len(chunk)}"):
            answer = client.projects.import_tasks(
                project_id,
                request=chunk,  # type: ignore[arg-type]
                return_task_ids=True,
            )
        imported += int(answer.task_count or 0)
    return imported


def push_tasks(
    connection: StudioConnection,
    title: str,
    tasks: Sequence[dict[str, Any]],
    mode: ReviewMode = "blind",
    overlap: int = 2,
    chunk_size: int = IMPORT_CHUNK,
    lang: ReviewLanguage = "en",
    update: bool = True,
) -> PushReport:
    """Create or update the project, import the tasks it lacks, update those that changed.

    ``tasks`` are built by :func:`dwa_rater.review.labeling.build_task` in the same ``mode``
    and ``lang``. Imports go in chunks of ``chunk_size``; if one fails, the chunks before it stay
    imported and pushing again imports the rest. An existing task (same ext_id) whose data
    differs is updated in place, keeping its annotations, and records the change (see the
    module docstring); ``update=False`` leaves existing tasks alone.
    """
    if chunk_size < 1:
        raise ConfigError(f"chunk size must be 1 or more, got {chunk_size}")
    checked = _check_tasks(tasks, mode)
    client = connect(connection)
    project, created, config_updated = ensure_project(
        client, connection, title, mode, overlap, lang
    )
    present = existing_tasks(client, connection, project.id) if not created else {}
    missing = [t for t in checked if str(t["data"]["ext_id"]) not in present]
    updates: list[TaskUpdate] = []
    now = dt.datetime.now(dt.UTC)
    for task in checked if update else []:
        ext_id = str(task["data"]["ext_id"])
        if ext_id not in present:
            continue
        task_id, old = present[ext_id]
        changed = changed_keys(old, task["data"])
        if not changed:
            continue
        with _calls(connection, f"updating task {task_id} ({ext_id})"):
            client.tasks.update(str(task_id), data=revised_data(old, task["data"], changed, now))
        updates.append(TaskUpdate(ext_id, task_id, changed))
    imported = import_in_chunks(client, connection, project.id, missing, chunk_size)
    return PushReport(
        project=project,
        created_project=created,
        config_updated=config_updated,
        submitted=len(checked),
        imported=imported,
        already_present=len(checked) - len(missing),
        updated=tuple(updates),
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
    lang: ReviewLanguage = "en",
    translations_path: Path | None = None,
    update: bool = True,
) -> PushReport:
    """Select the contested items of the ratings (or take ``selection_path``) and push them.

    The O*NET release gives each DWA's IWA/GWA context, its linked task statements and its
    occupations; ``translations_path`` (from ``review translate``) a machine translation of
    each statement, shown beside the English and marked as such.
    """
    ratings = read_many_ratings(ratings_paths)
    selection = (
        read_selection(selection_path)
        if selection_path is not None
        else select_contested(ratings, rule)
    )
    translations = read_translations(translations_path) if translations_path else None
    items = review_items_from_catalog(
        selection, ratings, load_onet(onet_source), translations=translations
    )
    tasks = [build_task(item, mode, lang) for item in items]
    report = push_tasks(
        connection,
        title,
        tasks,
        mode=mode,
        overlap=overlap,
        chunk_size=chunk_size,
        lang=lang,
        update=update,
    )
    return dataclasses.replace(report, reasons=reason_counts(selection))
