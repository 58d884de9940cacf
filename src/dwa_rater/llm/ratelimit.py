"""Client-side rate limits: token buckets per key and endpoint, steered by the server's headers.

Providers limit per API key (and per endpoint), not per rater: two raters with the same key at
the same endpoint share one :class:`RateLimiter` (:class:`LimiterRegistry`). Besides the
configured requests/tokens per minute, the limiter honours what the server says:

- ``x-ratelimit-remaining-requests`` / ``-tokens`` of 0 pause every request of that key until
  ``x-ratelimit-reset-requests`` / ``-tokens`` (OpenAI's durations such as ``1s``, ``6m0s``,
  ``20ms``, or seconds);
- a 429's ``retry-after-ms`` / ``Retry-After`` pauses the whole key, not only the request that
  got it.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Seconds of a reset header: ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m"`` or ``"0.5"``."""
    if not text:
        return None
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        return None
    factor = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(number) * factor[unit] for number, unit in parts)


class TokenBucket:
    """Refills at ``rate_per_minute``; holds at most ``burst`` units (default: 10 s worth).

    ``acquire(n)`` waits until ``n`` units are available. A request larger than the burst waits
    for a full bucket and then drives it negative, so long-run throughput still obeys the rate.
    """

    def __init__(
        self,
        rate_per_minute: float,
        burst: float | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.rate_per_second = rate_per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, rate_per_minute / 6.0)
        self.clock = clock
        self.sleep = sleep
        self.level = self.capacity
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate_per_second)
        self.updated = now

    async def acquire(self, amount: float = 1.0) -> None:
        async with self._lock:
            needed = min(amount, self.capacity)
            while True:
                self._refill()
                if self.level >= needed:
                    self.level -= amount
                    return
                await self.sleep((needed - self.level) / self.rate_per_second)

    def refund(self, amount: float) -> None:
        """Give back units reserved but not used (e.g. estimated tokens above the real count)."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """The limits of one key at one endpoint; either bucket may be absent.

    ``paused_until`` (``time.monotonic()``) holds every request back after the server said the
    key is exhausted or asked for a pause.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.requests = (
            TokenBucket(requests_per_minute, clock=clock, sleep=sleep)
            if requests_per_minute
            else None
        )
        self.tokens = (
            TokenBucket(tokens_per_minute, clock=clock, sleep=sleep) if tokens_per_minute else None
        )
        self.clock = clock
        self.sleep = sleep
        self.paused_until = 0.0

    async def acquire(self, estimated_tokens: int) -> None:
        while True:
            wait = self.paused_until - self.clock()
            if wait <= 0:
                break
            await self.sleep(wait)
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(estimated_tokens)

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        if self.tokens is not None and actual_tokens < estimated_tokens:
            self.tokens.refund(estimated_tokens - actual_tokens)

    def pause(self, seconds: float) -> None:
        """Hold every request of this key back for ``seconds`` from now."""
        if seconds > 0:
            self.paused_until = max(self.paused_until, self.clock() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Pause until the reset when the server says no request or token is left."""
        for kind in ("requests", "tokens"):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            if remaining is None:
                continue
            try:
                left = float(remaining)
            except ValueError:
                continue
            if left <= 0:
                reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
                self.pause(1.0 if reset is None else reset)


def _min(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


class LimiterRegistry:
    """One limiter per (key, endpoint): raters that share both share the provider's limits.

    The key is held only as a SHA-256 prefix. When raters sharing a key give different limits,
    the strictest applies.
    """

    def __init__(self) -> None:
        self._limits: dict[tuple[str, str], tuple[float | None, float | None]] = {}
        self._limiters: dict[tuple[str, str], RateLimiter] = {}

    @staticmethod
    def identity(api_key: str, base_url: str) -> tuple[str, str]:
        digest = hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]
        return (digest, base_url.rstrip("/"))

    def declare(
        self,
        api_key: str,
        base_url: str,
        requests_per_minute: float | None,
        tokens_per_minute: float | None,
    ) -> tuple[str, str]:
        """Register a rater's limits before :meth:`limiter` is first called for its key."""
        ident = self.identity(api_key, base_url)
        rpm, tpm = self._limits.get(ident, (None, None))
        self._limits[ident] = (_min(rpm, requests_per_minute), _min(tpm, tokens_per_minute))
        return ident

    def limiter(self, ident: tuple[str, str]) -> RateLimiter:
        if ident not in self._limiters:
            rpm, tpm = self._limits.get(ident, (None, None))
            self._limiters[ident] = RateLimiter(rpm, tpm)
        return self._limiters[ident]
