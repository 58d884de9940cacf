"""Pull annotations incrementally into dated export files and rebuild the ratings table.

Tasks updated since the checkpoint (minus a margin) are re-exported whole (:mod:`.exports`), so
updated and deleted annotations are caught; tasks whose annotations did not change are dropped.
The changed tasks go into one dated JSON file under ``<annotations dir>/<project slug>/``; the
checkpoint lives in ``<state dir>/labelstudio/``. The ratings table is rebuilt from all export
files of the project.

Annotators appear under keyed pseudonyms (:mod:`dwa_rater.review.pseudonyms`). Export files made
with another scheme or key (format /1 files, unkeyed) are converted in place before anything
else is written: their ``annotators`` map is rebuilt from the server's user list; the tasks in
them are left as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.errors import ReviewError
from dwa_rater.review.adjudication import apply_adjudication
from dwa_rater.review.convert import (
    EXPORT_FORMAT,
    latest_tasks,
    ratings_from_exports,
    read_exports,
)
from dwa_rater.review.pseudonyms import PseudonymKey, needs_conversion, repseudonymise
from dwa_rater.review.studio.connection import StudioConnection
from dwa_rater.review.studio.exports import (
    _changed_tasks,
    _dm_time,
    _export,
    _parse_time,
    _server_version,
    _user_emails,
)
from dwa_rater.review.studio.projects import ReviewProject, open_project
from dwa_rater.store import write_ratings


@dataclass(frozen=True)
class PullReport:
    project: ReviewProject
    export_path: Path | None
    listed_tasks: int
    changed_tasks: int
    ratings: pd.DataFrame
    out: Path | None
    converted: tuple[Path, ...] = ()


def project_slug(title: str) -> str:
    """Folder name for a project's exports: lower-case letters, digits and dashes."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return slug or "project"


def _state_path(state_dir: Path, connection: StudioConnection, project: ReviewProject) -> Path:
    key = hashlib.sha256(f"{connection.url.rstrip('/')}|{project.uid}".encode()).hexdigest()[:16]
    return state_dir / "labelstudio" / f"{project_slug(project.title)}-{key}.json"


def _write_json_atomic(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, ensure_ascii=False, indent=1, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _export_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("export-*.json")) if folder.is_dir() else []


def _fingerprint(task: dict[str, Any]) -> str:
    """What makes a task worth storing again: its annotations, and its data revisions if any."""
    annotations = sorted(task.get("annotations", []), key=lambda a: int(a["id"]))
    revisions = (task.get("data") or {}).get("revisions")
    content: Any = annotations if not revisions else [annotations, revisions]
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _stored_task(task: dict[str, Any]) -> dict[str, Any]:
    # Drafts are unsubmitted work, not judgements; they are not kept.
    return {k: v for k, v in task.items() if k != "drafts"}


def _export_name(now: dt.datetime, folder: Path) -> Path:
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H%M%S.%fZ")
    return folder / f"export-{stamp}.json"


def pull_annotations(
    connection: StudioConnection,
    title: str,
    annotations_dir: Path,
    state_dir: Path,
    out: Path | None = None,
    *,
    key: PseudonymKey,
    adjudication: str | None = None,
) -> PullReport:
    """Fetch what changed since the last pull, store it, and rebuild the ratings table.

    Converts earlier export files made with another pseudonym scheme or key (see the module
    docstring), writes ``<annotations_dir>/<slug>/export-<UTC time>.json`` when some task's
    annotations (or data revisions) changed (never otherwise), then the checkpoint, then the
    ratings of all export files of the project to ``out`` (CSV or Parquet, atomically) when
    given. Every file is written to a temporary name first and renamed, so a failure leaves the
    previous files whole. ``adjudication`` names the round's adjudication project, already
    pulled into ``annotations_dir``: its answers replace the ``human`` rows of disputed items.
    """
    adjudicated = None
    if adjudication is not None:
        adjudication_files = _export_files(annotations_dir / project_slug(adjudication))
        if not adjudication_files:
            raise ReviewError(
                f"no exports of adjudication project {adjudication!r} in {annotations_dir}; "
                f"pull it first (review pull --project {adjudication!r})"
            )
        adjudicated = ratings_from_exports(adjudication_files, adjudication)
    client, project = open_project(connection, title)
    folder = annotations_dir / project_slug(title)
    previous = _export_files(folder)
    documents = read_exports(previous)
    foreign = [d for d in documents if d.get("project", {}).get("uid") != project.uid]
    if foreign:
        raise ReviewError(
            f"{folder} holds exports of another project (uid "
            f"{foreign[0].get('project', {}).get('uid')}); pass another --annotations-dir"
        )
    emails = _user_emails(client, connection)
    converted = []
    for path, document in zip(previous, documents, strict=True):
        if needs_conversion(document, key):
            converted_document = repseudonymise(document, emails, key)
            converted_document["format"] = EXPORT_FORMAT
            _write_json_atomic(path, converted_document)
            converted.append(path)
    known = {task_id: _fingerprint(t) for task_id, t in latest_tasks(documents).items()}

    state_path = _state_path(state_dir, connection, project)
    since: dt.datetime | None = None
    if state_path.is_file():
        try:
            state = json.loads(state_path.read_text(encoding="utf-8"))
            if state.get("last_export") and (folder / state["last_export"]).is_file():
                since = _parse_time(state["checkpoint"]) if state.get("checkpoint") else None
        except (OSError, ValueError, TypeError, AttributeError):
            since = None  # an unreadable checkpoint only costs a full comparison

    listed, newest = _changed_tasks(client, connection, project, since)
    exported = _export(client, connection, project, listed if since is not None else None)
    # A task never seen locally counts as unannotated: new empty tasks are not changes.
    unannotated = _fingerprint({"annotations": []})
    changed = [
        _stored_task(t) for t in exported if known.get(int(t["id"]), unannotated) != _fingerprint(t)
    ]
    if since is None:
        # A full pull exports annotated tasks only: tasks known locally that lost all their
        # annotations are absent from it, and must be recorded as empty.
        present = {int(t["id"]) for t in exported}
        latest = latest_tasks(documents)
        for task_id in sorted(set(known) - present):
            if latest[task_id].get("annotations"):
                emptied = {k: v for k, v in latest[task_id].items() if not k.startswith("_")}
                changed.append({**_stored_task(emptied), "annotations": []})

    export_path = None
    now = dt.datetime.now(dt.UTC)
    if changed:
        export_path = _export_name(now, folder)
        document = {
            "format": EXPORT_FORMAT,
            "project": {
                "title": project.title,
                "id": project.id,
                "uid": project.uid,
                "mode": project.mode,
                "overlap": project.overlap,
            },
            "label_studio_version": _server_version(client, connection),
            "pulled_at": now.isoformat().replace("+00:00", "Z"),
            "since": _dm_time(since) if since else None,
            "pseudonyms": key.describe(),
            "annotators": {user: key.pseudonym(email) for user, email in emails.items()},
            "tasks": sorted(changed, key=lambda t: int(t["id"])),
        }
        _write_json_atomic(export_path, document)
    last_export = export_path.name if export_path else (previous[-1].name if previous else None)
    if last_export is not None:
        checkpoint = newest if newest is not None else since
        _write_json_atomic(
            state_path,
            {
                "url": connection.url,
                "project_id": project.id,
                "project_uid": project.uid,
                "project_title": project.title,
                "checkpoint": _dm_time(checkpoint) if checkpoint else None,
                "last_export": last_export,
            },
        )
    ratings = ratings_from_exports(_export_files(folder), project.title)
    if adjudicated is not None:
        ratings = apply_adjudication(ratings, adjudicated)
    if out is not None:
        write_ratings(ratings, out)
    return PullReport(
        project=project,
        export_path=export_path,
        listed_tasks=len(listed),
        changed_tasks=len(changed),
        ratings=ratings,
        out=out,
        converted=tuple(converted),
    )
