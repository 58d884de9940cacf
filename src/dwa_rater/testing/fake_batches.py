"""A loopback OpenAI Files + Batches server that keeps its state on disk, for tests and demos.

It implements the parts of the API a Batch client uses, with their real semantics:

- ``POST /v1/files`` (multipart: ``purpose``, ``file``), ``GET /v1/files``, ``GET /v1/files/{id}``,
  ``GET /v1/files/{id}/content`` (refused for ``purpose=batch`` input files, as OpenAI does),
  ``DELETE /v1/files/{id}``;
- ``POST /v1/batches``, ``GET /v1/batches`` (cursor pagination: ``limit``, ``after``),
  ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``; and ``GET /v1/models``.

A batch moves ``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed`` after
``validating_s``, ``in_progress_s`` and ``finalizing_s`` seconds. Its lines are executed one after
another, evenly spread over ``in_progress_s``, so a batch that expires (``completion_window_s``
shorter than validating plus in-progress time) or is cancelled keeps the output of the lines done
by then; the others go to the error file as ``batch_expired`` / ``batch_cancelled`` lines.
Validation checks every line (JSON, ``custom_id`` unique, ``method``, ``url``, one model),
the per-file limits and the enqueued-token limit (``enqueued_token_limit``: prompt characters / 4
plus ``max_tokens`` per line, summed over the model's batches in flight); a batch that breaks
them is created with HTTP 200 and later shows ``failed`` with ``errors``, as on the real API.
``validation_failures=n`` makes the first ``n`` batches ever created in the state directory fail.

Each line is answered like :class:`~dwa_rater.testing.fake_openai.FakeOpenAIServer` answers a
chat request (same deterministic :func:`~dwa_rater.testing.fake_openai.fake_rating`, same
``faults`` script in line order and ``item_faults``); HTTP-error faults (``400``, ``429``,
``500``, ``503``, ``reset``, ``slow``) become lines of the error file. Everything (files,
batches, per-line results) lives in ``state_dir``: a new server started on the same directory
carries on where a stopped one left off, and timestamps are wall-clock so phases keep running
while no server is up.

Run ``python -m dwa_rater.testing.fake_batches --state-dir DIR --port 0`` to serve from a
subprocess; the first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from types import FrameType
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from dwa_rater.errors import ConfigError
from dwa_rater.testing.fake_openai import (
    HTTP_ERROR_FAULTS,
    FakeOpenAIServer,
    message_text,
    requested_items,
)
from dwa_rater.testing.loopback import LoopbackHandler, LoopbackServer

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


class _Handler(LoopbackHandler):
    timeout = 30

    def do_DELETE(self) -> None:
        self.server.owner.respond(self, "DELETE")


class FakeBatchServer(LoopbackServer):
    """OpenAI Files and Batches endpoints on 127.0.0.1, state in ``state_dir``; a context manager.

    Times are in seconds. ``completion_window_s`` replaces the 24 hours of ``"24h"`` (make it
    shorter than ``validating_s + in_progress_s`` to get expiry with partial output). Settings
    are copied onto each batch when it is created, so a restarted server with other settings
    does not change batches already running. :meth:`stop` leaves the state directory as it is.
    """

    handler_class = _Handler
    backlog = 64
    thread_name = "fake-batches"

    def __init__(
        self,
        state_dir: Path,
        *,
        port: int = 0,
        api_key: str | None = None,
        model: str = "fake-model",
        validating_s: float = 0.05,
        in_progress_s: float = 0.2,
        finalizing_s: float = 0.05,
        cancelling_s: float = 0.05,
        completion_window_s: float = DAY_S,
        validation_failures: int = 0,
        enqueued_token_limit: int | None = None,
        max_requests_per_file: int = 50_000,
        max_file_bytes: int = 200 * 1024 * 1024,
        faults: Sequence[str] = (),
        item_faults: Mapping[str, str] | None = None,
        salt: str = "",
        salt_disagreement: float = 0.3,
        temperature_flip: float = 0.25,
    ) -> None:
        if min(validating_s, in_progress_s, finalizing_s, cancelling_s) < 0:
            raise ConfigError("phase durations must not be negative")
        if completion_window_s <= 0:
            raise ConfigError("completion_window_s must be positive")
        self.state_dir = Path(state_dir)
        self.api_key = api_key
        self.model = model
        self.validating_s = validating_s
        self.in_progress_s = in_progress_s
        self.finalizing_s = finalizing_s
        self.cancelling_s = cancelling_s
        self.completion_window_s = completion_window_s
        self.validation_failures = validation_failures
        self.enqueued_token_limit = enqueued_token_limit
        self.max_requests_per_file = max_requests_per_file
        self.max_file_bytes = max_file_bytes
        # The chat server is never started: it lends its answer and fault logic.
        self.answers = FakeOpenAIServer(
            model=model,
            faults=faults,
            item_faults=item_faults,
            salt=salt,
            salt_disagreement=salt_disagreement,
            temperature_flip=temperature_flip,
        )
        super().__init__(port=port)
        self._lock = threading.RLock()
        self.requests: list[tuple[str, str, int]] = []
        (self.state_dir / "files").mkdir(parents=True, exist_ok=True)
        (self.state_dir / "batches").mkdir(parents=True, exist_ok=True)
        self._files: dict[str, dict[str, Any]] = {}
        self._batches: dict[str, dict[str, Any]] = {}
        self._load()

    # --- lifecycle -------------------------------------------------------------------------

    def background_tasks(self) -> list[Callable[[], None]]:
        """The ticker that moves batches through their phases while the server runs."""
        return [self._tick]

    # --- inspection (for tests) ------------------------------------------------------------

    def batches(self) -> list[dict[str, Any]]:
        """Every batch as the API shows it, oldest first."""
        with self._lock:
            self._advance_all(time.time())
            ordered = sorted(self._batches.values(), key=lambda b: b["ordinal"])
            return [self._public_batch(b) for b in ordered]

    def submitted_custom_ids(self) -> list[list[str]]:
        """The custom_ids of each batch's input file, batches oldest first."""
        with self._lock:
            ordered = sorted(self._batches.values(), key=lambda b: b["ordinal"])
            return [
                [str(line.get("custom_id")) for line in self._input_lines(b["input_file_id"])[0]]
                for b in ordered
            ]

    def file_text(self, file_id: str) -> str:
        return (self.state_dir / "files" / f"{file_id}.data").read_text(encoding="utf-8")

    # --- state on disk ---------------------------------------------------------------------

    def _load(self) -> None:
        for path in (self.state_dir / "files").glob("*.json"):
            meta = json.loads(path.read_text(encoding="utf-8"))
            self._files[meta["id"]] = meta
        for path in (self.state_dir / "batches").glob("*.json"):
            batch = json.loads(path.read_text(encoding="utf-8"))
            self._batches[batch["id"]] = batch

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

    def respond(self, handler: LoopbackHandler, method: str) -> None:
        """Route one request and send its JSON or file answer (runs in a handler thread)."""
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        parts = urlsplit(handler.path)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            status, payload = self._route(handler, method, path, query, raw)
        except Exception as error:  # a bug must still answer, not hang the client
            status, payload = 500, _error(500, f"fake server failed: {error!r}", "server_error")
        with self._lock:
            self.requests.append((method, path, status))
        if isinstance(payload, bytes):
            data, content_type = payload, "application/octet-stream"
        else:
            data, content_type = json.dumps(payload).encode("utf-8"), "application/json"
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True

    def _route(
        self,
        handler: LoopbackHandler,
        method: str,
        path: str,
        query: Mapping[str, str],
        raw: bytes,
    ) -> tuple[int, dict[str, Any] | bytes]:
        if self.api_key is not None and handler.headers.get("Authorization") != (
            f"Bearer {self.api_key}"
        ):
            return 401, _error(401, "Incorrect API key provided.")
        segments = [s for s in path.split("/") if s]
        if segments[:1] == ["v1"]:
            segments = segments[1:]
        with self._lock:
            self._advance_all(time.time())
            if segments == ["models"] and method == "GET":
                return 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
            if segments[:1] == ["files"]:
                return self._route_files(handler, method, segments[1:], raw)
            if segments[:1] == ["batches"]:
                return self._route_batches(method, segments[1:], query, raw)
        return 404, _error(404, f"Unknown request URL: {method} {path}.")

    def _route_files(
        self, handler: LoopbackHandler, method: str, rest: list[str], raw: bytes
    ) -> tuple[int, dict[str, Any] | bytes]:
        if not rest and method == "POST":
            fields, upload = _parse_multipart(handler.headers.get("Content-Type", ""), raw)
            purpose = fields.get("purpose")
            if upload is None:
                return 400, _error(400, "Missing required parameter: 'file'.")
            if purpose not in ("batch", "assistants", "fine-tune", "vision", "user_data"):
                return 400, _error(400, f"Invalid value for 'purpose': {purpose!r}.")
            filename, data = upload
            return 200, self._store_file(data, filename, purpose)
        if not rest and method == "GET":
            listing = sorted(self._files.values(), key=lambda f: f["created_at"], reverse=True)
            return 200, {"object": "list", "data": listing, "has_more": False}
        meta = self._files.get(rest[0])
        if meta is None:
            return 404, _error(404, f"No such File object: {rest[0]}")
        if len(rest) == 1 and method == "GET":
            return 200, meta
        if len(rest) == 1 and method == "DELETE":
            del self._files[rest[0]]
            for suffix in (".json", ".data"):
                with contextlib.suppress(FileNotFoundError):
                    (self.state_dir / "files" / f"{rest[0]}{suffix}").unlink()
            return 200, {"id": rest[0], "object": "file", "deleted": True}
        if rest[1:] == ["content"] and method == "GET":
            if meta["purpose"] == "batch":
                return 400, _error(400, "Not allowed to download files of purpose: batch")
            return 200, (self.state_dir / "files" / f"{rest[0]}.data").read_bytes()
        return 404, _error(404, "Unknown files route.")

    def _route_batches(
        self, method: str, rest: list[str], query: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, Any] | bytes]:
        if not rest and method == "POST":
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                return 400, _error(400, "The body is not JSON.")
            return self._create_batch(body)
        if not rest and method == "GET":
            ordered = sorted(self._batches.values(), key=lambda b: b["ordinal"], reverse=True)
            after = query.get("after")
            if after:
                ids = [b["id"] for b in ordered]
                ordered = ordered[ids.index(after) + 1 :] if after in ids else []
            limit = max(1, min(100, int(query.get("limit") or 20)))
            page = [self._public_batch(b) for b in ordered[:limit]]
            return 200, {
                "object": "list",
                "data": page,
                "first_id": page[0]["id"] if page else None,
                "last_id": page[-1]["id"] if page else None,
                "has_more": len(ordered) > limit,
            }
        batch = self._batches.get(rest[0])
        if batch is None:
            return 404, _error(404, f"No batch found with id '{rest[0]}'.")
        if len(rest) == 1 and method == "GET":
            return 200, self._public_batch(batch)
        if rest[1:] == ["cancel"] and method == "POST":
            if batch["status"] in ("validating", "in_progress"):
                now = time.time()
                batch.update(status="cancelling", cancelling_at=now, cancel_requested_at=now)
                self._save_batch(batch)
            elif batch["status"] != "cancelling":
                message = f"Cannot cancel a batch with status '{batch['status']}'."
                return 409, _error(409, message)
            return 200, self._public_batch(batch)
        return 404, _error(404, "Unknown batches route.")

    def _create_batch(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = body.get("input_file_id")
        endpoint = body.get("endpoint")
        if body.get("completion_window") != "24h":
            return 400, _error(400, "Invalid 'completion_window': only '24h' is supported.")
        if endpoint not in SUPPORTED_ENDPOINTS:
            return 400, _error(400, f"Invalid 'endpoint': {endpoint!r}.")
        meta = self._files.get(str(file_id))
        if meta is None:
            return 400, _error(400, f"Invalid 'input_file_id': no file {file_id!r}.")
        if meta["purpose"] != "batch":
            return 400, _error(400, "The input file must have purpose 'batch'.")
        now = time.time()
        batch: dict[str, Any] = {
            "id": _new_id("batch_"),
            "ordinal": len(self._batches),
            "endpoint": endpoint,
            "input_file_id": file_id,
            "completion_window": "24h",
            "status": "validating",
            "created_at": now,
            "expires_at": now + self.completion_window_s,
            "metadata": body.get("metadata"),
            "phases": {
                "validating_s": self.validating_s,
                "in_progress_s": self.in_progress_s,
                "finalizing_s": self.finalizing_s,
                "cancelling_s": self.cancelling_s,
                "validation_failures": self.validation_failures,
                "enqueued_token_limit": self.enqueued_token_limit,
            },
        }
        self._batches[batch["id"]] = batch
        self._save_batch(batch)
        return 200, self._public_batch(batch)


def _parse_multipart(
    content_type: str, raw: bytes
) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """Form fields and the uploaded file (name, bytes) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    fields: dict[str, str] = {}
    upload: tuple[str, bytes] | None = None
    if not message.is_multipart():
        return fields, None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        decoded = part.get_payload(decode=True)
        payload = decoded if isinstance(decoded, bytes) else b""
        filename = part.get_filename()
        if name == "file":
            upload = (filename or "upload.jsonl", payload)
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8")
    return fields, upload


# --- command line ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print the base URL on the first line."""
    parser = argparse.ArgumentParser(
        prog="python -m dwa_rater.testing.fake_batches",
        description="Serve fake OpenAI Files and Batches endpoints on 127.0.0.1 until killed.",
    )
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--validating-s", type=float, default=1.0)
    parser.add_argument("--in-progress-s", type=float, default=5.0)
    parser.add_argument("--finalizing-s", type=float, default=1.0)
    parser.add_argument("--completion-window-s", type=float, default=DAY_S)
    parser.add_argument("--enqueued-token-limit", type=int, default=None)
    args = parser.parse_args(argv)
    server = FakeBatchServer(
        args.state_dir,
        port=args.port,
        api_key=args.api_key,
        validating_s=args.validating_s,
        in_progress_s=args.in_progress_s,
        finalizing_s=args.finalizing_s,
        completion_window_s=args.completion_window_s,
        enqueued_token_limit=args.enqueued_token_limit,
    )
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with server:
        print(server.base_url, flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
