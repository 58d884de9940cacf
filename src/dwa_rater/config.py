"""Rater specifications: who rates, with which model, rubric and sampling, under which limits.

Raters come from a TOML file (``--raters FILE``), from command-line options (one ad-hoc rater),
or default to one rater on the embedded local model. Specs are frozen and validated; an API key
is never part of a spec, only the *name* of the environment variable holding it.

TOML layout::

    [defaults]            # optional; applies to every rater
    temperature = 0.0

    [[raters]]
    name = "gpt4o-mini-exposure"
    base_url = "https://api.openai.com/v1"   # or provider = "openai" | "ollama" | "embedded"
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"
    rubric = "exposure@v1"
    samples = 3
    batch_size = 10
    concurrency = 8
    requests_per_minute = 500
    tokens_per_minute = 200000
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dwa_rater.embedded_model import EMBEDDED_ENDPOINT, SMOLLM2
from dwa_rater.errors import ConfigError

#: Known providers and their OpenAI-compatible base URLs.
PROVIDERS: dict[str, str | None] = {
    "embedded": None,
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "vllm": "http://127.0.0.1:8000/v1",
}

#: US dollars per million (input, output) tokens, list prices for orientation; a rater's own
#: ``price_input_per_mtok`` / ``price_output_per_mtok`` override these.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    SMOLLM2.alias: (0.0, 0.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}


class RaterSpec(BaseModel):
    """One rater: a model behind an endpoint, a rubric, sampling parameters and limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:@+-]+$")
    provider: str | None = None
    base_url: str | None = None
    model: str = SMOLLM2.alias
    api_key_env: str | None = None
    rubric: str = "exposure"
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=16)
    seed: int | None = None
    samples: int = Field(default=1, ge=1, le=100)
    batch_size: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=256)
    requests_per_minute: float | None = Field(default=None, gt=0)
    tokens_per_minute: float | None = Field(default=None, gt=0)
    timeout_s: float = Field(default=120.0, gt=0)
    max_retries: int = Field(default=6, ge=0, le=50)
    max_reasks: int = Field(default=2, ge=0, le=10)
    price_input_per_mtok: float | None = Field(default=None, ge=0)
    price_output_per_mtok: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_endpoint(self) -> RaterSpec:
        if self.provider is not None and self.provider not in PROVIDERS:
            known = ", ".join(PROVIDERS)
            raise ValueError(f"unknown provider {self.provider!r} (known: {known})")
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {self.base_url!r} must start with http:// or https://")
        if self.provider == "vllm" and self.base_url is None:
            raise ValueError("provider 'vllm' needs a base_url")
        return self

    @property
    def is_embedded(self) -> bool:
        """True when this rater uses the embedded local model server."""
        return self.resolved_base_url is None

    @property
    def resolved_base_url(self) -> str | None:
        if self.base_url:
            return self.base_url.rstrip("/")
        return PROVIDERS.get(self.provider or "embedded")

    @property
    def endpoint_identity(self) -> str:
        """What identifies the endpoint in cache keys and provenance (never a secret)."""
        return self.resolved_base_url or EMBEDDED_ENDPOINT

    def effective_max_tokens(self) -> int:
        """Output budget per request unless set: 200 tokens per item plus 50.

        A rationale may hold 160 characters, and a small model can spend a token per character
        on a degenerate one; with the label, score and JSON around it, 200 tokens always close
        the answer. Unused budget costs nothing.
        """
        return self.max_tokens or 200 * self.batch_size + 50

    def prices(self) -> tuple[float, float] | None:
        """(input, output) US dollars per million tokens, if known."""
        if self.price_input_per_mtok is not None and self.price_output_per_mtok is not None:
            return (self.price_input_per_mtok, self.price_output_per_mtok)
        return PRICES_PER_MTOK.get(self.model)

    def public_dict(self) -> dict[str, Any]:
        """The spec as recorded in manifests: no secret can be in it (only the env var name)."""
        return self.model_dump()


def default_rater(**overrides: Any) -> RaterSpec:
    """The rater used when nothing is configured: the embedded model, exposure rubric."""
    values: dict[str, Any] = {"name": "embedded-exposure", "concurrency": 1}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build_spec(values, "command line")


def _build_spec(values: Mapping[str, Any], where: str) -> RaterSpec:
    try:
        return RaterSpec(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(p) for p in first["loc"]) or "rater"
        raise ConfigError(f"{where}: {location}: {first['msg']}") from exc


def load_raters(path: Path) -> list[RaterSpec]:
    """Read rater specs from a TOML file (see the module docstring for the layout)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: raters file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc})") from exc
    unknown = set(document) - {"defaults", "raters"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}")
    defaults = document.get("defaults", {})
    entries = document.get("raters", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[raters]] entries")
    specs = []
    for index, entry in enumerate(entries, start=1):
        values = {**defaults, **entry}
        if values.get("provider", "embedded") == "embedded" and not values.get("base_url"):
            values.setdefault("concurrency", 1)
        specs.append(_build_spec(values, f"{path}: rater {index}"))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: duplicate rater name(s) {', '.join(duplicates)}")
    return specs
