"""Choosing contested items for human review (dwa_rater.review.select)."""

from __future__ import annotations

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.cli.review import register
from dwa_rater.errors import ConfigError
from dwa_rater.review.select import (
    SELECTION_COLUMNS,
    SelectionRule,
    draw_audit,
    item_disagreement,
    read_selection,
    reason_counts,
    select_contested,
    select_to_file,
)
from dwa_rater.store import write_ratings


def _rows(item: str, rater: str, *ratings: tuple[str | None, float | None]) -> list[dict]:
    return [
        {
            "item_id": item,
            "item_type": "dwa",
            "item_text": f"Statement {item}",
            "rater": rater,
            "sample": sample,
            "status": "ok",
            "label": label,
            "score": score,
        }
        for sample, (label, score) in enumerate(ratings)
    ]


def _table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows)


@pytest.fixture
def ratings() -> pd.DataFrame:
    rows = []
    # A: E0 vs E2 -> label disagreement (scores close on purpose).
    rows += _rows("A", "r1", ("E0", 0.40)) + _rows("A", "r2", ("E2", 0.50))
    # B: same label, rater means 0.2 and 0.7 -> spread 0.5.
    rows += _rows("B", "r1", ("E1", 0.2)) + _rows("B", "r2", ("E1", 0.7))
    # C: r1 split E1/E2 over its samples, r2 says E1: self-inconsistent, but E1 is a majority
    # label of both raters, so no label disagreement.
    rows += _rows("C", "r1", ("E1", 0.5), ("E2", 0.6)) + _rows("C", "r2", ("E1", 0.55))
    # D: spread exactly at the threshold 0.25 (0.45 - 0.20) -> not contested.
    rows += _rows("D", "r1", ("E1", 0.20)) + _rows("D", "r2", ("E1", 0.45))
    # E: a failed row with another label must not count.
    rows += _rows("E", "r1", ("E1", 0.5)) + _rows("E", "r2", ("E1", 0.5))
    rows.append({**_rows("E", "r2", ("E0", 0.0))[0], "sample": 1, "status": "failed"})
    # Twenty calm items for the audit draw.
    for i in range(20):
        rows += _rows(f"Z{i:02d}", "r1", ("E0", 0.1)) + _rows(f"Z{i:02d}", "r2", ("E0", 0.1))
    return _table(rows)


def test_each_rule_fires_only_where_it_should(ratings: pd.DataFrame) -> None:
    table = item_disagreement(ratings, score_spread=0.25).set_index("item_id")
    assert table.loc["A", "reasons"] == "label_disagreement"
    assert table.loc["B", "reasons"] == "score_spread"
    assert table.loc["B", "score_spread"] == pytest.approx(0.5)
    assert table.loc["C", "reasons"] == "self_inconsistent"
    assert table.loc["D", "reasons"] == ""
    assert table.loc["D", "score_spread"] == pytest.approx(0.25)
    assert table.loc["E", "reasons"] == ""
    assert table.loc["E", "n_ratings"] == 2
    assert table.loc["A", "labels"] == "E0 vs E2"
    # C: rater means 0.55 (r1) and 0.55 (r2).
    assert table.loc["C", "score_min"] == pytest.approx(0.55)


def test_several_reasons_are_all_recorded_and_the_first_is_primary() -> None:
    rows = _rows("X", "r1", ("E0", 0.0), ("E1", 0.1)) + _rows("X", "r2", ("E2", 0.9))
    chosen = select_contested(_table(rows), SelectionRule(audit_fraction=0))
    assert chosen.loc[0, "reason"] == "label_disagreement"
    assert chosen.loc[0, "reasons"] == "label_disagreement|score_spread|self_inconsistent"


def test_selection_adds_a_seeded_audit_sample(ratings: pd.DataFrame) -> None:
    rule = SelectionRule(score_spread=0.25, audit_fraction=0.1, seed=7)
    chosen = select_contested(ratings, rule)
    assert list(chosen.columns) == list(SELECTION_COLUMNS)
    assert list(chosen["item_id"][:3]) == ["A", "B", "C"]
    audit = chosen[chosen["reason"] == "audit"]
    # 22 uncontested items (D, E and 20 calm ones): round(0.1 * 22) = 2.
    assert len(audit) == 2
    assert set(audit["item_id"]) <= {"D", "E"} | {f"Z{i:02d}" for i in range(20)}
    assert reason_counts(chosen) == {
        "label_disagreement": 1,
        "score_spread": 1,
        "self_inconsistent": 1,
        "audit": 2,
    }
    again = select_contested(ratings.sample(frac=1, random_state=3), rule)
    assert again["item_id"].tolist() == chosen["item_id"].tolist()
    draws = {tuple(select_contested(ratings, SelectionRule(seed=s))["item_id"]) for s in range(5)}
    assert len(draws) > 1


def test_audit_draw_size_and_cap() -> None:
    ids = [f"i{k}" for k in range(10)]
    assert draw_audit(ids, 0.25, None, 0) == sorted(draw_audit(ids, 0.25, None, 0))
    assert len(draw_audit(ids, 0.25, None, 0)) == 2  # round(2.5) = 2 (half to even)
    assert len(draw_audit(ids, 0.0, 4, 0)) == 4
    assert draw_audit(ids, 0.0, 50, 0) == ids
    assert draw_audit([], 0.5, None, 0) == []


def test_rater_filter_and_validation(ratings: pd.DataFrame) -> None:
    only_r1 = select_contested(ratings, SelectionRule(raters=("r1",), audit_fraction=0))
    assert only_r1["item_id"].tolist() == ["C"]  # one rater: only self-inconsistency remains
    with pytest.raises(ConfigError, match="nobody"):
        select_contested(ratings, SelectionRule(raters=("nobody",)))
    with pytest.raises(ConfigError):
        SelectionRule(score_spread=1.5)
    with pytest.raises(ConfigError):
        SelectionRule(audit_fraction=-0.1)


def test_rater_with_a_tied_majority_disagrees_only_without_overlap() -> None:
    tied = _rows("T", "r1", ("E0", 0.1), ("E2", 0.8))
    agree = _table(tied + _rows("T", "r2", ("E2", 0.8), ("E2", 0.8)))
    apart = _table(tied + _rows("T", "r2", ("E1", 0.45), ("E1", 0.45)))
    assert item_disagreement(agree).loc[0, "label_disagreement"] == False  # noqa: E712
    assert item_disagreement(apart).loc[0, "label_disagreement"] == True  # noqa: E712


def test_select_command_writes_the_table(ratings: pd.DataFrame, tmp_path) -> None:
    source = write_ratings(ratings, tmp_path / "ratings.csv")
    out = tmp_path / "review" / "selection.csv"
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app, ["review", "select", str(source), "--out", str(out), "--audit-n", "3", "--seed", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 6 items" in result.output
    table = read_selection(out)
    assert table["reason"].tolist().count("audit") == 3
    written = select_to_file([source], tmp_path / "again.csv", SelectionRule(audit_n=3, seed=1))
    assert written["item_id"].tolist() == table["item_id"].tolist()
