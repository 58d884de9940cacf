"""Client-side rate limits: requests per minute and tokens per minute, as async token buckets."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """Refills at ``rate_per_minute``; holds at most ``burst`` units (default: 10 s worth).

    ``acquire(n)`` waits until ``n`` units are available. A request larger than the burst waits
    for a full bucket and then drives it negative, so long-run throughput still obeys the rate.
    """

    def __init__(self, rate_per_minute: float, burst: float | None = None) -> None:
        if rate_per_minute <= 0:
            raise ValueError("rate_per_minute must be positive")
        self.rate_per_second = rate_per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, rate_per_minute / 6.0)
        self.level = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
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
                await asyncio.sleep((needed - self.level) / self.rate_per_second)

    def refund(self, amount: float) -> None:
        """Give back units reserved but not used (e.g. estimated tokens above the real count)."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


class RateLimiter:
    """Both limits of one rater; either may be absent."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None) -> None:
        self.requests = TokenBucket(requests_per_minute) if requests_per_minute else None
        self.tokens = TokenBucket(tokens_per_minute) if tokens_per_minute else None

    async def acquire(self, estimated_tokens: int) -> None:
        if self.requests is not None:
            await self.requests.acquire(1)
        if self.tokens is not None:
            await self.tokens.acquire(estimated_tokens)

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        if self.tokens is not None and actual_tokens < estimated_tokens:
            self.tokens.refund(estimated_tokens - actual_tokens)
