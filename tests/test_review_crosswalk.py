"""Crosswalk review without a server: the screen, the task payloads, decisions and overrides."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import apply_overrides
from dwa_rater.review.crosswalk_review import (
    NONE_CHOICE,
    crosswalk_decisions,
    crosswalk_label_config,
    crosswalk_tasks,
    overrides_from_decisions,
)

EVIL = "<script>alert(1)</script> & co"


def _crosswalk() -> pd.DataFrame:
    rows = []
    for category, name, codes in (
        ("c1", "会计", ["13-2011.00", "43-3031.00", "13-2082.00"]),
        ("c2", EVIL, ["15-1252.00", "15-1251.00", "15-2051.00"]),
    ):
        for rank, code in enumerate(codes, start=1):
            rows.append(
                {
                    "category": category,
                    "category_name": name,
                    "rank": rank,
                    "onetsoc_code": code,
                    "onet_title": f"title {code}",
                    "similarity": 0.9 - rank / 100,
                    "weight": [0.5, 0.3, 0.2][rank - 1],
                    "method": "embedding",
                }
            )
    return pd.DataFrame(rows)


def _annotation(ident: int, user: int, ticks: list[str], typed: str = "", truth: bool = False):
    result = [{"from_name": "match", "to_name": "category", "type": "choices",
               "value": {"choices": ticks}}]  # fmt: skip
    if typed:
        result.append({"from_name": "other", "to_name": "category", "type": "textarea",
                       "value": {"text": [typed]}})  # fmt: skip
    return {"id": ident, "completed_by": user, "result": result, "ground_truth": truth}


def test_config_shows_the_candidates_with_hotkeys_and_a_none_choice() -> None:
    root = ET.fromstring(crosswalk_label_config(3))
    choices = root.find("Choices")
    assert choices is not None and choices.get("choice") == "multiple"
    values = [(c.get("value"), c.get("hotkey")) for c in choices]
    assert values == [("1", "1"), ("2", "2"), ("3", "3"), (NONE_CHOICE, "0")]
    with pytest.raises(DataError, match="1 to 9"):
        crosswalk_label_config(12)


def test_tasks_list_candidates_in_rank_order_and_escape_names() -> None:
    table = _crosswalk().sample(frac=1.0, random_state=3)  # order must not matter
    tasks, top_k = crosswalk_tasks(table, {"13-2011.00": "Examine accounts <and> records."})
    assert top_k == 3 and [t["data"]["ext_id"] for t in tasks] == ["crosswalk:c1", "crosswalk:c2"]
    first = tasks[0]["data"]
    assert first["codes"] == ["13-2011.00", "43-3031.00", "13-2082.00"]
    assert "Examine accounts &lt;and&gt; records." in first["candidates_html"]
    evil = tasks[1]["data"]["candidates_html"] + tasks[1]["data"]["category_text"]
    assert "<script>" not in tasks[1]["data"]["candidates_html"]
    assert tasks[1]["data"]["category_name"] == EVIL and "title 15-1252.00" in evil
    decided = _crosswalk().assign(method="override")
    with pytest.raises(DataError, match="no proposed rows"):
        crosswalk_tasks(decided)


def test_majority_and_ground_truth_decide_with_equal_weights() -> None:
    tasks, _ = crosswalk_tasks(_crosswalk())
    c1, c2 = (dict(t) for t in tasks)
    c1["annotations"] = [
        _annotation(1, 7, ["1", "2"]),
        _annotation(2, 8, ["1"], typed="13-2051.00, 13-2011.00"),
        _annotation(3, 9, ["3"]),
    ]
    c2["annotations"] = [
        _annotation(4, 7, [NONE_CHOICE]),
        _annotation(5, 8, ["2"], truth=True),
    ]
    decisions = crosswalk_decisions([c1, c2], {"7": "ann-a", "8": "ann-b"})
    assert decisions["annotator"].tolist()[:3] == ["ann-a", "ann-b", "unknown-9"]
    assert decisions.loc[1, "other_codes"] == "13-2051.00;13-2011.00"
    overrides = overrides_from_decisions(decisions)
    c1_rows = overrides[overrides["category"] == "c1"].set_index("onetsoc_code")
    # 13-2011.00 ticked by a and b (typed again by b: counted once), 2 of 3 annotators
    assert set(c1_rows.index) == {"13-2011.00"} and c1_rows.loc["13-2011.00", "votes"] == 2
    assert c1_rows["weight"].tolist() == [1.0]
    c2_rows = overrides[overrides["category"] == "c2"]
    assert c2_rows["onetsoc_code"].tolist() == ["15-1251.00"]
    assert c2_rows["decided_by"].tolist() == ["ground_truth"]

    # two annotators who both say "none": one weight-0 row, which build reads as "no match"
    c2["annotations"] = [_annotation(6, 7, [NONE_CHOICE]), _annotation(7, 8, [NONE_CHOICE])]
    none = overrides_from_decisions(crosswalk_decisions([c2], {}))
    assert none[["onetsoc_code", "weight", "votes"]].values.tolist() == [["", 0.0, 2]]
    applied = apply_overrides(_crosswalk().assign(taxonomy="zhaopin"), none)
    assert set(applied["category"]) == {"c1"}  # c2 decided: no O*NET occupation

    # a split vote (1 of 2 each way) keeps every code with half the votes
    c1["annotations"] = [_annotation(8, 7, ["1"]), _annotation(9, 8, ["2"])]
    split = overrides_from_decisions(crosswalk_decisions([c1], {}))
    assert split["weight"].tolist() == [0.5, 0.5]


def test_bad_answers_are_refused_with_the_category() -> None:
    tasks, _ = crosswalk_tasks(_crosswalk())
    task = dict(tasks[0])
    task["annotations"] = [_annotation(1, 7, ["1"], typed="accountant")]
    with pytest.raises(DataError, match="c1: annotation 1 types 'accountant'"):
        crosswalk_decisions([task], {})
    task["annotations"] = [_annotation(2, 7, ["5"])]
    with pytest.raises(DataError, match="ticks candidate 5, but the task has 3"):
        crosswalk_decisions([task], {})
