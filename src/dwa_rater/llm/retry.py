"""Which failures are worth retrying, and how long to wait: Retry-After first, else backoff.

The openai client's own retries are switched off (``max_retries=0``) so that this policy, a
value a caller can change, is the only one in force.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, replace

import openai

#: HTTP statuses treated as transient.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524})
#: HTTP statuses that stop the whole run: the key or the model is wrong for every item.
FATAL_STATUSES = frozenset({401, 403, 404})


def root_cause(error: BaseException) -> BaseException:
    """The openai error behind wrappers such as instructor's retry exception."""
    current: BaseException | None = error
    seen = 0
    while current is not None and seen < 10:
        if isinstance(current, openai.APIError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return error


def is_transient(error: BaseException) -> bool:
    """True for rate limits, server errors, timeouts and connection failures."""
    cause = root_cause(error)
    if isinstance(cause, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(cause, openai.APIStatusError):
        return cause.status_code in TRANSIENT_STATUSES
    return False


def is_fatal(error: BaseException) -> bool:
    """True when retrying other items is pointless (bad key, no such model or endpoint)."""
    cause = root_cause(error)
    return isinstance(cause, openai.APIStatusError) and cause.status_code in FATAL_STATUSES


def retry_after_seconds(error: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if any."""
    cause = root_cause(error)
    response = getattr(cause, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(0.0, email.utils.mktime_tz(parsed) - (now if now is not None else time.time()))


def describe(error: BaseException) -> str:
    """A one-line reason for logs and the ratings table's ``error`` column."""
    cause = root_cause(error)
    if isinstance(cause, openai.APIStatusError):
        return f"HTTP {cause.status_code}: {str(cause.message)[:200]}"
    if isinstance(cause, openai.APITimeoutError):
        return "timeout"
    if isinstance(cause, openai.APIConnectionError):
        return f"connection error: {str(cause)[:200]}"
    return f"{type(cause).__name__}: {str(cause)[:200]}"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for transient failures: exponential backoff with full jitter, capped.

    A server's Retry-After wins over the computed backoff (capped at ``max_wait_s``).
    """

    max_attempts: int = 7
    initial_wait_s: float = 0.5
    max_wait_s: float = 60.0
    multiplier: float = 2.0

    def with_attempts(self, max_attempts: int) -> RetryPolicy:
        """The same policy with another attempt budget (a rater's ``max_retries`` + 1)."""
        return replace(self, max_attempts=max_attempts)

    def wait_seconds(self, attempt: int, error: BaseException, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        asked = retry_after_seconds(error)
        if asked is not None:
            return min(asked, self.max_wait_s)
        ceiling = min(self.max_wait_s, self.initial_wait_s * self.multiplier ** (attempt - 1))
        return rng.uniform(0.0, ceiling)
