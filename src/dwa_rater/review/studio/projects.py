"""Review projects on the server: created, found and checked through a marker.

A review project is created with the generated labelling config
(:mod:`dwa_rater.review.labeling`) and a marker in its description recording the review mode, a
random project uid and the SHA-256 of the config it was given. A project whose config no longer
matches that hash was edited by hand, and is refused (the converter relies on the controls).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dwa_rater.errors import ConfigError, ReviewError
from dwa_rater.review.labeling import (
    REVIEW_MODES,
    ReviewMode,
    build_label_config,
    config_sha256,
    instructions_html,
)
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.wording import ReviewLanguage, check_language

if TYPE_CHECKING:
    from label_studio_sdk import LabelStudio

_MARKER = re.compile(
    r"\[dwa_rater review: mode=(?P<mode>\w+); uid=(?P<uid>[0-9a-f]+); "
    r"config_sha256=(?P<sha>[0-9a-f]{64})(?:; lang=(?P<lang>[a-z+]+))?\]"
)


@dataclass(frozen=True)
class ReviewProject:
    """A review project on the server, as recorded in its marker."""

    id: int
    title: str
    mode: ReviewMode
    uid: str
    overlap: int
    task_count: int
    lang: ReviewLanguage = "en"


def _marker(mode: str, uid: str, sha: str, lang: str) -> str:
    return f"[dwa_rater review: mode={mode}; uid={uid}; config_sha256={sha}; lang={lang}]"


def _description(mode: str, uid: str, sha: str, lang: str) -> str:
    return (
        f"Review of contested O*NET work activities ({mode} mode), made by dwa_rater. "
        f"Do not edit the labelling config by hand. {_marker(mode, uid, sha, lang)}"
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
        lang=check_language(match["lang"] or "en"),
    )


def open_project(connection: StudioConnection, title: str) -> tuple[LabelStudio, ReviewProject]:
    """Connect and find an existing review project (``ReviewError`` when unknown or edited)."""
    client = connect(connection)
    project = _find_project(client, connection, title)
    if project is None:
        raise ReviewError(f"no project titled {title!r} on Label Studio at {connection.url}")
    return client, _check_project(project, title, connection)


def ensure_project(
    client: LabelStudio,
    connection: StudioConnection,
    title: str,
    mode: ReviewMode,
    overlap: int,
    lang: ReviewLanguage = "en",
) -> tuple[ReviewProject, bool, bool]:
    """Create the review project, or check and update it: (project, created, config_updated).

    An existing project must have been made by dwa_rater in the same mode and keep the config
    it was given; when this version of the tool generates a different config (a new rubric
    text, another ``lang``), the project's config and instructions are updated to it.
    ``overlap`` (annotators per task) is set on every push.
    """
    check_language(lang)
    if mode not in REVIEW_MODES:
        raise ConfigError(f"unknown review mode {mode!r} (use {' or '.join(REVIEW_MODES)})")
    if overlap < 1:
        raise ConfigError(f"overlap (annotators per task) must be 1 or more, got {overlap}")
    label_config = build_label_config(mode, lang=lang)
    sha = config_sha256(label_config)
    existing = _find_project(client, connection, title)
    if existing is None:
        uid = uuid.uuid4().hex
        with _calls(connection, f"creating project {title!r}"):
            created = client.projects.create(
                title=title,
                description=_description(mode, uid, sha, lang),
                label_config=label_config,
                expert_instruction=instructions_html(lang),
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
        changes.update(
            label_config=label_config,
            description=_description(mode, current.uid, sha, lang),
            expert_instruction=instructions_html(lang),
        )
    if current.overlap != overlap:
        changes["maximum_annotations"] = overlap
    if changes:
        with _calls(connection, f"updating project {title!r}"):
            client.projects.update(current.id, **changes)
            existing = client.projects.get(current.id)
        current = _check_project(existing, title, connection)
    return current, False, "label_config" in changes
