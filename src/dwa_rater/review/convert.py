"""Raw Label Studio exports -> rows of the long ratings table (human annotators as raters).

A pull writes one export file per run (see :mod:`dwa_rater.review.studio`): a JSON object with
the project's identity, a map from Label Studio user ids to pseudonyms (see
:mod:`dwa_rater.review.pseudonyms`), and the tasks whose annotations changed, each exactly as
Label Studio's JSON export gives it. Replaying the files in
order, a later copy of a task replaces the earlier one, so updated and deleted annotations are
taken into account.

Each submitted (not skipped) annotation becomes one ratings row whose ``rater`` is the
annotator's pseudonym; each task with at least one such annotation also gets one row of the
``human`` consensus rater: the ground-truth annotation when one is marked (the adjudication; the
most recently updated one if several), otherwise the majority label (none on a tie) and the mean
score of the annotators. The annotator's confidence (``sure``/``unsure``) is kept in the column
``confidence``; the consensus row says ``unsure`` when any annotator it rests on was unsure.
Every function here is pure except :func:`read_exports`.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.review.labeling import (
    COMMENT_CONTROL,
    CONFIDENCE_CONTROL,
    LABEL_CONTROL,
    SCORE_CONTROL,
)
from dwa_rater.schemas import RATING_COLUMNS

#: Format tag of the export files written now (keyed pseudonyms, see ``pseudonyms``).
EXPORT_FORMAT = "dwa_rater.labelstudio_export/2"
#: Every format tag this module reads (/1: unkeyed pseudonyms, converted on the next pull).
EXPORT_FORMATS: tuple[str, ...] = ("dwa_rater.labelstudio_export/1", EXPORT_FORMAT)
#: Rater name of the consensus of all annotators.
CONSENSUS_RATER = "human"
#: Extra columns (after the canonical ones) of the rows made here.
EXTRA_COLUMNS: tuple[str, ...] = (
    "task_id",
    "annotation_id",
    "ground_truth",
    "n_annotators",
    "consensus",
    "confidence",
    "guidelines",
)
#: The confidence levels of the screen.
CONFIDENCE_LEVELS: tuple[str, ...] = ("sure", "unsure")


def read_exports(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Read export files (in the order given) and check their format tag."""
    documents = []
    for path in paths:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a readable export file ({exc})") from exc
        if not isinstance(document, dict) or document.get("format") not in EXPORT_FORMATS:
            raise DataError(f"{path}: not a dwa_rater Label Studio export ({EXPORT_FORMAT})")
        documents.append(document)
    return documents


def latest_tasks(documents: Iterable[Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    """Task id -> the last copy of that task over the export documents, in order.

    Each task copy gets ``_annotators`` (its document's user id -> pseudonym map, keys as str)
    and ``_mode`` (the project's review mode) attached.
    """
    tasks: dict[int, dict[str, Any]] = {}
    for document in documents:
        annotators = {str(k): str(v) for k, v in document.get("annotators", {}).items()}
        mode = str(document.get("project", {}).get("mode", ""))
        for task in document.get("tasks", []):
            copy = dict(task)
            copy["_annotators"] = annotators
            copy["_mode"] = mode
            tasks[int(task["id"])] = copy
    return tasks


def _control_value(result: Sequence[Mapping[str, Any]], name: str) -> Any:
    for entry in result:
        if entry.get("from_name") == name:
            return entry.get("value", {})
    return None


def parse_result(result: Sequence[Mapping[str, Any]]) -> tuple[str | None, float | None, str]:
    """(label, score, comment) from an annotation's ``result`` list (controls of our config)."""
    choice = _control_value(result, LABEL_CONTROL) or {}
    choices = choice.get("choices") or []
    label = str(choices[0]) if choices else None
    number = (_control_value(result, SCORE_CONTROL) or {}).get("number")
    score = None
    if number is not None and not isinstance(number, bool):
        score = float(number)
        score = None if math.isnan(score) else score
    text = (_control_value(result, COMMENT_CONTROL) or {}).get("text") or []
    comment = " ".join(str(t) for t in text) if isinstance(text, list) else str(text)
    return label, score, comment.strip()


def parse_confidence(result: Sequence[Mapping[str, Any]]) -> str | None:
    """``sure``, ``unsure`` or None (not given: projects made before the control existed)."""
    choices = (_control_value(result, CONFIDENCE_CONTROL) or {}).get("choices") or []
    return str(choices[0]) if choices else None


def annotation_rows(tasks: Mapping[int, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per submitted annotation (skips and empty results left out).

    Columns: task_id, annotation_id, item_id, item_text, mode, annotator (pseudonym; ``user-N``
    when the export does not know the user), label, score, confidence, comment, ground_truth,
    lead_time (seconds), updated_at, guidelines (the task's rubric text version). When one
    annotator has several annotations on a task, only the most recently updated one is kept.
    """
    records = []
    for task_id, task in sorted(tasks.items()):
        data = task.get("data", {})
        for annotation in task.get("annotations", []):
            if annotation.get("was_cancelled"):
                continue
            result = annotation.get("result") or []
            label, score, comment = parse_result(result)
            if label is None and score is None:
                continue
            user = str(annotation.get("completed_by"))
            records.append(
                {
                    "task_id": int(task_id),
                    "annotation_id": int(annotation["id"]),
                    "item_id": str(data.get("dwa_id", "")),
                    "item_text": str(data.get("statement", "")),
                    "mode": str(data.get("review_mode") or task.get("_mode") or ""),
                    "annotator": task.get("_annotators", {}).get(user, f"user-{user}"),
                    "label": label,
                    "score": score,
                    "confidence": parse_confidence(result),
                    "comment": comment,
                    "ground_truth": bool(annotation.get("ground_truth")),
                    "lead_time": annotation.get("lead_time"),
                    "updated_at": str(annotation.get("updated_at") or ""),
                    "guidelines": str(data.get("guidelines") or ""),
                }
            )
    columns = [
        "task_id",
        "annotation_id",
        "item_id",
        "item_text",
        "mode",
        "annotator",
        "label",
        "score",
        "confidence",
        "comment",
        "ground_truth",
        "lead_time",
        "updated_at",
        "guidelines",
    ]
    frame = pd.DataFrame.from_records(records, columns=columns)
    frame = frame.sort_values(["task_id", "annotator", "updated_at", "annotation_id"])
    frame = frame.drop_duplicates(["task_id", "annotator"], keep="last")
    return frame.reset_index(drop=True)


def consensus(annotations: pd.DataFrame) -> dict[str, Any]:
    """The ``human`` judgement of one task from its annotation rows.

    Ground truth wins (the most recently updated ground-truth annotation); otherwise the
    label given by most annotators (None on a tie) and the mean of their scores. ``consensus``
    names the rule used: ground_truth, single, majority, unanimous or tie.
    """
    truth = annotations[annotations["ground_truth"]]
    if len(truth):
        chosen = truth.sort_values(["updated_at", "annotation_id"]).iloc[-1]
        return {
            "label": chosen["label"],
            "score": chosen["score"],
            "rationale": chosen["comment"] or None,
            "consensus": "ground_truth",
            "annotation_id": int(chosen["annotation_id"]),
            "confidence": chosen.get("confidence"),
        }
    counts = Counter(label for label in annotations["label"] if label is not None)
    ranked = counts.most_common()
    if not ranked:
        label, rule = None, "single" if len(annotations) == 1 else "majority"
    elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        label, rule = None, "tie"
    else:
        label = ranked[0][0]
        if len(annotations) == 1:
            rule = "single"
        else:
            rule = "unanimous" if len(ranked) == 1 else "majority"
    scores = [s for s in annotations["score"] if s is not None and not pd.isna(s)]
    return {
        "label": label,
        "score": sum(scores) / len(scores) if scores else None,
        "rationale": None,
        "consensus": rule,
        "annotation_id": None,
        "confidence": _pooled_confidence(annotations),
    }


def _pooled_confidence(annotations: pd.DataFrame) -> str | None:
    """``unsure`` if any annotator was unsure, ``sure`` if all said sure, else None."""
    column = annotations.get("confidence", pd.Series(dtype=object))
    given = [c for c in column if isinstance(c, str) and c]
    if "unsure" in given:
        return "unsure"
    return "sure" if given and len(given) == len(annotations) else None


def _empty_rating(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RATING_COLUMNS)
    row.update(
        item_type="dwa",
        model="human",
        endpoint="label-studio",
        prompt_name="exposure-review",
        sample=0,
        status="ok",
        cached=False,
        cache_key="",
    )
    row.update(values)
    return row


def ratings_from_tasks(
    tasks: Mapping[int, Mapping[str, Any]], project_title: str = ""
) -> pd.DataFrame:
    """The long ratings table of the annotations in ``tasks`` (see the module docstring).

    Canonical columns come first (``RATING_COLUMNS``): item_type ``dwa``, model ``human``,
    endpoint ``label-studio``, prompt_name ``exposure-review``, prompt_version the review mode
    (blind/assisted), rationale the annotator's comment, latency_s the annotation's lead time
    (seconds), run_id ``labelstudio:<project title>``, created_at the annotation's update time.
    Then ``EXTRA_COLUMNS``. Rows are sorted by item_id, with annotators before ``human``.
    """
    annotations = annotation_rows(tasks)
    run_id = f"labelstudio:{project_title}" if project_title else "labelstudio"
    rows = []
    for task_id, group in annotations.groupby("task_id", sort=True):
        first = group.iloc[0]
        common = {
            "item_id": first["item_id"],
            "item_text": first["item_text"],
            "prompt_version": first["mode"] or None,
            "run_id": run_id,
            "task_id": int(task_id),
            "n_annotators": len(group),
            "guidelines": first["guidelines"] or None,
        }
        for annotation in group.to_dict("records"):
            rows.append(
                _empty_rating(
                    **common,
                    rater=annotation["annotator"],
                    label=annotation["label"],
                    score=annotation["score"],
                    rationale=annotation["comment"] or None,
                    latency_s=annotation["lead_time"],
                    created_at=annotation["updated_at"],
                    annotation_id=int(annotation["annotation_id"]),
                    ground_truth=bool(annotation["ground_truth"]),
                    consensus=None,
                    confidence=annotation["confidence"],
                )
            )
        agreed = consensus(group)
        rows.append(
            _empty_rating(
                **common,
                rater=CONSENSUS_RATER,
                label=agreed["label"],
                score=agreed["score"],
                rationale=agreed["rationale"],
                created_at=max(group["updated_at"]),
                annotation_id=agreed["annotation_id"],
                ground_truth=agreed["consensus"] == "ground_truth",
                consensus=agreed["consensus"],
                confidence=agreed["confidence"],
            )
        )
    columns = list(RATING_COLUMNS) + list(EXTRA_COLUMNS)
    frame = pd.DataFrame.from_records(rows, columns=columns)
    if frame.empty:
        return frame
    frame["_human_last"] = frame["rater"] == CONSENSUS_RATER
    frame = frame.sort_values(["item_id", "_human_last", "rater"], kind="stable")
    frame = frame.drop(columns="_human_last").reset_index(drop=True)
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce").astype("Float64")
    frame["latency_s"] = pd.to_numeric(frame["latency_s"], errors="coerce").astype("Float64")
    for column in ("sample", "task_id", "annotation_id", "n_annotators"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    return frame


def ratings_from_exports(paths: Sequence[Path], project_title: str = "") -> pd.DataFrame:
    """:func:`ratings_from_tasks` over the replay of the export files ``paths`` (in order)."""
    return ratings_from_tasks(latest_tasks(read_exports(paths)), project_title)
