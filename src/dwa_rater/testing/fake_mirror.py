"""A static file server on 127.0.0.1 standing in for a data mirror, for tests of ``data fetch``.

It serves ``files`` (URL path, percent-encoded as in the source URLs -> bytes) with GET, answers
404 for anything else, and records every requested path.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

from dwa_rater.testing.loopback import LoopbackHandler, LoopbackServer


def url_path(url: str) -> str:
    """The path of ``url`` as a mirror serves it (``/owner/repo/commit/file``)."""
    return urlsplit(url).path


class FakeMirror(LoopbackServer):
    """Serve fixed bytes by URL path; ``mirror_url`` is what ``DWA_RATER_DATA_MIRROR`` takes."""

    thread_name = "fake-mirror"

    def __init__(self, files: Mapping[str, bytes], *, port: int = 0) -> None:
        super().__init__(port=port)
        self.files = dict(files)
        self.requested: list[str] = []
        self.authorizations: list[str] = []
        self._lock = threading.Lock()

    @property
    def mirror_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def respond(self, handler: LoopbackHandler, method: str) -> None:
        path = urlsplit(handler.path).path
        with self._lock:
            self.requested.append(path)
            if handler.headers.get("Authorization"):
                self.authorizations.append(handler.headers["Authorization"])
        body = self.files.get(path) if method == "GET" else None
        if body is None:
            body = b"not found\n"
            handler.send_response(404)
        else:
            handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
