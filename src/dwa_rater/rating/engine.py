"""The live rating engine: units of several raters sent concurrently, within shared limits.

For every rater, each (item, sample) pair is one unit of work identified by its cache key.
Units already rated in the output journal are skipped; units found in the response cache are
written without a request; the rest are grouped ``batch_size`` at a time into requests, sent
concurrently under the limits of the rater's key, read back whatever the structured-output
mode, and handed to the :class:`~dwa_rater.rating.sink.ResultSink`, which validates them item
by item, caches and journals them as soon as each request settles. A killed run therefore loses
nothing that finished and repeats no request for it.

The first request of each rater goes alone: a provider that refuses the request as built
(a parameter, a response format) is found on one request, not on ``concurrency`` of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dwa_rater.config import RaterSpec
from dwa_rater.errors import DwaRaterError, EndpointError
from dwa_rater.llm.client import Endpoint
from dwa_rater.llm.ratelimit import LimiterRegistry, RateLimiter
from dwa_rater.llm.retry import (
    RetryPolicy,
    async_retrying,
    classify,
    describe,
    retry_after_seconds,
    root_cause,
)
from dwa_rater.llm.transport import ProviderError, TransportError
from dwa_rater.llm.watchdog import (
    ConnectionBreaker,
    HealthCheck,
    first_problem,
    is_connection_failure,
)
from dwa_rater.rating.audit import RawLog
from dwa_rater.rating.plan import CHARS_PER_TOKEN, RaterPlan, Unit, chunk_units, plan_units
from dwa_rater.rating.requests import Answer, read_answer, request_body
from dwa_rater.rating.sink import Progress, ResultSink
from dwa_rater.schemas import Item

log = logging.getLogger(__name__)

#: Request-level refusals in a row that stop a rater that has already had answers.
MAX_REQUEST_ERRORS_IN_A_ROW = 3
#: Refusals of any kind (also content filters) before a rater's first answer that stop it:
#: a provider that refuses everything is not a provider that filtered three items.
MAX_REFUSALS_BEFORE_AN_ANSWER = 3


def cut_reason(spec: RaterSpec) -> str:
    """Why a one-item request gave up after its answer hit the output-token limit."""
    return (
        f"output cut at max_tokens={spec.effective_max_tokens()}: "
        "raise max_tokens or lower batch_size"
    )


def failure_reason(error: BaseException, spec: RaterSpec) -> str:
    """One line saying why a request gave up: the HTTP/transport error, or invalid output."""
    kind = classify(error)
    if kind == "transient":
        return f"{describe(error)} (gave up after retries)"
    if kind == "item":
        return f"refused by the provider: {describe(error)}"
    if kind in ("request", "fatal"):
        return describe(error)
    return f"invalid output after {spec.max_reasks + 1} attempt(s): {str(error)[:200]}"


class _FatalEndpointError(Exception):
    """Internal: a failure that stops the rater (bad key, unknown model, a refused request)."""

    def __init__(self, rater: str, error: BaseException) -> None:
        cause = root_cause(error)
        if isinstance(cause, ProviderError) and classify(cause) in ("request", "item"):
            message = (
                f"rater {rater}: the provider refused the request (HTTP {cause.status_code}): "
                f"{cause.message[:300]}"
            )
        else:
            message = f"rater {rater}: {describe(error)}"
        super().__init__(message)
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


@dataclass
class _RaterState:
    """What the engine learnt about a rater's endpoint during the run."""

    answers: int = 0
    request_errors_in_a_row: int = 0
    refusals: int = 0


class RatingEngine:
    """Runs the units of several raters concurrently, each within its key's limits.

    ``health_checks`` are polled while the run goes on (e.g. the embedded server's process);
    connection failures are counted per endpoint (:class:`ConnectionBreaker`). Either stops
    the run at once with one line.
    """

    def __init__(
        self,
        *,
        sink: ResultSink,
        retry: RetryPolicy | None = None,
        raw_log: RawLog | None = None,
        limiters: LimiterRegistry | None = None,
        rng_seed: int | None = None,
        health_checks: Sequence[HealthCheck] = (),
    ) -> None:
        self.sink = sink
        self.retry = retry or RetryPolicy()
        self.raw_log = raw_log
        self.limiters = limiters or LimiterRegistry()
        self.health_checks = tuple(health_checks)
        self._breakers: dict[str, ConnectionBreaker] = {}
        self._rng = random.Random(rng_seed)

    @property
    def progress(self) -> Progress:
        return self.sink.progress

    async def rate(
        self,
        items: Sequence[Item],
        plans: Sequence[RaterPlan],
        endpoints: Mapping[str, Endpoint],
        done_keys: set[str],
        model_names: dict[str, str] | None = None,
    ) -> Progress:
        """Rate every item with every plan; returns the final counters.

        Raises :class:`EndpointError` when a rater's endpoint refuses the key, the model or
        the request as built; everything finished before that is already in the journal.
        """
        model_names = model_names or {}
        work = []
        for plan in plans:
            units, skipped = plan_units(plan, items, done_keys)
            self.sink.add_work(len(units) + skipped, skipped)
            work.append((plan, units))
        self.sink.notify()
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
        todo = self.sink.replay_cached(plan, units, model_name)
        if not todo:
            return
        if endpoint is None:
            raise EndpointError(f"rater {plan.spec.name}: no endpoint connected")
        semaphore = asyncio.Semaphore(plan.spec.concurrency)
        limiter = self.limiters.limiter(endpoint.limiter_key)
        state = _RaterState()

        async def run_request(batch: list[Unit]) -> None:
            async with semaphore:
                await self._rate_batch(plan, batch, endpoint, limiter, model_name, state)

        batches = list(chunk_units(todo, plan.spec.batch_size))
        await run_request(batches[0])
        if len(batches) > 1:
            async with asyncio.TaskGroup() as group:
                for batch in batches[1:]:
                    group.create_task(run_request(batch))

    async def _send(
        self,
        plan: RaterPlan,
        units: list[Unit],
        endpoint: Endpoint,
        limiter: RateLimiter,
        feedback: tuple[str, str] | None = None,
    ) -> tuple[Answer, float]:
        """One request with transient-error retries (tenacity); returns (answer, latency).

        ``feedback`` (the previous answer and what was wrong with it) turns the request into a
        re-ask that shows the model its mistake.
        """
        spec = plan.spec
        content = json.dumps(
            request_body(plan, units, feedback), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        body_sha256 = hashlib.sha256(content).hexdigest() if self.raw_log is not None else ""
        estimated = int(len(content) / CHARS_PER_TOKEN) + plan.key_parts.max_tokens
        ids = [str(i + 1) for i in range(len(units))]
        policy = self.retry.with_attempts(spec.max_retries + 1)
        attempt_number = 0

        def on_retry(error: BaseException, seconds: float) -> None:
            self.sink.count_retry()
            log.debug("rater %s: %s; retrying in %.2f s", spec.name, describe(error), seconds)
            if retry_after_seconds(error) is not None:
                limiter.pause(seconds)  # the whole key waits, not only this request

        async for attempt in async_retrying(policy, self._rng, on_retry):
            with attempt:
                attempt_number += 1
                await limiter.acquire(estimated)
                self.sink.count_requests()
                try:
                    raw = await endpoint.transport.post(content)
                except (ProviderError, TransportError) as error:
                    limiter.settle(estimated, 0)
                    if isinstance(error, ProviderError):
                        limiter.observe(error.headers)
                    self._log_failure(plan, units, body_sha256, attempt_number, error)
                    if is_connection_failure(error):
                        self._connection_failed(endpoint, error)
                    raise
                self._breakers.setdefault(endpoint.base_url, ConnectionBreaker()).success()
                limiter.observe(raw.headers)
                answer = read_answer(plan.prompt.output, ids, raw.data)
                usage = answer.usage
                self.sink.count_usage(spec, usage)
                limiter.settle(estimated, usage.prompt_tokens + usage.completion_tokens)
                if self.raw_log is not None:
                    self.raw_log.append(
                        plan,
                        units,
                        request_sha256=body_sha256,
                        attempt=attempt_number,
                        status=raw.status_code,
                        response_text=raw.text,
                        usage=raw.data.get("usage"),
                        latency_s=raw.latency_s,
                        error=answer.problem,
                    )
                return answer, raw.latency_s
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _log_failure(
        self,
        plan: RaterPlan,
        units: Sequence[Unit],
        body_sha256: str,
        attempt: int,
        error: ProviderError | TransportError,
    ) -> None:
        if self.raw_log is None:
            return
        is_http = isinstance(error, ProviderError)
        self.raw_log.append(
            plan,
            units,
            request_sha256=body_sha256,
            attempt=attempt,
            status=error.status_code if isinstance(error, ProviderError) else 0,
            response_text=error.text if isinstance(error, ProviderError) else None,
            usage=None,
            latency_s=error.latency_s if isinstance(error, ProviderError) else None,
            error=describe(error) if is_http else str(error),
        )

    async def _rate_batch(
        self,
        plan: RaterPlan,
        batch: list[Unit],
        endpoint: Endpoint,
        limiter: RateLimiter,
        model_name: str,
        state: _RaterState,
        rounds: int | None = None,
    ) -> None:
        """Rate one request's units; re-ask only the items that did not come back valid.

        ``rounds`` is the number of requests this batch may still make (first ask plus
        re-asks). Items missing, duplicated or invalid in a multi-item answer are re-asked one
        by one: with a single id, the schema leaves no room for a wrong or repeated id. An
        answer cut at the token limit is asked again in halves; a request refused for its
        content (a provider's filter) is asked again item by item, so that only the offending
        item fails.
        """
        spec = plan.spec
        rounds = spec.max_reasks + 1 if rounds is None else rounds
        pending = list(batch)
        reasons: dict[str, str] = {}
        feedback: tuple[str, str] | None = None

        async def one_by_one(units: Sequence[Unit], left: int) -> None:
            self.sink.count_reasks(len(units))
            for unit in units:
                await self._rate_batch(plan, [unit], endpoint, limiter, model_name, state, left)

        for round_number in range(rounds):
            if round_number > 0:
                self.sink.count_reasks()
            try:
                answer, latency = await self._send(plan, pending, endpoint, limiter, feedback)
            except (_FatalEndpointError, _RunStopped):
                raise
            except Exception as error:
                kind = classify(error)
                log.info(
                    "rater %s: request of %d item(s) failed (%s): %s",
                    spec.name,
                    len(pending),
                    kind,
                    describe(error),
                )
                if kind == "fatal":
                    raise _FatalEndpointError(spec.name, error) from error
                if kind == "request":
                    state.request_errors_in_a_row += 1
                    if (
                        state.answers == 0
                        or state.request_errors_in_a_row >= MAX_REQUEST_ERRORS_IN_A_ROW
                    ):
                        raise _FatalEndpointError(spec.name, error) from error
                if kind == "item":
                    state.refusals += 1
                    if state.answers == 0 and state.refusals >= MAX_REFUSALS_BEFORE_AN_ANSWER:
                        raise _FatalEndpointError(spec.name, error) from error
                    if len(pending) > 1:
                        await one_by_one(pending, max(1, rounds - round_number))
                        return
                reason = failure_reason(error, spec)
                reasons = {u.key: reason for u in pending}
                break
            state.answers += 1
            state.request_errors_in_a_row = 0
            if answer.cut or answer.filtered:
                if len(pending) > 1:
                    if answer.filtered:
                        await one_by_one(pending, max(1, rounds - round_number))
                        return
                    # The answer outgrew max_tokens: halve the request rather than re-ask it.
                    middle = len(pending) // 2
                    for part in (pending[:middle], pending[middle:]):
                        await self._rate_batch(
                            plan, part, endpoint, limiter, model_name, state, rounds - round_number
                        )
                    return
                reason = cut_reason(spec) if answer.cut else "the provider filtered the output"
                reasons = {u.key: reason for u in pending}
                break
            if answer.parsed is None:
                problem = f"invalid output after {round_number + 1} attempt(s): {answer.problem}"
                reasons = {u.key: problem for u in pending}
                feedback = (answer.text, str(answer.problem))
                continue
            reasons = self.sink.store_answer(
                plan, pending, answer.parsed, answer.usage, latency, model_name
            )
            still = [u for u in pending if u.key in reasons]
            if not still:
                return
            remaining = rounds - round_number - 1
            if len(pending) > 1 and remaining > 0:
                await one_by_one(still, remaining)
                return
            pending = still
            feedback = (answer.text, "; ".join(sorted(set(reasons.values()))))
        self.sink.record_failures(plan, pending, reasons, model_name)
