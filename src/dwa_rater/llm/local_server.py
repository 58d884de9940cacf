"""The embedded model's OpenAI-compatible server: llama.cpp behind a small request-rewriting shim.

llama-cpp-python's server (0.3.x) answers the OpenAI-standard
``response_format={"type": "json_schema", "json_schema": {"schema": ...}}`` with HTTP 500 and
accepts only its own ``{"type": "json_object", "schema": ...}`` (which it compiles into a
grammar). The shim rewrites the first into the second, so the tool keeps one client code path
for OpenAI, vLLM, Ollama and this server.

Run as ``python -m dwa_rater.llm.local_server --model FILE --port N``; the tool starts it as a
subprocess (see :mod:`dwa_rater.llm.embedded`).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def rewrite_response_format(body: dict[str, Any]) -> dict[str, Any]:
    """Turn an OpenAI ``json_schema`` response format into llama.cpp's ``json_object`` + schema."""
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema", {})
        body = {**body, "response_format": {"type": "json_object", "schema": schema}}
    return body


class JsonSchemaShim:
    """ASGI middleware applying :func:`rewrite_response_format` to chat-completion requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and str(scope.get("path", "")).endswith("/chat/completions")
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        try:
            body = rewrite_response_format(json.loads(raw))
            raw = json.dumps(body).encode("utf-8")
        except (ValueError, AttributeError):
            pass  # let the server report the malformed body itself
        headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(raw)).encode("ascii")))
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def build_app(model_path: str, alias: str, n_ctx: int, n_threads: int) -> ASGIApp:
    """The llama.cpp OpenAI-compatible app for one GGUF model, wrapped in the shim."""
    from llama_cpp.server.app import create_app
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    model_settings = ModelSettings(
        model=model_path,
        model_alias=alias,
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        verbose=False,
    )
    server_settings = ServerSettings(host="127.0.0.1", port=0)
    app = create_app(server_settings=server_settings, model_settings=[model_settings])
    return JsonSchemaShim(app)


#: Linux ``prctl`` option: deliver a signal to this process when its parent dies.
PR_SET_PDEATHSIG = 1


def exit_with_parent(parent_pid: int, poll_s: float = 1.0) -> None:
    """Make this process end when ``parent_pid`` (the ``dwa-rater`` process) ends.

    The server runs in its own session (so that it can be stopped as a group), which also
    means a SIGKILLed parent would leave it running. On Linux the kernel sends SIGTERM on the
    parent's death (``PR_SET_PDEATHSIG``); everywhere, a daemon thread also watches the parent
    pid and exits when it is re-parented. Exits at once if the parent is already gone.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="path of the GGUF file")
    parser.add_argument("--alias", default="embedded")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when this process ends")
    args = parser.parse_args(argv)
    # A native crash (e.g. an instruction the CPU or VM refuses) then leaves a trace in the log.
    faulthandler.enable()
    if args.parent_pid is not None:
        exit_with_parent(args.parent_pid)

    import uvicorn

    app = build_app(args.model, args.alias, args.n_ctx, args.n_threads)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
