"""Ratings on disk: an append-only CSV journal that survives SIGKILL, readable as CSV or Parquet.

A run appends each finished rating as one complete CSV record written with a single ``write``
call on a file opened with ``O_APPEND``. A process killed mid-run therefore leaves at most one
torn record at the very end, which :func:`read_ratings` drops (and :class:`RatingsJournal`
trims away before appending again). Nothing is ever rewritten in place.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from dwa_rater.errors import DataError
from dwa_rater.schemas import RATING_COLUMNS, REQUIRED_RATING_COLUMNS, RatingRecord

_INT_COLUMNS = (
    "max_tokens",
    "seed",
    "batch_size",
    "sample",
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
)
_FLOAT_COLUMNS = (
    "temperature",
    "top_p",
    "score",
    "cost_usd",
    "latency_s",
    "p_E0",
    "p_E1",
    "p_E2",
    "max_similarity",
)
_STRING_COLUMNS = tuple(
    c for c in RATING_COLUMNS if c not in _INT_COLUMNS + _FLOAT_COLUMNS + ("cached",)
)


def _record_to_csv_line(record: RatingRecord, columns: Sequence[str] = RATING_COLUMNS) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    row = record.model_dump()
    writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return buffer.getvalue()


def _slow_good_prefix_length(raw: bytes) -> int:
    """Longest prefix ending at a newline that parses as CSV records of one width."""
    end = len(raw) if raw.endswith(b"\n") else raw.rfind(b"\n") + 1
    while end > 0:
        try:
            text = raw[:end].decode("utf-8")
            rows = list(csv.reader(io.StringIO(text)))
            if rows and all(len(r) == len(rows[0]) for r in rows):
                return end
        except (UnicodeDecodeError, csv.Error):
            pass
        end = raw.rfind(b"\n", 0, end - 1) + 1
    return 0


def _record_width(record: bytes) -> int | None:
    """Number of fields of one CSV record, or None when it does not parse as exactly one."""
    try:
        rows = list(csv.reader(io.StringIO(record.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        return None
    return len(rows[0]) if len(rows) == 1 else None


def _last_boundary(raw: bytes, end: int, quotes: int) -> int:
    """Position of the last record-ending newline before ``end`` (-1 when none), given the
    number of quote characters in ``raw[:end]``."""
    while True:
        newline = raw.rfind(b"\n", 0, end)
        if newline < 0:
            return -1
        quotes -= raw.count(b'"', newline, end)
        if quotes % 2 == 0:
            return newline
        end = newline


def _good_prefix_length(raw: bytes) -> int:
    """Length in bytes of the part of a journal made of complete CSV records.

    A newline ends a record exactly when an even number of quote characters precedes it (a
    quoted field may hold newlines; an escaped quote is two quotes). So the complete part ends
    at the last such newline, found by counting quotes at C speed rather than parsing every
    record; the header and the last record are then parsed to check they have the same width.
    Anything unusual falls back to parsing the whole prefix.
    """
    if not raw:
        return 0
    quotes = raw.count(b'"')
    last_end = _last_boundary(raw, len(raw), quotes)
    if last_end < 0:
        return 0
    good = last_end + 1
    header_end = raw.find(b"\n") + 1
    width = _record_width(raw[:header_end])
    if good == header_end:
        return good if width is not None else 0
    before = quotes - raw.count(b'"', last_end)
    last_start = _last_boundary(raw, last_end, before) + 1
    if width is not None and _record_width(raw[last_start:good]) == width:
        return good
    return _slow_good_prefix_length(raw)


class RatingsJournal:
    """Append-only CSV journal of rating records (the live store of a rating run)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: tuple[str, ...] = RATING_COLUMNS
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 0:
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                # Only a torn last record (after the last newline) may hold a cut character.
                if exc.start < raw.rfind(b"\n"):
                    raise
            good = _good_prefix_length(raw)
            if good < len(raw):
                # A torn record from a killed run: cut it so the next append starts clean.
                with open(path, "r+b") as handle:
                    handle.truncate(good)
            header = raw[: raw.find(b"\n")].decode("utf-8", errors="replace").split(",")
            if tuple(header) == RATING_COLUMNS[: len(header)] and "created_at" in header:
                # A journal of an earlier version (fewer trailing columns): append in its shape.
                self.columns = tuple(header)
            else:
                raise DataError(
                    f"{path}: not a ratings journal of this version (header differs); "
                    "write to a new file"
                )
        else:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerow(RATING_COLUMNS)

    def append(self, records: Iterable[RatingRecord]) -> int:
        """Append records with one ``write`` call; returns how many were written.

        Once ``write`` returns, the bytes are in the kernel's page cache, so a killed process
        (even SIGKILL) cannot lose them; :meth:`sync` (called at the end of a run) also makes
        them survive a crash of the machine. Not fsyncing each request keeps the event loop
        from stalling on the disk.
        """
        lines = [_record_to_csv_line(r, self.columns) for r in records]
        if not lines:
            return 0
        data = "".join(lines).encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
        finally:
            os.close(fd)
        return len(lines)

    def sync(self) -> None:
        """Flush the journal to stable storage."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _coerce_types(frame: pd.DataFrame) -> pd.DataFrame:
    for column in RATING_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    for column in _INT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
    for column in _FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Float64")
    cached = frame["cached"].astype("string").str.lower()
    frame["cached"] = cached.isin(["true", "1", "yes"])
    for column in _STRING_COLUMNS:
        values = frame[column].astype("string")
        frame[column] = values.mask(values == "", pd.NA)
    frame.loc[frame["status"].isna(), "status"] = "ok"
    extra = [c for c in frame.columns if c not in RATING_COLUMNS]
    return frame[list(RATING_COLUMNS) + extra]


def read_ratings(path: Path | str) -> pd.DataFrame:
    """Read a ratings table (CSV, CSV journal, or Parquet) into the canonical column set.

    Tables written by others (human annotations, published labels) need only ``item_id`` and
    ``rater`` plus ``label`` and/or ``score``; missing columns are added as nulls and extra
    columns are kept after the canonical ones.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: ratings file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
        elif suffix in {".csv", ".txt", ""}:
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                # Only a torn last record (after the last newline) may hold a cut character.
                if exc.start < raw.rfind(b"\n"):
                    raise
            good = _good_prefix_length(raw)
            frame = pd.read_csv(
                io.BytesIO(raw[:good]), dtype=str, keep_default_na=False, encoding="utf-8"
            )
        else:
            raise DataError(f"{path}: unknown ratings format {suffix!r} (use .csv or .parquet)")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read ratings ({exc})") from exc
    missing = [c for c in REQUIRED_RATING_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: ratings table lacks column(s) {', '.join(missing)}")
    if "label" not in frame.columns and "score" not in frame.columns:
        raise DataError(f"{path}: ratings table has neither a 'label' nor a 'score' column")
    return _coerce_types(frame.copy())


def read_many_ratings(paths: Sequence[Path | str]) -> pd.DataFrame:
    """Read and concatenate several ratings tables."""
    if not paths:
        raise DataError("no ratings file given")
    frames = [read_ratings(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def write_ratings(frame: pd.DataFrame, path: Path | str) -> Path:
    """Write a ratings table as CSV or Parquet (by suffix), atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(temporary, index=False)
    else:
        frame.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, path)
    return path


def ok_ratings(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the successful ratings (drops rows whose status is ``failed``)."""
    return frame[frame["status"].fillna("ok") == "ok"]
