"""A fault-injecting OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

It speaks real HTTP, so the ``openai`` SDK (and ``instructor`` on top of it) runs unmodified against
it. Answers are deterministic: the label and score of an item are a hash of its text, the sampling
temperature, the seed and the server's ``salt`` (see :func:`fake_rating`).

The user message lists the items to rate, one per line, each line starting with ``[<id>] ``. The
answer is ``{"ratings": [{"id", "rationale", "label", "score"}, ...]}``, one entry per requested id
in order, in ``message.content`` (or in a tool call's arguments when the request carries ``tools``).

Fault kinds (see ``FAULT_KINDS``), applied to chat-completion requests in arrival order:

- ``ok``: a correct answer.
- ``429``: rate limited, with ``Retry-After`` (seconds, may be fractional) and ``retry-after-ms``.
- ``500``, ``503``: server errors; ``400``: a bad-request error (not retryable).
- ``reset``: the connection is closed without a response.
- ``slow``: the answer comes after ``slow_s`` extra seconds (meant to exceed the client's timeout).
- ``malformed``: content is truncated JSON (``{"ratings":[{"id":"1",``), ``finish_reason`` "stop".
- ``length``: content is cut in half, ``finish_reason`` "length" (as when max_tokens is too small).
- ``invalid``: valid JSON whose first rating has the label ``E9`` (violates the schema).
- ``drop``: the last requested item is missing.
- ``unknown``: an extra rating with an id that was not requested.
- ``dup``: the first item appears twice, the second time with a different label.

``faults`` is a script for the first ``len(faults)`` chat requests. After it, ``slow_first_n``,
``rate_limit_every`` and ``error_every`` apply. ``item_faults`` maps an item-text substring to a
kind and applies whenever the request-level fault is ``ok``: ``invalid``, ``drop``, ``unknown``
and ``dup`` hit only the matching item (its label becomes E9, it is left out, its id is replaced
by an unknown one, it is duplicated); any other kind hits the whole request that holds the item. So
``item_faults={"POISON": "malformed"}`` makes every batch holding a POISON item fail for good, and a
client that retries the other items in batches of their own gets them rated.

Run ``python -m dwa_rater.testing.fake_openai --port 0 --latency 0.1`` to serve from a subprocess;
the first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from dwa_rater.errors import ConfigError
from dwa_rater.testing.fake_answers import (
    CONTEXT_SUFFIX,
    FAULT_KINDS,
    HTTP_ERROR_FAULTS,
    INVALID_LABEL,
    ITEM_LEVEL_FAULTS,
    LABELS,
    REDACTED,
    check_fault_kind,
    conflicting_copy,
    error_body,
    fake_rating,
    is_number_or_none,
    label_enum,
    message_text,
    parse_item_lines,
    redact,
    requested_items,
    tool_name,
    unknown_id,
)
from dwa_rater.testing.fake_openai_records import RecordedRequest, RequestLog
from dwa_rater.testing.loopback import LoopbackHandler, LoopbackServer

__all__ = [
    "FAULT_KINDS",
    "INVALID_LABEL",
    "LABELS",
    "REDACTED",
    "FakeOpenAIServer",
    "RecordedRequest",
    "fake_rating",
    "message_text",
    "parse_item_lines",
    "requested_items",
]


@dataclass
class _Exchange:
    """What the handler knows about a request while answering it."""

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    started_at: float
    start_clock: float
    fault: str | None = None
    item_ids: tuple[str, ...] = ()
    item_faults: dict[str, str] = field(default_factory=dict)


class _Handler(LoopbackHandler):
    timeout = 120  # seconds an idle keep-alive connection may hold its thread


class FakeOpenAIServer(RequestLog, LoopbackServer):
    """An OpenAI-compatible server on 127.0.0.1 with scripted faults; a context manager.

    ``latency_s`` is slept before every chat answer (benchmarks); ``slow_s`` is the extra sleep of
    the ``slow`` fault; ``retry_after_s`` is the delay a 429 asks for. ``rate_limit_every=k`` makes
    every k-th chat request (k, 2k, ...) a 429 and ``error_every=k`` a 500, once the script is
    used up. ``record_bodies=False`` keeps request bodies out of memory for long benchmarks.
    """

    handler_class = _Handler
    thread_name = "fake-openai"

    def __init__(
        self,
        *,
        model: str = "fake-model",
        api_key: str | None = None,
        faults: Sequence[str] = (),
        item_faults: Mapping[str, str] | None = None,
        latency_s: float = 0.0,
        retry_after_s: float = 0.05,
        salt: str = "",
        salt_disagreement: float = 0.3,
        temperature_flip: float = 0.25,
        rate_limit_every: int | None = None,
        error_every: int | None = None,
        slow_s: float = 5.0,
        slow_first_n: int = 0,
        record_bodies: bool = True,
        port: int = 0,
    ) -> None:
        self.model = model
        self.api_key = api_key
        self.item_faults = dict(item_faults or {})
        self.latency_s = latency_s
        self.retry_after_s = retry_after_s
        self.salt = salt
        self.salt_disagreement = salt_disagreement
        self.temperature_flip = temperature_flip
        self.rate_limit_every = rate_limit_every
        self.error_every = error_every
        self.slow_s = slow_s
        self.slow_first_n = slow_first_n
        self.record_bodies = record_bodies
        for kind in self.item_faults.values():
            check_fault_kind(kind, "item_faults")
        for every, name in ((rate_limit_every, "rate_limit_every"), (error_every, "error_every")):
            if every is not None and every < 1:
                raise ConfigError(f"{name} must be a positive integer, got {every}")
        if min(latency_s, slow_s, retry_after_s) < 0:
            raise ConfigError("latency_s, slow_s and retry_after_s must not be negative")
        super().__init__(port=port)
        self._lock = threading.Lock()
        self._faults: tuple[str, ...] = ()
        self.set_faults(faults)
        self.reset_counters()

    # --- request handling (runs in the handler threads) ------------------------------------

    def respond(self, handler: LoopbackHandler, method: str) -> None:
        """Read, route and answer one request, recording it (runs in a handler thread)."""
        started_at, start_clock = time.time(), time.perf_counter()
        with self._lock:
            index = self._request_count
            self._request_count += 1
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        body: Any = None
        body_ok = True
        if raw:
            try:
                body = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                body, body_ok = raw.decode("utf-8", "replace"), False
        exchange = _Exchange(
            index=index,
            method=method,
            path=urlsplit(handler.path).path,
            headers=redact(dict(handler.headers.items())),
            body=body if self.record_bodies else None,
            started_at=started_at,
            start_clock=start_clock,
        )
        try:
            self._route(handler, exchange, body if body_ok else None)
        except Exception as error:  # a bug here must still answer, not hang the client
            message = f"The fake server failed: {type(error).__name__}: {error}"
            self._send(handler, exchange, 500, error_body(500, message))

    def _route(self, handler: LoopbackHandler, exchange: _Exchange, body: Any) -> None:
        method = exchange.method
        route = exchange.path.rstrip("/")
        if self.api_key is not None and handler.headers.get("Authorization") != (
            f"Bearer {self.api_key}"
        ):
            message = "Incorrect API key provided."
            self._send(handler, exchange, 401, error_body(401, message))
        elif method == "GET" and route.endswith("/models"):
            listing = {"object": "list", "data": [{"id": self.model, "object": "model"}]}
            self._send(handler, exchange, 200, listing)
        elif method == "POST" and route.endswith("/chat/completions"):
            if not isinstance(body, dict):
                message = "The request body is not a JSON object."
                self._send(handler, exchange, 400, error_body(400, message))
            elif not isinstance(body.get("messages"), list) or not body["messages"]:
                message = "'messages' must be a non-empty list."
                self._send(handler, exchange, 400, error_body(400, message))
            elif not is_number_or_none(body.get("temperature")) or not isinstance(
                body.get("seed"), int | None
            ):
                message = "'temperature' must be a number and 'seed' an integer."
                self._send(handler, exchange, 400, error_body(400, message))
            elif body.get("stream"):
                message = "The fake server does not stream; send stream=false."
                self._send(handler, exchange, 400, error_body(400, message))
            else:
                self._answer_chat(handler, exchange, body)
        else:
            message = f"Unknown request URL: {method} {exchange.path}."
            self._send(handler, exchange, 404, error_body(404, message))

    def assign_faults(self, items: list[tuple[str, str]]) -> tuple[int, str, dict[str, str]]:
        """Count a chat request and choose its request-level and item-level faults."""
        with self._lock:
            number = self._chat_count
            self._chat_count += 1
            self._items_requested.append([item_id for item_id, _ in items])
            self._texts_requested.append([text for _, text in items])
            position = number - self._script_offset
            if 0 <= position < len(self._faults):
                fault = self._faults[position]
            elif number < self.slow_first_n:
                fault = "slow"
            elif self.rate_limit_every and (number + 1) % self.rate_limit_every == 0:
                fault = "429"
            elif self.error_every and (number + 1) % self.error_every == 0:
                fault = "500"
            else:
                fault = "ok"
            item_faults: dict[str, str] = {}
            if fault == "ok":
                for item_id, text in items:
                    for substring, kind in self.item_faults.items():
                        if substring not in text:
                            continue
                        if kind in ITEM_LEVEL_FAULTS:
                            item_faults.setdefault(item_id, kind)
                        elif fault == "ok":
                            fault = kind
            self._fault_counts[fault] += 1
            self._item_fault_counts.update(item_faults.values())
            return number, fault, item_faults

    def _answer_chat(
        self, handler: LoopbackHandler, exchange: _Exchange, body: dict[str, Any]
    ) -> None:
        messages = body["messages"]
        items = requested_items(messages)
        number, fault, item_faults = self.assign_faults(items)
        exchange.fault = fault
        exchange.item_ids = tuple(item_id for item_id, _ in items)
        exchange.item_faults = item_faults
        if self.latency_s > 0 and self.stopping.wait(self.latency_s):
            self._drop(handler, exchange)
            return
        if fault == "slow" and self.stopping.wait(self.slow_s):
            self._drop(handler, exchange)
            return
        if fault == "reset":
            self._drop(handler, exchange)
            return
        if fault in HTTP_ERROR_FAULTS:
            status = HTTP_ERROR_FAULTS[fault]
            extra: dict[str, str] = {}
            if status == 429:
                extra = {
                    "Retry-After": f"{self.retry_after_s:g}",
                    "retry-after-ms": str(round(self.retry_after_s * 1000)),
                }
            message = f"Injected fault {fault} on chat request {number}."
            self._send(handler, exchange, status, error_body(status, message), extra)
            return
        content, finish_reason = self.rating_content(items, body, fault, item_faults)
        prompt_tokens = len("".join(message_text(message) for message in messages)) // 4
        completion_tokens = len(content) // 4
        with self._lock:
            self._prompt_tokens += prompt_tokens
            self._completion_tokens += completion_tokens
        message_out: dict[str, Any] = {"role": "assistant", "content": content}
        tools = body.get("tools")
        if isinstance(tools, list) and tools:
            message_out = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_fake_{number}",
                        "type": "function",
                        "function": {"name": tool_name(body), "arguments": content},
                    }
                ],
            }
            finish_reason = "tool_calls" if finish_reason == "stop" else finish_reason
        completion = {
            "id": f"chatcmpl-fake-{number}",
            "object": "chat.completion",
            "created": int(exchange.started_at),
            "model": str(body.get("model") or self.model),
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": message_out,
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
        self._send(handler, exchange, 200, completion)

    def rating_content(
        self,
        items: list[tuple[str, str]],
        body: Mapping[str, Any],
        fault: str,
        item_faults: Mapping[str, str],
    ) -> tuple[str, str]:
        """The JSON text of the answer and its finish_reason, with content faults applied."""
        if fault == "malformed":
            if not items:
                return '{"ratings":[', "stop"
            return '{"ratings":[{"id":' + json.dumps(items[0][0]) + ",", "stop"
        temperature = body.get("temperature", 1.0)
        seed = body.get("seed")
        ids = {item_id for item_id, _ in items}
        # A rubric with other labels than E0/E1/E2: answer with its labels, E0/E1/E2 mapped
        # onto the schema's enum by position.
        enum = label_enum(body)
        rename = dict(zip(LABELS, enum, strict=False)) if enum and set(enum) != set(LABELS) else {}
        ratings: list[dict[str, Any]] = []
        for item_id, text in items:
            kind = item_faults.get(item_id)
            if kind == "drop":
                continue
            label, score = self.rating_for(text, temperature=temperature, seed=seed)
            label = rename.get(label, label)
            entry: dict[str, Any] = {
                "id": unknown_id(ids) if kind == "unknown" else item_id,
                "rationale": f"Fake rationale: {label} for {CONTEXT_SUFFIX.sub('', text)[:80]}",
                "label": INVALID_LABEL if kind == "invalid" else label,
                "score": score,
            }
            ratings.append(entry)
            if kind == "dup":
                ratings.append(conflicting_copy(entry))
        if fault == "drop" and ratings:
            ratings.pop()
        elif fault == "invalid" and ratings:
            ratings[0]["label"] = INVALID_LABEL
        elif fault == "unknown":
            extra = {"id": unknown_id(ids), "rationale": "Not requested.", "label": "E0"}
            ratings.append({**extra, "score": 0.1})
        elif fault == "dup" and ratings:
            ratings.append(conflicting_copy(ratings[0]))
        content = json.dumps({"ratings": ratings}, ensure_ascii=False)
        if fault == "length":
            return content[: len(content) // 2], "length"
        return content, "stop"

    def _drop(self, handler: LoopbackHandler, exchange: _Exchange) -> None:
        """Close the connection without answering."""
        self._record(exchange, 0, None)
        handler.close_connection = True
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    def _send(
        self,
        handler: LoopbackHandler,
        exchange: _Exchange,
        status: int,
        payload: Mapping[str, Any],
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        # Record before writing, so a client that has its answer also sees it recorded.
        self._record(exchange, status, data.decode("utf-8"))
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("x-request-id", f"req_fake_{exchange.index}")
            for name, value in (extra_headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            # The client gave up (timeout) before the answer came; nothing to tell it.
            handler.close_connection = True

    def _record(self, exchange: _Exchange, status: int, response_text: str | None) -> None:
        record = RecordedRequest(
            index=exchange.index,
            method=exchange.method,
            path=exchange.path,
            headers=exchange.headers,
            body=exchange.body,
            status=status,
            fault=exchange.fault,
            item_ids=exchange.item_ids,
            item_faults=exchange.item_faults,
            started_at=exchange.started_at,
            duration_s=time.perf_counter() - exchange.start_clock,
            response_text=response_text if self.record_bodies else None,
        )
        with self._lock:
            self._records.append(record)


# --- command line ------------------------------------------------------------------------


def _parse_item_fault(text: str) -> tuple[str, str]:
    substring, sep, kind = text.rpartition("=")
    if not sep or not substring:
        raise argparse.ArgumentTypeError(f"expected SUBSTRING=KIND, got {text!r}")
    return substring, kind


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dwa_rater.testing.fake_openai",
        description="Serve a fault-injecting fake OpenAI API on 127.0.0.1 until killed.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--faults", default="", help="comma-separated script, e.g. 429,500,ok")
    parser.add_argument(
        "--item-fault",
        action="append",
        type=_parse_item_fault,
        default=[],
        metavar="SUBSTRING=KIND",
        help="fault for items whose text contains SUBSTRING (repeatable)",
    )
    parser.add_argument("--retry-after", type=float, default=0.05, help="seconds a 429 asks for")
    parser.add_argument("--salt", default="")
    parser.add_argument("--salt-disagreement", type=float, default=0.3)
    parser.add_argument("--rate-limit-every", type=int, default=None)
    parser.add_argument("--error-every", type=int, default=None)
    parser.add_argument("--slow-s", type=float, default=5.0)
    parser.add_argument("--slow-first-n", type=int, default=0)
    parser.add_argument("--record-bodies", action="store_true", help="keep request bodies")
    parser.add_argument("--stats-file", type=Path, default=None, help="JSON stats written at exit")
    parser.add_argument("--max-seconds", type=float, default=None, help="stop by itself after")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT (or ``--max-seconds``); print the base URL on the first line."""
    args = _build_parser().parse_args(argv)
    faults = [kind.strip() for kind in args.faults.split(",") if kind.strip()]
    try:
        server = FakeOpenAIServer(
            model=args.model,
            api_key=args.api_key,
            faults=faults,
            item_faults=dict(args.item_fault),
            latency_s=args.latency,
            retry_after_s=args.retry_after,
            salt=args.salt,
            salt_disagreement=args.salt_disagreement,
            rate_limit_every=args.rate_limit_every,
            error_every=args.error_every,
            slow_s=args.slow_s,
            slow_first_n=args.slow_first_n,
            record_bodies=args.record_bodies,
            port=args.port,
        )
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    with server:
        print(server.base_url, flush=True)
        done.wait(args.max_seconds)
    if args.stats_file is not None:
        args.stats_file.write_text(json.dumps(server.stats(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
