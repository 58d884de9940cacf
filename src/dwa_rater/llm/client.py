"""OpenAI-compatible endpoints: one code path for every provider, llama.cpp and test servers.

Requests go through :class:`~dwa_rater.llm.transport.ChatTransport`; how the answer's structure
is asked for (``response_format``, tools, or instructions in the prompt) is decided by the
rating engine per rater. No SDK retries: :mod:`dwa_rater.llm.retry` decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from dwa_rater.errors import EndpointError
from dwa_rater.llm.transport import AuthHeader, ChatTransport, tls_verify

#: Key sent to servers that need none (local ones); real endpoints get the env var's value.
PLACEHOLDER_KEY = "not-needed"


@dataclass
class Endpoint:
    """A connected endpoint: its transport and the identity of its (shared) rate limiter."""

    base_url: str
    transport: ChatTransport
    limiter_key: tuple[str, str]

    async def close(self) -> None:
        await self.transport.close()


def resolve_api_key(api_key_env: str | None, environ: Mapping[str, str]) -> str:
    """The key's value from the named environment variable (the only place keys come from)."""
    if not api_key_env:
        return PLACEHOLDER_KEY
    value = environ.get(api_key_env)
    if not value:
        raise EndpointError(f"environment variable {api_key_env} (the API key) is not set")
    return value


def connect(
    base_url: str,
    api_key: str,
    timeout_s: float,
    concurrency: int,
    *,
    auth_header: AuthHeader = "bearer",
    limiter_key: tuple[str, str] = ("", ""),
) -> Endpoint:
    """A transport with a connection pool sized for the concurrency."""
    transport = ChatTransport(
        base_url, api_key, timeout_s=timeout_s, concurrency=concurrency, auth_header=auth_header
    )
    return Endpoint(base_url=base_url, transport=transport, limiter_key=limiter_key)


def check_endpoint(
    base_url: str, api_key: str, timeout_s: float = 10.0, auth_header: AuthHeader = "bearer"
) -> None:
    """Fail fast with one clear line if the endpoint is unreachable or refuses the key.

    Uses ``GET /models``; a server without that route (404) is given the benefit of the doubt.
    """
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}/models",
            headers=(
                {"api-key": api_key}
                if auth_header == "api-key"
                else {"Authorization": f"Bearer {api_key}"}
            ),
            timeout=timeout_s,
            verify=tls_verify(base_url),
        )
    except httpx.HTTPError as exc:
        raise EndpointError(f"cannot reach {base_url}: {type(exc).__name__}") from exc
    if response.status_code in (401, 403):
        raise EndpointError(f"{base_url} refused the API key (HTTP {response.status_code})")
    if response.status_code >= 500:
        # Transient trouble is handled per request with retries; do not abort here.
        return
