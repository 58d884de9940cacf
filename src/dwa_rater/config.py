"""Rater specifications: who rates, with which model, rubric and sampling, under which limits.

Raters come from a TOML file (``--raters FILE``), from command-line options (one ad-hoc rater),
or default to one rater on the embedded local model. Specs are frozen and validated; an API key
is never part of a spec, only the *name* of the environment variable holding it.

TOML layout::

    [defaults]            # optional; applies to every rater
    temperature = 0.0

    [[raters]]
    name = "gpt4o-mini-exposure"
    provider = "openai"          # a preset (`dwa-rater providers`); base_url overrides its URL
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"   # default: the preset's variable
    structured_output = "auto"   # auto | json_schema | json_object | tools | md_json
    extra_body = { }             # merged into every request body
    reasoning = false            # default: true for o1/o3/o4/gpt-5 model names
    rubric = "exposure@v1"
    samples = 3
    batch_size = 10
    concurrency = 8
    requests_per_minute = 500
    tokens_per_minute = 200000

    [[raters]]            # an offline rater: vote of the most similar human-labelled statements
    name = "reference-human"
    provider = "reference"
    reference = "labels.parquet"   # a long ratings table with item_text (relative to this file)
    reference_rater = "human"
    k = 15
    exclude = "onetsoc_code"       # optional: never use references of the item's own occupation

    [[raters]]            # a model shown the k most similar labelled statements with each item
    name = "gpt4o-mini-anchored"
    provider = "openai"
    model = "gpt-4o-mini"
    api_key_env = "OPENAI_API_KEY"
    rubric = "exposure-anchored@v1"
    reference = "labels.parquet"
    k = 5                          # exclude defaults to onetsoc_code when the reference has it
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dwa_rater.embedded_model import EMBEDDED_ENDPOINT, SMOLLM2
from dwa_rater.errors import ConfigError
from dwa_rater.providers import (
    DEFAULT_CNY_PER_USD,
    PRESETS,
    ProviderPreset,
    StructuredOutput,
    StructuredOutputChoice,
    is_reasoning_model,
)

#: Known providers and their OpenAI-compatible base URLs (see :mod:`dwa_rater.providers`).
PROVIDERS: dict[str, str | None] = {name: p.base_url for name, p in PRESETS.items()}
#: The offline reference rater (no endpoint; see :mod:`dwa_rater.reference`).
PROVIDERS["reference"] = None

#: Output tokens a reasoning model may spend thinking, on top of the answer's budget.
REASONING_BUDGET_TOKENS = 8000

#: What a reference rater may leave out of the neighbours of an item: references of the item's
#: own occupation (``onetsoc_code``) or the item itself (``item_id``).
ReferenceExclusion = Literal["onetsoc_code", "item_id"]
#: Rubrics whose name ends so show each item with labelled examples and need a ``reference``.
ANCHORED_SUFFIX = "-anchored"
_REFERENCE_FIELDS = ("reference", "reference_rater", "k", "exclude", "similarity_temperature")


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
    structured_output: StructuredOutputChoice = "auto"
    extra_body: dict[str, Any] | None = None
    reasoning: bool | None = None
    reasoning_effort: str | None = Field(default=None, pattern=r"^(minimal|low|medium|high)$")
    cny_per_usd: float = Field(default=DEFAULT_CNY_PER_USD, gt=0)
    # provider = "reference" only (see dwa_rater.reference.vote):
    reference: str | None = None
    reference_rater: str = "human"
    k: int = Field(default=15, ge=1, le=1000)
    exclude: ReferenceExclusion | None = None
    similarity_temperature: float = Field(default=0.02, gt=0.0, le=10.0)

    @model_validator(mode="after")
    def _check_endpoint(self) -> RaterSpec:
        if self.provider is not None and self.provider not in PROVIDERS:
            known = ", ".join(PROVIDERS)
            raise ValueError(f"unknown provider {self.provider!r} (known: {known})")
        if self.provider == "reference":
            if not self.reference:
                raise ValueError("provider 'reference' needs reference = a labelled ratings file")
            if self.base_url is not None:
                raise ValueError("provider 'reference' takes no base_url")
        elif self.is_anchored and not self.reference:
            raise ValueError(f"rubric {self.rubric!r} needs reference = a labelled ratings file")
        elif self.reference is not None and not self.is_anchored:
            raise ValueError(
                "reference = ... needs provider = 'reference' or an anchored rubric "
                f"(a name ending in {ANCHORED_SUFFIX!r})"
            )
        if self.base_url is not None and not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {self.base_url!r} must start with http:// or https://")
        preset = self.preset
        if preset is not None and preset.needs_base_url and self.base_url is None:
            raise ValueError(f"provider {self.provider!r} needs a base_url")
        ceiling = preset.max_temperature if preset is not None else None
        if ceiling is not None and self.temperature > ceiling and not self.is_reasoning:
            raise ValueError(
                f"provider {self.provider!r} accepts temperatures up to {ceiling}, "
                f"not {self.temperature}"
            )
        if self.extra_body is not None:
            reserved = {"model", "messages"} & set(self.extra_body)
            if reserved:
                raise ValueError(f"extra_body may not set {', '.join(sorted(reserved))}")
        return self

    @property
    def preset(self) -> ProviderPreset | None:
        """The provider preset named by ``provider`` (``None`` without one)."""
        return PRESETS.get(self.provider) if self.provider else None

    @property
    def is_anchored(self) -> bool:
        """True for a model rater whose rubric shows labelled examples (needs a reference)."""
        name = self.rubric.replace("/", "@").replace(":", "@").split("@")[0].strip()
        return not self.is_reference and name.endswith(ANCHORED_SUFFIX)

    @property
    def is_reference(self) -> bool:
        """True for the offline reference rater (no model, no endpoint)."""
        return self.provider == "reference"

    @property
    def is_embedded(self) -> bool:
        """True when this rater uses the embedded local model server."""
        return self.resolved_base_url is None and not self.is_reference

    @property
    def resolved_base_url(self) -> str | None:
        if self.base_url:
            return self.base_url.rstrip("/")
        return PROVIDERS.get(self.provider or "embedded")

    @property
    def resolved_api_key_env(self) -> str | None:
        """The key's environment variable: the rater's own, else the preset's default."""
        if self.api_key_env:
            return self.api_key_env
        return self.preset.api_key_env if self.preset is not None else None

    @property
    def resolved_structured_output(self) -> StructuredOutput:
        """The structured-output mode sent: the rater's choice, else the preset's."""
        if self.structured_output != "auto":
            return self.structured_output
        return self.preset.structured_output if self.preset is not None else "json_schema"

    @property
    def is_reasoning(self) -> bool:
        """True for reasoning models: ``max_completion_tokens`` and no temperature are sent."""
        if self.reasoning is not None:
            return self.reasoning
        return is_reasoning_model(self.model)

    def request_extra_body(self) -> dict[str, Any]:
        """Extra request fields: the preset's for this model, then the rater's own on top."""
        extra = self.preset.extra_body_for(self.model) if self.preset is not None else {}
        return {**extra, **(self.extra_body or {})}

    @property
    def endpoint_identity(self) -> str:
        """What identifies the endpoint in cache keys and provenance (never a secret)."""
        if self.is_reference:
            return "reference"
        return self.resolved_base_url or EMBEDDED_ENDPOINT

    def effective_max_tokens(self) -> int:
        """Output budget per request unless set: 200 tokens per item plus 50.

        A rationale may hold 160 characters, and a small model can spend a token per character
        on a degenerate one; with the label, score and JSON around it, 200 tokens always close
        the answer. Unused budget costs nothing.

        A reasoning model spends output tokens thinking before it answers: it gets
        :data:`REASONING_BUDGET_TOKENS` more.
        """
        if self.max_tokens:
            return self.max_tokens
        answer = 200 * self.batch_size + 50
        return answer + REASONING_BUDGET_TOKENS if self.is_reasoning else answer

    def prices(self) -> tuple[float, float] | None:
        """(input, output) US dollars per million tokens, if known.

        A rater's own prices (in US dollars) win; else the preset's list price of the model,
        converted from CNY at ``cny_per_usd`` where the provider prices in CNY. Without a
        provider, the OpenAI list (and the embedded model's zero) is looked up by model name.
        """
        if self.price_input_per_mtok is not None and self.price_output_per_mtok is not None:
            return (self.price_input_per_mtok, self.price_output_per_mtok)
        if self.is_embedded:
            return (0.0, 0.0)
        presets = [self.preset] if self.preset is not None else [PRESETS["openai"]]
        for candidate in presets:
            price = candidate.price_for(self.model)
            if price is not None:
                return price.in_usd(self.cny_per_usd)
        return None

    def public_dict(self) -> dict[str, Any]:
        """The spec as recorded in manifests: no secret can be in it (only the env var name)."""
        return self.model_dump()


def default_rater(**overrides: Any) -> RaterSpec:
    """The rater used when nothing is configured: the embedded model, exposure rubric."""
    values: dict[str, Any] = {"name": "embedded-exposure", "concurrency": 1}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return _build_spec(values, "command line")


#: Requests in flight for an ad-hoc remote rater that names no concurrency.
AD_HOC_CONCURRENCY = 4


def ad_hoc_rater_name(model: str | None, rubric: str | None) -> str:
    """``<model>-<rubric>`` with every run of characters a rater name cannot hold as ``-``
    (``deepseek-ai/DeepSeek-V3`` -> ``deepseek-ai-DeepSeek-V3-exposure``)."""
    return re.sub(r"[^A-Za-z0-9_.:@+-]+", "-", f"{model or 'embedded'}-{rubric or 'exposure'}")


def raters_for_run(raters_file: Path | None, ad_hoc: Mapping[str, Any]) -> list[RaterSpec]:
    """The raters of a run: those of a TOML file, or one ad-hoc rater from ``ad_hoc`` settings
    (the raters-file keys; None values count as not given), by default the embedded model.

    An ad-hoc remote rater (a ``base_url``, or a provider other than ``embedded``) is named
    ``<model>-<rubric>`` unless named, and sends :data:`AD_HOC_CONCURRENCY` requests at a time
    unless told otherwise. Giving both a file and ad-hoc settings is a :class:`ConfigError`.
    """
    given = {k: v for k, v in ad_hoc.items() if v is not None}
    if raters_file is not None:
        if given:
            raise ConfigError("give either --raters FILE or ad-hoc rater options, not both")
        return load_raters(raters_file)
    remote = "base_url" in given or given.get("provider") not in (None, "embedded")
    if remote and "name" not in given:
        given["name"] = ad_hoc_rater_name(given.get("model", "model"), given.get("rubric"))
    if remote:
        given.setdefault("concurrency", AD_HOC_CONCURRENCY)
    return [default_rater(**given)]


def _build_spec(values: Mapping[str, Any], where: str) -> RaterSpec:
    try:
        return RaterSpec(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(p) for p in first["loc"]) or "rater"
        raise ConfigError(f"{where}: {location}: {first['msg']}") from exc


def _resolve_reference(value: str, base_dir: Path | None) -> str:
    """A relative reference path is looked up in ``base_dir`` first, then in the working
    directory (where it is reported missing when it is in neither)."""
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        return str(candidate)
    beside = base_dir / candidate if base_dir is not None else None
    return str(beside.resolve() if beside is not None and beside.exists() else candidate.resolve())


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
    entries = document.get("raters", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: no [[raters]] entries")
    return build_raters(
        entries, document.get("defaults", {}), where=str(path), base_dir=path.parent
    )


def build_raters(
    entries: Sequence[Mapping[str, Any]],
    defaults: Mapping[str, Any] | None = None,
    *,
    where: str = "raters",
    base_dir: Path | None = None,
) -> list[RaterSpec]:
    """Rater specs from mappings with the raters-file keys (``[[raters]]`` entries).

    ``defaults`` apply to every entry unless it sets the key itself; a rater on the embedded
    model defaults to one request at a time. A relative ``reference`` path is looked up in
    ``base_dir`` (the raters file's folder) first, then in the working directory. Names must be
    unique. Example::

        >>> [s.name for s in build_raters([{"name": "a"}, {"name": "b", "temperature": 1.0}])]
        ['a', 'b']
    """
    if isinstance(entries, Mapping) or not entries:
        raise ConfigError(f"{where}: give a list of raters (one mapping each)")
    specs = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where}: rater {index} is not a table of settings")
        values = {**(defaults or {}), **entry}
        rubric = str(values.get("rubric", "")).replace("/", "@").replace(":", "@").split("@")[0]
        if values.get("provider") != "reference" and not rubric.endswith(ANCHORED_SUFFIX):
            # Defaults may hold reference settings meant for the reference raters only.
            for name in _REFERENCE_FIELDS:
                if defaults and name in defaults and name not in entry:
                    values.pop(name)
        if isinstance(values.get("reference"), str):
            values["reference"] = _resolve_reference(values["reference"], base_dir)
        if values.get("provider", "embedded") == "embedded" and not values.get("base_url"):
            values.setdefault("concurrency", 1)
        specs.append(_build_spec(values, f"{where}: rater {index}"))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{where}: duplicate rater name(s) {', '.join(duplicates)}")
    return specs
