"""Reading annotations from the server: tasks updated since a checkpoint, and JSON exports.

Updated tasks are re-exported whole by id (``ids[]`` query parameters: the SDK's own ``ids``
argument is ignored by the server, see label-studio#5127).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dwa_rater.errors import ReviewError
from dwa_rater.review.pseudonyms import PseudonymKey
from dwa_rater.review.studio.connection import StudioConnection, _calls
from dwa_rater.review.studio.projects import ReviewProject

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

#: Task ids per export request (``ids[]`` go in the query string).
EXPORT_CHUNK = 200
#: Tasks updated up to this long before the checkpoint are fetched again (clock races).
CHECKPOINT_MARGIN = dt.timedelta(seconds=2)

_DM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _dm_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(_DM_TIME_FORMAT)


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _changed_tasks(
    client: LabelStudio,
    connection: StudioConnection,
    project: ReviewProject,
    since: dt.datetime | None,
) -> tuple[list[int], dt.datetime | None]:
    """Ids of the tasks updated after ``since`` (all tasks when None), and the newest update."""
    query = None
    if since is not None:
        query = json.dumps(
            {
                "filters": {
                    "conjunction": "and",
                    "items": [
                        {
                            "filter": "filter:tasks:updated_at",
                            "operator": "greater",
                            "type": "Datetime",
                            "value": _dm_time(since - CHECKPOINT_MARGIN),
                        }
                    ],
                }
            }
        )
    ids: list[int] = []
    newest: dt.datetime | None = None
    with _calls(connection, "listing updated tasks"):
        pages: Any = client.tasks.list(
            project=project.id,
            fields="task_only",
            include="id,updated_at",
            page_size=500,
            query=query,
        )
        for task in pages:
            ids.append(int(task.id))
            if task.updated_at is not None:
                moment = task.updated_at
                if isinstance(moment, str):
                    moment = _parse_time(moment)
                newest = moment if newest is None or moment > newest else newest
    return ids, newest


def _export(
    client: LabelStudio,
    connection: StudioConnection,
    project: ReviewProject,
    task_ids: Sequence[int] | None,
) -> list[dict[str, Any]]:
    """Label Studio's JSON export: of ``task_ids`` (annotated or not), or of all annotated tasks."""
    batches: list[Sequence[int] | None] = (
        [None]
        if task_ids is None
        else [task_ids[i : i + EXPORT_CHUNK] for i in range(0, len(task_ids), EXPORT_CHUNK)]
    )
    tasks: list[dict[str, Any]] = []
    for batch in batches:
        options: dict[str, Any] = {}
        if batch is not None:
            # The SDK sends ``ids=``, which the server ignores: pass ``ids[]`` ourselves.
            options = {"additional_query_parameters": {"ids[]": [str(i) for i in batch]}}
        with _calls(connection, "exporting annotations"):
            raw = b"".join(
                client.projects.exports.download_sync(
                    project.id,
                    export_type="JSON",
                    download_all_tasks=batch is not None,
                    request_options=options,  # type: ignore[arg-type]
                )
            )
            exported = json.loads(raw)
        if not isinstance(exported, list):
            raise ReviewError(f"Label Studio export of project {project.title!r} is not a list")
        if batch is not None:
            wanted = {int(i) for i in batch}
            unexpected = [t["id"] for t in exported if int(t["id"]) not in wanted]
            if unexpected:
                raise ReviewError(
                    "Label Studio ignored the task ids of the export request "
                    f"(got task {unexpected[0]}); cannot pull incrementally"
                )
        tasks.extend(exported)
    return tasks


def _user_emails(client: LabelStudio, connection: StudioConnection) -> dict[str, str]:
    """Label Studio user id (as str) -> e-mail address (kept in memory only)."""
    with _calls(connection, "listing users"):
        users = client.users.list()
    return {str(u.id): str(u.email or f"user-{u.id}") for u in users}


def _annotator_pseudonyms(
    client: LabelStudio, connection: StudioConnection, key: PseudonymKey
) -> dict[str, str]:
    return {user: key.pseudonym(email) for user, email in _user_emails(client, connection).items()}


def _server_version(client: LabelStudio, connection: StudioConnection) -> str:
    with _calls(connection, "reading the server version"):
        return str(client.versions.get().release or "")
