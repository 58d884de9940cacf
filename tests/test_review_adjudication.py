"""Disputed items, adjudication merge and task-change records (no server).

dwa_rater.review.adjudication and the pure helpers of dwa_rater.review.studio.push.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dwa_rater.review.adjudication import (
    ANNOTATOR_MODEL,
    annotator_ratings,
    apply_adjudication,
    disputed_items,
)
from dwa_rater.review.convert import CONSENSUS_RATER


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["D1", "D1", "D2", "D2", "D3"],
            "item_text": ["Do 1.", "Do 1.", "Do 2.", "Do 2.", "Do 3."],
            "annotator": ["a", "b", "a", "b", "a"],
            "label": ["E0", "E1", "E2", "E2", "E1"],
            "score": [0.1, 0.6, 0.7, 0.8, 0.5],
            "confidence": ["sure", "unsure", "sure", None, "sure"],
            "comment": ["needs hands", "", "", "", ""],
        }
    )


def test_only_items_with_two_labels_are_disputed() -> None:
    disputed = disputed_items(_rows())
    assert disputed["item_id"].tolist() == ["D1"]
    assert disputed.loc[0, "labels"] == "E0 vs E1" and disputed.loc[0, "n_raters"] == 2
    shown = annotator_ratings(_rows()[_rows()["item_id"] == "D1"])
    assert set(shown["model"]) == {ANNOTATOR_MODEL}
    assert shown["rationale"].tolist() == ["[sure] needs hands", "[unsure]"]


def test_adjudicated_labels_replace_the_consensus() -> None:
    round_ratings = pd.DataFrame(
        {
            "item_id": ["D1", "D1", "D1", "D2"],
            "rater": ["a", "b", CONSENSUS_RATER, CONSENSUS_RATER],
            "label": ["E0", "E1", None, "E2"],
            "score": [0.1, 0.6, 0.35, 0.75],
            "rationale": [None, None, None, None],
            "consensus": [None, None, "tie", "unanimous"],
            "confidence": [None, None, "unsure", None],
        }
    )
    adjudicated = pd.DataFrame(
        {
            "item_id": ["D1", "D1"],
            "rater": ["judge", CONSENSUS_RATER],
            "label": ["E1", "E1"],
            "score": [0.55, 0.55],
            "rationale": ["drafting", "drafting"],
            "confidence": ["sure", "sure"],
        }
    )
    merged = apply_adjudication(round_ratings, adjudicated).set_index(["item_id", "rater"])
    human = merged.loc[("D1", CONSENSUS_RATER)]
    assert (human["label"], human["score"], human["consensus"]) == ("E1", 0.55, "adjudicated")
    assert human["rationale"] == "drafting" and human["confidence"] == "sure"
    assert merged.loc[("D2", CONSENSUS_RATER), "consensus"] == "unanimous"
    assert merged.loc[("D1", "a"), "label"] == "E0"  # annotators' own rows stay
    assert apply_adjudication(round_ratings, adjudicated.iloc[0:0]).equals(round_ratings)


def test_task_changes_are_detected_and_recorded() -> None:
    from dwa_rater.review.studio.push import changed_keys, revised_data

    old = {"ext_id": "dwa:D1", "statement": "Old.", "guidelines": "g1", "revisions": [{"x": 1}]}
    new = {"ext_id": "dwa:D1", "statement": "New.", "guidelines": "g1", "lang": "zh"}
    changed = changed_keys(old, new)
    assert changed == ("lang", "statement")  # revisions are bookkeeping, never compared
    assert changed_keys(new, dict(new)) == ()
    moment = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    data = revised_data(old, new, changed, moment)
    assert data["statement"] == "New."
    assert data["revisions"] == [
        {"x": 1},
        {"at": "2026-11-30T12:00:00Z", "changed": ["lang", "statement"]},
    ]
    assert changed_keys(data, new) == ()
