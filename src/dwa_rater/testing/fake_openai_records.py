"""What the fake OpenAI server records: each request and its answer, and the counters over them.

A mixin of :class:`~dwa_rater.testing.fake_openai.FakeOpenAIServer`; the server's handler threads
append under ``_lock``, tests read through the properties.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dwa_rater.testing.fake_answers import check_fault_kind, fake_rating


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the server received and what it answered.

    ``index`` is the arrival order over all requests (0-based); ``started_at`` is wall-clock
    ``time.time()`` at arrival and ``duration_s`` the seconds until the answer was sent. ``status``
    is 0 when the connection was dropped on purpose (``reset``, or the server stopping). ``fault``
    is the request-level fault kind of a chat request (``"ok"`` when none) and ``None`` for other
    requests; ``item_faults`` maps item ids to the item-level fault they got. Header names are
    lower-cased and credential headers (``authorization``, ``api-key``, ...) hold ``REDACTED``.
    """

    index: int
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    fault: str | None
    item_ids: tuple[str, ...]
    item_faults: dict[str, str]
    started_at: float
    duration_s: float
    response_text: str | None


class RequestLog:
    """The fault script, the recorded requests and the counters of a fake server."""

    salt: str
    salt_disagreement: float
    temperature_flip: float
    _lock: threading.Lock
    _faults: tuple[str, ...]

    def set_faults(self, faults: Sequence[str]) -> None:
        """Replace the fault script; it applies from the next chat request on."""
        for kind in faults:
            check_fault_kind(kind, "faults")
        with self._lock:
            self._faults = tuple(faults)
            self._script_offset = getattr(self, "_chat_count", 0)

    def reset_counters(self) -> None:
        """Forget recorded requests and counts, and run the fault script again from its start."""
        with self._lock:
            self._request_count = 0
            self._chat_count = 0
            self._script_offset = 0
            self._records: list[RecordedRequest] = []
            self._items_requested: list[list[str]] = []
            self._texts_requested: list[list[str]] = []
            self._fault_counts: Counter[str] = Counter()
            self._item_fault_counts: Counter[str] = Counter()
            self._prompt_tokens = 0
            self._completion_tokens = 0

    @property
    def request_count(self) -> int:
        """Every HTTP request received, chat or not, answered or refused."""
        with self._lock:
            return self._request_count

    @property
    def chat_request_count(self) -> int:
        """Authorized, well-formed chat-completion requests: the ones faults are applied to."""
        with self._lock:
            return self._chat_count

    @property
    def requests(self) -> list[RecordedRequest]:
        """Recorded requests in the order their answers were sent (``index`` is arrival order)."""
        with self._lock:
            return list(self._records)

    @property
    def items_requested(self) -> list[list[str]]:
        """The item ids of each chat request, in arrival order."""
        with self._lock:
            return [list(ids) for ids in self._items_requested]

    @property
    def item_texts_requested(self) -> list[list[str]]:
        """The item texts (rest of the ``[id] `` line) of each chat request, in arrival order."""
        with self._lock:
            return [list(texts) for texts in self._texts_requested]

    @property
    def fault_counts(self) -> dict[str, int]:
        """How many chat requests got each request-level fault kind (``ok`` included)."""
        with self._lock:
            return dict(self._fault_counts)

    @property
    def item_fault_counts(self) -> dict[str, int]:
        """How many items got each item-level fault kind."""
        with self._lock:
            return dict(self._item_fault_counts)

    def stats(self) -> dict[str, Any]:
        """A JSON-ready summary of what the server has served.

        ``process_cpu_s`` is the CPU time of the whole process (``time.process_time()``): the
        server's own cost when it runs as a subprocess through the command line.
        """
        with self._lock:
            status_counts = Counter(str(record.status) for record in self._records)
            return {
                "request_count": self._request_count,
                "chat_request_count": self._chat_count,
                "items_requested": sum(len(ids) for ids in self._items_requested),
                "fault_counts": dict(self._fault_counts),
                "item_fault_counts": dict(self._item_fault_counts),
                "status_counts": dict(status_counts),
                "prompt_tokens": self._prompt_tokens,
                "completion_tokens": self._completion_tokens,
                "process_cpu_s": round(time.process_time(), 3),
            }

    def rating_for(
        self, text: str, *, temperature: float | None = 0.0, seed: int | None = None
    ) -> tuple[str, float]:
        """The (label, score) this server answers for an item text at these sampling settings."""
        return fake_rating(
            text,
            temperature=temperature,
            seed=seed,
            salt=self.salt,
            salt_disagreement=self.salt_disagreement,
            temperature_flip=self.temperature_flip,
        )
