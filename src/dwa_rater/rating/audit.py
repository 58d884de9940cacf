"""The audit log: every raw completion of a run, append-only, beside the ratings.

One JSON line per HTTP answer (or failed attempt) of a chat request, written with a single
``write`` on a file opened with ``O_APPEND`` (like the ratings journal: a killed run leaves at
most one torn line, which readers skip). A line holds the run id, rater, model, endpoint, mode,
the SHA-256 of the request body, the cache keys and item ids of the request (in the order of
its local ids ``1..k``), the HTTP status, the response text, the usage, the latency and the
error, if any. It never holds a secret: the key travels only in a request header, and request
bodies are kept as a hash.

``dwa-rater ratings raw ITEM_ID`` reads it back.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwa_rater.rating.plan import RaterPlan, Unit
from dwa_rater.rating.sink import now_iso


def raw_log_path(out: Path) -> Path:
    """Where the raw completions of ratings file ``out`` are kept: ``<stem>.raw.jsonl``."""
    stem = out.name[: -len(".journal.csv")] if out.name.endswith(".journal.csv") else out.stem
    return out.with_name(f"{stem}.raw.jsonl")


@dataclass
class RawLog:
    """An append-only JSONL file of raw completions; open for the length of a run."""

    path: Path
    run_id: str

    def __post_init__(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(
        self,
        plan: RaterPlan,
        units: Sequence[Unit],
        *,
        request_sha256: str,
        attempt: int,
        status: int,
        response_text: str | None,
        usage: dict[str, Any] | None,
        latency_s: float | None,
        error: str | None = None,
    ) -> None:
        """Append one completion (or failed attempt) of a request of ``units``."""
        if self._fd is None:
            return
        record = {
            "run_id": self.run_id,
            "created_at": now_iso(),
            "rater": plan.spec.name,
            "model": plan.key_parts.model,
            "endpoint": plan.spec.endpoint_identity,
            "structured_output": plan.request.mode,
            "request_sha256": request_sha256,
            "attempt": attempt,
            "cache_keys": [u.key for u in units],
            "item_ids": [u.item.item_id for u in units],
            "samples": [u.sample for u in units],
            "status": status,
            "latency_s": None if latency_s is None else round(latency_s, 4),
            "usage": usage,
            "error": error,
            "response_text": response_text,
        }
        data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        written = 0
        while written < len(data):
            written += os.write(self._fd, data[written:])

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_raw_log(path: Path) -> Iterator[dict[str, Any]]:
    """Every complete line of a raw log (a torn last line is skipped)."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if not line.endswith("\n"):
                break
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                yield record


def raw_completions_for(
    path: Path, item_id: str, cache_keys: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """The raw completions of requests that held ``item_id`` (or one of ``cache_keys``)."""
    keys = set(cache_keys or ())
    return [
        record
        for record in read_raw_log(path)
        if item_id in record.get("item_ids", ()) or keys & set(record.get("cache_keys", ()))
    ]
