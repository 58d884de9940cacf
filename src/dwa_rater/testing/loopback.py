"""HTTP plumbing shared by the fake servers: serve on 127.0.0.1 in daemon threads, stop cleanly.

A fake server subclasses :class:`LoopbackServer` and implements :meth:`LoopbackServer.respond`;
its handler class subclasses :class:`LoopbackHandler` (to set ``timeout`` or add methods).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

from dwa_rater.errors import ConfigError


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 that hands every request to its ``owner``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, owner: LoopbackServer, port: int, handler: type[LoopbackHandler], backlog: int
    ) -> None:
        self.owner = owner
        # Read by server_activate() inside the base constructor, so it must be set first.
        self.request_queue_size = backlog
        super().__init__(("127.0.0.1", port), handler)


class LoopbackHandler(BaseHTTPRequestHandler):
    """Keep-alive handler that tracks its connection and passes GET and POST to the owner."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    # Headers and body go out in two writes; with Nagle's algorithm the body waits for the
    # client's delayed ACK (about 40 ms a request on Linux).
    disable_nagle_algorithm = True
    server: LoopbackHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests and benchmarks read the servers' recorded requests instead."""

    def setup(self) -> None:
        super().setup()
        self.server.owner._track_connection(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track_connection(self.connection, add=False)

    def do_GET(self) -> None:
        self.server.owner.respond(self, "GET")

    def do_POST(self) -> None:
        self.server.owner.respond(self, "POST")


class LoopbackServer:
    """Serve on 127.0.0.1 (a free port unless one is given) from daemon threads; a context manager.

    Subclasses set ``handler_class``, ``backlog`` (the listen queue: the default of 5 makes bursts
    of concurrent connects wait for SYN retries) and ``thread_name``, implement :meth:`respond`,
    and may run more daemon threads alongside the server (:meth:`background_tasks`). Handlers that
    wait should wait on :attr:`stopping`, which :meth:`stop` sets to wake them.
    """

    handler_class: ClassVar[type[LoopbackHandler]] = LoopbackHandler
    backlog: ClassVar[int] = 256
    thread_name: ClassVar[str] = "loopback"

    def __init__(self, *, port: int = 0) -> None:
        self.stopping = threading.Event()
        self._requested_port = port
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._httpd: LoopbackHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    def respond(self, handler: LoopbackHandler, method: str) -> None:
        """Answer one request through ``handler`` (runs in the handler's thread)."""
        raise NotImplementedError

    def background_tasks(self) -> list[Callable[[], None]]:
        """Functions run in daemon threads while serving; they should return once ``stopping``
        is set."""
        return []

    def start(self) -> Self:
        """Bind 127.0.0.1 and serve in a daemon thread (no-op when already serving)."""
        if self._httpd is not None:
            return self
        self.stopping.clear()
        httpd = LoopbackHTTPServer(self, self._requested_port, self.handler_class, self.backlog)
        self._httpd = httpd
        self._threads = [
            threading.Thread(
                target=httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.thread_name}-{self.port}",
                daemon=True,
            ),
            *(threading.Thread(target=task, daemon=True) for task in self.background_tasks()),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake waiting handlers, close every open connection, join the threads."""
        httpd = self._httpd
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._httpd = None
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port; raises :class:`~dwa_rater.errors.ConfigError` when not serving."""
        if self._httpd is None:
            name = type(self).__name__
            raise ConfigError(f"{name} is not running; call start() or use it in a with")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give the SDK as ``base_url``: ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _track_connection(self, connection: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
