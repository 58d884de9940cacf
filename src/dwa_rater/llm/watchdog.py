"""Stop a run early when its endpoint is gone, instead of failing every item one by one.

Two signals, both cheap:

- a *health check*: a function that returns a reason when something the run depends on has
  died (the embedded model server's process, see :meth:`LocalModelServer.exit_reason`); the
  engine polls these while it runs;
- a *connection breaker* per endpoint: requests that fail to connect (refused, reset; not
  timeouts, which a slow but live server also produces) are counted; the breaker trips on the
  first ``first_n`` attempts failing with no success yet, or on ``in_a_row`` consecutive
  failures at any time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import openai

from dwa_rater.llm.retry import root_cause
from dwa_rater.llm.transport import TransportError

#: A function that returns why the run must stop, or None while all is well.
HealthCheck = Callable[[], "str | None"]


def is_connection_failure(error: BaseException) -> bool:
    """True when the request never reached a live server (refused, reset, DNS); not timeouts."""
    cause = root_cause(error)
    if isinstance(cause, TransportError):
        return not cause.timeout
    return isinstance(cause, openai.APIConnectionError) and not isinstance(
        cause, openai.APITimeoutError
    )


@dataclass
class ConnectionBreaker:
    """Counts connection failures of one endpoint; :meth:`failure` says when to give up."""

    first_n: int = 5
    in_a_row: int = 20
    successes: int = 0
    consecutive: int = 0

    def success(self) -> None:
        self.successes += 1
        self.consecutive = 0

    def failure(self) -> bool:
        """Record one failed attempt; True when the run should stop."""
        self.consecutive += 1
        if self.successes == 0:
            return self.consecutive >= self.first_n
        return self.consecutive >= self.in_a_row


def first_problem(checks: tuple[HealthCheck, ...]) -> str | None:
    """The first reason any health check gives, or None."""
    for check in checks:
        reason = check()
        if reason:
            return reason
    return None
