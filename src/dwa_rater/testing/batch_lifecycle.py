"""The life cycle of the fake Batch server's batches: validate, run, finalize, write results.

A mixin of :class:`~dwa_rater.testing.fake_batches.FakeBatchServer` (which holds the state and
the HTTP routes); batches move through their phases lazily, whenever the server looks at them.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from dwa_rater.testing.fake_answers import HTTP_ERROR_FAULTS, message_text, requested_items

if TYPE_CHECKING:
    from dwa_rater.testing.fake_openai import FakeOpenAIServer

SUPPORTED_ENDPOINTS: Final = ("/v1/chat/completions", "/v1/responses", "/v1/embeddings")
ACTIVE_STATUSES: Final = frozenset({"validating", "in_progress", "finalizing", "cancelling"})
TERMINAL_STATUSES: Final = frozenset({"completed", "failed", "expired", "cancelled"})
DAY_S: Final = 24 * 3600.0
_NOT_RUN_MESSAGES: Final[Mapping[str, str]] = {
    "batch_expired": "This request could not be executed before the completion window expired.",
    "batch_cancelled": "This request was not executed because the batch was cancelled.",
}


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _write_json_atomic(path: Path, payload: Any) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, path)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _line_tokens(body: Mapping[str, Any]) -> int:
    """Enqueued tokens of one request: prompt characters / 4 plus its output budget."""
    messages = body.get("messages") or []
    characters = sum(len(message_text(message)) for message in messages)
    return characters // 4 + int(body.get("max_tokens") or 0)


class BatchLifecycle:
    """Phases, validation, answers and result files of the batches (state held by the server)."""

    state_dir: Path
    model: str
    answers: FakeOpenAIServer
    stopping: threading.Event
    validating_s: float
    in_progress_s: float
    finalizing_s: float
    cancelling_s: float
    completion_window_s: float
    validation_failures: int
    enqueued_token_limit: int | None
    max_requests_per_file: int
    max_file_bytes: int
    _lock: threading.RLock
    _files: dict[str, dict[str, Any]]
    _batches: dict[str, dict[str, Any]]

    def _save_batch(self, batch: Mapping[str, Any]) -> None:
        _write_json_atomic(self.state_dir / "batches" / f"{batch['id']}.json", batch)

    def _store_file(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = _new_id("file-")
        (self.state_dir / "files" / f"{file_id}.data").write_bytes(data)
        meta = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        _write_json_atomic(self.state_dir / "files" / f"{file_id}.json", meta)
        self._files[file_id] = meta
        return meta

    # --- batch life cycle ------------------------------------------------------------------

    def _tick(self) -> None:
        while not self.stopping.wait(0.01):
            with self._lock:
                self._advance_all(time.time())

    def _advance_all(self, now: float) -> None:
        for batch in sorted(self._batches.values(), key=lambda b: b["ordinal"]):
            if batch["status"] not in TERMINAL_STATUSES:
                self._advance(batch, now)

    def _advance(self, batch: dict[str, Any], now: float) -> None:
        """Move a batch through every phase whose time has come (lazy, restart-proof)."""
        changed = False
        while True:
            status = batch["status"]
            phases = batch["phases"]
            if status == "validating" and now >= batch["created_at"] + phases["validating_s"]:
                self._validate(batch, batch["created_at"] + phases["validating_s"])
            elif status == "in_progress":
                end = batch["in_progress_at"] + phases["in_progress_s"]
                if batch["expires_at"] < end and now >= batch["expires_at"]:
                    self._stop_early(batch, "expired", batch["expires_at"])
                elif now >= end:
                    batch["status"], batch["finalizing_at"] = "finalizing", end
                else:
                    break
            elif status == "finalizing" and now >= batch["finalizing_at"] + phases["finalizing_s"]:
                self._write_results(batch, batch["finalizing_at"] + phases["finalizing_s"], None)
                batch["status"] = "completed"
                batch["completed_at"] = batch["finalizing_at"] + phases["finalizing_s"]
            elif status == "cancelling" and now >= batch["cancelling_at"] + phases["cancelling_s"]:
                self._stop_early(
                    batch, "cancelled", batch["cancelling_at"] + phases["cancelling_s"]
                )
            else:
                break
            changed = True
        if changed:
            self._save_batch(batch)

    def _validate(self, batch: dict[str, Any], at: float) -> None:
        lines, errors = self._input_lines(batch["input_file_id"])
        size = self._files[batch["input_file_id"]]["bytes"]
        if not errors:
            errors = self._check_lines(lines, batch["endpoint"], size)
        tokens = sum(_line_tokens(line["body"]) for line in lines) if not errors else 0
        if not errors and batch["ordinal"] < batch["phases"]["validation_failures"]:
            errors = [
                {
                    "code": "injected_failure",
                    "message": f"Injected validation failure of batch number {batch['ordinal']}.",
                    "param": None,
                    "line": None,
                }
            ]
        limit = batch["phases"]["enqueued_token_limit"]
        if not errors and limit is not None:
            model = lines[0]["body"].get("model") if lines else None
            in_flight = sum(
                other["enqueued_tokens"]
                for other in self._batches.values()
                if other is not batch
                and other["status"] in ("in_progress", "finalizing")
                and other.get("model") == model
            )
            if in_flight + tokens > limit:
                errors = [
                    {
                        "code": "token_limit_exceeded",
                        "message": (
                            f"Enqueued token limit reached for {model}. Limit: {limit:,} "
                            f"enqueued tokens; in flight {in_flight:,}; this batch {tokens:,}."
                        ),
                        "param": None,
                        "line": None,
                    }
                ]
        if errors:
            batch.update(
                status="failed",
                failed_at=at,
                errors={"object": "list", "data": errors[:10]},
            )
            return
        batch.update(
            status="in_progress",
            in_progress_at=at,
            model=lines[0]["body"].get("model"),
            enqueued_tokens=tokens,
            results=[self._answer(line) for line in lines],
        )

    def _input_lines(self, file_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        lines: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        text = (self.state_dir / "files" / f"{file_id}.data").read_bytes()
        for number, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                line = None
            if not isinstance(line, dict):
                message = f"Line {number} is not a valid JSON object."
                errors.append(
                    {"code": "invalid_json_line", "message": message, "param": None, "line": number}
                )
                continue
            lines.append(line)
        return lines, errors

    def _check_lines(
        self, lines: list[dict[str, Any]], endpoint: str, size: int
    ) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []

        def fail(code: str, message: str, line: int | None, param: str | None = None) -> None:
            errors.append({"code": code, "message": message, "param": param, "line": line})

        if not lines:
            fail("empty_file", "The input file has no requests.", None)
        if len(lines) > self.max_requests_per_file:
            fail(
                "too_many_requests",
                f"The input file has {len(lines)} requests; the limit is "
                f"{self.max_requests_per_file}.",
                None,
            )
        if size > self.max_file_bytes:
            fail(
                "file_too_large",
                f"The input file has {size} bytes; the limit is {self.max_file_bytes}.",
                None,
            )
        seen: set[str] = set()
        models: set[str] = set()
        for number, line in enumerate(lines, start=1):
            custom_id = line.get("custom_id")
            body = line.get("body")
            if not isinstance(custom_id, str) or not custom_id:
                fail("missing_required_parameter", "custom_id is missing.", number, "custom_id")
            elif custom_id in seen:
                fail("duplicate_custom_id", f"custom_id {custom_id} repeats.", number, "custom_id")
            else:
                seen.add(custom_id)
            if line.get("method") != "POST":
                fail("invalid_method", "method must be POST.", number, "method")
            if line.get("url") != endpoint:
                fail("invalid_url", f"url must be {endpoint}.", number, "url")
            if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                fail("invalid_body", "body must hold a 'messages' list.", number, "body")
                continue
            models.add(str(body.get("model")))
        if len(models) > 1:
            fail("mismatched_model", "All requests of a batch must use one model.", None, "model")
        return errors

    def _answer(self, line: Mapping[str, Any]) -> dict[str, Any]:
        """The response of one line: a chat completion, or an HTTP error (fake_openai's logic)."""
        body = line["body"]
        items = requested_items(body["messages"])
        number, fault, item_faults = self.answers.assign_faults(items)
        request_id = _new_id("req_")
        if fault in HTTP_ERROR_FAULTS or fault in ("reset", "slow"):
            status = HTTP_ERROR_FAULTS.get(fault, 500)
            kind = "server_error" if status >= 500 else "invalid_request_error"
            if status == 429:
                kind = "rate_limit_error"
            message = f"Injected fault {fault} on batch line {number}."
            return {
                "status_code": status,
                "request_id": request_id,
                "body": _error(status, message, kind),
            }
        content, finish_reason = self.answers.rating_content(items, body, fault, item_faults)
        prompt_tokens = len("".join(message_text(m) for m in body["messages"])) // 4
        completion_tokens = len(content) // 4
        completion = {
            "id": f"chatcmpl-fake-batch-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return {"status_code": 200, "request_id": request_id, "body": completion}

    def _lines_done_by(self, batch: Mapping[str, Any], moment: float) -> int:
        if batch.get("in_progress_at") is None:
            return 0
        total = len(batch.get("results") or [])
        duration = batch["phases"]["in_progress_s"]
        if duration <= 0:
            return total
        share = (moment - batch["in_progress_at"]) / duration
        return max(0, min(total, int(share * total + 1e-9)))

    def _stop_early(self, batch: dict[str, Any], status: str, at: float) -> None:
        """Expire or cancel: keep the lines executed by the time the batch stopped."""
        stopped_work = batch.get("cancel_requested_at", at) if status == "cancelled" else at
        reason = "batch_expired" if status == "expired" else "batch_cancelled"
        self._write_results(batch, at, (self._lines_done_by(batch, stopped_work), reason))
        batch["status"] = status
        batch[f"{status}_at"] = at

    def _write_results(self, batch: dict[str, Any], at: float, cut: tuple[int, str] | None) -> None:
        lines, _ = self._input_lines(batch["input_file_id"])
        results = batch.get("results") or []
        executed = len(results) if cut is None else cut[0]
        output, errors = [], []
        completed = failed = 0
        for index, line in enumerate(lines):
            record: dict[str, Any] = {"id": _new_id("batch_req_"), "custom_id": line["custom_id"]}
            if index < executed:
                response = results[index]
                record.update(response=response, error=None)
                if response["status_code"] == 200:
                    output.append(record)
                    completed += 1
                else:
                    errors.append(record)
                    failed += 1
            else:
                assert cut is not None
                code = cut[1]
                record.update(
                    response=None, error={"code": code, "message": _NOT_RUN_MESSAGES[code]}
                )
                errors.append(record)
        # The real API does not keep input order in its output; neither does this server.
        output.sort(key=lambda record: record["id"])
        name = f"{batch['id']}"
        if output:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in output)
            meta = self._store_file(text.encode("utf-8"), f"{name}_output.jsonl", "batch_output")
            batch["output_file_id"] = meta["id"]
        if errors:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in errors)
            meta = self._store_file(text.encode("utf-8"), f"{name}_error.jsonl", "batch_output")
            batch["error_file_id"] = meta["id"]
        batch["final_counts"] = {"total": len(lines), "completed": completed, "failed": failed}

    def _request_counts(self, batch: Mapping[str, Any], now: float) -> dict[str, int]:
        if batch.get("final_counts"):
            return dict(batch["final_counts"])
        results = batch.get("results")
        if not results:
            return {"total": 0, "completed": 0, "failed": 0}
        moment = batch.get("cancel_requested_at") or now
        done = results[: self._lines_done_by(batch, moment)]
        ok = sum(1 for r in done if r["status_code"] == 200)
        return {"total": len(results), "completed": ok, "failed": len(done) - ok}

    def _public_batch(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        def stamp(name: str) -> int | None:
            value = batch.get(name)
            return None if value is None else int(value)

        return {
            "id": batch["id"],
            "object": "batch",
            "endpoint": batch["endpoint"],
            "model": batch.get("model"),
            "errors": batch.get("errors"),
            "input_file_id": batch["input_file_id"],
            "completion_window": batch["completion_window"],
            "status": batch["status"],
            "output_file_id": batch.get("output_file_id"),
            "error_file_id": batch.get("error_file_id"),
            "created_at": int(batch["created_at"]),
            "in_progress_at": stamp("in_progress_at"),
            "expires_at": stamp("expires_at"),
            "finalizing_at": stamp("finalizing_at"),
            "completed_at": stamp("completed_at"),
            "failed_at": stamp("failed_at"),
            "expired_at": stamp("expired_at"),
            "cancelling_at": stamp("cancelling_at"),
            "cancelled_at": stamp("cancelled_at"),
            "request_counts": self._request_counts(batch, time.time()),
            "metadata": batch.get("metadata"),
        }

    # --- HTTP ------------------------------------------------------------------------------
