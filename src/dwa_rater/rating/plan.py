"""Planning a run: rater plans, units of work, requests, and token and cost estimates.

A :class:`RaterPlan` resolves a rater spec against its rubric and provider once: the cache-key
parts, the system message (with format instructions where the mode needs them) and the request
fields every request of the rater shares. Units are (item, sample) pairs keyed by cache key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dwa_rater.cache import CacheKeyParts, ResponseCache, cache_key
from dwa_rater.config import RaterSpec
from dwa_rater.llm.response import envelope_schema, schema_sha256
from dwa_rater.prompts import Prompt, render_user_message
from dwa_rater.providers import StructuredOutput
from dwa_rater.schemas import Item

#: Rough characters per token, for estimates before any usage is known.
CHARS_PER_TOKEN = 4.0
#: Output tokens per item assumed by estimates (label, score and a short rationale).
OUTPUT_TOKENS_PER_ITEM = 45

#: Sampling parameters a reasoning model refuses (OpenAI o-series and gpt-5).
REASONING_REFUSED = frozenset({"temperature", "top_p"})


def format_instructions(mode: StructuredOutput, schema: dict[str, Any]) -> str:
    """What the system message adds when the schema cannot travel in ``response_format``.

    In ``json_object`` mode some providers (DeepSeek) refuse a prompt without the word "json";
    in ``md_json`` mode (Anthropic's compatibility layer ignores ``response_format``) the answer
    is read from a fenced block or the outermost JSON object.
    """
    text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"))
    if mode == "json_object":
        return (
            "\n\nAnswer in json only: one JSON object, no other text, following this JSON "
            f"schema:\n{text}\nGive exactly one rating per id listed, using the ids as given.\n"
        )
    if mode == "md_json":
        return (
            "\n\nAnswer with one JSON object in a ```json code block and nothing else, "
            f"following this JSON schema:\n{text}\n"
            "Give exactly one rating per id listed, using the ids as given.\n"
        )
    return ""


#: Appended to the user message in the modes whose schema travels in the prompt, so that the
#: word "json" is also in the last message (some providers check that one).
USER_FORMAT_REMINDER = "\n\nAnswer in json, as the system message describes."


@dataclass(frozen=True)
class RequestTemplate:
    """What every request of one rater shares: mode, system message and constant fields."""

    mode: StructuredOutput
    system: str
    fields: dict[str, Any]
    extra_body: dict[str, Any]
    reasoning: bool
    temperature_sent: float | None
    refused: frozenset[str] = field(default_factory=frozenset)

    @property
    def variant_sha256(self) -> str:
        """SHA-256 of what differs from the original request shape (empty when nothing does).

        The original shape is json_schema with ``max_tokens`` and temperature and no extra
        fields: caches and ratings made before modes existed keep their keys.
        """
        variant: dict[str, Any] = {}
        if self.mode in ("json_object", "md_json"):
            variant["instructions"] = hashlib.sha256(self.system.encode("utf-8")).hexdigest()
        if self.reasoning:
            variant["reasoning"] = {k: v for k, v in self.fields.items() if k != "model"}
        if self.extra_body:
            variant["extra_body"] = self.extra_body
        if self.refused:
            variant["refused"] = sorted(self.refused)
        if not variant:
            return ""
        text = json.dumps(variant, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def request_template(spec: RaterSpec, prompt: Prompt, max_tokens: int) -> RequestTemplate:
    """Resolve the rater's provider rules into the fields its requests share.

    Reasoning models get ``max_completion_tokens`` and no temperature or top_p; parameters the
    preset says the provider refuses are left out; the preset's and the rater's extra body
    fields are merged in last (the rater's win).
    """
    mode = spec.resolved_structured_output
    preset = spec.preset
    refused = set(preset.refused) if preset is not None else set()
    reasoning = spec.is_reasoning
    if reasoning:
        refused |= REASONING_REFUSED
    fields: dict[str, Any] = {"model": spec.model}
    temperature: float | None = None
    if "temperature" not in refused:
        temperature = spec.temperature
        fields["temperature"] = temperature
    if reasoning:
        fields["max_completion_tokens"] = max_tokens
        if spec.reasoning_effort:
            fields["reasoning_effort"] = spec.reasoning_effort
    else:
        fields["max_tokens"] = max_tokens
    if spec.top_p is not None and "top_p" not in refused:
        fields["top_p"] = spec.top_p
    system = prompt.system + format_instructions(mode, envelope_schema(prompt.output))
    # Only refusals that change what is sent are part of the request's identity.
    dropped = refused & ({"temperature"} | ({"top_p"} if spec.top_p is not None else set()))
    return RequestTemplate(
        mode=mode,
        system=system,
        fields=fields,
        extra_body=spec.request_extra_body(),
        reasoning=reasoning,
        temperature_sent=temperature,
        refused=frozenset(dropped) if not reasoning else frozenset(),
    )


@dataclass(frozen=True)
class RaterPlan:
    """A rater spec resolved against its prompt: everything needed to key and send requests."""

    spec: RaterSpec
    prompt: Prompt
    key_parts: CacheKeyParts
    request: RequestTemplate

    @classmethod
    def build(cls, spec: RaterSpec, prompt: Prompt, model_name: str | None = None) -> RaterPlan:
        max_tokens = spec.effective_max_tokens()
        template = request_template(spec, prompt, max_tokens)
        parts = CacheKeyParts(
            endpoint=spec.endpoint_identity,
            model=model_name or spec.model,
            temperature=spec.temperature,
            top_p=spec.top_p,
            max_tokens=max_tokens,
            seed=spec.seed,
            batch_size=spec.batch_size,
            prompt_sha256=prompt.sha256,
            schema_sha256=schema_sha256(prompt.output),
            structured_output=template.mode,
            request_sha256=template.variant_sha256,
        )
        return cls(spec=spec, prompt=prompt, key_parts=parts, request=template)

    def with_spec(self, spec: RaterSpec) -> RaterPlan:
        """The same plan (same keys and requests) with another spec, e.g. other prices."""
        return RaterPlan(
            spec=spec, prompt=self.prompt, key_parts=self.key_parts, request=self.request
        )

    def key(self, item: Item, sample: int) -> str:
        return cache_key(self.key_parts, item, sample)

    def request_seed(self, sample: int) -> int | None:
        """Per-sample seed so that sampled runs are reproducible where the server honours it."""
        return None if self.spec.seed is None else self.spec.seed + sample


@dataclass(frozen=True)
class Unit:
    """One (item, sample) pair of one rater."""

    item: Item
    sample: int
    key: str


def cost_of(spec: RaterSpec, prompt_tokens: float, completion_tokens: float) -> float | None:
    """US dollars for the tokens at the rater's prices (``None`` when no price is known)."""
    prices = spec.prices()
    if prices is None:
        return None
    return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000


def plan_units(
    plan: RaterPlan, items: Sequence[Item], done_keys: set[str]
) -> tuple[list[Unit], int]:
    """Units still to rate for one rater, and how many were skipped as already done."""
    units, skipped = [], 0
    for sample in range(plan.spec.samples):
        for item in items:
            key = plan.key(item, sample)
            if key in done_keys:
                skipped += 1
            else:
                units.append(Unit(item=item, sample=sample, key=key))
    return units, skipped


def chunk_units(units: Sequence[Unit], size: int) -> Iterator[list[Unit]]:
    """Requests of at most ``size`` units, never mixing samples (a request has one seed)."""
    by_sample: dict[int, list[Unit]] = {}
    for unit in units:
        by_sample.setdefault(unit.sample, []).append(unit)
    for sample in sorted(by_sample):
        group = by_sample[sample]
        for start in range(0, len(group), size):
            yield group[start : start + size]


def estimate_prompt_tokens(plan_or_prompt: RaterPlan | Prompt, items: Sequence[Item]) -> int:
    """Prompt tokens of one request, estimated from characters."""
    prompt = plan_or_prompt.prompt if isinstance(plan_or_prompt, RaterPlan) else plan_or_prompt
    system = (
        plan_or_prompt.request.system if isinstance(plan_or_prompt, RaterPlan) else prompt.system
    )
    message = render_user_message(prompt, [(str(i + 1), it) for i, it in enumerate(items)])
    return int((len(system) + len(message)) / CHARS_PER_TOKEN) + 12


@dataclass(frozen=True)
class DryRunEstimate:
    """What a run would send: per rater, requests, tokens and cost."""

    rater: str
    units: int
    skipped: int
    cached: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None


def estimate_run(
    plans: Sequence[RaterPlan],
    items: Sequence[Item],
    done_keys: set[str],
    cache: ResponseCache | None,
) -> list[DryRunEstimate]:
    """Count requests, tokens and cost without calling anything.

    Output tokens are :data:`OUTPUT_TOKENS_PER_ITEM` per item; a reasoning model's thinking is
    not known in advance and is not included.
    """
    estimates = []
    for plan in plans:
        units, skipped = plan_units(plan, items, done_keys)
        hits = set(cache.get_many([u.key for u in units])) if cache is not None else set()
        todo = [u for u in units if u.key not in hits]
        requests = list(chunk_units(todo, plan.spec.batch_size))
        prompt_tokens = sum(estimate_prompt_tokens(plan, [u.item for u in r]) for r in requests)
        completion_tokens = OUTPUT_TOKENS_PER_ITEM * len(todo)
        estimates.append(
            DryRunEstimate(
                rater=plan.spec.name,
                units=len(units) + skipped,
                skipped=skipped,
                cached=len(hits),
                requests=len(requests),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost_of(plan.spec, prompt_tokens, completion_tokens),
            )
        )
    return estimates
