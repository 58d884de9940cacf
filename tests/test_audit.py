"""The audit log: every raw completion and failed attempt, linked to the ratings, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.errors import DataError
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.rating import raw_completions_for
from dwa_rater.runs import RunPaths, execute_run, raw_completions
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer

SECRET = "sk-audit-secret-31337"


def test_every_attempt_is_logged_and_linked_by_cache_key(tmp_path: Path) -> None:
    items = [Item(item_id=f"d{i}", item_type="dwa", text=f"Write memo {i}.") for i in range(3)]
    out = tmp_path / "out" / "r.parquet"
    with FakeOpenAIServer(api_key=SECRET, faults=["429", "malformed"]) as server:
        spec = RaterSpec(
            name="r", base_url=server.base_url, model="m", batch_size=3, api_key_env="K"
        )
        result = execute_run(
            items,
            [spec],
            out=out,
            cache_dir=tmp_path / "cache",
            environ={"K": SECRET},
            retry=RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.1),
        )
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
    log = RunPaths(out).raw_log
    assert log == tmp_path / "out" / "r.raw.jsonl" and SECRET not in log.read_text()
    records = raw_completions_for(log, "d1")
    assert [r["status"] for r in records] == [429, 200, 200]
    assert records[1]["error"] and not records[2]["error"]  # the malformed answer, then a good one
    assert {r["run_id"] for r in records} == {result.run_id}
    # the 429 is retried as it was; the malformed answer is re-asked showing the model its answer
    shas = [r["request_sha256"] for r in records]
    assert shas[0] == shas[1] != shas[2]
    assert [len(body["messages"]) for body in bodies] == [2, 2, 4]
    rows = read_ratings(out)
    assert records[-1]["cache_keys"] == list(rows.sort_values("item_id")["cache_key"])
    answer = json.loads(records[-1]["response_text"])["choices"][0]["message"]["content"]
    assert json.loads(answer)["ratings"][1]["id"] == "2"
    assert raw_completions(out, "d2", rater="r") == raw_completions_for(log, "d2")
    with pytest.raises(DataError, match="no raw completion holds item 'nope'"):
        raw_completions(out, "nope")
