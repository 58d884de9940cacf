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
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dwa_rater.errors import ConfigError
from dwa_rater.testing.batch_lifecycle import (
    ACTIVE_STATUSES,
    DAY_S,
    SUPPORTED_ENDPOINTS,
    TERMINAL_STATUSES,
    BatchLifecycle,
    _error,
    _new_id,
)
from dwa_rater.testing.fake_openai import FakeOpenAIServer
from dwa_rater.testing.loopback import LoopbackHandler, LoopbackServer

__all__ = [
    "ACTIVE_STATUSES",
    "DAY_S",
    "SUPPORTED_ENDPOINTS",
    "TERMINAL_STATUSES",
    "FakeBatchServer",
]


class _Handler(LoopbackHandler):
    timeout = 30

    def do_DELETE(self) -> None:
        self.server.owner.respond(self, "DELETE")


class FakeBatchServer(BatchLifecycle, LoopbackServer):
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
