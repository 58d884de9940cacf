"""The Label Studio adapter: push review tasks, pull annotations incrementally, report status.

This is the only module that imports ``label_studio_sdk`` (pinned 2.1.2, matching the server
label-studio 1.23.2 that ``scripts/labelstudio.sh`` runs). Every SDK or network failure becomes a
one-line :class:`~dwa_rater.errors.ReviewError`; the API token is never written anywhere.

Projects. A review project is created with the generated labelling config
(:mod:`dwa_rater.review.labeling`) and a marker in its description recording the review mode, a
random project uid and the SHA-256 of the config it was given. A project whose config no longer
matches that hash was edited by hand, and is refused (the converter relies on the controls).

Push is idempotent: each task carries ``data.ext_id`` (``dwa:<DWA ID>``); existing ext_ids are
listed once and only the missing tasks are imported, in chunks. Label Studio itself never
deduplicates imports.

Pull is incremental: tasks updated since the checkpoint (minus a margin) are re-exported whole
(``ids[]`` query parameters: the SDK's own ``ids`` argument is ignored by the server, see
label-studio#5127), so updated and deleted annotations are caught; tasks whose annotations did
not change are dropped. The changed tasks go into one dated JSON file under
``<annotations dir>/<project slug>/``; the checkpoint lives in ``<state dir>/labelstudio/``. The
ratings table is rebuilt from all export files of the project.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from dwa_rater.catalog import load_onet
from dwa_rater.errors import ConfigError, ReviewError
from dwa_rater.review.convert import (
    EXPORT_FORMAT,
    latest_tasks,
    pseudonym,
    ratings_from_exports,
    read_exports,
)
from dwa_rater.review.labeling import (
    MODEL_OUTPUT_KEYS,
    REVIEW_MODES,
    ReviewMode,
    build_label_config,
    build_task,
    config_sha256,
    instructions_html,
    review_items_from_catalog,
)
from dwa_rater.review.select import SelectionRule, read_selection, reason_counts, select_contested
from dwa_rater.store import read_many_ratings, write_ratings

#: Where ``review pull`` writes raw exports by default: the repository's ``annotations/``.
DEFAULT_ANNOTATIONS_DIR = Path(__file__).resolve().parents[3] / "annotations"
#: Tasks per import request (2,000 tasks in chunks of 500 take about 10 s on 2 cores).
IMPORT_CHUNK = 500
#: Task ids per export request (``ids[]`` go in the query string).
EXPORT_CHUNK = 200
#: Tasks updated up to this long before the checkpoint are fetched again (clock races).
CHECKPOINT_MARGIN = dt.timedelta(seconds=2)

_MARKER = re.compile(
    r"\[dwa_rater review: mode=(?P<mode>\w+); uid=(?P<uid>[0-9a-f]+); "
    r"config_sha256=(?P<sha>[0-9a-f]{64})\]"
)
_DM_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class StudioConnection:
    """Where Label Studio is and the API token to use (never shown in reprs or messages)."""

    url: str
    api_key: str = field(repr=False)
    timeout: float = 120.0

    def __post_init__(self) -> None:
        if not self.url:
            raise ConfigError("no Label Studio URL: set LABEL_STUDIO_URL")
        if not self.api_key:
            raise ConfigError("no Label Studio API token: set LABEL_STUDIO_API_KEY")


@dataclass(frozen=True)
class ReviewProject:
    """A review project on the server, as recorded in its marker."""

    id: int
    title: str
    mode: ReviewMode
    uid: str
    overlap: int
    task_count: int


@dataclass(frozen=True)
class PushReport:
    project: ReviewProject
    created_project: bool
    config_updated: bool
    submitted: int
    imported: int
    already_present: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PullReport:
    project: ReviewProject
    export_path: Path | None
    listed_tasks: int
    changed_tasks: int
    ratings: pd.DataFrame
    out: Path | None


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


@dataclass(frozen=True)
class AnnotatorAccount:
    user_id: int
    email: str
    rater: str
    api_key: str = field(repr=False)


# --------------------------------------------------------------------------------------------
# Client and errors


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _api_detail(error: ApiError) -> str:
    body = error.body
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("validation_errors") or body
        return _one_line(json.dumps(detail) if not isinstance(detail, str) else detail)
    return _one_line(str(body or ""))


@contextlib.contextmanager
def _calls(connection: StudioConnection, doing: str) -> Iterator[None]:
    """Turn SDK and network failures into one-line ReviewErrors (never showing the token)."""
    try:
        yield
    except ApiError as error:
        status = error.status_code
        if status == 401:
            raise ReviewError(
                f"Label Studio at {connection.url} refused the API token while {doing} "
                "(check LABEL_STUDIO_API_KEY)"
            ) from None
        if status == 403:
            raise ReviewError(
                f"Label Studio at {connection.url} forbids {doing} for this token"
            ) from None
        if status is None:
            raise ReviewError(
                f"Label Studio client error while {doing}: {_api_detail(error)}"
            ) from None
        raise ReviewError(
            f"Label Studio at {connection.url} answered {status} while {doing}: "
            f"{_api_detail(error)}"
        ) from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise ReviewError(
            f"cannot reach Label Studio at {connection.url} while {doing} ({_one_line(error)}); "
            "is it running? (scripts/labelstudio.sh start)"
        ) from None
    except httpx.HTTPError as error:
        raise ReviewError(
            f"network error talking to Label Studio at {connection.url} while {doing}: "
            f"{type(error).__name__} {_one_line(error)}"
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        # Unexpected payloads (an HTML page instead of JSON, a proxy in between, ...).
        raise ReviewError(
            f"unexpected answer from Label Studio at {connection.url} while {doing}: "
            f"{type(error).__name__} {_one_line(error)}"
        ) from None


def connect(connection: StudioConnection) -> LabelStudio:
    """A client whose token has been checked against the server (``whoami``)."""
    client = LabelStudio(
        base_url=connection.url.rstrip("/"),
        api_key=connection.api_key,
        timeout=connection.timeout,
        max_retries=2,
    )
    with _calls(connection, "checking the token"):
        client.users.whoami()
    return client


# --------------------------------------------------------------------------------------------
# Projects


def _marker(mode: str, uid: str, sha: str) -> str:
    return f"[dwa_rater review: mode={mode}; uid={uid}; config_sha256={sha}]"


def _description(mode: str, uid: str, sha: str) -> str:
    return (
        f"Review of contested O*NET work activities ({mode} mode), made by dwa_rater. "
        f"Do not edit the labelling config by hand. {_marker(mode, uid, sha)}"
    )


def _find_project(client: LabelStudio, connection: StudioConnection, title: str) -> Any | None:
    with _calls(connection, f"looking up project {title!r}"):
        listed: Any = client.projects.list(title=title, page_size=100)
        found = [p for p in listed if p.title == title]
    if len(found) > 1:
        ids = ", ".join(str(p.id) for p in found)
        raise ReviewError(f"several Label Studio projects are titled {title!r} (ids {ids})")
    if not found:
        return None
    with _calls(connection, f"reading project {title!r}"):
        return client.projects.get(found[0].id)


def _check_project(project: Any, title: str, connection: StudioConnection) -> ReviewProject:
    """The project's marker, after checking that its config is still the one we set."""
    match = _MARKER.search(project.description or "")
    if match is None:
        raise ReviewError(
            f"project {title!r} (id {project.id}) on {connection.url} was not made by dwa_rater "
            "(no review marker in its description); choose another --project"
        )
    if config_sha256(project.label_config or "") != match["sha"]:
        raise ReviewError(
            f"the labelling config of project {title!r} (id {project.id}) was changed by hand; "
            "restore it or review in a new project"
        )
    if match["mode"] not in REVIEW_MODES:
        raise ReviewError(f"project {title!r} records an unknown review mode {match['mode']!r}")
    return ReviewProject(
        id=int(project.id),
        title=title,
        mode=match["mode"],  # type: ignore[arg-type]
        uid=match["uid"],
        overlap=int(project.maximum_annotations or 1),
        task_count=int(project.task_number or 0),
    )


def open_project(connection: StudioConnection, title: str) -> tuple[LabelStudio, ReviewProject]:
    """Connect and find an existing review project (``ReviewError`` when unknown or edited)."""
    client = connect(connection)
    project = _find_project(client, connection, title)
    if project is None:
        raise ReviewError(f"no project titled {title!r} on Label Studio at {connection.url}")
    return client, _check_project(project, title, connection)


def ensure_project(
    client: LabelStudio, connection: StudioConnection, title: str, mode: ReviewMode, overlap: int
) -> tuple[ReviewProject, bool, bool]:
    """Create the review project, or check and update it: (project, created, config_updated).

    An existing project must have been made by dwa_rater in the same mode and keep the config
    it was given; when this version of the tool generates a different config, the project is
    updated to it. ``overlap`` (annotators per task) is set on every push.
    """
    if mode not in REVIEW_MODES:
        raise ConfigError(f"unknown review mode {mode!r} (use {' or '.join(REVIEW_MODES)})")
    if overlap < 1:
        raise ConfigError(f"overlap (annotators per task) must be 1 or more, got {overlap}")
    label_config = build_label_config(mode)
    sha = config_sha256(label_config)
    existing = _find_project(client, connection, title)
    if existing is None:
        uid = uuid.uuid4().hex
        with _calls(connection, f"creating project {title!r}"):
            created = client.projects.create(
                title=title,
                description=_description(mode, uid, sha),
                label_config=label_config,
                expert_instruction=instructions_html(),
                show_instruction=True,
                show_skip_button=True,
                show_collab_predictions=False,
                maximum_annotations=overlap,
            )
            project = client.projects.get(int(created.id or 0))
        return _check_project(project, title, connection), True, False
    current = _check_project(existing, title, connection)
    if current.mode != mode:
        raise ReviewError(
            f"project {title!r} was pushed in {current.mode} mode; push with --mode "
            f"{current.mode} or use another --project"
        )
    changes: dict[str, Any] = {}
    if config_sha256(existing.label_config or "") != sha:
        changes.update(label_config=label_config, description=_description(mode, current.uid, sha))
    if current.overlap != overlap:
        changes["maximum_annotations"] = overlap
    if changes:
        with _calls(connection, f"updating project {title!r}"):
            client.projects.update(current.id, **changes)
            existing = client.projects.get(current.id)
        current = _check_project(existing, title, connection)
    return current, False, "label_config" in changes


# --------------------------------------------------------------------------------------------
# Push


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


# --------------------------------------------------------------------------------------------
# Pull


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


def _dm_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(_DM_TIME_FORMAT)


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fingerprint(task: dict[str, Any]) -> str:
    annotations = sorted(task.get("annotations", []), key=lambda a: int(a["id"]))
    return hashlib.sha256(json.dumps(annotations, sort_keys=True).encode()).hexdigest()


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


def _annotator_pseudonyms(client: LabelStudio, connection: StudioConnection) -> dict[str, str]:
    with _calls(connection, "listing users"):
        users = client.users.list()
    return {str(u.id): pseudonym(u.email or f"user-{u.id}") for u in users}


def _server_version(client: LabelStudio, connection: StudioConnection) -> str:
    with _calls(connection, "reading the server version"):
        return str(client.versions.get().release or "")


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
) -> PullReport:
    """Fetch what changed since the last pull, store it, and rebuild the ratings table.

    Writes ``<annotations_dir>/<slug>/export-<UTC time>.json`` when some task's annotations
    changed (never otherwise), then the checkpoint, then the ratings of all export files of the
    project to ``out`` (CSV or Parquet, atomically) when given. Every file is written to a
    temporary name first and renamed, so a failure leaves the previous files whole.
    """
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
            "annotators": _annotator_pseudonyms(client, connection),
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
    if out is not None:
        write_ratings(ratings, out)
    return PullReport(
        project=project,
        export_path=export_path,
        listed_tasks=len(listed),
        changed_tasks=len(changed),
        ratings=ratings,
        out=out,
    )


# --------------------------------------------------------------------------------------------
# Status and annotators


def project_status(connection: StudioConnection, title: str) -> ProjectStatus:
    """Tasks, annotated tasks, tasks done (reached the overlap), remaining, per annotator."""
    client, project = open_project(connection, title)
    exported = _export(client, connection, project, None)
    with _calls(connection, "listing users"):
        emails = {int(u.id): str(u.email or "") for u in client.users.list()}
    submitted: dict[int, int] = {}
    skipped: dict[int, int] = {}
    annotated = done = 0
    for task in exported:
        n_submitted = 0
        for annotation in task.get("annotations", []):
            user = int(annotation.get("completed_by") or 0)
            if annotation.get("was_cancelled"):
                skipped[user] = skipped.get(user, 0) + 1
            else:
                submitted[user] = submitted.get(user, 0) + 1
                n_submitted += 1
        annotated += n_submitted > 0
        done += n_submitted >= project.overlap
    annotators = tuple(
        AnnotatorStatus(
            rater=pseudonym(emails.get(user) or f"user-{user}"),
            email=emails.get(user, ""),
            submitted=submitted.get(user, 0),
            skipped=skipped.get(user, 0),
        )
        for user in sorted(set(submitted) | set(skipped))
    )
    return ProjectStatus(
        project=project,
        tasks=project.task_count,
        annotated=annotated,
        done=done,
        remaining=project.task_count - done,
        annotators=annotators,
    )


def create_annotator(connection: StudioConnection, email: str, password: str) -> AnnotatorAccount:
    """Create an annotator account with a password, through the organisation's invite link.

    Label Studio Community has no API to set another user's password, and ``users.create``
    makes accounts that cannot log in; signing up with the invite token (as the invitation
    e-mail would) works while open sign-up stays disabled. Returns the new user's API token,
    for scripts that annotate on the annotator's behalf (tests); do not store it.
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
        user_id=int(who["id"]), email=str(who["email"]), rater=pseudonym(email), api_key=token
    )


# --------------------------------------------------------------------------------------------
# From ratings files to a pushed project


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
