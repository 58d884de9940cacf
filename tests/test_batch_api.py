"""Rating through the Batch API against the loopback Files + Batches server, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from dwa_rater.batch_api import (
    BatchSettings,
    batch_status,
    cancel_batches,
    custom_id_for,
    resume_batches,
    run_batch_api,
    state_dir_for,
)
from dwa_rater.batch_api.state import load_state
from dwa_rater.config import RaterSpec
from dwa_rater.errors import ConfigError, EndpointError
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_batches import DAY_S, FakeBatchServer
from dwa_rater.testing.fake_openai import FakeOpenAIServer, fake_rating

SECRET = "sk-test-never-written-4242"
ENV = {"FAKE_BATCH_KEY": SECRET}
FAST = {"validating_s": 0.03, "in_progress_s": 0.15, "finalizing_s": 0.03, "cancelling_s": 0.03}
QUICK = BatchSettings(poll_interval_s=0.03, http_retries=0, max_poll_failures=200)


def make_items(n: int, *, poison: dict[int, str] | None = None) -> list[Item]:
    poison = poison or {}
    return [
        Item(
            item_id=f"item-{i}",
            item_type="custom",
            text=f"Statement number {i}{poison.get(i, '')}.",
            context="context for the rater" if i % 2 else "",
        )
        for i in range(n)
    ]


def spec_for(base_url: str, **overrides: Any) -> RaterSpec:
    values: dict[str, Any] = {
        "name": "fake",
        "base_url": base_url,
        "model": "fake-model",
        "api_key_env": "FAKE_BATCH_KEY",
        "batch_size": 3,
        "timeout_s": 5.0,
        "price_input_per_mtok": 1.0,
        "price_output_per_mtok": 4.0,
    }
    values.update(overrides)
    return RaterSpec(**values)


def rate(items: list[Item], spec: RaterSpec, tmp: Path, **kwargs: Any):
    kwargs.setdefault("settings", QUICK)
    return run_batch_api(
        items,
        [spec],
        out=tmp / "out" / "ratings.csv",
        cache_dir=tmp / "cache",
        environ=ENV,
        **kwargs,
    )


def resume(tmp: Path, **kwargs: Any):
    return resume_batches(
        tmp / "out" / "ratings.csv", cache_dir=tmp / "cache", environ=ENV, **kwargs
    )


def ratings(tmp: Path) -> pd.DataFrame:
    return read_ratings(tmp / "out" / "ratings.csv")


def assert_complete(frame: pd.DataFrame, n_units: int) -> None:
    ok = frame[frame["status"] == "ok"]
    assert len(ok) == n_units
    assert not ok.duplicated(["item_id", "sample"]).any()
    assert ok["cache_key"].nunique() == n_units


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_round_trip_equals_the_live_path(tmp_path: Path) -> None:
    items = make_items(7)
    settings = {"temperature": 0.7, "seed": 11, "samples": 2}
    with FakeOpenAIServer(api_key=SECRET) as live_server:
        port = live_server.port
        live_spec = spec_for(live_server.base_url, **settings)
        execute_run(
            items,
            [live_spec],
            out=tmp_path / "live.csv",
            cache_dir=tmp_path / "live-cache",
            environ=ENV,
            retry=RetryPolicy(max_attempts=3, initial_wait_s=0.01),
        )
        live_bodies = [r.body for r in live_server.requests if r.path.endswith("/completions")]
    # Same port, so the same base URL: the endpoint is part of the cache key.
    with FakeBatchServer(tmp_path / "server", port=port, api_key=SECRET, **FAST) as server:
        outcome = rate(items, spec_for(server.base_url, **settings), tmp_path)
        submitted = server.submitted_custom_ids()
    live = read_ratings(tmp_path / "live.csv").set_index("cache_key").sort_index()
    batch = ratings(tmp_path).set_index("cache_key").sort_index()
    assert outcome.outcome == "finished" and outcome.run.progress.done == 14
    assert len(batch) == len(live) == 14 and list(batch.index) == list(live.index)
    same = ["item_id", "sample", "label", "score", "rationale", "model", "endpoint", "seed"]
    same += ["prompt_sha256", "schema_sha256", "temperature", "batch_size", "max_tokens"]
    pd.testing.assert_frame_equal(batch[same], live[same])
    assert (batch["status"] == "ok").all() and (batch["run_id"] == outcome.run.run_id).all()
    # the labels are the server's deterministic answers
    for row in batch.itertuples():
        item = items[int(row.item_id.split("-")[1])]
        text = item.text + f" (context: {item.context})" if item.context else item.text
        assert row.label == fake_rating(text, temperature=0.7, seed=11 + row.sample)[0]
    # half price: the same tokens at 50 % of the live cost
    assert (batch["prompt_tokens"] == live["prompt_tokens"]).all()
    assert batch["cost_usd"].to_numpy() == pytest.approx(0.5 * live["cost_usd"].to_numpy())
    # one request per 3 items of one sample; its custom_id is the hash of its units' keys
    assert sorted(len(ids) for ids in submitted) == [6]
    by_sample = ratings(tmp_path).sort_values("item_id")
    keys0 = by_sample[by_sample["sample"] == 0]["cache_key"].tolist()
    assert custom_id_for(keys0[:3]) in submitted[0]
    # the request bodies are exactly those of the live path
    part = state_dir_for(tmp_path / "out" / "ratings.csv") / "part-0001.jsonl"
    lines = [json.loads(raw) for raw in part.read_text().splitlines()]
    assert {line["url"] for line in lines} == {"/v1/chat/completions"}
    canonical = sorted(json.dumps(line["body"], sort_keys=True) for line in lines)
    assert canonical == sorted(json.dumps(body, sort_keys=True) for body in live_bodies)
    # the secret reaches the server but no file written
    for path in files_under(tmp_path):
        if "server" not in path.parts:
            assert SECRET.encode() not in path.read_bytes(), path
    manifest = json.loads(outcome.run.manifest.read_text())
    assert manifest["mode"] == "batch_api" and manifest["status"] == "completed"
    assert [b["status"] for b in manifest["batches"]] == ["completed"]


def test_parts_respect_the_file_and_enqueued_token_limits(tmp_path: Path) -> None:
    items = make_items(7)
    with FakeBatchServer(tmp_path / "server", **FAST) as server:
        split = QUICK.model_copy(update={"max_requests_per_file": 3})
        rate(items, spec_for(server.base_url, batch_size=1), tmp_path / "a", settings=split)
        by_file = server.submitted_custom_ids()
    assert [len(ids) for ids in by_file] == [3, 3, 1]
    keys = set(ratings(tmp_path / "a")["cache_key"])
    assert {cid for ids in by_file for cid in ids} == keys  # one unit: custom_id = cache key
    assert_complete(ratings(tmp_path / "a"), 7)
    parts = sorted(
        (state_dir_for(tmp_path / "a" / "out" / "ratings.csv")).glob("part-*[0-9].jsonl")
    )
    assert [len(p.read_text().splitlines()) for p in parts] == [3, 3, 1]

    # The server refuses more than `limit` enqueued tokens; a client cap of the same size
    # makes the parts small enough and submits them one after the other.
    line = json.loads(parts[0].read_text().splitlines()[0])
    body = line["body"]
    tokens = sum(len(m["content"]) for m in body["messages"]) // 4 + body["max_tokens"]
    limit = int(2.5 * tokens)
    with FakeBatchServer(tmp_path / "server2", enqueued_token_limit=limit, **FAST) as server:
        capped = QUICK.model_copy(update={"max_enqueued_tokens": limit})
        rate(items, spec_for(server.base_url, batch_size=1), tmp_path / "b", settings=capped)
        statuses = [b["status"] for b in server.batches()]
        sizes = [len(ids) for ids in server.submitted_custom_ids()]
    assert statuses == ["completed"] * 4 and sizes == [2, 2, 2, 1]
    assert_complete(ratings(tmp_path / "b"), 7)

    # Without the cap the server fails the whole file at validation; the run says why.
    with FakeBatchServer(tmp_path / "server3", enqueued_token_limit=limit, **FAST) as server:
        spec = spec_for(server.base_url, batch_size=1, max_retries=1)
        outcome = rate(items, spec, tmp_path / "c")
        statuses = [b["status"] for b in server.batches()]
    assert statuses == ["failed", "failed"] and outcome.run.progress.failed == 7
    errors = ratings(tmp_path / "c")["error"]
    assert errors.str.contains("token_limit_exceeded").all()


def test_failed_lines_are_retried_or_recorded(tmp_path: Path) -> None:
    # Requests: R0 = items 0-2 (1 holds POISON), R1 = items 3-5 (4 is dropped from answers).
    items = make_items(6, poison={1: " POISON", 4: " DROPME"})
    faults = {"POISON": "400", "DROPME": "drop"}
    with FakeBatchServer(tmp_path / "server", faults=["500"], item_faults=faults, **FAST) as server:
        outcome = rate(items, spec_for(server.base_url, batch_size=3, max_reasks=1), tmp_path)
        by_file = server.submitted_custom_ids()
    frame = ratings(tmp_path)
    errors = frame[frame["status"] == "failed"].set_index("item_id")["error"].to_dict()
    # R0's first line got a transient 500 and went again; then HTTP 400 (not retryable);
    # item 4 was missing, re-asked alone once (max_reasks=1), missing again.
    assert sorted(errors) == ["item-0", "item-1", "item-2", "item-4"]
    assert all(errors[f"item-{i}"].startswith("HTTP 400: Injected fault 400") for i in range(3))
    assert errors["item-4"] == "missing"
    assert sorted(frame[frame["status"] == "ok"]["item_id"]) == ["item-3", "item-5"]
    assert outcome.run.progress.retries == 1 and outcome.run.progress.failed == 4
    key4 = frame[frame["item_id"] == "item-4"]["cache_key"].iloc[0]
    assert len(by_file) == 2 and set(by_file[1]) == {by_file[0][0], key4}


def test_missing_item_is_reasked_alone_then_recorded(tmp_path: Path) -> None:
    items = make_items(3, poison={2: " DROPME"})
    with FakeBatchServer(tmp_path / "server", item_faults={"DROPME": "drop"}, **FAST) as server:
        rate(items, spec_for(server.base_url, batch_size=3, max_reasks=2), tmp_path)
        by_file = server.submitted_custom_ids()
    frame = ratings(tmp_path)
    failed = frame[frame["status"] == "failed"]
    key = failed["cache_key"].iloc[0]
    assert list(failed["item_id"]) == ["item-2"] and failed["error"].iloc[0] == "missing"
    assert by_file[1:] == [[key], [key]]  # a re-ask per round, custom_id = its cache key
    assert sorted(frame[frame["status"] == "ok"]["item_id"]) == ["item-0", "item-1"]


def test_batch_failing_validation_is_found_by_polling_and_resubmitted(tmp_path: Path) -> None:
    items = make_items(4)
    with FakeBatchServer(tmp_path / "server", validation_failures=1, **FAST) as server:
        outcome = rate(items, spec_for(server.base_url), tmp_path)
        statuses = [b["status"] for b in server.batches()]
        by_file = server.submitted_custom_ids()
    assert statuses == ["failed", "completed"] and by_file[0] == by_file[1]
    assert_complete(ratings(tmp_path), 4)
    state = load_state(outcome.state_dir)
    assert state is not None and not state.requests
    assert state.parts[0].status == "failed" and "injected_failure" in state.parts[0].errors[0]


def test_expiry_keeps_partial_output_and_resubmits_only_the_missing(tmp_path: Path) -> None:
    items = make_items(8)
    with FakeBatchServer(
        tmp_path / "server", validating_s=0.02, in_progress_s=0.4, completion_window_s=0.22
    ) as server:
        spec = spec_for(server.base_url, batch_size=1)
        first = rate(items, spec, tmp_path, wait=False)
        assert first.outcome == "submitted" and len(first.open_parts) == 1
        wait_until(lambda: server.batches()[0]["status"] == "expired")
        server.completion_window_s = DAY_S  # batches created from now on do not expire
        expired = server.batches()[0]
        output_ids = {
            json.loads(raw)["custom_id"]
            for raw in server.file_text(expired["output_file_id"]).splitlines()
        }
        done = resume(tmp_path)
        by_file = server.submitted_custom_ids()
    assert 0 < len(output_ids) < 8
    assert len(by_file) == 2 and set(by_file[1]) == set(by_file[0]) - output_ids
    assert done.outcome == "finished" and done.run.progress.done == 8
    assert_complete(ratings(tmp_path), 8)


def test_server_restart_then_resume_from_state_alone(tmp_path: Path) -> None:
    items = make_items(6)
    server = FakeBatchServer(tmp_path / "server", validating_s=0.02, in_progress_s=0.3).start()
    port = server.port
    patient = QUICK.model_copy(update={"max_poll_failures": 3})
    spec = spec_for(server.base_url, batch_size=2)
    submitted = rate(items, spec, tmp_path, wait=False, settings=patient)
    server.stop()
    assert submitted.outcome == "submitted" and ratings(tmp_path).empty
    with pytest.raises(EndpointError, match=r"unreachable .* in 3 rounds"):
        resume(tmp_path)  # the server stays down: give up, keep the state
    with FakeBatchServer(tmp_path / "server", port=port, **FAST) as restarted:
        outcome = resume(tmp_path)
        by_file = restarted.submitted_custom_ids()
    assert outcome.outcome == "finished" and outcome.run.progress.done == 6
    assert len(by_file) == 1 and len(by_file[0]) == 3  # nothing was submitted twice
    assert_complete(ratings(tmp_path), 6)


def test_ingesting_again_after_a_crash_stores_nothing_twice(tmp_path: Path) -> None:
    items = make_items(5)
    with FakeBatchServer(tmp_path / "server", **FAST) as server:
        rate(items, spec_for(server.base_url, batch_size=2), tmp_path, wait=False)
        wait_until(lambda: server.batches()[0]["status"] == "completed")
        state_file = state_dir_for(tmp_path / "out" / "ratings.csv") / "state.json"
        before = state_file.read_bytes()
        first = resume(tmp_path)
        # A crash after the ratings were journalled but before the state was saved:
        state_file.write_bytes(before)
        second = resume(tmp_path)
        by_file = server.submitted_custom_ids()
    assert first.run.progress.done == 5 and second.run.progress.done == 0
    assert second.outcome == "finished" and len(by_file) == 1
    assert_complete(ratings(tmp_path), 5)
    assert len(ratings(tmp_path)) == 5


def test_server_restart_while_polling(tmp_path: Path) -> None:
    items = make_items(6)
    server = FakeBatchServer(tmp_path / "server", validating_s=0.02, in_progress_s=0.5).start()
    port = server.port
    spec = spec_for(server.base_url, batch_size=2)
    result: dict[str, Any] = {}
    worker = threading.Thread(
        target=lambda: result.setdefault(
            "outcome", rate(items, spec, tmp_path, check_endpoints=False)
        )
    )
    worker.start()
    wait_until(lambda: bool(server.batches()))
    server.stop()
    time.sleep(0.3)  # status checks fail meanwhile
    with FakeBatchServer(tmp_path / "server", port=port, **FAST) as restarted:
        worker.join(timeout=20)
        by_file = restarted.submitted_custom_ids()
    assert result["outcome"].outcome == "finished" and len(by_file) == 1
    assert_complete(ratings(tmp_path), 6)


def test_sigkill_during_polling_then_resume(tmp_path: Path) -> None:
    items_file = tmp_path / "items.csv"
    pd.DataFrame(
        {"id": [f"d{i}" for i in range(5)], "text": [f"Duty {i}." for i in range(5)]}
    ).to_csv(items_file, index=False)
    out = tmp_path / "out" / "ratings.csv"
    with FakeBatchServer(
        tmp_path / "server", api_key=SECRET, validating_s=0.02, in_progress_s=1.5
    ) as server:
        command = [sys.executable, "-m", "dwa_rater", "rate", "--items", str(items_file)]
        command += ["--base-url", server.base_url, "--model", "fake-model"]
        command += ["--api-key-env", "FAKE_BATCH_KEY", "--batch-size", "2", "--batch-api"]
        command += ["--poll-interval", "0.05", "--out", str(out), "--no-progress"]
        env = {**os.environ, **ENV, "DWA_RATER_HOME": str(tmp_path / "home")}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_until(lambda: bool(server.batches()), timeout=30)
            time.sleep(0.2)  # polling now
            assert process.poll() is None
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        state = load_state(state_dir_for(out))
        assert state is not None and state.parts[0].batch_id is not None
        outcome = resume_batches(out, cache_dir=tmp_path / "home" / "responses", environ=ENV)
        by_file = server.submitted_custom_ids()
    assert outcome.outcome == "finished" and len(by_file) == 1 and len(by_file[0]) == 3
    assert_complete(read_ratings(out), 5)


def test_rating_again_while_batches_run_submits_nothing_twice(tmp_path: Path) -> None:
    items = make_items(5)
    with FakeBatchServer(tmp_path / "server", validating_s=0.02, in_progress_s=0.3) as server:
        spec = spec_for(server.base_url, batch_size=2)
        rate(items, spec, tmp_path, wait=False)
        changed = spec_for(server.base_url, batch_size=2, temperature=0.5)
        with pytest.raises(ConfigError, match="batches still open"):
            rate(items, changed, tmp_path)
        outcome = rate(items, spec, tmp_path)
        by_file = server.submitted_custom_ids()
    assert outcome.outcome == "finished" and outcome.run.progress.requests == 0
    assert len(by_file) == 1 and len(by_file[0]) == 3
    assert_complete(ratings(tmp_path), 5)


def test_cancel_asks_the_driving_process_to_stop(tmp_path: Path) -> None:
    items = make_items(6)
    with FakeBatchServer(tmp_path / "server", validating_s=0.02, in_progress_s=1.0) as server:
        spec = spec_for(server.base_url, batch_size=1)
        result: dict[str, Any] = {}
        worker = threading.Thread(
            target=lambda: result.setdefault("outcome", rate(items, spec, tmp_path))
        )
        worker.start()
        wait_until(lambda: bool(server.batches()))
        out = tmp_path / "out" / "ratings.csv"
        assert cancel_batches(out, cache_dir=tmp_path / "cache", environ=ENV) is None
        worker.join(timeout=20)
        statuses = [b["status"] for b in server.batches()]
    assert result["outcome"].outcome == "cancelled" and statuses == ["cancelled"]
    assert batch_status(out).waiting_requests == 6 - len(ratings(tmp_path))


def test_cancel_keeps_what_completed_and_resume_finishes(tmp_path: Path) -> None:
    items = make_items(6)
    with FakeBatchServer(tmp_path / "server", validating_s=0.02, in_progress_s=1.2) as server:
        spec = spec_for(server.base_url, batch_size=1)
        rate(items, spec, tmp_path, wait=False)
        wait_until(lambda: server.batches()[0]["request_counts"]["completed"] >= 2)
        cancelled = cancel_batches(
            tmp_path / "out" / "ratings.csv", cache_dir=tmp_path / "cache", environ=ENV
        )
        assert cancelled is not None and cancelled.outcome == "cancelled"
        kept = len(ratings(tmp_path))
        status = batch_status(tmp_path / "out" / "ratings.csv")
        assert server.batches()[0]["status"] == "cancelled"
        server.in_progress_s = 0.1
        finished = resume(tmp_path)
        by_file = server.submitted_custom_ids()
    assert 2 <= kept < 6 and status.waiting_requests == 6 - kept
    assert cancelled.run.progress.failed == 0 and finished.run.progress.done == 6 - kept
    assert len(by_file) == 2 and len(by_file[1]) == 6 - kept
    assert_complete(ratings(tmp_path), 6)


def test_done_cached_and_in_flight_units_are_never_submitted(tmp_path: Path) -> None:
    with FakeBatchServer(tmp_path / "server", **FAST) as server:
        spec = spec_for(server.base_url, batch_size=2)
        rate(make_items(4), spec, tmp_path)
        rate(make_items(6), spec, tmp_path)  # two new items
        (tmp_path / "out" / "ratings.csv").unlink()
        again = rate(make_items(6), spec, tmp_path)  # all in the cache now
        by_file = server.submitted_custom_ids()
    assert [len(ids) for ids in by_file] == [2, 1]
    assert again.run.progress.cached == 6 and again.run.progress.requests == 0
    assert ratings(tmp_path)["cached"].all()


def test_embedded_rater_has_no_batch_api(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="embedded local model"):
        rate(make_items(2), RaterSpec(name="local"), tmp_path)


def test_command_line_rate_status_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from dwa_rater.cli.batches import register as register_batches
    from dwa_rater.cli.rate import register as register_rate

    app = typer.Typer()
    register_rate(app)
    register_batches(app)
    runner = CliRunner()
    items_file = tmp_path / "items.csv"
    pd.DataFrame({"id": ["a", "b", "c"], "text": ["One.", "Two.", "Three."]}).to_csv(
        items_file, index=False
    )
    out = tmp_path / "r.csv"
    monkeypatch.setenv("FAKE_BATCH_KEY", SECRET)
    with FakeBatchServer(tmp_path / "server", api_key=SECRET, **FAST) as server:
        common = [
            "--items",
            str(items_file),
            "--base-url",
            server.base_url,
            "--model",
            "fake-model",
        ]
        submitted = runner.invoke(
            app,
            [
                *("rate", *common, "--api-key-env", "FAKE_BATCH_KEY", "--batch-api"),
                *("--no-wait", "--poll-interval", "0.05", "--out", str(out), "--no-progress"),
            ],
        )
        assert submitted.exit_code == 0, submitted.output
        assert "batches resume" in submitted.output
        shown = runner.invoke(app, ["batches", "status", "--out", str(out)])
        assert shown.exit_code == 0 and "part-0001" in shown.output
        resumed = runner.invoke(
            app,
            ["batches", "resume", "--out", str(out), "--poll-interval", "0.05", "--no-progress"],
        )
    assert resumed.exit_code == 0, resumed.output
    assert "3 rated" in resumed.output
    assert_complete(read_ratings(out), 3)
    refused = runner.invoke(
        app, ["rate", "--items", str(items_file), "--batch-api", "--out", str(out)]
    )
    assert isinstance(refused.exception, ConfigError)
