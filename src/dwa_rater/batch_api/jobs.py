"""Batch API runs: the library functions behind ``rate --batch-api`` and ``batches ...``.

A run plans its units like the live path (units already in the journal are skipped, units in
the response cache are written from it), writes the rest as requests into the state, and drives
them with :class:`~dwa_rater.batch_api.runner.BatchRunner`. Each invocation is a run of its own,
with a run id and a manifest (``mode = "batch_api"``) next to the ratings, like a live run; the
ratings it ingests carry its run id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dwa_rater.batch_api.runner import BatchRunner, DriveResult, half_price_plan
from dwa_rater.batch_api.state import (
    STATE_FILE,
    BatchSettings,
    BatchState,
    PartRecord,
    RaterRecord,
    cancel_requested,
    clear_cancel,
    is_locked,
    load_state,
    request_cancel,
    state_dir_for,
    state_lock,
)
from dwa_rater.cache import ResponseCache
from dwa_rater.config import RaterSpec
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.llm.client import check_endpoint, resolve_api_key
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR, load_prompt
from dwa_rater.rating import (
    Progress,
    ProgressCallback,
    RaterPlan,
    ResultSink,
    estimate_run,
    plan_units,
)
from dwa_rater.runs import (
    RunPaths,
    RunResult,
    done_keys_in,
    finish_manifest,
    new_run_id,
    plan_raters,
    run_manifest,
    write_manifest,
)
from dwa_rater.schemas import Item
from dwa_rater.store import RatingsJournal, read_ratings, write_ratings

Outcome = Literal["finished", "submitted", "cancelled", "dry_run"]


@dataclass(frozen=True)
class BatchOutcome:
    """What one Batch API invocation did, and what is left on the server."""

    run: RunResult
    state_dir: Path
    outcome: Outcome
    waiting_requests: int
    open_parts: list[PartRecord]


@dataclass(frozen=True)
class BatchStatus:
    """The state of Batch API work as last saved (``batches status``)."""

    state_dir: Path
    out: Path
    settings: BatchSettings
    parts: list[PartRecord]
    waiting_requests: int
    waiting_units: int
    submitted_requests: int
    driven: bool
    cancel_requested: bool


def rater_record(plan: RaterPlan) -> RaterRecord:
    return RaterRecord(
        spec=plan.spec.public_dict(),
        prompt_name=plan.prompt.name,
        prompt_version=plan.prompt.version,
        prompt_sha256=plan.prompt.sha256,
        model=plan.key_parts.model,
    )


def plan_from_record(name: str, record: RaterRecord, prompts_dir: Path) -> RaterPlan:
    """The rater plan of submitted requests, checked against today's prompt files."""
    spec = RaterSpec(**record.spec)
    prompt = load_prompt(record.prompt_name, record.prompt_version, prompts_dir)
    if prompt.sha256 != record.prompt_sha256:
        raise ConfigError(
            f"rater {name}: prompt {record.prompt_name}@{record.prompt_version} in {prompts_dir} "
            "changed since its batches were submitted; restore it or cancel those batches"
        )
    return RaterPlan.build(spec, prompt, record.model)


def _refuse_embedded(raters: Sequence[RaterSpec]) -> None:
    embedded = [r.name for r in raters if r.is_embedded]
    if embedded:
        raise ConfigError(
            f"--batch-api: rater(s) {', '.join(embedded)} use the embedded local model, which "
            "has no Batch API; give them the base_url of a provider that has one, or drop "
            "--batch-api"
        )
    offline = [r.name for r in raters if r.is_reference]
    if offline:
        raise ConfigError(
            f"--batch-api: rater(s) {', '.join(offline)} are reference raters (offline, no "
            "requests); rate them without --batch-api"
        )


def _state_plans(state: BatchState, prompts_dir: Path) -> dict[str, RaterPlan]:
    """Plans of the raters that still have requests in the state."""
    names = {r.rater for r in state.requests.values()}
    return {name: plan_from_record(name, state.raters[name], prompts_dir) for name in names}


def run_batch_api(
    items: Sequence[Item],
    raters: Sequence[RaterSpec],
    *,
    out: Path,
    cache_dir: Path,
    environ: Mapping[str, str],
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    settings: BatchSettings | None = None,
    wait: bool = True,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    check_endpoints: bool = True,
) -> BatchOutcome:
    """Rate ``items`` with every rater through the provider's Batch API, into ``out``.

    Units done or cached are never submitted, nor are units already in submitted batches of
    the same output (running the command again only adds what is new). With ``wait=False`` the
    parts are submitted and the function returns; ``resume_batches`` collects them later.
    Costs are recorded at half the rater's prices (Batch API pricing).
    """
    if not items:
        raise ConfigError("nothing to rate: the item selection is empty")
    _refuse_embedded(raters)
    plans = plan_raters(raters, prompts_dir)
    directory = state_dir_for(out)
    if dry_run:
        cache = ResponseCache(cache_dir)
        try:
            priced = [half_price_plan(p) for p in plans]
            estimates = estimate_run(
                priced, items, done_keys_in(RunPaths(out).journal, plans), cache
            )
        finally:
            cache.close()
        run = RunResult("dry-run", out, RunPaths(out).manifests, Progress(), 0.0, estimates)
        return BatchOutcome(run, directory, "dry_run", 0, [])
    with state_lock(directory):
        clear_cancel(directory)
        state = load_state(directory) or BatchState(out=str(out))
        if settings is not None:
            state.settings = settings
        busy = {r.rater for r in state.requests.values()}
        for plan in plans:
            record = rater_record(plan)
            old = state.raters.get(plan.spec.name)
            if old is not None and old != record and plan.spec.name in busy:
                raise ConfigError(
                    f"rater {plan.spec.name}: its settings differ from those of its batches "
                    f"still open in {directory}; finish them with `dwa-rater batches resume` "
                    "or `dwa-rater batches cancel` first, or rename the rater"
                )
            state.raters[plan.spec.name] = record
        all_plans = {**_state_plans(state, prompts_dir), **{p.spec.name: p for p in plans}}

        def prepare(runner: BatchRunner) -> None:
            sink = runner.sink
            in_state = runner.keys_in_flight()
            sink.add_work(len(in_state))
            for plan in plans:
                units, skipped = plan_units(plan, items, runner.done)
                fresh = [u for u in units if u.key not in in_state]
                sink.add_work(len(fresh) + skipped, skipped)
                todo = sink.replay_cached(plan, fresh, plan.key_parts.model)
                runner.add_units(plan, todo)
            runner.save()
            if check_endpoints:
                for name in sorted({r.rater for r in state.pending()}):
                    spec = all_plans[name].spec
                    key = resolve_api_key(spec.resolved_api_key_env, environ)
                    auth = spec.preset.auth_header if spec.preset is not None else "bearer"
                    check_endpoint(spec.resolved_base_url or "", key, auth_header=auth)

        return _session(
            state=state,
            directory=directory,
            plans=all_plans,
            items=items,
            out=out,
            cache_dir=cache_dir,
            environ=environ,
            on_progress=on_progress,
            prepare=prepare,
            action=lambda runner: runner.drive(wait=wait),
        )


def resume_batches(
    out: Path,
    *,
    cache_dir: Path,
    environ: Mapping[str, str],
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    poll_interval_s: float | None = None,
    wait: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BatchOutcome:
    """Carry on with the Batch API work of ``out`` from its state file alone.

    Ingests batches that finished meanwhile (also failed, expired or cancelled ones: what they
    completed is kept, the rest is resubmitted) and submits what is still waiting.
    """
    directory = state_dir_for(out)
    with state_lock(directory):
        state = _require_state(directory)
        clear_cancel(directory)
        if poll_interval_s is not None:
            state.settings = state.settings.model_copy(update={"poll_interval_s": poll_interval_s})
        plans = _state_plans(state, prompts_dir)

        def prepare(runner: BatchRunner) -> None:
            runner.sink.add_work(len(runner.keys_in_flight()))

        return _session(
            state=state,
            directory=directory,
            plans=plans,
            items=_state_items(state),
            out=out,
            cache_dir=cache_dir,
            environ=environ,
            on_progress=on_progress,
            prepare=prepare,
            action=lambda runner: runner.drive(wait=wait),
        )


def cancel_batches(
    out: Path,
    *,
    cache_dir: Path,
    environ: Mapping[str, str],
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    wait: bool = True,
    on_progress: ProgressCallback | None = None,
) -> BatchOutcome | None:
    """Cancel the running batches of ``out`` and keep what they completed.

    Nothing new is submitted; the requests that did not run stay in the state for a later
    ``resume_batches``. When another process is driving these batches, it is asked to cancel
    them (it ingests the partial results) and ``None`` is returned.
    """
    directory = state_dir_for(out)
    _require_state(directory)
    request_cancel(directory)
    if is_locked(directory):
        return None
    with state_lock(directory):
        state = _require_state(directory)
        plans = _state_plans(state, prompts_dir)
        return _session(
            state=state,
            directory=directory,
            plans=plans,
            items=_state_items(state),
            out=out,
            cache_dir=cache_dir,
            environ=environ,
            on_progress=on_progress,
            prepare=None,
            action=lambda runner: runner.drive(wait=wait, cancel=True),
        )


def batch_status(out: Path) -> BatchStatus:
    """The saved state of the Batch API work of ``out`` (no request is sent)."""
    directory = state_dir_for(out)
    state = _require_state(directory)
    waiting = state.pending()
    return BatchStatus(
        state_dir=directory,
        out=Path(state.out),
        settings=state.settings,
        parts=list(state.parts),
        waiting_requests=len(waiting),
        waiting_units=sum(len(r.units) for r in waiting),
        submitted_requests=len(state.requests) - len(waiting),
        driven=is_locked(directory),
        cancel_requested=cancel_requested(directory),
    )


def _require_state(directory: Path) -> BatchState:
    state = load_state(directory)
    if state is None:
        raise DataError(
            f"{directory / STATE_FILE}: no Batch API state; start one with "
            "`dwa-rater rate --batch-api --out ...`"
        )
    return state


def _state_items(state: BatchState) -> list[Item]:
    seen: dict[str, Item] = {}
    for request in state.requests.values():
        for unit in request.units:
            seen.setdefault(unit.item_id, unit.unit().item)
    return list(seen.values())


_RUN_STATUS: dict[DriveResult, str] = {
    "finished": "completed",
    "submitted": "submitted",
    "cancelled": "cancelled",
}


def _session(
    *,
    state: BatchState,
    directory: Path,
    plans: Mapping[str, RaterPlan],
    items: Sequence[Item],
    out: Path,
    cache_dir: Path,
    environ: Mapping[str, str],
    on_progress: ProgressCallback | None,
    prepare: Callable[[BatchRunner], None] | None,
    action: Callable[[BatchRunner], DriveResult],
) -> BatchOutcome:
    """One invocation: manifest, journal, result sink and runner around ``action``."""
    began = time.monotonic()
    run_id = new_run_id()
    paths = RunPaths(out)
    cache = ResponseCache(cache_dir)
    manifest_path = paths.manifests / f"{run_id}.json"
    manifest = run_manifest(run_id, out, items, list(plans.values()))
    manifest.update(
        mode="batch_api",
        batch_state=str(directory / STATE_FILE),
        batch_settings=state.settings.model_dump(),
    )
    write_manifest(manifest_path, manifest)
    done = done_keys_in(paths.journal, list(plans.values()))
    journal = RatingsJournal(paths.journal)
    sink = ResultSink(cache=cache, journal=journal, run_id=run_id, on_progress=on_progress)
    runner = BatchRunner(
        state=state,
        directory=directory,
        plans=plans,
        sink=sink,
        done_keys=done,
        environ=environ,
    )
    status = "failed"
    result: DriveResult = "submitted"
    try:
        if prepare is not None:
            prepare(runner)
        result = action(runner)
        status = _RUN_STATUS[result]
        if result == "finished" and sink.progress.failed:
            status = "completed_with_failures"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        sink.flush()
        runner.save()
        runner.close()
        journal.sync()
        progress = sink.progress
        wall = time.monotonic() - began
        touched = [p for p in state.parts if p.name in runner.touched]
        finish_manifest(manifest, progress, status, wall)
        manifest["batches"] = [
            {"part": p.name, "batch_id": p.batch_id, "status": p.status, "requests": p.requests}
            for p in touched
        ]
        write_manifest(manifest_path, manifest)
        if out != paths.journal and paths.journal.exists():
            write_ratings(read_ratings(paths.journal), out)
        cache.close()
    run = RunResult(run_id, out, manifest_path, sink.progress, wall)
    return BatchOutcome(
        run=run,
        state_dir=directory,
        outcome=result,
        waiting_requests=len(state.pending()),
        open_parts=state.active_parts(),
    )
