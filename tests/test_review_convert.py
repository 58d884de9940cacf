"""Label Studio exports -> ratings rows (dwa_rater.review.convert), on hand-made exports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.errors import DataError
from dwa_rater.review.convert import (
    CONSENSUS_RATER,
    EXPORT_FORMAT,
    latest_tasks,
    parse_confidence,
    parse_result,
    ratings_from_exports,
    ratings_from_tasks,
)
from dwa_rater.review.pseudonyms import make_key
from dwa_rater.schemas import RATING_COLUMNS
from dwa_rater.store import read_ratings, write_ratings

KEY = make_key("test-key-0123456789abcdef")
ALICE = KEY.pseudonym("alice@example.com")
BOB = KEY.pseudonym("bob@example.com")


def _result(
    label: str | None, score: float | None, comment: str = "", confidence: str | None = None
) -> list[dict]:
    result = []
    if confidence is not None:
        result.append(
            {"from_name": "confidence", "to_name": "statement", "type": "choices",
             "value": {"choices": [confidence]}}
        )  # fmt: skip
    if label is not None:
        result.append(
            {"from_name": "label", "to_name": "statement", "type": "choices",
             "value": {"choices": [label]}}
        )  # fmt: skip
    if score is not None:
        result.append(
            {"from_name": "score", "to_name": "statement", "type": "number",
             "value": {"number": score}}
        )  # fmt: skip
    if comment:
        result.append(
            {"from_name": "comment", "to_name": "statement", "type": "textarea",
             "value": {"text": [comment]}}
        )  # fmt: skip
    return result


def _annotation(
    annotation_id: int,
    user: int,
    label: str | None,
    score: float | None,
    comment: str = "",
    *,
    updated: str = "2026-01-01T10:00:00Z",
    ground_truth: bool = False,
    cancelled: bool = False,
    confidence: str | None = None,
) -> dict:
    return {
        "id": annotation_id,
        "completed_by": user,
        "result": [] if cancelled else _result(label, score, comment, confidence),
        "was_cancelled": cancelled,
        "ground_truth": ground_truth,
        "lead_time": 12.5,
        "created_at": updated,
        "updated_at": updated,
    }


def _task(task_id: int, dwa_id: str, annotations: list[dict]) -> dict:
    return {
        "id": task_id,
        "data": {"ext_id": f"dwa:{dwa_id}", "dwa_id": dwa_id, "statement": f"Do {dwa_id}.",
                 "review_mode": "blind"},
        "annotations": annotations,
    }  # fmt: skip


def _document(tasks: list[dict]) -> dict:
    return {
        "format": EXPORT_FORMAT,
        "project": {"title": "t", "id": 1, "uid": "abc", "mode": "blind", "overlap": 2},
        "annotators": {"2": ALICE, "3": BOB},
        "tasks": tasks,
    }


FIRST = _document(
    [
        # Tie between Alice (E1, 0.5) and Bob (E2, 0.7).
        _task(1, "D1", [_annotation(11, 2, "E1", 0.5, "drafting"), _annotation(12, 3, "E2", 0.7)]),
        # Bob's answer is the adjudicated ground truth.
        _task(
            2,
            "D2",
            [
                _annotation(21, 2, "E1", 0.4),
                _annotation(22, 3, "E0", 0.2, "needs hands", ground_truth=True),
            ],
        ),
        # Alice skipped: no rating at all.
        _task(3, "D3", [_annotation(31, 2, None, None, cancelled=True)]),
        # Two annotators agree; Bob is unsure.
        _task(
            4,
            "D4",
            [
                _annotation(41, 2, "E2", 0.8, confidence="sure"),
                _annotation(42, 3, "E2", 0.6, confidence="unsure"),
            ],
        ),
        # Both sure.
        _task(
            5,
            "D5",
            [
                _annotation(51, 2, "E0", 0.1, confidence="sure"),
                _annotation(52, 3, "E0", 0.0, confidence="sure"),
            ],
        ),
    ]
)
# Later pull: Alice changed her mind on D1 and Bob deleted his D1 annotation.
SECOND = _document(
    [
        _task(
            1,
            "D1",
            [_annotation(11, 2, "E2", 0.9, "with tools", updated="2026-01-02T09:00:00Z")],
        )
    ]
)


def test_parse_result_reads_the_controls() -> None:
    assert parse_result(_result("E1", 0.55, "because")) == ("E1", 0.55, "because")
    assert parse_result([]) == (None, None, "")
    assert parse_confidence(_result("E1", 0.55, "", "unsure")) == "unsure"
    assert parse_confidence(_result("E1", 0.55)) is None


def test_confidence_is_a_column_and_the_consensus_is_unsure_if_anyone_was() -> None:
    frame = ratings_from_tasks(latest_tasks([FIRST])).set_index(["item_id", "rater"])
    assert frame.loc[("D4", ALICE), "confidence"] == "sure"
    assert frame.loc[("D4", BOB), "confidence"] == "unsure"
    assert frame.loc[("D4", CONSENSUS_RATER), "confidence"] == "unsure"
    assert frame.loc[("D5", CONSENSUS_RATER), "confidence"] == "sure"
    assert pd.isna(frame.loc[("D1", ALICE), "confidence"])  # made before the control existed
    assert pd.isna(frame.loc[("D1", CONSENSUS_RATER), "confidence"])


def test_one_rater_per_annotator_plus_consensus() -> None:
    frame = ratings_from_tasks(latest_tasks([FIRST]), "study").set_index(["item_id", "rater"])
    assert set(frame.index.get_level_values("item_id")) == {"D1", "D2", "D4", "D5"}  # D3 skipped
    assert frame.loc[("D1", ALICE), "label"] == "E1"
    assert frame.loc[("D1", ALICE), "rationale"] == "drafting"
    assert frame.loc[("D1", ALICE), "latency_s"] == pytest.approx(12.5)
    tie = frame.loc[("D1", CONSENSUS_RATER)]
    assert pd.isna(tie["label"]) and tie["consensus"] == "tie"
    assert tie["score"] == pytest.approx(0.6)
    truth = frame.loc[("D2", CONSENSUS_RATER)]
    assert (truth["label"], truth["score"], truth["consensus"]) == ("E0", 0.2, "ground_truth")
    assert truth["rationale"] == "needs hands"
    agreed = frame.loc[("D4", CONSENSUS_RATER)]
    assert (agreed["label"], agreed["consensus"]) == ("E2", "unanimous")
    assert agreed["score"] == pytest.approx(0.7)
    assert set(frame["item_type"]) == {"dwa"}
    assert set(frame["prompt_version"]) == {"blind"}
    assert set(frame["run_id"]) == {"labelstudio:study"}


def test_later_export_replaces_tasks_so_updates_and_deletions_count() -> None:
    frame = ratings_from_tasks(latest_tasks([FIRST, SECOND]))
    d1 = frame[frame["item_id"] == "D1"].set_index("rater")
    assert list(d1.index) == [ALICE, CONSENSUS_RATER]  # Bob's deleted annotation is gone
    assert d1.loc[ALICE, "label"] == "E2" and d1.loc[ALICE, "score"] == pytest.approx(0.9)
    assert d1.loc[CONSENSUS_RATER, "consensus"] == "single"
    assert d1.loc[ALICE, "created_at"] == "2026-01-02T09:00:00Z"
    assert len(frame[frame["item_id"] == "D2"]) == 3  # untouched tasks stay


def test_rows_round_trip_through_the_ratings_store(tmp_path: Path) -> None:
    paths = []
    for name, document in (("export-1.json", FIRST), ("export-2.json", SECOND)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(document), encoding="utf-8")
    frame = ratings_from_exports(paths, "study")
    assert list(frame.columns[: len(RATING_COLUMNS)]) == list(RATING_COLUMNS)
    for suffix in ("csv", "parquet"):
        back = read_ratings(write_ratings(frame, tmp_path / f"ratings.{suffix}"))
        assert len(back) == len(frame) == 2 + 3 + 3 + 3
        assert back["confidence"].tolist()[-3:] == ["sure", "sure", "sure"]
        assert back["score"].tolist() == pytest.approx(frame["score"].tolist(), nan_ok=True)
        assert set(back["status"]) == {"ok"}


def test_unknown_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "export-bad.json"
    bad.write_text(json.dumps([{"id": 1}]), encoding="utf-8")
    with pytest.raises(DataError, match="not a dwa_rater Label Studio export"):
        ratings_from_exports([bad])
    broken = tmp_path / "export-broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="not a readable export"):
        ratings_from_exports([broken])
