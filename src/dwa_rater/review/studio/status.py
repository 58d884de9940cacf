"""Project progress per annotator, and annotator accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from dwa_rater.errors import ReviewError
from dwa_rater.review.convert import pseudonym
from dwa_rater.review.studio.connection import StudioConnection, _calls, connect
from dwa_rater.review.studio.exports import _export
from dwa_rater.review.studio.projects import ReviewProject, open_project


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
