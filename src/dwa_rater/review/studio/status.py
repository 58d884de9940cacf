"""Project progress and live agreement per annotator, read incrementally; annotator accounts.

``review status`` keeps a snapshot of the project's annotated tasks in ``<state dir>/
labelstudio/status-<hash>.json`` (task ids, user ids and annotation results: no e-mail, no
token) with the time of the newest task update seen. The next call lists only the tasks updated
since then (minus a margin) and re-exports those; the first call, or one without a usable
snapshot, exports every annotated task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dwa_rater.agreement.bootstrap import BootstrapSpec
from dwa_rater.errors import ReviewError
from dwa_rater.review.convert import annotation_rows
from dwa_rater.review.live_agreement import FLAG_MARGIN, MIN_ITEMS, LiveAgreement, live_agreement
from dwa_rater.review.pseudonyms import PseudonymKey
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.studio.exports import (
    _changed_tasks,
    _dm_time,
    _export,
    _parse_time,
    _user_emails,
)
from dwa_rater.review.studio.projects import ReviewProject, open_project

_SNAPSHOT_FORMAT = "dwa_rater.review_status/1"


@dataclass(frozen=True)
class AnnotatorStatus:
    rater: str
    email: str
    submitted: int
    skipped: int


@dataclass(frozen=True)
class ProjectStatus:
    project: ReviewProject
    tasks: int
    annotated: int
    done: int
    remaining: int
    annotators: tuple[AnnotatorStatus, ...]
    agreement: LiveAgreement | None = None
    fetched_tasks: int = 0
    incremental: bool = False
    generated_at: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AnnotatorAccount:
    user_id: int
    email: str
    rater: str
    api_key: str = field(repr=False)


def _slim(task: dict[str, Any]) -> dict[str, Any]:
    """What status needs of an exported task: ids, item and annotations (no drafts, no e-mail)."""
    data = task.get("data") or {}
    keep = ("id", "completed_by", "result", "was_cancelled", "ground_truth", "lead_time",
            "updated_at")  # fmt: skip
    return {
        "id": int(task["id"]),
        "data": {"dwa_id": data.get("dwa_id", ""), "statement": data.get("statement", "")},
        "annotations": [{k: a.get(k) for k in keep} for a in task.get("annotations", [])],
    }


def _snapshot_path(state_dir: Path, connection: StudioConnection, project: ReviewProject) -> Path:
    name = hashlib.sha256(f"{connection.url}|{project.uid}".encode()).hexdigest()[:16]
    return state_dir / "labelstudio" / f"status-{name}.json"


def _read_snapshot(path: Path, project: ReviewProject) -> tuple[dict[int, Any], dt.datetime | None]:
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        if snapshot.get("format") != _SNAPSHOT_FORMAT or snapshot.get("uid") != project.uid:
            return {}, None
        tasks = {int(t["id"]): t for t in snapshot["tasks"]}
        since = _parse_time(snapshot["checkpoint"]) if snapshot.get("checkpoint") else None
        return (tasks, since) if since is not None else ({}, None)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}, None  # no usable snapshot only costs a full export


def _write_snapshot(path: Path, project: ReviewProject, tasks: dict[int, Any], newest: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "format": _SNAPSHOT_FORMAT,
        "uid": project.uid,
        "checkpoint": _dm_time(newest) if newest else None,
        "tasks": [tasks[k] for k in sorted(tasks)],
    }
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(document), encoding="utf-8")
    os.replace(temporary, path)


def project_status(
    connection: StudioConnection,
    title: str,
    state_dir: Path | None = None,
    key: PseudonymKey | None = None,
    *,
    bootstrap: BootstrapSpec | None = None,
    margin: float = FLAG_MARGIN,
    min_items: int = MIN_ITEMS,
) -> ProjectStatus:
    """Progress, lead times and live agreement of a review project.

    Tasks, annotated tasks, tasks done (reached the overlap), remaining; per annotator the
    counts, and the agreement statistics of :mod:`dwa_rater.review.live_agreement`. Annotators
    are named by their keyed pseudonym when ``key`` is given, else ``user-<id>``. With a
    ``state_dir``, only tasks updated since the last call are fetched (see the module docstring).
    """
    client, project = open_project(connection, title)
    snapshot_path = _snapshot_path(state_dir, connection, project) if state_dir else None
    tasks, since = _read_snapshot(snapshot_path, project) if snapshot_path else ({}, None)
    incremental = since is not None
    listed, newest = _changed_tasks(client, connection, project, since)
    if incremental:
        exported = _export(client, connection, project, listed) if listed else []
    else:
        exported = _export(client, connection, project, None)
    for task in exported:
        tasks[int(task["id"])] = _slim(task)
    if snapshot_path is not None:
        _write_snapshot(snapshot_path, project, tasks, newest or since)
    emails = _user_emails(client, connection)
    names = {
        user: key.pseudonym(email) if key else f"user-{user}" for user, email in emails.items()
    }
    submitted: dict[str, int] = {}
    skipped: dict[str, int] = {}
    annotated = done = 0
    for task in tasks.values():
        n_submitted = 0
        for annotation in task.get("annotations", []):
            user = str(annotation.get("completed_by") or 0)
            if annotation.get("was_cancelled"):
                skipped[user] = skipped.get(user, 0) + 1
            else:
                submitted[user] = submitted.get(user, 0) + 1
                n_submitted += 1
        annotated += n_submitted > 0
        done += n_submitted >= project.overlap
    annotators = tuple(
        AnnotatorStatus(
            rater=names.get(user, f"user-{user}"),
            email=emails.get(user, ""),
            submitted=submitted.get(user, 0),
            skipped=skipped.get(user, 0),
        )
        for user in sorted(set(submitted) | set(skipped), key=int)
    )
    for task in tasks.values():
        task["_annotators"] = names
    rows = annotation_rows(tasks)
    agreement = live_agreement(
        rows,
        {names.get(u, f"user-{u}"): n for u, n in skipped.items()},
        bootstrap=bootstrap,
        margin=margin,
        min_items=min_items,
    )
    notes = () if key else ("DWA_RATER_PSEUDONYM_KEY is not set: annotators shown by user id",)
    return ProjectStatus(
        project=project,
        tasks=project.task_count,
        annotated=annotated,
        done=done,
        remaining=project.task_count - done,
        annotators=annotators,
        agreement=agreement,
        fetched_tasks=len(exported),
        incremental=incremental,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        notes=notes,
    )


def create_annotator(
    connection: StudioConnection, email: str, password: str, key: PseudonymKey | None = None
) -> AnnotatorAccount:
    """Create an annotator account with a password, through the organisation's invite link.

    Label Studio Community has no API to set another user's password, and ``users.create``
    makes accounts that cannot log in; signing up with the invite token (as the invitation
    e-mail would) works while open sign-up stays disabled. Returns the new user's API token,
    for scripts that annotate on the annotator's behalf (tests); do not store it. ``rater`` is
    the keyed pseudonym when ``key`` is given, else empty.
    """
    client = connect(connection)
    with _calls(connection, "reading the invite link"):
        invite = client.organizations.invites.get_invite_link()
    invite_url = str(invite.invite_url or "")
    if not invite_url:
        raise ReviewError(f"Label Studio at {connection.url} gave no invite link")
    base = connection.url.rstrip("/")
    with (
        _calls(connection, f"signing up annotator {email}"),
        httpx.Client(base_url=base, timeout=connection.timeout) as session,
    ):
        session.get(invite_url)
        csrf = session.cookies.get("csrftoken")
        answer = session.post(
            invite_url,
            data={"email": email, "password": password, "csrfmiddlewaretoken": csrf or ""},
            headers={"Referer": base + invite_url},
        )
        if answer.status_code != 302:
            raise ReviewError(
                f"Label Studio refused to create annotator {email} (status {answer.status_code}; "
                "e-mail already used, or password too weak?)"
            )
        who = session.get("/api/current-user/whoami").json()
        token = session.get("/api/current-user/token").json()["token"]
    return AnnotatorAccount(
        user_id=int(who["id"]),
        email=str(who["email"]),
        rater=key.pseudonym(email) if key else "",
        api_key=token,
    )
