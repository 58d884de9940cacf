"""The rate limiter on a simulated clock: buckets, server headers, pauses, sharing by key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.llm.ratelimit import LimiterRegistry, RateLimiter, TokenBucket, parse_duration
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.testing.fake_openai import FakeOpenAIServer


class FakeClock:
    """A clock that moves only when the code under test sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m", 3720.0), ("0.5", 0.5), ("x", None)],
)
def test_reset_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (None if seconds is None else pytest.approx(seconds))


def test_bucket_spaces_requests_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, burst=1, clock=clock, sleep=clock.sleep)

    async def three() -> None:
        for _ in range(3):
            await bucket.acquire(1)

    asyncio.run(three())
    # the first goes at once, then one per second at 60/min
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_refund_returns_unused_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, burst=100, clock=clock, sleep=clock.sleep)

    async def go() -> None:
        await bucket.acquire(100)
        bucket.refund(60)
        await bucket.acquire(60)

    asyncio.run(go())
    assert clock.sleeps == []


def test_exhausted_headers_pause_until_the_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, None, clock=clock, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "9s"})
    asyncio.run(limiter.acquire(10))
    assert clock.sleeps == []
    limiter.observe({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1.5s"})
    asyncio.run(limiter.acquire(10))
    assert sum(clock.sleeps) == pytest.approx(1.5)


def test_a_pause_holds_every_request_of_the_key() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, None, clock=clock, sleep=clock.sleep)
    limiter.pause(2.0)
    limiter.pause(0.5)  # a shorter pause never cuts a longer one

    async def two() -> None:
        await asyncio.gather(limiter.acquire(1), limiter.acquire(1))

    asyncio.run(two())
    assert clock.now == pytest.approx(1002.0)


def test_registry_shares_limiters_by_key_and_endpoint_and_takes_the_strictest() -> None:
    registry = LimiterRegistry()
    a = registry.declare("key-1", "http://h/v1/", 100, None)
    b = registry.declare("key-1", "http://h/v1", 50, 1000)
    c = registry.declare("key-2", "http://h/v1", 100, None)
    assert a == b != c and "key-1" not in repr(a)
    shared = registry.limiter(a)
    assert shared is registry.limiter(b) and shared is not registry.limiter(c)
    assert shared.requests is not None and shared.requests.rate_per_second == pytest.approx(50 / 60)
    assert shared.tokens is not None


def test_a_429_of_one_rater_pauses_the_other_rater_with_the_same_key(tmp_path: Path) -> None:
    items = [Item(item_id=f"i{n}", item_type="custom", text=f"Task {n}.") for n in range(2)]
    # The first request to arrive gets a 429 asking for 0.6 s; the other rater's first request
    # is answered after 0.3 s, so its second request starts while the key is paused.
    with FakeOpenAIServer(faults=["429", "slow"], slow_s=0.3, retry_after_s=0.6) as server:
        raters = [
            RaterSpec(name=name, base_url=server.base_url, model="m", temperature=t, batch_size=1)
            for name, t in (("a", 0.0), ("b", 0.5))
        ]
        result = execute_run(
            items,
            raters,
            out=tmp_path / "r.csv",
            cache_dir=tmp_path / "c",
            environ={},
            retry=RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=5.0),
        )
        chats = [r for r in server.requests if r.path.endswith("/chat/completions")]
    started = sorted(r.started_at for r in chats)
    assert result.progress.done == 4 and result.progress.retries == 1 and len(started) == 5
    assert all(t - started[0] >= 0.55 for t in started[2:])


def test_settle_refunds_only_what_was_not_used() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, 600, clock=clock, sleep=clock.sleep)
    assert limiter.tokens is not None
    asyncio.run(limiter.acquire(80))
    limiter.settle(80, 30)
    assert limiter.tokens.level == pytest.approx(100 - 80 + 50)
    limiter.settle(10, 50)  # more used than estimated: nothing to give back
    assert limiter.tokens.level == pytest.approx(70)
