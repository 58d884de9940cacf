"""Batch input lines: one request of K units per line, and how lines are split into files.

A line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` where
``body`` is exactly what the live path sends (:func:`dwa_rater.rating.request_body`), in the
rater's structured-output mode.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from dwa_rater.rating import CHARS_PER_TOKEN, RaterPlan, Unit, request_body

#: The only endpoint the rater's batches use.
ENDPOINT: Final = "/v1/chat/completions"


def custom_id_for(keys: Sequence[str]) -> str:
    """The request's id: its unit's cache key, or for several units the SHA-256 of their keys.

    A function of the units alone, so the same units always get the same id and a request
    resubmitted in a later batch keeps it.
    """
    if len(keys) == 1:
        return keys[0]
    return hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()


def estimate_request_tokens(body: dict[str, Any]) -> int:
    """Tokens a request may use, estimated as the live path does before sending it.

    Prompt characters (system and user message) / :data:`CHARS_PER_TOKEN`, plus the output
    budget (``max_tokens``, or ``max_completion_tokens`` of reasoning models).
    """
    characters = sum(len(str(m.get("content") or "")) for m in body["messages"])
    budget = body.get("max_tokens") or body.get("max_completion_tokens") or 0
    return int(characters / CHARS_PER_TOKEN) + int(budget)


@dataclass(frozen=True)
class RequestLine:
    """One serialised request with its size and estimated tokens."""

    custom_id: str
    text: str
    tokens: int

    @property
    def bytes(self) -> int:
        return len(self.text.encode("utf-8")) + 1  # and its newline


def request_line(plan: RaterPlan, units: Sequence[Unit]) -> RequestLine:
    body = request_body(plan, units)
    custom_id = custom_id_for([u.key for u in units])
    line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    return RequestLine(custom_id=custom_id, text=text, tokens=estimate_request_tokens(body))


def fitting_prefix(
    lines: Sequence[RequestLine],
    *,
    max_requests: int,
    max_bytes: int,
    max_tokens: int | None,
) -> int:
    """How many of the first ``lines`` fit in one file under all three limits (0 if none)."""
    count = size = tokens = 0
    for line in lines:
        if count + 1 > max_requests or size + line.bytes > max_bytes:
            break
        if max_tokens is not None and tokens + line.tokens > max_tokens:
            break
        count += 1
        size += line.bytes
        tokens += line.tokens
    return count
