"""The response cache: validated ratings on disk, keyed on everything that shapes an answer.

The key covers the endpoint identity, model, every sampling parameter, the prompt's SHA-256, the
response schema's SHA-256, the items per request, the item's text and context, and the sample
index — so samples 0..n-1 of one item are distinct entries. Only validated ratings are stored;
errors never are. No secret is part of a key or a value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import diskcache

from dwa_rater.schemas import Item


@dataclass(frozen=True)
class CacheKeyParts:
    """Everything besides the item that a rating depends on."""

    endpoint: str
    model: str
    temperature: float
    top_p: float | None
    max_tokens: int
    seed: int | None
    batch_size: int
    prompt_sha256: str
    schema_sha256: str
    #: How the answer's structure is requested; json_schema (the original mode) adds nothing
    #: to the key, so caches made before modes existed stay valid.
    structured_output: str = "json_schema"
    #: SHA-256 of everything else that shapes the request (extra body fields, the output-token
    #: parameter's name, the format instructions); empty when nothing does.
    request_sha256: str = ""


def cache_key(parts: CacheKeyParts, item: Item, sample: int) -> str:
    """SHA-256 hex digest of the canonical JSON of the key's parts."""
    payload: dict[str, object] = {
        "endpoint": parts.endpoint,
        "model": parts.model,
        "temperature": parts.temperature,
        "top_p": parts.top_p,
        "max_tokens": parts.max_tokens,
        "seed": parts.seed,
        "batch_size": parts.batch_size,
        "prompt_sha256": parts.prompt_sha256,
        "schema_sha256": parts.schema_sha256,
        "text": item.text,
        "context": item.context,
        "sample": sample,
    }
    if parts.structured_output != "json_schema":
        payload["structured_output"] = parts.structured_output
    if parts.request_sha256:
        payload["request_sha256"] = parts.request_sha256
    if item.exemplar_sha256:
        # Only anchored ratings carry exemplars; other keys stay as they always were.
        payload["exemplar_sha256"] = item.exemplar_sha256
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ResponseCache:
    """A diskcache store of validated ratings (dicts of plain values)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._cache = diskcache.Cache(str(directory), size_limit=2**34)

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._cache.get(key)
        return value if isinstance(value, dict) else None

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                found[key] = value
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._cache

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._cache.set(key, value)

    def set_many(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Store several entries in one transaction (a fraction of the cost of one each)."""
        if not entries:
            return
        with self._cache.transact():
            for key, value in entries:
                self._cache.set(key, value)

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._cache.close()
