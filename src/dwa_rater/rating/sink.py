"""Where ratings go: the result sink every transport writes through.

A transport (the live engine, the Batch API runner, a reference rater without an LLM) hands
answers and failures to a :class:`ResultSink`; the sink validates them item by item, caches the
valid ones, appends rating rows to the journal, keeps the run's counters and tells the progress
callback. No transport touches the journal, the cache or the counters directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from dwa_rater.cache import ResponseCache
from dwa_rater.config import RaterSpec
from dwa_rater.llm.response import RatingBatch, split_valid
from dwa_rater.rating.plan import RaterPlan, Unit, cost_of
from dwa_rater.rating.requests import Usage
from dwa_rater.schemas import RatingRecord
from dwa_rater.store import RatingsJournal


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
    reasoning_tokens: int = 0
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


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: Validated ratings written to the response cache per transaction.
CACHE_WRITE_GROUP = 32


class ResultSink:
    """Validates, caches and journals ratings of any transport; keeps the run's counters.

    The journal gets every rating at once (one ``write`` per answer: nothing finished is lost
    to a kill); the response cache gets them in transactions of :data:`CACHE_WRITE_GROUP`
    (one SQLite transaction per rating was the largest CPU cost per request). A run killed
    before :meth:`flush` loses at most that many cache entries, never a rating: its journal
    has them, and a resumed run skips them.
    """

    def __init__(
        self,
        *,
        cache: ResponseCache,
        journal: RatingsJournal,
        run_id: str,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.cache = cache
        self.journal = journal
        self.run_id = run_id
        self.on_progress = on_progress
        self.progress = Progress()
        self._to_cache: list[tuple[str, dict[str, Any]]] = []

    def flush(self) -> None:
        """Write the validated ratings still held back to the response cache."""
        pending, self._to_cache = self._to_cache, []
        self.cache.set_many(pending)

    # -- counters ------------------------------------------------------------------------
    def notify(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    def add_work(self, total: int, skipped: int = 0) -> None:
        """Units a run will account for, of which ``skipped`` were already done."""
        self.progress.total += total
        self.progress.skipped += skipped

    def count_requests(self, n: int = 1) -> None:
        self.progress.requests += n

    def count_retry(self) -> None:
        self.progress.retries += 1

    def count_reasks(self, n: int = 1) -> None:
        self.progress.reasks += n

    def count_usage(self, spec: RaterSpec, usage: Usage) -> None:
        """Add one answer's tokens and cost (also of answers that were then unusable)."""
        progress = self.progress
        progress.prompt_tokens += usage.prompt_tokens
        progress.completion_tokens += usage.completion_tokens
        progress.reasoning_tokens += usage.reasoning_tokens
        progress.cost_usd += cost_of(spec, usage.prompt_tokens, usage.completion_tokens) or 0.0

    # -- records -------------------------------------------------------------------------
    def record(self, plan: RaterPlan, unit: Unit, model_name: str, **values: Any) -> RatingRecord:
        """One row of the ratings table with the plan's full provenance."""
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
            temperature=plan.request.temperature_sent,
            top_p=spec.top_p,
            max_tokens=plan.key_parts.max_tokens,
            seed=plan.request_seed(unit.sample),
            batch_size=spec.batch_size,
            sample=unit.sample,
            cache_key=unit.key,
            run_id=self.run_id,
            provider=spec.provider or ("embedded" if spec.is_embedded else ""),
            structured_output=plan.request.mode,
            **{
                "exemplar_ids": unit.item.exemplar_ids or None,
                "exemplar_sha256": unit.item.exemplar_sha256 or None,
                **values,
            },
        )

    def replay_cached(self, plan: RaterPlan, units: Sequence[Unit], model_name: str) -> list[Unit]:
        """Journal the units found in the response cache (as cached ratings); return the rest."""
        hits = self.cache.get_many([u.key for u in units])
        replayed = [
            self.record(plan, unit, model_name, cached=True, **hits[unit.key])
            for unit in units
            if unit.key in hits
        ]
        for start in range(0, len(replayed), 500):
            self.progress.cached += self.journal.append(replayed[start : start + 500])
            self.notify()
        return [u for u in units if u.key not in hits]

    def store_answer(
        self,
        plan: RaterPlan,
        units: Sequence[Unit],
        parsed: RatingBatch,
        usage: Usage,
        latency_s: float,
        model_name: str,
    ) -> dict[str, str]:
        """Cache and journal the valid ratings of one answer (local ids ``1..k``).

        Tokens and cost are shared equally among the units. Returns a reason for each unit key
        that did not come back valid (missing, duplicated, invalid); those are not journalled.
        """
        ids = [str(i + 1) for i in range(len(units))]
        valid, problems = split_valid(plan.prompt.output, parsed, ids)
        n = len(units)
        shares = (usage.prompt_tokens / n, usage.completion_tokens / n, usage.reasoning_tokens / n)
        created = now_iso()
        records, reasons = [], {}
        for local_id, unit in zip(ids, units, strict=True):
            rating = valid.get(local_id)
            if rating is None:
                reasons[unit.key] = problems.get(local_id, "missing")
                continue
            value = self._value(rating, shares, latency_s, plan.spec, created)
            self._to_cache.append((unit.key, value))
            records.append(self.record(plan, unit, model_name, cached=False, **value))
        self.progress.done += self.journal.append(records)
        if len(self._to_cache) >= CACHE_WRITE_GROUP:
            self.flush()
        self.notify()
        return reasons

    def record_failures(
        self, plan: RaterPlan, units: Sequence[Unit], reasons: Mapping[str, str], model_name: str
    ) -> None:
        """Journal units that gave up, each with its reason."""
        failed = [
            self.record(
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
        self.notify()

    @staticmethod
    def _value(
        rating: BaseModel,
        shares: tuple[float, float, float],
        latency: float,
        spec: RaterSpec,
        created: str,
    ) -> dict[str, Any]:
        data = rating.model_dump()
        share_prompt, share_completion, share_reasoning = shares
        return {
            "label": data.get("label"),
            "score": data.get("score"),
            "rationale": data.get("rationale"),
            "prompt_tokens": round(share_prompt),
            "completion_tokens": round(share_completion),
            "reasoning_tokens": round(share_reasoning),
            "cost_usd": cost_of(spec, share_prompt, share_completion),
            "latency_s": round(latency, 4),
            "created_at": created,
        }
