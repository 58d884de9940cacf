"""Time windows: parsing, membership, coverage, overlap."""

from __future__ import annotations

import pandas as pd
import pytest

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.periods import (
    parse_period,
    parse_periods,
    postings_in,
    report_windows_if_covered,
)


@pytest.mark.parametrize(
    ("text", "label", "start", "end", "year"),
    [
        ("2022", "2022", "2022-01-01", "2023-01-01", 2022),
        ("2024H1", "2024H1", "2024-01-01", "2024-07-01", 2024),
        ("2024h2", "2024H2", "2024-07-01", "2025-01-01", 2024),
        ("2024Q3", "2024Q3", "2024-07-01", "2024-10-01", 2024),
        ("2024-03", "2024-03", "2024-03-01", "2024-04-01", 2024),
        ("2024-01..2024-06", "2024-01..2024-06", "2024-01-01", "2024-07-01", 2024),
        ("2023H2..2024H1", "2023H2..2024H1", "2023-07-01", "2024-07-01", None),
        (2023, "2023", "2023-01-01", "2024-01-01", 2023),
    ],
)
def test_parse(text: str, label: str, start: str, end: str, year: int | None) -> None:
    period = parse_period(text)
    assert period.label == label
    assert period.start == pd.Timestamp(start)
    assert period.end == pd.Timestamp(end)
    assert period.year == year


@pytest.mark.parametrize("text", ["2024H3", "24H1", "2024-13", "H1", "2024-06..2024-01", ""])
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_period(text)


def test_mask_ends_are_inclusive_then_exclusive() -> None:
    texts = ["2023-12-31 23:59", "2024-01-01 00:00", "2024-06-30 18:00", "2024-07-01 00:00"]
    dates = pd.Series(pd.to_datetime(texts))
    assert parse_period("2024H1").mask(dates).tolist() == [False, True, True, False]


def test_overlap_and_empty() -> None:
    with pytest.raises(ConfigError, match="overlap"):
        parse_periods(["2024", "2024H1"])
    assert [p.label for p in parse_periods(["2022", "2024H1"])] == ["2022", "2024H1"]
    frame = pd.DataFrame({"date": pd.to_datetime(["2023-05-01"])})
    with pytest.raises(DataError, match="no postings in 2024H1"):
        postings_in(frame, parse_period("2024H1"))


def test_report_windows_only_when_covered() -> None:
    full = pd.Series(pd.to_datetime(["2022-01-05", "2022-12-20", "2024-01-03", "2024-06-28"]))
    windows = report_windows_if_covered(full, ("2022", "2024H1"))
    assert windows is not None and [w.label for w in windows] == ["2022", "2024H1"]
    partial = pd.Series(pd.to_datetime(["2022-06-05", "2024-01-03", "2024-06-28"]))
    assert report_windows_if_covered(partial, ("2022", "2024H1")) is None
