"""Which statements a run rates (dwa_rater.items), on the tiny O*NET fixture and a user file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwa_rater.catalog import dwa_items, load_onet, task_items
from dwa_rater.errors import ConfigError
from dwa_rater.items import items_for_run, parse_item_ids

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "onet_mini"


def test_item_ids_are_split_on_commas() -> None:
    assert parse_item_ids(None) is None and parse_item_ids("") is None
    assert parse_item_ids(" a, ,b,") == ["a", "b"]
    assert parse_item_ids(",") == []  # names none: nothing is selected


def test_items_come_from_onet_or_a_file_then_are_narrowed() -> None:
    tables = load_onet(FIXTURE)
    every_dwa = dwa_items(tables)
    assert items_for_run(onet_source=FIXTURE) == every_dwa
    assert items_for_run(onet_source=FIXTURE, item_type="task") == task_items(tables)
    wanted = [every_dwa[2].item_id, every_dwa[0].item_id]
    assert [i.item_id for i in items_for_run(onet_source=FIXTURE, ids=wanted)] == wanted
    assert items_for_run(onet_source=FIXTURE, limit=2) == every_dwa[:2]
    sampled = items_for_run(onet_source=FIXTURE, sample=3, seed=4)
    assert len(sampled) == 3 and sampled == items_for_run(onet_source=FIXTURE, sample=3, seed=4)
    assert items_for_run(onet_source=FIXTURE, ids=[]) == []


def test_a_user_file_needs_no_onet_release(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text\na,Write reports.\nb,Lift boxes.\n", encoding="utf-8")
    items = items_for_run(items_file=path, item_type="task", limit=1)
    assert [(i.item_id, i.item_type) for i in items] == [("a", "custom")]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"onet_source": FIXTURE, "item_type": "tasks"}, "dwa or task"), ({}, "nothing to rate")],
)
def test_what_cannot_be_rated_is_said(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        items_for_run(**options)  # type: ignore[arg-type]
