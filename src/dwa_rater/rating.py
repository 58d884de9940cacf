"""The rating engine: items and rater specs in, rating records out — cached, retried, resumable.

For every rater, each (item, sample) pair is one unit of work identified by its cache key.
Units already rated successfully in the output journal are skipped; units found in the response
cache are written without a request; the rest are grouped ``batch_size`` at a time into
requests, sent concurrently under the rater's limits, validated item by item, cached, and
appended to the journal as soon as each request settles. A killed run therefore loses nothing
that finished and repeats no request for it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import openai
from instructor.core.exceptions import IncompleteOutputException
from pydantic import BaseModel

from dwa_rater.cache import CacheKeyParts, ResponseCache, cache_key
from dwa_rater.config import RaterSpec
from dwa_rater.errors import DwaRaterError, EndpointError
from dwa_rater.llm.client import Endpoint
from dwa_rater.llm.ratelimit import RateLimiter
from dwa_rater.llm.response import batch_model, schema_sha256, split_valid
from dwa_rater.llm.retry import RetryPolicy, describe, is_fatal, is_transient, root_cause
from dwa_rater.llm.watchdog import (
    ConnectionBreaker,
    HealthCheck,
    first_problem,
    is_connection_failure,
)
from dwa_rater.prompts import Prompt, render_user_message
from dwa_rater.schemas import Item, RatingRecord
from dwa_rater.store import RatingsJournal

#: Rough characters per token, for estimates before any usage is known.
CHARS_PER_TOKEN = 4.0
#: Output tokens per item assumed by estimates (label, score and a short rationale).
OUTPUT_TOKENS_PER_ITEM = 45


@dataclass(frozen=True)
class RaterPlan:
    """A rater spec resolved against its prompt: everything needed to key and send requests."""

    spec: RaterSpec
    prompt: Prompt
    key_parts: CacheKeyParts

    @classmethod
    def build(cls, spec: RaterSpec, prompt: Prompt, model_name: str | None = None) -> RaterPlan:
        parts = CacheKeyParts(
            endpoint=spec.endpoint_identity,
            model=model_name or spec.model,
            temperature=spec.temperature,
            top_p=spec.top_p,
            max_tokens=spec.effective_max_tokens(),
            seed=spec.seed,
            batch_size=spec.batch_size,
            prompt_sha256=prompt.sha256,
            schema_sha256=schema_sha256(prompt.output),
        )
        return cls(spec=spec, prompt=prompt, key_parts=parts)

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


@dataclass
class Progress:
    """Counters of a run, updated as requests settle; passed to the progress callback."""

    total: int = 0
    done: int = 0
    skipped: int = 0
    cached: int = 0
    failed: int = 0
    requests: int = 0
    retries: int = 0
    reasks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.done + self.cached + self.failed + self.skipped

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace of live (non-cached) ratings so far."""
        elapsed = time.monotonic() - self.started
        live = self.done + self.failed
        remaining = self.total - self.finished
        if live == 0 or remaining <= 0:
            return None if remaining > 0 else 0.0
        return elapsed / live * remaining


ProgressCallback = Callable[[Progress], None]


def usage_of_error(error: BaseException) -> Any:
    """Token usage spent by a request that failed (instructor keeps it on its exceptions)."""
    usage = getattr(error, "total_usage", None)
    if usage is None:
        usage = getattr(getattr(error, "last_completion", None), "usage", None)
    return usage


def failure_reason(error: BaseException, spec: RaterSpec) -> str:
    """One line saying why a request gave up: the HTTP/transport error, or invalid output."""
    if isinstance(error, IncompleteOutputException):
        return (
            f"output cut at max_tokens={spec.effective_max_tokens()}: "
            "raise max_tokens or lower batch_size"
        )
    cause = root_cause(error)
    if isinstance(cause, openai.APIError):
        if is_transient(cause):
            return f"{describe(cause)} (gave up after retries)"
        return describe(cause)
    return f"invalid output after {spec.max_reasks + 1} attempt(s): {str(error)[:200]}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cost_of(spec: RaterSpec, prompt_tokens: float, completion_tokens: float) -> float | None:
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


def estimate_prompt_tokens(prompt: Prompt, items: Sequence[Item]) -> int:
    """Prompt tokens of one request, estimated from characters."""
    message = render_user_message(prompt, [(str(i + 1), it) for i, it in enumerate(items)])
    return int((len(prompt.system) + len(message)) / CHARS_PER_TOKEN) + 12


def request_arguments(plan: RaterPlan, batch: Sequence[Unit]) -> dict[str, Any]:
    """Chat-completion arguments of one request (without the response format).

    The rubric is the first message, identical in every request (provider prefix caching);
    the items come last, with short local ids ``1..k``.
    """
    spec = plan.spec
    ids = [str(i + 1) for i in range(len(batch))]
    user_message = render_user_message(
        plan.prompt, list(zip(ids, [u.item for u in batch], strict=True))
    )
    arguments: dict[str, Any] = {
        "model": spec.model,
        "messages": [
            {"role": "system", "content": plan.prompt.system},
            {"role": "user", "content": user_message},
        ],
        "temperature": spec.temperature,
        "max_tokens": plan.key_parts.max_tokens,
    }
    if spec.top_p is not None:
        arguments["top_p"] = spec.top_p
    seed = plan.request_seed(batch[0].sample)
    if seed is not None:
        arguments["seed"] = seed
    return arguments


def request_body(plan: RaterPlan, batch: Sequence[Unit]) -> dict[str, Any]:
    """The full OpenAI request body, as instructor's ``Mode.JSON_SCHEMA`` sends it (Batch API)."""
    ids = [str(i + 1) for i in range(len(batch))]
    model = batch_model(plan.prompt.output, ids)
    return {
        **request_arguments(plan, batch),
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": model.__name__, "schema": model.model_json_schema()},
        },
    }


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
    """Count requests, tokens and cost without calling anything."""
    estimates = []
    for plan in plans:
        units, skipped = plan_units(plan, items, done_keys)
        hits = set(cache.get_many([u.key for u in units])) if cache is not None else set()
        todo = [u for u in units if u.key not in hits]
        requests = list(chunk_units(todo, plan.spec.batch_size))
        prompt_tokens = sum(
            estimate_prompt_tokens(plan.prompt, [u.item for u in r]) for r in requests
        )
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


class _FatalEndpointError(Exception):
    """Internal: a failure that stops the rater (bad key, unknown model)."""

    def __init__(self, rater: str, error: BaseException) -> None:
        super().__init__(f"rater {rater}: {describe(error)}")
        self.error = error


class _RunStopped(Exception):
    """Internal: the run cannot go on (its server died, its endpoint is unreachable)."""


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """The first exception inside a (possibly nested) exception group of task groups."""
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


#: Seconds between two polls of the health checks.
HEALTH_POLL_S = 0.2


class RatingEngine:
    """Runs the units of several raters concurrently, each within its own limits."""

    def __init__(
        self,
        *,
        cache: ResponseCache,
        journal: RatingsJournal,
        run_id: str,
        retry: RetryPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        rng_seed: int | None = None,
        health_checks: Sequence[HealthCheck] = (),
    ) -> None:
        self.cache = cache
        self.journal = journal
        self.run_id = run_id
        self.retry = retry or RetryPolicy()
        self.on_progress = on_progress
        self.progress = Progress()
        self.health_checks = tuple(health_checks)
        self._breakers: dict[str, ConnectionBreaker] = {}
        self._rng = random.Random(rng_seed)

    # -- records -------------------------------------------------------------------------
    def _record(self, plan: RaterPlan, unit: Unit, model_name: str, **values: Any) -> RatingRecord:
        spec = plan.spec
        return RatingRecord(
            item_id=unit.item.item_id,
            item_type=unit.item.item_type,
            item_text=unit.item.text,
            rater=spec.name,
            model=model_name,
            endpoint=spec.endpoint_identity,
            prompt_name=plan.prompt.name,
            prompt_version=plan.prompt.version,
            prompt_sha256=plan.prompt.sha256,
            schema_sha256=plan.key_parts.schema_sha256,
            temperature=spec.temperature,
            top_p=spec.top_p,
            max_tokens=plan.key_parts.max_tokens,
            seed=plan.request_seed(unit.sample),
            batch_size=spec.batch_size,
            sample=unit.sample,
            cache_key=unit.key,
            run_id=self.run_id,
            **values,
        )

    def _notify(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    # -- public --------------------------------------------------------------------------
    async def rate(
        self,
        items: Sequence[Item],
        plans: Sequence[RaterPlan],
        endpoints: Mapping[str, Endpoint],
        done_keys: set[str],
        model_names: dict[str, str] | None = None,
    ) -> Progress:
        """Rate every item with every plan; returns the final counters.

        Raises :class:`EndpointError` when a rater's endpoint refuses the key or the model;
        everything finished before that is already in the journal.
        """
        model_names = model_names or {}
        work = []
        for plan in plans:
            units, skipped = plan_units(plan, items, done_keys)
            self.progress.total += len(units) + skipped
            self.progress.skipped += skipped
            work.append((plan, units))
        self._notify()
        try:
            async with asyncio.TaskGroup() as outer:
                watcher = outer.create_task(self._watch()) if self.health_checks else None
                try:
                    async with asyncio.TaskGroup() as group:
                        for plan, units in work:
                            name = model_names.get(plan.spec.name, plan.spec.model)
                            endpoint = endpoints.get(plan.spec.name)
                            group.create_task(self._rate_rater(plan, units, endpoint, name))
                finally:
                    if watcher is not None:
                        watcher.cancel()
        except* _RunStopped as stops:
            raise EndpointError(str(_first_leaf(stops))) from None
        except* _FatalEndpointError as failures:
            raise EndpointError(str(_first_leaf(failures))) from None
        except* DwaRaterError as failures:
            # One clear error for the CLI rather than an exception group.
            raise _first_leaf(failures) from None
        return self.progress

    async def _watch(self) -> None:
        """Poll the health checks; stop the run (cancelling requests in flight) on a problem."""
        while True:
            reason = first_problem(self.health_checks)
            if reason:
                raise _RunStopped(reason)
            await asyncio.sleep(HEALTH_POLL_S)

    def _connection_failed(self, endpoint: Endpoint, error: BaseException) -> None:
        """Count a failed connection; raise :class:`_RunStopped` once the breaker trips."""
        breaker = self._breakers.setdefault(endpoint.base_url, ConnectionBreaker())
        if not breaker.failure():
            return
        reason = first_problem(self.health_checks)
        if reason is None:
            reason = (
                f"cannot reach {endpoint.base_url}: {breaker.consecutive} requests in a row "
                f"failed ({describe(error)})"
            )
        raise _RunStopped(reason)

    async def _rate_rater(
        self, plan: RaterPlan, units: list[Unit], endpoint: Endpoint | None, model_name: str
    ) -> None:
        todo = self.replay_cached(plan, units, model_name)
        if not todo:
            return
        if endpoint is None:
            raise EndpointError(f"rater {plan.spec.name}: no endpoint connected")
        semaphore = asyncio.Semaphore(plan.spec.concurrency)
        limiter = RateLimiter(plan.spec.requests_per_minute, plan.spec.tokens_per_minute)

        async def run_request(batch: list[Unit]) -> None:
            async with semaphore:
                await self._rate_batch(plan, batch, endpoint, limiter, model_name)

        async with asyncio.TaskGroup() as group:
            for batch in chunk_units(todo, plan.spec.batch_size):
                group.create_task(run_request(batch))

    async def _send(
        self,
        plan: RaterPlan,
        batch: list[Unit],
        endpoint: Endpoint,
        limiter: RateLimiter,
        model_name: str,
    ) -> tuple[Any, int, int, float]:
        """One structured request with transient-error retries; returns (parsed, usage, latency)."""
        spec = plan.spec
        ids = [str(i + 1) for i in range(len(batch))]
        kwargs = request_arguments(plan, batch)
        user_message = kwargs["messages"][-1]["content"]
        estimated = (
            int((len(plan.prompt.system) + len(user_message)) / CHARS_PER_TOKEN)
            + kwargs["max_tokens"]
        )
        policy = self.retry.with_attempts(spec.max_retries + 1)
        attempt = 0
        while True:
            attempt += 1
            await limiter.acquire(estimated)
            began = time.monotonic()
            self.progress.requests += 1
            try:
                (
                    parsed,
                    completion,
                ) = await endpoint.structured.chat.completions.create_with_completion(
                    response_model=batch_model(plan.prompt.output, ids),
                    max_retries=spec.max_reasks,
                    **kwargs,
                )
            except Exception as error:  # classified below; nothing is swallowed silently
                self._count_usage(spec, usage_of_error(error))
                limiter.settle(estimated, 0)
                if is_fatal(error):
                    raise _FatalEndpointError(spec.name, error) from error
                if is_connection_failure(error):
                    self._connection_failed(endpoint, error)
                if is_transient(error) and attempt < policy.max_attempts:
                    self.progress.retries += 1
                    await asyncio.sleep(policy.wait_seconds(attempt, error, self._rng))
                    continue
                raise
            latency = time.monotonic() - began
            self._breakers.setdefault(endpoint.base_url, ConnectionBreaker()).success()
            usage = getattr(parsed, "_total_usage", None) or getattr(completion, "usage", None)
            prompt_tokens, completion_tokens = self._count_usage(spec, usage)
            limiter.settle(estimated, prompt_tokens + completion_tokens)
            return parsed, prompt_tokens, completion_tokens, latency

    def _count_usage(self, spec: RaterSpec, usage: Any) -> tuple[int, int]:
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        self.progress.prompt_tokens += prompt_tokens
        self.progress.completion_tokens += completion_tokens
        self.progress.cost_usd += cost_of(spec, prompt_tokens, completion_tokens) or 0.0
        return prompt_tokens, completion_tokens

    async def _rate_batch(
        self,
        plan: RaterPlan,
        batch: list[Unit],
        endpoint: Endpoint,
        limiter: RateLimiter,
        model_name: str,
        rounds: int | None = None,
    ) -> None:
        """Rate one request's units; re-ask only the items that did not come back valid.

        ``rounds`` is the number of requests this batch may still make (first ask plus
        re-asks). Items missing, duplicated or invalid in a multi-item answer are re-asked one
        by one: with a single id, the schema leaves no room for a wrong or repeated id.
        """
        rounds = plan.spec.max_reasks + 1 if rounds is None else rounds
        pending = list(batch)
        reasons: dict[str, str] = {}
        for round_number in range(rounds):
            if round_number > 0:
                self.progress.reasks += 1
            try:
                parsed, prompt_tokens, completion_tokens, latency = await self._send(
                    plan, pending, endpoint, limiter, model_name
                )
            except (_FatalEndpointError, _RunStopped):
                raise
            except Exception as error:
                if isinstance(error, IncompleteOutputException) and len(pending) > 1:
                    # The answer outgrew max_tokens: halve the request rather than re-ask it.
                    middle = len(pending) // 2
                    for part in (pending[:middle], pending[middle:]):
                        await self._rate_batch(
                            plan, part, endpoint, limiter, model_name, rounds - round_number
                        )
                    return
                reasons = {u.key: failure_reason(error, plan.spec) for u in pending}
                break
            still = self._store_valid(
                plan,
                pending,
                parsed,
                reasons,
                model_name,
                (prompt_tokens, completion_tokens, latency),
            )
            if not still:
                return
            remaining = rounds - round_number - 1
            if len(pending) > 1 and len(still) > 0 and remaining > 0:
                self.progress.reasks += len(still)
                for unit in still:
                    await self._rate_batch(plan, [unit], endpoint, limiter, model_name, remaining)
                return
            pending = still
        self.record_failures(plan, pending, reasons, model_name)

    def replay_cached(self, plan: RaterPlan, units: Sequence[Unit], model_name: str) -> list[Unit]:
        """Journal the units found in the response cache (as cached ratings); return the rest."""
        hits = self.cache.get_many([u.key for u in units])
        replayed = [
            self._record(plan, unit, model_name, cached=True, **hits[unit.key])
            for unit in units
            if unit.key in hits
        ]
        for start in range(0, len(replayed), 500):
            self.progress.cached += self.journal.append(replayed[start : start + 500])
            self._notify()
        return [u for u in units if u.key not in hits]

    def store_answer(
        self,
        plan: RaterPlan,
        batch: list[Unit],
        parsed: Any,
        usage: tuple[int, int, float],
        model_name: str,
    ) -> dict[str, str]:
        """Store the valid ratings of an answer obtained elsewhere (e.g. the Batch API).

        Returns a reason for each unit key that did not come back valid.
        """
        reasons: dict[str, str] = {}
        still = self._store_valid(plan, batch, parsed, reasons, model_name, usage)
        return {u.key: reasons[u.key] for u in still}

    def record_failures(
        self, plan: RaterPlan, units: Sequence[Unit], reasons: Mapping[str, str], model_name: str
    ) -> None:
        """Journal units that gave up, each with its reason."""
        failed = [
            self._record(
                plan,
                unit,
                model_name,
                status="failed",
                error=reasons.get(unit.key, "failed"),
                created_at=now_iso(),
            )
            for unit in units
        ]
        self.progress.failed += self.journal.append(failed)
        self._notify()

    def _store_valid(
        self,
        plan: RaterPlan,
        pending: list[Unit],
        parsed: Any,
        reasons: dict[str, str],
        model_name: str,
        cost: tuple[int, int, float],
    ) -> list[Unit]:
        """Cache and journal the valid ratings of one answer; return the units still missing."""
        prompt_tokens, completion_tokens, latency = cost
        ids = [str(i + 1) for i in range(len(pending))]
        valid, problems = split_valid(plan.prompt.output, parsed, ids)
        share_prompt = prompt_tokens / len(pending)
        share_completion = completion_tokens / len(pending)
        created = now_iso()
        records, still = [], []
        for local_id, unit in zip(ids, pending, strict=True):
            rating = valid.get(local_id)
            if rating is None:
                reasons[unit.key] = problems.get(local_id, "missing")
                still.append(unit)
                continue
            value = self._value(rating, share_prompt, share_completion, latency, plan, created)
            self.cache.set(unit.key, value)
            records.append(self._record(plan, unit, model_name, cached=False, **value))
        self.progress.done += self.journal.append(records)
        self._notify()
        return still

    @staticmethod
    def _value(
        rating: BaseModel,
        share_prompt: float,
        share_completion: float,
        latency: float,
        plan: RaterPlan,
        created: str,
    ) -> dict[str, Any]:
        data = rating.model_dump()
        return {
            "label": data.get("label"),
            "score": data.get("score"),
            "rationale": data.get("rationale"),
            "prompt_tokens": round(share_prompt),
            "completion_tokens": round(share_completion),
            "cost_usd": cost_of(plan.spec, share_prompt, share_completion),
            "latency_s": round(latency, 4),
            "created_at": created,
        }
