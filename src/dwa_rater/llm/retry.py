"""Which failures are worth retrying, which stop a rater, and how long to wait.

Errors come from the engine's own transport (:class:`~dwa_rater.llm.transport.ProviderError`,
:class:`~dwa_rater.llm.transport.TransportError`) or from the ``openai`` SDK (the Batch API's
control requests). The SDK's own retries are switched off so that this policy, a value a caller
can change, is the only one in force; the engine runs it inside ``tenacity``.

What is treated how (the provider's documented error bodies):

- **transient**, retried with backoff and Retry-After: 408, 409, 425, 429, 5xx, timeouts and
  connection errors;
- **fatal**, stop the rater at once: 401/403 (key), 402 (DeepSeek: balance), 404 (model or
  URL unknown);
- **item**, that request's items fail with the reason and the run goes on: a 400 whose code,
  type or message says content was filtered — DeepSeek ``Content Exists Risk``, DashScope
  ``data_inspection_failed`` / ``DataInspectionFailed``, Azure ``content_filter``
  (``ResponsibleAIPolicyViolation``), Moonshot ``content_filter`` ("high risk"), Zhipu code
  ``1301``, OpenAI ``content_policy_violation``, and context-length errors (one long item);
- **request**, the request itself is wrong (an unsupported ``response_format``, a refused
  parameter, a missing ``enable_thinking``...): any other 400, 413, 415 or 422. The engine
  stops the rater on the first one before any request of it succeeded, or on the third in a
  row, quoting the provider's message.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import openai
import tenacity

from dwa_rater.llm.transport import ProviderError, TransportError

#: HTTP statuses treated as transient.
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529})
#: HTTP statuses that stop the whole run: the key, the balance or the model is wrong.
FATAL_STATUSES = frozenset({401, 402, 403, 404})
#: HTTP statuses of a request the provider cannot serve as sent.
REQUEST_STATUSES = frozenset({400, 413, 415, 422})

#: Error codes/types and message fragments that mark one request's content as refused.
_ITEM_CODES = frozenset(
    {
        "content_filter",
        "data_inspection_failed",
        "content_policy_violation",
        "responsibleaipolicyviolation",
        "1301",
        "context_length_exceeded",
        "string_above_max_length",
    }
)
_ITEM_MESSAGE = re.compile(
    r"content exists risk|inappropriate content|datainspectionfailed|content management policy"
    r"|content[ _]filter|high risk|sensitive content|不安全或敏感|敏感内容"
    r"|maximum context length|context length|too many tokens",
    re.IGNORECASE,
)

_HTTP_ERRORS = (ProviderError, TransportError, openai.APIError)

ErrorKind = Literal["transient", "fatal", "request", "item", "other"]


def root_cause(error: BaseException) -> BaseException:
    """The HTTP-level error behind wrappers (tenacity, exception chains)."""
    current: BaseException | None = error
    seen = 0
    while current is not None and seen < 10:
        if isinstance(current, openai.APIError | ProviderError | TransportError):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return error


def _status_of(cause: BaseException) -> int | None:
    if isinstance(cause, ProviderError):
        return cause.status_code
    if isinstance(cause, openai.APIStatusError):
        return cause.status_code
    return None


def concerns_content(cause: BaseException) -> bool:
    """True when a refusal is about the request's content (a filter), not its form."""
    if isinstance(cause, ProviderError):
        codes = {str(cause.code or "").lower(), str(cause.error_type or "").lower()}
        message = cause.message
    elif isinstance(cause, openai.APIStatusError):
        body = cause.body if isinstance(cause.body, dict) else {}
        codes = {str(body.get("code") or "").lower(), str(body.get("type") or "").lower()}
        message = str(cause.message)
    else:
        return False
    return bool(codes & _ITEM_CODES) or bool(_ITEM_MESSAGE.search(message))


def classify(error: BaseException) -> ErrorKind:
    """What a failed request means for the run (see the module docstring)."""
    cause = root_cause(error)
    if isinstance(cause, TransportError | openai.APIConnectionError):
        return "transient"
    status = _status_of(cause)
    if status is None:
        return "other"
    if status in TRANSIENT_STATUSES:
        return "transient"
    if status in FATAL_STATUSES:
        return "fatal"
    if concerns_content(cause):
        return "item"
    if status in REQUEST_STATUSES:
        return "request"
    return "other"


def is_transient(error: BaseException) -> bool:
    """True for rate limits, server errors, timeouts and connection failures."""
    return classify(error) == "transient"


def is_fatal(error: BaseException) -> bool:
    """True when retrying other items is pointless (bad key, no such model or endpoint)."""
    return classify(error) == "fatal"


def retry_after_seconds(error: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if any."""
    cause = root_cause(error)
    headers: Any
    if isinstance(cause, ProviderError):
        headers = cause.headers
    else:
        headers = getattr(getattr(cause, "response", None), "headers", None)
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
    if isinstance(cause, ProviderError):
        return f"HTTP {cause.status_code}: {cause.message[:200]}"
    if isinstance(cause, TransportError):
        return "timeout" if cause.timeout else str(cause)[:200]
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


def async_retrying(
    policy: RetryPolicy,
    rng: random.Random,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> tenacity.AsyncRetrying:
    """A ``tenacity`` loop running this module's policy: transient errors only, Retry-After first.

    ``on_retry(error, seconds)`` is called before each wait (the engine counts retries there and
    pauses the shared rate limiter when the server asked for a pause).
    """

    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is None:
            return 0.0
        seconds = policy.wait_seconds(state.attempt_number, error, rng)
        if on_retry is not None:
            on_retry(error, seconds)
        return seconds

    return tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=wait,
        # Only the HTTP-level errors themselves: an error raised while handling one (the engine
        # stopping the run) carries it as its context, and must not be retried.
        retry=tenacity.retry_if_exception(
            lambda error: isinstance(error, _HTTP_ERRORS) and is_transient(error)
        ),
        reraise=True,
    )
