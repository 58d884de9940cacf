"""Push the disputed items of a review round into an assisted adjudication project.

The round's annotated tasks are exported, the items whose annotators gave different labels are
chosen (:mod:`dwa_rater.review.adjudication`), and each becomes an assisted task whose rater
table lists every annotator's answer under their pseudonym (plus the LLM ratings when ratings
files are given). The adjudication project takes one answer per task (overlap 1); pulling it
and then pulling the round with ``--adjudication`` makes those answers the final human labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from dwa_rater.catalog import load_onet
from dwa_rater.review.adjudication import annotator_ratings, disputed_items
from dwa_rater.review.context import read_translations
from dwa_rater.review.convert import annotation_rows
from dwa_rater.review.pseudonyms import PseudonymKey
from dwa_rater.review.studio.connection import StudioConnection
from dwa_rater.review.studio.exports import _export, _user_emails
from dwa_rater.review.studio.projects import open_project
from dwa_rater.review.studio.push import PushReport, push_tasks
from dwa_rater.review.tasks import build_task, review_items_from_catalog
from dwa_rater.review.wording import ReviewLanguage
from dwa_rater.store import read_many_ratings


def push_adjudication(
    connection: StudioConnection,
    title: str,
    into: str,
    onet_source: Path,
    key: PseudonymKey,
    ratings_paths: Sequence[Path] = (),
    lang: ReviewLanguage = "en",
    translations_path: Path | None = None,
) -> PushReport:
    """Create or update the assisted project ``into`` with the disputed items of ``title``."""
    client, project = open_project(connection, title)
    exported = _export(client, connection, project, None)
    names = {u: key.pseudonym(e) for u, e in _user_emails(client, connection).items()}
    tasks = {int(t["id"]): {**t, "_annotators": names, "_mode": project.mode} for t in exported}
    rows = annotation_rows(tasks)
    selection = disputed_items(rows)
    chosen = rows[rows["item_id"].isin(selection["item_id"])]
    shown = [annotator_ratings(chosen)]
    if ratings_paths:
        llm = read_many_ratings(ratings_paths)
        shown.insert(0, llm[llm["item_id"].astype(str).isin(selection["item_id"])])
    ratings = pd.concat(shown, ignore_index=True)
    translations = read_translations(translations_path) if translations_path else None
    items = review_items_from_catalog(
        selection, ratings, load_onet(onet_source), translations=translations
    )
    report = push_tasks(
        connection,
        into,
        [build_task(item, "assisted", lang) for item in items],
        mode="assisted",
        overlap=1,
        lang=lang,
    )
    return dataclasses.replace(report, reasons={"annotator_disagreement": len(selection)})
