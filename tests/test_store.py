"""The append-only journal survives torn writes; ratings read back the same as CSV and Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.errors import DataError
from dwa_rater.schemas import RATING_COLUMNS, RatingRecord
from dwa_rater.store import RatingsJournal, read_ratings, write_ratings


def record(item_id: str, rationale: str = "Text work.") -> RatingRecord:
    return RatingRecord(
        item_id=item_id,
        item_type="dwa",
        item_text='Write, "quoted"\nreports',
        rater="r",
        model="m",
        label="E1",
        score=0.75,
        rationale=rationale,
        cache_key=f"k{item_id}",
    )


def test_torn_last_record_is_dropped_and_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    journal = RatingsJournal(path)
    journal.append([record("1"), record("2", "multi\nline, with comma")])
    good = path.read_bytes()
    with open(path, "ab") as handle:  # a write cut short by SIGKILL
        handle.write(b'3,dwa,"Write, \\"quo')
    frame = read_ratings(path)
    assert list(frame["item_id"]) == ["1", "2"]
    assert frame.loc[1, "rationale"] == "multi\nline, with comma"
    RatingsJournal(path).append([record("3")])
    assert path.read_bytes().startswith(good)
    assert list(read_ratings(path)["item_id"]) == ["1", "2", "3"]


def test_csv_and_parquet_read_back_identically(tmp_path: Path) -> None:
    journal = RatingsJournal(tmp_path / "r.csv")
    journal.append([record(str(i)) for i in range(5)])
    frame = read_ratings(tmp_path / "r.csv")
    write_ratings(frame, tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(frame, read_ratings(tmp_path / "r.parquet"))
    assert list(frame.columns) == list(RATING_COLUMNS)
    assert frame["score"].dtype == "Float64" and frame["cached"].dtype == bool


def test_minimal_human_table_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "human.csv"
    pd.DataFrame({"item_id": ["a"], "rater": ["human"], "label": ["E0"], "note": ["x"]}).to_csv(
        path, index=False
    )
    frame = read_ratings(path)
    assert frame.loc[0, "status"] == "ok" and pd.isna(frame.loc[0, "score"])
    assert frame.columns[-1] == "note"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"item_id,label\na,E0\n", "lacks column"),
        (b"item_id,rater\na,x\n", "neither"),
        ("item_id,rater,label\nä,x,E0\n".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_tables_give_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_ratings(path)


def test_journal_refuses_a_foreign_file(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="header differs"):
        RatingsJournal(path)
    assert path.read_text(encoding="utf-8") == "a,b\n1,2\n"


def test_quote_counting_finds_the_same_complete_part_as_parsing(tmp_path: Path) -> None:
    """The fast torn-record check agrees with parsing every record, at every cut of a journal
    whose fields hold quotes, commas and newlines."""
    from dwa_rater.store import _good_prefix_length, _slow_good_prefix_length

    path = tmp_path / "r.csv"
    journal = RatingsJournal(path)
    journal.append(
        [
            record("1", 'say "hi",\nthen go'),
            record("2", "plain"),
            record("3", '""\n\n"'),
            record("4", "multi\nline, with comma"),
        ]
    )
    raw = path.read_bytes()
    for cut in range(len(raw) + 1):
        torn = raw[:cut]
        try:
            torn.decode("utf-8")
        except UnicodeDecodeError:
            continue
        assert _good_prefix_length(torn) == _slow_good_prefix_length(torn), cut
