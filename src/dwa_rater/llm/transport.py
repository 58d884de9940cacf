"""One chat-completion request over HTTP: JSON bytes out, the provider's JSON (or its error) in.

The engine talks to every OpenAI-compatible endpoint through this thin ``httpx`` client rather
than an SDK: it needs the raw response text (kept in the audit log), the rate-limit headers,
and the provider's own error body (to tell a wrong request from a filtered item), and the
per-request CPU of an SDK's model layer is the largest part of the client's cost.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import httpx

AuthHeader = Literal["bearer", "api-key"]


class ProviderError(Exception):
    """A non-2xx answer, with the provider's message, error code and type when it gave them."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        code: str | None = None,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        text: str = "",
        latency_s: float = 0.0,
    ) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.message = message
        self.code = code
        self.error_type = error_type
        self.headers: Mapping[str, str] = headers or {}
        self.text = text
        self.latency_s = latency_s


class TransportError(Exception):
    """The request got no HTTP answer: a timeout, a refused or dropped connection."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


@dataclass(frozen=True)
class RawCompletion:
    """A 2xx answer: its parsed JSON, its text (for the audit log), headers and latency."""

    data: dict[str, Any]
    text: str
    headers: Mapping[str, str]
    status_code: int
    latency_s: float


def _one_line(text: str, limit: int = 300) -> str:
    return " ".join(str(text).split())[:limit]


def error_details(text: str) -> tuple[str, str | None, str | None]:
    """(message, code, type) from an error body in any of the shapes providers use.

    OpenAI and most compatible servers: ``{"error": {"message", "type", "code"}}``; Anthropic:
    ``{"type": "error", "error": {"type", "message"}}``; Gemini's compatibility layer may wrap
    it in a list; some servers send ``{"message": ...}``, ``{"detail": ...}`` or plain text.
    """
    try:
        body: Any = json.loads(text)
    except (ValueError, TypeError):
        return _one_line(text) or "no message", None, None
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return _one_line(text) or "no message", None, None
    error = body.get("error", body)
    if isinstance(error, str):
        return _one_line(error), None, None
    if not isinstance(error, dict):
        return _one_line(text), None, None
    message = error.get("message") or error.get("detail") or body.get("message") or text
    code = error.get("code")
    error_type = error.get("type") or error.get("status")
    return (
        _one_line(str(message)) or "no message",
        None if code is None else str(code),
        None if error_type is None else str(error_type),
    )


@cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def tls_verify(base_url: str) -> ssl.SSLContext | bool:
    """TLS settings for a base URL: one shared default context for https, none for http.

    Loading the system's certificates costs about 25 ms per client; plain-http endpoints
    (local servers) need none, and https clients share one context.
    """
    return _tls_context() if base_url.startswith("https://") else False


class ChatTransport:
    """POSTs chat-completion bodies to one endpoint with one key; a connection pool per rater.

    ``auth_header`` is ``bearer`` (``Authorization: Bearer KEY``) or ``api-key`` (Azure). The
    key lives only in the client's headers: never in a body, a log or an exception.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float,
        concurrency: int,
        auth_header: AuthHeader = "bearer",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth_header == "api-key":
            headers["api-key"] = api_key
        else:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client = httpx.AsyncClient(
            headers=headers,
            verify=tls_verify(self.base_url),
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(
                max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2
            ),
        )
        self._url = f"{self.base_url}/chat/completions"

    async def post(self, content: bytes) -> RawCompletion:
        """Send one request body (already JSON bytes); raise on anything but a 2xx JSON answer."""
        began = time.monotonic()
        try:
            response = await self._client.post(self._url, content=content)
            text = response.text
        except httpx.TimeoutException as exc:
            raise TransportError("timeout", timeout=True) from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"connection error: {type(exc).__name__}: {exc}") from exc
        latency = time.monotonic() - began
        status = response.status_code
        if status >= 300:
            message, code, error_type = error_details(text)
            raise ProviderError(
                status,
                message,
                code=code,
                error_type=error_type,
                headers=response.headers,
                text=text,
                latency_s=latency,
            )
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProviderError(
                502, f"the answer is not JSON: {_one_line(text, 120)}", text=text
            ) from exc
        if not isinstance(data, dict):
            raise ProviderError(502, "the answer is not a JSON object", text=text)
        return RawCompletion(data, text, response.headers, status, latency)

    async def close(self) -> None:
        await self._client.aclose()
