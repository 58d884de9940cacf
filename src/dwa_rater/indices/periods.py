"""Time windows for comparing postings: calendar years, halves, quarters, months and ranges.

The 2024 PKU NSD / Zhaopin report compares the first half of 2024 with the first half of 2023
(AI talent demand) and with the whole of 2022 (posting shares, education and experience
requirements). A :class:`Period` names such a window; :func:`parse_period` reads it from text:

==================  =========================================
text                window (start inclusive, end exclusive)
==================  =========================================
``2022``            2022-01-01 .. 2023-01-01
``2024H1``          2024-01-01 .. 2024-07-01 (``H2``: July-December)
``2024Q3``          2024-07-01 .. 2024-10-01
``2024-03``         2024-03-01 .. 2024-04-01
``2024-01..2024-06`` 2024-01-01 .. 2024-07-01 (any two windows: start of the first to end of
                    the second)
==================  =========================================

Dates are compared as calendar dates (a time part is ignored by the window ends, which are
midnight).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError

_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})\s*[Hh]([12])$")
_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")

#: The report's windows: AI talent 2024H1 vs 2023H1; shares and requirements 2024H1 vs 2022.
REPORT_AI_TALENT_WINDOWS: tuple[str, str] = ("2023H1", "2024H1")
REPORT_MARKET_WINDOWS: tuple[str, str] = ("2022", "2024H1")


@dataclass(frozen=True)
class Period:
    """A time window ``[start, end)`` with the label it was written as (e.g. ``2024H1``)."""

    label: str
    start: pd.Timestamp
    end: pd.Timestamp

    def mask(self, dates: pd.Series) -> np.ndarray:
        """Boolean array: which of ``dates`` fall inside the window."""
        values = pd.to_datetime(dates)
        return np.asarray((values >= self.start) & (values < self.end), dtype=bool)

    @property
    def year(self) -> int | None:
        """The calendar year when the window lies within one year, else None."""
        last = self.end - pd.Timedelta(days=1)
        return int(self.start.year) if self.start.year == last.year else None

    def covered_by(self, dates: pd.Series) -> bool:
        """True when postings exist in the window's first and last month (the data cover it)."""
        values = pd.to_datetime(dates)
        if values.empty:
            return False
        last = self.end - pd.Timedelta(days=1)
        first_month = (values.dt.year == self.start.year) & (values.dt.month == self.start.month)
        last_month = (values.dt.year == last.year) & (values.dt.month == last.month)
        return bool(first_month.any() and last_month.any())

    def __str__(self) -> str:
        return self.label


def _single(text: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    if match := _YEAR.match(text):
        year = int(match.group(1))
        return pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    if match := _HALF.match(text):
        year, half = int(match.group(1)), int(match.group(2))
        start = pd.Timestamp(year, 1 + 6 * (half - 1), 1)
        return start, start + pd.DateOffset(months=6)
    if match := _QUARTER.match(text):
        year, quarter = int(match.group(1)), int(match.group(2))
        start = pd.Timestamp(year, 1 + 3 * (quarter - 1), 1)
        return start, start + pd.DateOffset(months=3)
    if match := _MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ConfigError(f"period {text!r}: month {month} is not 1-12")
        start = pd.Timestamp(year, month, 1)
        return start, start + pd.DateOffset(months=1)
    raise ConfigError(
        f"period {text!r} not understood: use e.g. 2022, 2024H1, 2024Q2, 2024-03 or "
        "2024-01..2024-06"
    )


def parse_period(text: str | int | Period) -> Period:
    """A :class:`Period` from ``2022``, ``2024H1``, ``2024Q2``, ``2024-03`` or ``A..B``."""
    if isinstance(text, Period):
        return text
    label = str(text).strip()
    if ".." in label:
        first, _, second = label.partition("..")
        start, _ = _single(first.strip())
        _, end = _single(second.strip())
        if end <= start:
            raise ConfigError(f"period {label!r}: the range ends before it starts")
        label = f"{first.strip().upper()}..{second.strip().upper()}"
        return Period(label, pd.Timestamp(start), pd.Timestamp(end))
    start, end = _single(label)
    return Period(label.upper().replace(" ", ""), pd.Timestamp(start), pd.Timestamp(end))


def parse_periods(texts: Sequence[str]) -> list[Period]:
    """Several periods (e.g. from repeated ``--period`` options); they must not overlap."""
    periods = [parse_period(text) for text in texts]
    ordered = sorted(periods, key=lambda p: p.start)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise ConfigError(f"periods {before} and {after} overlap")
    return periods


def postings_in(postings: pd.DataFrame, period: Period) -> pd.DataFrame:
    """The postings dated inside ``period``; a clear error when there are none."""
    rows = postings[period.mask(postings["date"])]
    if rows.empty:
        dates = pd.to_datetime(postings["date"])
        span = f"{dates.min():%Y-%m-%d} to {dates.max():%Y-%m-%d}" if len(dates) else "none"
        raise DataError(f"no postings in {period} (postings dated {span})")
    return rows


def report_windows_if_covered(
    dates: pd.Series, windows: tuple[str, str]
) -> tuple[Period, Period] | None:
    """The report's two windows when the data cover both of them, else None."""
    first, second = parse_period(windows[0]), parse_period(windows[1])
    if first.covered_by(dates) and second.covered_by(dates):
        return first, second
    return None
