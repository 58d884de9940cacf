"""OpenAI-compatible clients: one code path for OpenAI, vLLM, Ollama, llama.cpp and test servers.

Requests go through ``instructor`` in ``Mode.JSON_SCHEMA`` (the OpenAI-standard
``response_format``). The SDK's own retries are off; :mod:`dwa_rater.llm.retry` decides.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import instructor
import openai

from dwa_rater.errors import EndpointError

# instructor logs every failed attempt at ERROR level; the engine reports failures itself.
logging.getLogger("instructor").setLevel(logging.CRITICAL)
logging.getLogger("instructor.v2.retry").setLevel(logging.CRITICAL)

#: Key sent to servers that need none (local ones); real endpoints get the env var's value.
PLACEHOLDER_KEY = "not-needed"


@dataclass
class Endpoint:
    """A connected endpoint: the raw SDK client and its instructor wrapper."""

    base_url: str
    raw: openai.AsyncOpenAI
    structured: Any  # instructor.AsyncInstructor

    async def close(self) -> None:
        await self.raw.close()


def resolve_api_key(api_key_env: str | None, environ: Mapping[str, str]) -> str:
    """The key's value from the named environment variable (the only place keys come from)."""
    if not api_key_env:
        return PLACEHOLDER_KEY
    value = environ.get(api_key_env)
    if not value:
        raise EndpointError(f"environment variable {api_key_env} (the API key) is not set")
    return value


def connect(base_url: str, api_key: str, timeout_s: float, concurrency: int) -> Endpoint:
    """An async client with no SDK retries and a connection pool sized for the concurrency."""
    raw = openai.AsyncOpenAI(
        base_url=base_url,
        api_key=api_key,
        timeout=timeout_s,
        max_retries=0,
    )
    structured = instructor.from_openai(raw, mode=instructor.Mode.JSON_SCHEMA)
    return Endpoint(base_url=base_url, raw=raw, structured=structured)


def check_endpoint(base_url: str, api_key: str, timeout_s: float = 10.0) -> None:
    """Fail fast with one clear line if the endpoint is unreachable or refuses the key.

    Uses ``GET /models``; a server without that route (404) is given the benefit of the doubt.
    """
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}/models",
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        raise EndpointError(f"cannot reach {base_url}: {type(exc).__name__}") from exc
    if response.status_code in (401, 403):
        raise EndpointError(f"{base_url} refused the API key (HTTP {response.status_code})")
    if response.status_code >= 500:
        # Transient trouble is handled per request with retries; do not abort here.
        return
