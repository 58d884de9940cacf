"""The rating engine against a fault-injecting OpenAI-compatible server over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.errors import ConfigError, EndpointError
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer, fake_rating

FAST_RETRY = RetryPolicy(max_attempts=8, initial_wait_s=0.01, max_wait_s=0.2)


def make_items(n: int, prefix: str = "item") -> list[Item]:
    return [
        Item(
            item_id=f"{prefix}-{i}", item_type="custom", text=f"Statement number {i} for {prefix}."
        )
        for i in range(n)
    ]


def spec_for(server: FakeOpenAIServer, **overrides: object) -> RaterSpec:
    values: dict[str, object] = {
        "name": "fake",
        "base_url": server.base_url,
        "model": "fake-model",
        "batch_size": 3,
        "concurrency": 4,
        "timeout_s": 2.0,
        "max_retries": 7,
    }
    values.update(overrides)
    return RaterSpec(**values)


def run(items: list[Item], specs: list[RaterSpec], out: Path, cache: Path, **kwargs: object):
    kwargs.setdefault("retry", FAST_RETRY)
    return execute_run(
        items,
        specs,
        out=out,
        cache_dir=cache,
        environ=kwargs.pop("environ", {}),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


def ok_rows(path: Path) -> pd.DataFrame:
    frame = read_ratings(path)
    return frame[frame["status"] == "ok"]


def test_every_item_rated_once_with_provenance(tmp_path: Path) -> None:
    items = make_items(7)
    with FakeOpenAIServer() as server:
        result = run(items, [spec_for(server, samples=2)], tmp_path / "r.csv", tmp_path / "c")
        requests = server.items_requested
    rows = ok_rows(tmp_path / "r.csv")
    assert len(rows) == 14
    assert not rows.duplicated(["item_id", "sample"]).any()
    assert rows["cache_key"].nunique() == 14  # samples are distinct cache entries
    # batches of at most 3 items, never mixing samples: 2 samples x ceil(7/3) requests
    assert len(requests) == 6 and max(len(r) for r in requests) == 3
    first = rows.iloc[0]
    assert first["model"] == "fake-model" and first["prompt_name"] == "exposure"
    assert len(first["prompt_sha256"]) == 64 and first["run_id"] == result.run_id
    assert first["prompt_tokens"] > 0 and first["latency_s"] > 0
    # the label is the server's deterministic answer for that text
    by_id = rows[rows["sample"] == 0].set_index("item_id")
    for item in items:
        expected = fake_rating(item.text, temperature=0.0, seed=None, salt="")
        assert by_id.loc[item.item_id, "label"] == expected[0]


def test_faults_are_retried_and_every_item_ends_rated_exactly_once(tmp_path: Path) -> None:
    items = make_items(12)
    faults = [
        "429",
        "500",
        "503",
        "slow",
        "malformed",
        "reset",
        "drop",
        "unknown",
        "dup",
        "invalid",
    ]
    with FakeOpenAIServer(faults=faults, slow_s=3.0) as server:
        result = run(items, [spec_for(server, concurrency=2)], tmp_path / "r.csv", tmp_path / "c")
        fault_counts = server.fault_counts
    rows = read_ratings(tmp_path / "r.csv")
    assert result.progress.failed == 0
    assert (rows["status"] == "ok").all()
    assert sorted(rows["item_id"]) == sorted(i.item_id for i in items)
    assert result.progress.retries >= 5  # 429, 500, 503, slow (timeout), reset
    for kind in faults:
        assert fault_counts.get(kind, 0) >= 1, kind


def test_retry_after_is_honoured(tmp_path: Path) -> None:
    items = make_items(1)
    with FakeOpenAIServer(faults=["429"], retry_after_s=0.6) as server:
        patient = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=5.0)
        result = run(items, [spec_for(server)], tmp_path / "r.csv", tmp_path / "c", retry=patient)
        times = [r.started_at for r in server.requests if r.path.endswith("/chat/completions")]
    assert result.progress.done == 1
    # backoff alone would wait at most 0.01 s after the first failure; the server asked for 0.6 s
    assert times[1] - times[0] >= 0.55


def test_missing_items_are_reasked_alone(tmp_path: Path) -> None:
    items = make_items(4)
    with FakeOpenAIServer(faults=["drop"]) as server:
        run(items, [spec_for(server, batch_size=4)], tmp_path / "r.csv", tmp_path / "c")
        requested = server.item_texts_requested
    assert [len(r) for r in requested] == [4, 1]
    assert requested[1] == [items[-1].text]
    assert len(ok_rows(tmp_path / "r.csv")) == 4


def test_poisoned_item_fails_with_reason_and_the_run_goes_on(tmp_path: Path) -> None:
    items = [*make_items(5), Item(item_id="bad", item_type="custom", text="POISON statement")]
    with FakeOpenAIServer(item_faults={"POISON": "invalid"}) as server:
        result = run(items, [spec_for(server, batch_size=3)], tmp_path / "r.csv", tmp_path / "c")
        rows = read_ratings(tmp_path / "r.csv")
        assert result.progress.failed == 1 and result.progress.done == 5
        failed = rows[rows["status"] == "failed"]
        assert list(failed["item_id"]) == ["bad"]
        assert "label" in failed["error"].iloc[0]
        # a rerun retries only the failed item; the others cost nothing
        server.reset_counters()
        again = run(items, [spec_for(server, batch_size=3)], tmp_path / "r.csv", tmp_path / "c")
        assert server.item_texts_requested
        assert all(texts == ["POISON statement"] for texts in server.item_texts_requested)
    assert again.progress.skipped == 5


def test_second_run_sends_zero_requests(tmp_path: Path) -> None:
    items = make_items(6)
    with FakeOpenAIServer() as server:
        run(items, [spec_for(server)], tmp_path / "r.csv", tmp_path / "c")
        first = server.chat_request_count
        server.reset_counters()
        again = run(items, [spec_for(server)], tmp_path / "r.csv", tmp_path / "c")
        assert first > 0 and server.chat_request_count == 0
        assert again.progress.skipped == 6
        # a new output file is filled from the cache, still without requests
        other = run(items, [spec_for(server)], tmp_path / "other.csv", tmp_path / "c")
        assert server.chat_request_count == 0 and other.progress.cached == 6
    assert read_ratings(tmp_path / "other.csv")["cached"].all()
    assert len(read_ratings(tmp_path / "r.csv")) == 6


def test_cache_key_changes_with_sampling_parameters(tmp_path: Path) -> None:
    items = make_items(2)
    with FakeOpenAIServer() as server:
        run(items, [spec_for(server)], tmp_path / "a.csv", tmp_path / "c")
        server.reset_counters()
        run(items, [spec_for(server, temperature=0.7)], tmp_path / "b.csv", tmp_path / "c")
        assert server.chat_request_count > 0
        server.reset_counters()
        run(items, [spec_for(server, rubric="ilo")], tmp_path / "d.csv", tmp_path / "c")
        assert server.chat_request_count > 0
    ilo = ok_rows(tmp_path / "d.csv")
    assert ilo["label"].isna().all() and ilo["score"].between(0, 1).all()


def test_wrong_key_stops_with_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    items = make_items(4)
    secret = "sk-test-secret-value-123456"
    with FakeOpenAIServer(api_key=secret) as server:
        env = {"FAKE_KEY": secret}
        run(
            items[:2],
            [spec_for(server, api_key_env="FAKE_KEY")],
            tmp_path / "r.csv",
            tmp_path / "c",
            environ=env,
        )
        before = (tmp_path / "r.csv").read_bytes()
        with pytest.raises(EndpointError, match="refused the API key"):
            run(
                items,
                [spec_for(server, api_key_env="FAKE_KEY")],
                tmp_path / "r.csv",
                tmp_path / "c",
                environ={"FAKE_KEY": "wrong"},
            )
        with pytest.raises(EndpointError, match="FAKE_KEY"):
            run(
                items,
                [spec_for(server, api_key_env="FAKE_KEY")],
                tmp_path / "r.csv",
                tmp_path / "c",
            )
    assert (tmp_path / "r.csv").read_bytes() == before


def test_key_value_never_written_anywhere(tmp_path: Path) -> None:
    secret = "sk-very-secret-marker-9f8e7d"
    with FakeOpenAIServer(api_key=secret, faults=["500", "invalid"]) as server:
        run(
            make_items(5),
            [spec_for(server, api_key_env="MY_KEY")],
            tmp_path / "out" / "r.parquet",
            tmp_path / "cache",
            environ={"MY_KEY": secret},
        )
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in written) and any(
        p.suffix == ".json" for p in written
    )
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


def test_unreachable_endpoint_fails_fast(tmp_path: Path) -> None:
    spec = RaterSpec(name="nowhere", base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(EndpointError, match="cannot reach"):
        run(make_items(2), [spec], tmp_path / "r.csv", tmp_path / "c")
    assert not (tmp_path / "r.csv").exists() or len(read_ratings(tmp_path / "r.csv")) == 0


def test_empty_selection_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothing to rate"):
        run([], [RaterSpec(name="x")], tmp_path / "r.csv", tmp_path / "c")


def test_dry_run_counts_requests_without_sending(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        result = run(
            make_items(10),
            [spec_for(server, batch_size=4, samples=2)],
            tmp_path / "r.csv",
            tmp_path / "c",
            dry_run=True,
        )
        assert server.chat_request_count == 0
    (estimate,) = result.dry_run
    assert estimate.requests == 6 and estimate.units == 20
    assert estimate.prompt_tokens > 0
    assert not (tmp_path / "r.csv").exists()


def test_two_raters_concurrently_keep_their_own_rows(tmp_path: Path) -> None:
    items = make_items(5)
    with FakeOpenAIServer(salt="a") as first, FakeOpenAIServer(salt="b") as second:
        run(
            items,
            [spec_for(first, name="a"), spec_for(second, name="b", batch_size=1)],
            tmp_path / "r.csv",
            tmp_path / "c",
        )
        assert first.chat_request_count == 2 and second.chat_request_count == 5
    rows = ok_rows(tmp_path / "r.csv")
    assert rows.groupby("rater").size().to_dict() == {"a": 5, "b": 5}


def test_output_cut_at_max_tokens_halves_the_request(tmp_path: Path) -> None:
    items = make_items(4)
    with FakeOpenAIServer(faults=["length"]) as server:
        result = run(items, [spec_for(server, batch_size=4)], tmp_path / "r.csv", tmp_path / "c")
        sizes = [len(r) for r in server.items_requested]
    assert sizes == [4, 2, 2]
    assert result.progress.done == 4 and result.progress.failed == 0


def test_single_item_cut_at_max_tokens_fails_with_advice(tmp_path: Path) -> None:
    with FakeOpenAIServer(faults=["length"]) as server:
        result = run(
            make_items(1), [spec_for(server, batch_size=1)], tmp_path / "r.csv", tmp_path / "c"
        )
    assert result.progress.failed == 1
    error = read_ratings(tmp_path / "r.csv")["error"].iloc[0]
    assert "max_tokens" in error and "batch_size" in error


def test_same_rater_name_with_other_settings_is_refused(tmp_path: Path) -> None:
    items = make_items(3)
    with FakeOpenAIServer() as server:
        run(items, [spec_for(server)], tmp_path / "r.csv", tmp_path / "c")
        before = (tmp_path / "r.csv").read_bytes()
        with pytest.raises(ConfigError, match="rater 'fake' was rated there with other settings"):
            run(items, [spec_for(server, temperature=0.5)], tmp_path / "r.csv", tmp_path / "c")
        # a new name in the same file is fine
        run(
            items,
            [spec_for(server, name="fake-t05", temperature=0.5)],
            tmp_path / "r.csv",
            tmp_path / "c",
        )
    after = (tmp_path / "r.csv").read_bytes()
    assert after.startswith(before) and len(read_ratings(tmp_path / "r.csv")) == 6
