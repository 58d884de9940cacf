"""The Label Studio adapter: push review tasks, pull annotations incrementally, report status.

This package is the only place that imports ``label_studio_sdk`` (pinned 2.1.2, matching the
server label-studio 1.23.2 that ``scripts/labelstudio.sh`` runs), and only :mod:`.connection`
imports it at run time. Every SDK or network failure becomes a one-line
:class:`~dwa_rater.errors.ReviewError`; the API token is never written anywhere.

- :mod:`.connection`: where Label Studio is, a token-checked client, one-line errors.
- :mod:`.projects`: review projects, created with the generated labelling config and recognised
  by the marker in their description.
- :mod:`.push`: idempotent push of review tasks (by ``data.ext_id``), from tasks or ratings files.
- :mod:`.exports`: task ids updated since a checkpoint, and JSON exports of tasks.
- :mod:`.pull`: incremental pull into dated export files; the ratings table rebuilt from them.
- :mod:`.status`: progress, lead times and live agreement per annotator (incremental), and
  annotator accounts.
- :mod:`.adjudicate`: disputed items of a round into an assisted adjudication project.
"""

from __future__ import annotations

from dwa_rater.review.studio.connection import StudioConnection, connect
from dwa_rater.review.studio.exports import CHECKPOINT_MARGIN, EXPORT_CHUNK
from dwa_rater.review.studio.projects import ReviewProject, ensure_project, open_project
from dwa_rater.review.studio.pull import (
    PullReport,
    project_slug,
    pull_annotations,
)
from dwa_rater.review.studio.push import (
    IMPORT_CHUNK,
    PushReport,
    TaskUpdate,
    existing_external_ids,
    existing_tasks,
    push_ratings,
    push_tasks,
)
from dwa_rater.review.studio.status import (
    AnnotatorAccount,
    AnnotatorStatus,
    ProjectStatus,
    create_annotator,
    project_status,
)

__all__ = [
    "CHECKPOINT_MARGIN",
    "EXPORT_CHUNK",
    "IMPORT_CHUNK",
    "AnnotatorAccount",
    "AnnotatorStatus",
    "ProjectStatus",
    "PullReport",
    "PushReport",
    "ReviewProject",
    "StudioConnection",
    "TaskUpdate",
    "connect",
    "create_annotator",
    "ensure_project",
    "existing_external_ids",
    "existing_tasks",
    "open_project",
    "project_slug",
    "project_status",
    "pull_annotations",
    "push_ratings",
    "push_tasks",
]
