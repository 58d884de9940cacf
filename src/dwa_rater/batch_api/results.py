"""Reading a finished batch: output and error lines, and the rating answer inside a line.

Output and error files hold one JSON object per line::

    {"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}

where ``body`` is a chat completion when ``status_code`` is 200 and an ``{"error": ...}`` object
otherwise; requests that never ran (the batch expired or was cancelled first) have
``"response": null`` and ``"error": {"code": "batch_expired" | "batch_cancelled", "message"}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dwa_rater.prompts import PromptOutput
from dwa_rater.rating.requests import Answer
from dwa_rater.rating.requests import read_answer as read_completion

#: Error codes of requests the batch never executed.
NOT_RUN_CODES = frozenset({"batch_expired", "batch_cancelled"})


@dataclass(frozen=True)
class LineResult:
    """What came back for one ``custom_id``."""

    custom_id: str
    status_code: int | None
    body: dict[str, Any] | None
    error_code: str | None
    message: str

    @property
    def answered(self) -> bool:
        return self.status_code == 200 and isinstance(self.body, dict)

    @property
    def not_run(self) -> bool:
        return self.error_code in NOT_RUN_CODES


def _result_of(record: dict[str, Any]) -> LineResult | None:
    custom_id = record.get("custom_id")
    if not isinstance(custom_id, str):
        return None
    response = record.get("response") if isinstance(record.get("response"), dict) else None
    error = record.get("error") if isinstance(record.get("error"), dict) else None
    status = response.get("status_code") if response else None
    body = response.get("body") if response else None
    code: str | None = None
    message = ""
    if error is not None:
        code = str(error.get("code") or "error")
        message = str(error.get("message") or "")
    elif isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or body["error"].get("type") or "error")
        message = str(body["error"].get("message") or "")
    return LineResult(
        custom_id=custom_id,
        status_code=int(status) if isinstance(status, int) else None,
        body=body if isinstance(body, dict) else None,
        error_code=code,
        message=message,
    )


def parse_result_lines(*texts: str) -> dict[str, LineResult]:
    """Results by ``custom_id`` from output and error files; an answer wins over an error."""
    results: dict[str, LineResult] = {}
    for text in texts:
        for raw in text.splitlines():
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn line: its request counts as not returned
            result = _result_of(record) if isinstance(record, dict) else None
            if result is None:
                continue
            if result.custom_id in results and results[result.custom_id].answered:
                continue
            results[result.custom_id] = result
    return results


def read_answer(output: PromptOutput, ids: Sequence[str], completion: dict[str, Any]) -> Answer:
    """Parse the envelope of an answer the way the live path does (items are checked later)."""
    return read_completion(output, ids, completion)
