"""The loopback Files + Batches server, driven by the openai SDK over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest

from dwa_rater.testing.fake_batches import FakeBatchServer
from dwa_rater.testing.fake_openai import fake_rating

FAST = {"validating_s": 0.05, "in_progress_s": 0.3, "finalizing_s": 0.05, "cancelling_s": 0.05}


def line(custom_id: str, texts: list[str], **body: Any) -> str:
    user = "\n".join(f"[{i + 1}] {text}" for i, text in enumerate(texts))
    request = {
        "model": "fake-model",
        "messages": [{"role": "system", "content": "Rate."}, {"role": "user", "content": user}],
        "temperature": 0.0,
        "max_tokens": 100,
        **body,
    }
    return json.dumps(
        {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": request}
    )


def upload(client: openai.OpenAI, lines: list[str]) -> str:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    return client.files.create(file=("in.jsonl", data, "application/jsonl"), purpose="batch").id


def submit(client: openai.OpenAI, lines: list[str]) -> Any:
    return client.batches.create(
        input_file_id=upload(client, lines),
        endpoint="/v1/chat/completions",
        completion_window="24h",
    )


def wait_for(
    client: openai.OpenAI, batch_id: str, done: Callable[[Any], bool], timeout: float = 5.0
) -> tuple[Any, list[str]]:
    """Poll until ``done(batch)``; return the batch and every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.batches.retrieve(batch_id)
        if not seen or seen[-1] != batch.status:
            seen.append(batch.status)
        if done(batch):
            return batch, seen
        time.sleep(0.01)
    raise AssertionError(f"batch {batch_id} stuck: {seen}")


def terminal(batch: Any) -> bool:
    return batch.status in {"completed", "failed", "expired", "cancelled"}


def records(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    text = client.files.content(file_id).text
    return [json.loads(raw) for raw in text.splitlines() if raw.strip()]


@pytest.fixture
def texts() -> list[list[str]]:
    return [[f"Statement {i}a.", f"Statement {i}b."] for i in range(6)]


def test_phases_in_order_and_answers_like_the_chat_server(
    tmp_path: Path, texts: list[list[str]]
) -> None:
    with FakeBatchServer(tmp_path, **FAST) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        lines = [line(f"req-{i}", pair, temperature=0.7, seed=5) for i, pair in enumerate(texts)]
        created = submit(client, lines)
        assert created.status == "validating" and created.request_counts.total == 0
        batch, seen = wait_for(client, created.id, terminal)
        output = records(client, batch.output_file_id)
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert batch.request_counts.total == 6 and batch.request_counts.completed == 6
    assert batch.error_file_id is None and batch.model == "fake-model"
    assert sorted(r["custom_id"] for r in output) == [f"req-{i}" for i in range(6)]
    for record in output:
        assert record["error"] is None and record["response"]["status_code"] == 200
        body = record["response"]["body"]
        assert body["object"] == "chat.completion" and body["usage"]["prompt_tokens"] > 0
        ratings = json.loads(body["choices"][0]["message"]["content"])["ratings"]
        pair = texts[int(record["custom_id"].split("-")[1])]
        for rating, text in zip(ratings, pair, strict=True):
            assert (rating["label"], rating["score"]) == fake_rating(text, temperature=0.7, seed=5)


def test_line_faults_go_to_the_error_file(tmp_path: Path, texts: list[list[str]]) -> None:
    with FakeBatchServer(tmp_path, faults=["ok", "500", "400"], **FAST) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        created = submit(client, [line(f"req-{i}", pair) for i, pair in enumerate(texts)])
        batch, _ = wait_for(client, created.id, terminal)
        output = records(client, batch.output_file_id)
        errors = records(client, batch.error_file_id)
    assert batch.status == "completed"
    assert (batch.request_counts.completed, batch.request_counts.failed) == (4, 2)
    assert {r["custom_id"]: r["response"]["status_code"] for r in errors} == {
        "req-1": 500,
        "req-2": 400,
    }
    assert all("error" in r["response"]["body"] for r in errors)
    assert len(output) == 4


def test_failures_at_validation_show_only_when_polled(tmp_path: Path) -> None:
    with FakeBatchServer(tmp_path, validation_failures=1, **FAST) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        good = [line("a", ["One."]), line("b", ["Two."])]
        injected = submit(client, good)  # the first batch of this state fails on purpose
        broken = submit(client, [line("a", ["One."]), "{not json", line("a", ["Again."])])
        fine = submit(client, good)
        assert injected.status == broken.status == "validating"  # create does not raise
        first, _ = wait_for(client, injected.id, terminal)
        second, _ = wait_for(client, broken.id, terminal)
        third, _ = wait_for(client, fine.id, terminal)
    assert first.status == "failed" and first.errors.data[0].code == "injected_failure"
    assert first.output_file_id is None and first.error_file_id is None
    assert second.status == "failed"
    assert {(e.code, e.line) for e in second.errors.data} == {("invalid_json_line", 2)}
    assert third.status == "completed"


def test_duplicate_ids_per_file_limit_and_token_limit(tmp_path: Path) -> None:
    lines = [line(f"r{i}", [f"Statement {i}."]) for i in range(3)]
    with FakeBatchServer(
        tmp_path, max_requests_per_file=2, enqueued_token_limit=200, **FAST
    ) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        duplicate = submit(client, [lines[0], lines[0]])
        too_many = submit(client, lines)
        too_big = submit(client, [lines[1], lines[2]])  # 2 x (21 chars / 4 + 100) > 200 tokens
        fits = submit(client, [lines[1]])
        outcomes = [wait_for(client, b.id, terminal)[0] for b in (duplicate, too_many, too_big)]
        fitting, _ = wait_for(client, fits.id, terminal)
    codes = [{e.code for e in b.errors.data} for b in outcomes]
    assert codes == [{"duplicate_custom_id"}, {"too_many_requests"}, {"token_limit_exceeded"}]
    assert fitting.status == "completed"


def test_expiry_keeps_the_lines_done_in_time(tmp_path: Path, texts: list[list[str]]) -> None:
    with FakeBatchServer(
        tmp_path, validating_s=0.05, in_progress_s=0.6, completion_window_s=0.35
    ) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        created = submit(client, [line(f"req-{i}", pair) for i, pair in enumerate(texts)])
        batch, seen = wait_for(client, created.id, terminal)
        output = records(client, batch.output_file_id)
        errors = records(client, batch.error_file_id)
    assert seen[-1] == "expired" and "finalizing" not in seen
    assert 0 < len(output) < 6 and len(output) + len(errors) == 6
    assert {r["error"]["code"] for r in errors} == {"batch_expired"}
    assert all(r["response"] is None for r in errors)
    assert batch.request_counts.completed == len(output)


def test_cancel_keeps_partial_output_and_refuses_finished_batches(
    tmp_path: Path, texts: list[list[str]]
) -> None:
    with FakeBatchServer(tmp_path, validating_s=0.02, in_progress_s=1.0) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        created = submit(client, [line(f"req-{i}", pair) for i, pair in enumerate(texts)])
        wait_for(client, created.id, lambda b: b.request_counts.completed >= 2)
        cancelling = client.batches.cancel(created.id)
        batch, seen = wait_for(client, created.id, terminal)
        output = records(client, batch.output_file_id)
        errors = records(client, batch.error_file_id)
        with pytest.raises(openai.ConflictError):
            client.batches.cancel(created.id)
    assert cancelling.status == "cancelling" and seen[-1] == "cancelled"
    assert 2 <= len(output) < 6 and len(output) + len(errors) == 6
    assert {r["error"]["code"] for r in errors} == {"batch_cancelled"}


def test_state_survives_a_restart_on_the_same_port(tmp_path: Path, texts: list[list[str]]) -> None:
    first = FakeBatchServer(tmp_path, validating_s=0.02, in_progress_s=0.4).start()
    port = first.port
    client = openai.OpenAI(base_url=first.base_url, api_key="k", max_retries=0)
    created = submit(client, [line(f"req-{i}", pair) for i, pair in enumerate(texts)])
    first.stop()
    time.sleep(0.5)  # the batch keeps running (on the wall clock) while no server is up
    with pytest.raises(openai.APIConnectionError):
        client.batches.retrieve(created.id)
    with FakeBatchServer(tmp_path, port=port) as second:
        batch, _ = wait_for(client, created.id, terminal)
        output = records(client, batch.output_file_id)
        listed = [b.id for b in client.batches.list()]
        assert second.submitted_custom_ids() == [[f"req-{i}" for i in range(6)]]
    assert batch.status == "completed" and len(output) == 6 and listed == [created.id]


def test_auth_downloads_and_pagination(tmp_path: Path) -> None:
    with FakeBatchServer(tmp_path, api_key="sk-right", **FAST) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        ids = [submit(client, [line("a", ["One."])]).id for _ in range(3)]
        input_file = client.batches.retrieve(ids[0]).input_file_id
        with pytest.raises(openai.BadRequestError, match="purpose: batch"):
            client.files.content(input_file)
        with pytest.raises(openai.NotFoundError):
            client.batches.retrieve("batch_missing")
        wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.batches.list()
        page = client.batches.list(limit=2)
        listed = [b.id for b in page]  # iterating follows `after` to the next page
    assert len(page.data) == 2 and page.has_more
    assert listed == list(reversed(ids))
