"""Driving Batch API work: submit parts within the limits, poll them, ingest what comes back.

Every answered line goes through :meth:`ResultSink.store_answer`, so it is validated item by
item, cached and journalled exactly like a live answer; counters go through the sink too. What
did not come back is resubmitted in a later part: items missing or invalid in an answer as
re-asks (one item per request, within the rater's ``max_reasks``), lines that failed
transiently or never ran (expiry, a failed batch) within the rater's ``max_retries``; after that
the units are journalled as failed with the reason. Requests of a cancelled batch go back to
waiting without spending a retry.

Ingestion is idempotent: a unit already in the journal is never stored twice, so a process
killed between storing ratings and saving the state repeats nothing when resumed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import openai

from dwa_rater.batch_api.lines import (
    ENDPOINT,
    RequestLine,
    custom_id_for,
    fitting_prefix,
    request_line,
)
from dwa_rater.batch_api.results import LineResult, parse_result_lines, read_answer
from dwa_rater.batch_api.state import (
    LOCAL_STATUSES,
    TERMINAL_STATUSES,
    BatchState,
    PartRecord,
    RequestRecord,
    UnitRecord,
    cancel_requested,
    save_state,
    write_text_atomic,
)
from dwa_rater.errors import ConfigError, EndpointError
from dwa_rater.llm.client import resolve_api_key
from dwa_rater.llm.response import split_valid
from dwa_rater.llm.retry import TRANSIENT_STATUSES, describe, is_fatal, is_transient
from dwa_rater.rating import RaterPlan, ResultSink, Unit, chunk_units, cut_reason

DriveResult = Literal["finished", "submitted", "cancelled"]


def half_price_plan(plan: RaterPlan) -> RaterPlan:
    """The plan with the rater's token prices halved (Batch API pricing); same cache keys."""
    prices = plan.spec.prices()
    if prices is None:
        return plan
    spec = plan.spec.model_copy(
        update={"price_input_per_mtok": prices[0] / 2, "price_output_per_mtok": prices[1] / 2}
    )
    return plan.with_spec(spec)


class BatchRunner:
    """Moves the requests of one :class:`BatchState` to the journal, one poll at a time."""

    def __init__(
        self,
        *,
        state: BatchState,
        directory: Path,
        plans: Mapping[str, RaterPlan],
        sink: ResultSink,
        done_keys: set[str],
        environ: Mapping[str, str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.state = state
        self.directory = directory
        self.plans = dict(plans)
        self.priced = {name: half_price_plan(plan) for name, plan in plans.items()}
        self.sink = sink
        self.done = done_keys
        self.environ = environ
        self.sleep = sleep
        self.touched: list[str] = []
        self._clients: dict[str, openai.OpenAI] = {}
        self._lines: dict[str, RequestLine] = {}
        self._failed_rounds = 0
        self._round_error: tuple[str, BaseException] | None = None

    # --- setup ----------------------------------------------------------------------------

    def keys_in_flight(self) -> set[str]:
        """Cache keys held by requests of the state (waiting or submitted)."""
        return {u.key for r in self.state.requests.values() for u in r.units}

    def add_units(self, plan: RaterPlan, units: Sequence[Unit]) -> int:
        """New requests for ``units`` (``batch_size`` at a time, one sample per request)."""
        added = 0
        for group in chunk_units(list(units), plan.spec.batch_size):
            self._add_request(plan.spec.name, group, plan.spec.max_reasks + 1)
            added += 1
        return added

    def _add_request(
        self,
        rater: str,
        units: Sequence[Unit],
        rounds_left: int,
        retries_left: int | None = None,
    ) -> RequestRecord:
        spec = self.plans[rater].spec
        record = RequestRecord(
            custom_id=custom_id_for([u.key for u in units]),
            rater=rater,
            units=[UnitRecord.of(u) for u in units],
            rounds_left=rounds_left,
            retries_left=spec.max_retries if retries_left is None else retries_left,
        )
        self.state.requests[record.custom_id] = record
        return record

    def client(self, rater: str) -> openai.OpenAI:
        if rater not in self._clients:
            spec = self.plans[rater].spec
            self._clients[rater] = openai.OpenAI(
                base_url=spec.resolved_base_url,
                api_key=resolve_api_key(spec.resolved_api_key_env, self.environ),
                timeout=spec.timeout_s,
                max_retries=self.state.settings.http_retries,
            )
        return self._clients[rater]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def save(self) -> None:
        save_state(self.directory, self.state)

    # --- the loop -------------------------------------------------------------------------

    def drive(self, *, wait: bool, cancel: bool = False) -> DriveResult:
        """Submit, poll and ingest until nothing is left (or once, when not waiting).

        With ``cancel`` (or when ``cancel-requested`` appears in the state directory) running
        batches are cancelled, nothing new is submitted, and the partial results of the
        cancelled batches are ingested before returning.
        """
        while True:
            cancelling = cancel or cancel_requested(self.directory)
            if cancelling:
                self._cancel_running()
            self._poll()
            if not cancelling:
                self._submit()
            self.save()
            self._end_round()
            active = self.state.active_parts()
            if cancelling:
                if not wait or not any(p.batch_id for p in active):
                    return "cancelled"
            elif not active and not self.state.pending():
                return "finished"
            elif not wait:
                return "submitted"
            self.sleep(self.state.settings.poll_interval_s)

    # --- submission -----------------------------------------------------------------------

    def _submit(self) -> None:
        for part in self.state.active_parts():
            if part.status in LOCAL_STATUSES:
                self._create(part)
        for rater in sorted(self.plans):
            self._submit_rater(rater)

    def _group(self, rater: str) -> tuple[str, str]:
        """Batches of one model at one endpoint share the provider's enqueued-token limit."""
        spec = self.plans[rater].spec
        return (spec.endpoint_identity, spec.model)

    def _tokens_in_flight(self, rater: str) -> int:
        group = self._group(rater)
        return sum(
            p.estimated_tokens
            for p in self.state.parts
            if not p.ingested
            and p.status not in TERMINAL_STATUSES
            and self._group(p.rater) == group
        )

    def _submit_rater(self, rater: str) -> None:
        """Submit the rater's waiting requests as parts, as many as the limits allow now."""
        pending = self.state.pending(rater)
        if not pending:
            return
        settings = self.state.settings
        plan = self.plans[rater]
        lines = [self._line(plan, r) for r in pending]
        cap = settings.max_enqueued_tokens
        while lines:
            in_flight = self._tokens_in_flight(rater)
            count = fitting_prefix(
                lines,
                max_requests=settings.max_requests_per_file,
                max_bytes=settings.max_file_bytes,
                max_tokens=None if cap is None else cap - in_flight,
            )
            if count == 0:
                first = lines[0]
                if in_flight == 0 or first.bytes > settings.max_file_bytes:
                    raise ConfigError(
                        f"rater {rater}: one request ({first.tokens:,} tokens, "
                        f"{first.bytes:,} bytes) exceeds the limits (max_enqueued_tokens={cap}, "
                        f"max_file_bytes={settings.max_file_bytes:,}); raise them or lower "
                        "batch_size"
                    )
                return  # wait until running batches free enough of the token cap
            self._new_part(rater, pending[:count], lines[:count])
            pending, lines = pending[count:], lines[count:]

    def _line(self, plan: RaterPlan, request: RequestRecord) -> RequestLine:
        """The request's line, built once per process (re-rendering thousands is slow)."""
        line = self._lines.get(request.custom_id)
        if line is None:
            line = request_line(plan, [u.unit() for u in request.units])
            self._lines[request.custom_id] = line
        return line

    def _new_part(
        self, rater: str, requests: Sequence[RequestRecord], lines: Sequence[RequestLine]
    ) -> None:
        name = f"part-{self.state.next_part:04d}"
        self.state.next_part += 1
        text = "".join(line.text + "\n" for line in lines)
        write_text_atomic(self.directory / f"{name}.jsonl", text)
        part = PartRecord(
            name=name,
            rater=rater,
            file=f"{name}.jsonl",
            requests=len(lines),
            bytes=len(text.encode("utf-8")),
            estimated_tokens=sum(line.tokens for line in lines),
        )
        self.state.parts.append(part)
        for request in requests:
            request.part = name
        self.sink.count_requests(len(lines))
        self.save()
        self._create(part)

    def _create(self, part: PartRecord) -> None:
        """Upload the part's file and create its batch; a transient failure is retried later."""
        client = self.client(part.rater)
        if part.name not in self.touched:
            self.touched.append(part.name)
        recovering = part.status == "uploaded"
        try:
            if part.status == "prepared":
                data = (self.directory / part.file).read_bytes()
                uploaded = client.files.create(
                    file=(part.file, data, "application/jsonl"),
                    purpose="batch",
                    timeout=max(600.0, self.plans[part.rater].spec.timeout_s),
                )
                part.input_file_id, part.status = uploaded.id, "uploaded"
                self.save()
            assert part.input_file_id is not None
            existing = self._find_batch(client, part.input_file_id) if recovering else None
            batch = existing or client.batches.create(
                input_file_id=part.input_file_id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={"dwa_rater_part": part.name, "dwa_rater_rater": part.rater},
            )
        except openai.APIError as error:
            self._control_failure(part.rater, error)
            return
        part.batch_id, part.status = batch.id, batch.status
        part.submitted_at = part.submitted_at or time.time()
        self.save()

    def _find_batch(self, client: openai.OpenAI, input_file_id: str) -> Any:
        """A batch already made of this file (created just before a crash), if any."""
        for batch in client.batches.list(limit=100):
            if batch.input_file_id == input_file_id:
                return batch
            if batch.created_at and batch.created_at < time.time() - 3 * 24 * 3600:
                break
        return None

    def _control_failure(self, rater: str, error: BaseException) -> None:
        """A failed control request: a fatal one stops the run, a transient one is noted."""
        if is_fatal(error) or not is_transient(error):
            raise EndpointError(
                f"rater {rater}: Batch API request refused: {describe(error)}; "
                "the batch state is kept (`dwa-rater batches status`)"
            ) from error
        self._round_error = (rater, error)

    def _end_round(self) -> None:
        """Count rounds in which the server could not be reached; give up after too many."""
        if self._round_error is None:
            self._failed_rounds = 0
            return
        rater, error = self._round_error
        self._round_error = None
        self._failed_rounds += 1
        if self._failed_rounds >= self.state.settings.max_poll_failures:
            raise EndpointError(
                f"rater {rater}: Batch API unreachable ({describe(error)}) in "
                f"{self._failed_rounds} rounds in a row; the batches keep running on the server, "
                "collect them later with `dwa-rater batches resume`"
            ) from error

    # --- polling and cancelling -----------------------------------------------------------

    def _poll(self) -> None:
        for part in self.state.active_parts():
            if part.batch_id is None:
                continue
            if part.status not in TERMINAL_STATUSES:
                try:
                    batch = self.client(part.rater).batches.retrieve(part.batch_id)
                except openai.APIError as error:
                    self._control_failure(part.rater, error)
                    continue
                self._update(part, batch)
            if part.status in TERMINAL_STATUSES:
                try:
                    self._ingest(part)
                except openai.APIError as error:
                    self._control_failure(part.rater, error)
                    continue
                self.save()

    def _update(self, part: PartRecord, batch: Any) -> None:
        part.status = batch.status
        counts = batch.request_counts
        if counts is not None:
            part.request_counts = {
                "total": counts.total,
                "completed": counts.completed,
                "failed": counts.failed,
            }
        part.output_file_id = batch.output_file_id
        part.error_file_id = batch.error_file_id
        if batch.errors is not None and batch.errors.data:
            part.errors = [
                f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "")
                for e in batch.errors.data
            ]
        if part.status in TERMINAL_STATUSES:
            part.finished_at = time.time()

    def _cancel_running(self) -> None:
        for part in self.state.active_parts():
            if part.batch_id is None:
                continue
            if part.status in ("validating", "in_progress"):
                try:
                    batch = self.client(part.rater).batches.cancel(part.batch_id)
                except openai.ConflictError:
                    continue  # it finished meanwhile
                except openai.APIError as error:
                    self._control_failure(part.rater, error)
                    continue
                self._update(part, batch)

    # --- ingestion ------------------------------------------------------------------------

    def _download(self, part: PartRecord, file_id: str | None, suffix: str) -> str:
        if file_id is None:
            return ""
        path = self.directory / f"{part.name}.{suffix}.jsonl"
        if path.exists():
            return path.read_text(encoding="utf-8")
        text = self.client(part.rater).files.content(file_id).text
        write_text_atomic(path, text)
        return text

    def _ingest(self, part: PartRecord) -> None:
        output = self._download(part, part.output_file_id, "output")
        errors = self._download(part, part.error_file_id, "errors")
        results = parse_result_lines(output, errors)
        began = part.submitted_at or part.finished_at or time.time()
        latency = max(0.0, (part.finished_at or time.time()) - began)
        for request in [r for r in self.state.requests.values() if r.part == part.name]:
            self._settle(request, part, results.get(request.custom_id), latency)
        part.ingested = True

    def _settle(
        self,
        request: RequestRecord,
        part: PartRecord,
        result: LineResult | None,
        latency: float,
    ) -> None:
        """Store what came back for one request and decide what happens to the rest."""
        if result is not None and result.answered:
            assert result.body is not None
            self._settle_answer(request, result.body, latency)
            return
        if result is not None and result.status_code is not None:
            reason = f"HTTP {result.status_code}: {result.message[:200]}"
            if result.status_code in TRANSIENT_STATUSES:
                self._retry(request, reason + " (gave up after retries)")
            else:
                self._fail(request, [u.unit() for u in request.units], reason)
            return
        if part.status == "cancelled" and (result is None or result.not_run):
            request.part = None  # the user's cancel is no failure of the request
            return
        if part.status == "failed":
            reason = f"batch {part.batch_id} failed: {'; '.join(part.errors) or 'no reason given'}"
        elif result is not None and result.error_code:
            reason = f"{result.error_code}: {result.message[:200]}"
        else:
            reason = f"batch {part.batch_id} ({part.status}) returned nothing for this request"
        self._retry(request, reason)

    def _retry(self, request: RequestRecord, reason: str) -> None:
        request.retries_left -= 1
        if request.retries_left < 0:
            self._fail(request, [u.unit() for u in request.units], reason)
            return
        self.sink.count_retry()
        request.part = None

    def _fail(self, request: RequestRecord, units: Sequence[Unit], reason: str) -> None:
        plan = self.priced[request.rater]
        model = self.state.raters[request.rater].model
        todo = [u for u in units if u.key not in self.done]
        self.sink.record_failures(plan, todo, {u.key: reason for u in todo}, model)
        self.state.requests.pop(request.custom_id, None)

    def _settle_answer(
        self, request: RequestRecord, completion: dict[str, Any], latency: float
    ) -> None:
        plan = self.priced[request.rater]
        spec = self.plans[request.rater].spec
        model = self.state.raters[request.rater].model
        units = [u.unit() for u in request.units]
        ids = [str(i + 1) for i in range(len(units))]
        answer = read_answer(plan.prompt.output, ids, completion)
        stored_before = any(u.key in self.done for u in units)
        if not stored_before:
            self.sink.count_usage(plan.spec, answer.usage)
            self.sink.notify()
        if answer.cut:
            if len(units) > 1:
                # As live: an answer that outgrew max_tokens is asked again in two halves.
                self.state.requests.pop(request.custom_id, None)
                middle = len(units) // 2
                for half in (units[:middle], units[middle:]):
                    self._add_request(
                        request.rater, half, request.rounds_left, request.retries_left
                    )
            else:
                self._fail(request, units, cut_reason(spec))
            return
        if answer.parsed is None:
            attempts = spec.max_reasks + 2 - request.rounds_left
            reason = f"invalid output after {attempts} attempt(s): {answer.problem}"
            self._next_round(request, units, {u.key: reason for u in units}, split=False)
            return
        if stored_before:
            # This answer was stored by an interrupted run: recompute only what is missing.
            _, problems = split_valid(plan.prompt.output, answer.parsed, ids)
            reasons = {
                u.key: problems.get(local, "missing")
                for local, u in zip(ids, units, strict=True)
                if u.key not in self.done
            }
        else:
            reasons = self.sink.store_answer(
                plan, units, answer.parsed, answer.usage, latency, model
            )
        self.done.update(u.key for u in units if u.key not in reasons)
        still = [u for u in units if u.key in reasons]
        if not still:
            self.state.requests.pop(request.custom_id, None)
            return
        self._next_round(request, still, reasons)

    def _next_round(
        self,
        request: RequestRecord,
        still: Sequence[Unit],
        reasons: Mapping[str, str],
        *,
        split: bool = True,
    ) -> None:
        """Re-ask units that did not come back valid, or give up on them.

        As in the live path, items missing from a multi-item answer are re-asked one per
        request (``split``); an unusable answer is asked again as it was.
        """
        remaining = request.rounds_left - 1
        if remaining <= 0:
            plan = self.priced[request.rater]
            model = self.state.raters[request.rater].model
            self.sink.record_failures(plan, list(still), reasons, model)
            self.state.requests.pop(request.custom_id, None)
            return
        self.sink.count_reasks(len(still) if split else 1)
        if not split or len(request.units) == 1:
            request.rounds_left, request.part = remaining, None
            return
        self.state.requests.pop(request.custom_id, None)
        for unit in still:
            self._add_request(request.rater, [unit], remaining, request.retries_left)
