"""A proposed occupation crosswalk reviewed in Label Studio: push the categories, pull decisions.

The project carries its own marker (``[dwa_rater crosswalk review: uid=…; config_sha256=…;
top_k=…]``), so it is never mistaken for an activity review project and a config edited by hand
is refused. Pushing again imports only the categories the project lacks (by ``data.ext_id``);
pulling exports every annotated task and rebuilds the decisions and the overrides from them.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from dwa_rater.errors import ConfigError, ReviewError
from dwa_rater.review.crosswalk_review import (
    crosswalk_decisions,
    crosswalk_label_config,
    crosswalk_tasks,
    overrides_from_decisions,
)
from dwa_rater.review.labeling import config_sha256
from dwa_rater.review.pseudonyms import PseudonymKey
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.studio.exports import _annotator_pseudonyms
from dwa_rater.review.studio.projects import _find_project
from dwa_rater.review.studio.push import IMPORT_CHUNK, existing_external_ids, import_in_chunks

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

_MARKER = re.compile(
    r"\[dwa_rater crosswalk review: uid=(?P<uid>[0-9a-f]+); "
    r"config_sha256=(?P<sha>[0-9a-f]{64}); top_k=(?P<k>\d+)\]"
)


@dataclass(frozen=True)
class CrosswalkProject:
    """A crosswalk review project on the server."""

    id: int
    title: str
    top_k: int
    overlap: int


@dataclass(frozen=True)
class CrosswalkPushReport:
    """What a push did."""

    project: CrosswalkProject
    created: bool
    imported: int
    already_present: int


@dataclass(frozen=True)
class CrosswalkPullReport:
    """Decisions (one row per annotation) and the overrides built from them."""

    decisions: pd.DataFrame
    overrides: pd.DataFrame
    annotated_categories: int
    undecided: tuple[str, ...]


def _check(project: Any, title: str, connection: StudioConnection) -> CrosswalkProject:
    match = _MARKER.search(project.description or "")
    if match is None:
        raise ReviewError(
            f"project {title!r} (id {project.id}) on {connection.url} is not a dwa_rater "
            "crosswalk review project; choose another --project"
        )
    if config_sha256(project.label_config or "") != match["sha"]:
        raise ReviewError(
            f"the labelling config of crosswalk project {title!r} (id {project.id}) was changed "
            "by hand; restore it or review in a new project"
        )
    return CrosswalkProject(
        id=int(project.id),
        title=title,
        top_k=int(match["k"]),
        overlap=int(project.maximum_annotations or 1),
    )


def _ensure(
    client: LabelStudio, connection: StudioConnection, title: str, top_k: int, overlap: int
) -> tuple[CrosswalkProject, bool]:
    existing = _find_project(client, connection, title)
    if existing is not None:
        project = _check(existing, title, connection)
        if project.top_k < top_k:
            raise ReviewError(
                f"crosswalk project {title!r} shows {project.top_k} candidates per category, "
                f"this crosswalk has {top_k}; use another --project"
            )
        if project.overlap != overlap:
            with _calls(connection, f"updating project {title!r}"):
                client.projects.update(project.id, maximum_annotations=overlap)
        return CrosswalkProject(project.id, title, project.top_k, overlap), False
    config = crosswalk_label_config(top_k)
    uid = uuid.uuid4().hex
    marker = f"[dwa_rater crosswalk review: uid={uid}; config_sha256={config_sha256(config)}; "
    description = (
        "Review of a proposed Chinese occupation category -> O*NET-SOC crosswalk, made by "
        f"dwa_rater. Do not edit the labelling config by hand. {marker}top_k={top_k}]"
    )
    with _calls(connection, f"creating project {title!r}"):
        created = client.projects.create(
            title=title,
            description=description,
            label_config=config,
            show_skip_button=True,
            show_collab_predictions=False,
            maximum_annotations=overlap,
        )
        made = client.projects.get(int(created.id or 0))
    return _check(made, title, connection), True


def push_crosswalk(
    connection: StudioConnection,
    title: str,
    crosswalk: pd.DataFrame,
    descriptions: dict[str, str] | None = None,
    overlap: int = 1,
    chunk_size: int = IMPORT_CHUNK,
) -> CrosswalkPushReport:
    """Create (or find) the project and import the categories it lacks."""
    if overlap < 1:
        raise ConfigError(f"overlap (reviewers per category) must be 1 or more, got {overlap}")
    tasks, top_k = crosswalk_tasks(crosswalk, descriptions)
    client = connect(connection)
    project, created = _ensure(client, connection, title, top_k, overlap)
    present = {} if created else existing_external_ids(client, connection, project.id)
    missing = [t for t in tasks if t["data"]["ext_id"] not in present]
    imported = import_in_chunks(client, connection, project.id, missing, chunk_size, "categories")
    return CrosswalkPushReport(project, created, imported, len(tasks) - len(missing))


def pull_crosswalk(
    connection: StudioConnection, title: str, key: PseudonymKey
) -> CrosswalkPullReport:
    """Every annotation of the project as decisions, and the overrides they make."""
    client = connect(connection)
    found = _find_project(client, connection, title)
    if found is None:
        raise ReviewError(f"no project titled {title!r} on Label Studio at {connection.url}")
    project = _check(found, title, connection)
    with _calls(connection, "exporting crosswalk decisions"):
        raw = b"".join(
            client.projects.exports.download_sync(
                project.id, export_type="JSON", download_all_tasks=False
            )
        )
    exported = json.loads(raw)
    if not isinstance(exported, list):
        raise ReviewError(f"Label Studio export of project {title!r} is not a list")
    decisions = crosswalk_decisions(exported, _annotator_pseudonyms(client, connection, key))
    overrides = overrides_from_decisions(decisions)
    annotated = decisions["category"].nunique()
    undecided = tuple(sorted(set(decisions["category"]) - set(overrides["category"])))
    return CrosswalkPullReport(decisions, overrides, int(annotated), undecided)
