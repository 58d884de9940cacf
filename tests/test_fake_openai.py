"""The fake OpenAI server, exercised over real HTTP with the real ``openai`` SDK."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest

from dwa_rater.errors import ConfigError
from dwa_rater.testing import FakeOpenAIServer, fake_rating, parse_item_lines
from dwa_rater.testing.fake_openai import REDACTED

RUBRIC = "Rate each activity E0, E1 or E2 for its exposure to large language models."
ITEMS = {
    "1": "Write reports on inspection findings",
    "2": "Drive trucks to deliver goods (context: Heavy truck drivers)",
    "3": "Translate documents from one language to another",
}
SCHEMA_FORMAT: Any = {
    "type": "json_schema",
    "json_schema": {"name": "ratings", "schema": {"type": "object"}, "strict": True},
}


def _user_message(items: dict[str, str]) -> str:
    lines = "\n".join(f"[{item_id}] {text}" for item_id, text in items.items())
    return f"Rate these activities:\n{lines}"


def _messages(items: dict[str, str]) -> Any:
    return [
        {"role": "system", "content": RUBRIC},
        {"role": "user", "content": _user_message(items)},
    ]


def _client(server: FakeOpenAIServer, **options: Any) -> openai.OpenAI:
    settings: dict[str, Any] = {"api_key": "sk-test", "max_retries": 0, "timeout": 10.0}
    settings.update(options)
    return openai.OpenAI(base_url=server.base_url, **settings)


def _rate(client: openai.OpenAI, items: dict[str, str], **params: Any) -> Any:
    params.setdefault("temperature", 0.0)
    return client.chat.completions.create(
        model="fake-model",
        messages=_messages(items),
        response_format=SCHEMA_FORMAT,
        max_tokens=500,
        **params,
    )


def _content(response: Any) -> str:
    return str(response.choices[0].message.content)


def _ids(response: Any) -> list[str]:
    return [entry["id"] for entry in json.loads(_content(response))["ratings"]]


def _raw_request(url: str, *, data: bytes | None = None) -> tuple[int, dict[str, Any]]:
    """Send a request without the SDK (no Authorization header) and return status and JSON."""
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


# --- correct answers ------------------------------------------------------------------------


def test_normal_answer_has_one_rating_per_id_in_order(server: FakeOpenAIServer) -> None:
    response = _rate(_client(server), ITEMS)

    assert response.object == "chat.completion"
    assert response.choices[0].finish_reason == "stop"
    ratings = json.loads(_content(response))["ratings"]
    assert [entry["id"] for entry in ratings] == ["1", "2", "3"]
    for entry in ratings:
        label, score = server.rating_for(ITEMS[entry["id"]], temperature=0.0)
        assert (entry["label"], entry["score"]) == (label, score)
        assert entry["rationale"]
    prompt_text = RUBRIC + _user_message(ITEMS)
    assert response.usage.prompt_tokens == len(prompt_text) // 4
    assert response.usage.completion_tokens == len(_content(response)) // 4
    assert (
        response.usage.total_tokens == response.usage.prompt_tokens + len(_content(response)) // 4
    )
    assert server.items_requested == [["1", "2", "3"]]
    assert server.item_texts_requested == [list(ITEMS.values())]


def test_repeated_calls_give_the_same_answer_and_salt_changes_labels() -> None:
    items = {str(number): f"Activity number {number}" for number in range(1, 13)}
    with (
        FakeOpenAIServer() as plain,
        FakeOpenAIServer(salt="rater-b", salt_disagreement=1.0) as other,
    ):
        first = _content(_rate(_client(plain), items, seed=7))
        second = _content(_rate(_client(plain), items, seed=7))
        salted = _content(_rate(_client(other), items, seed=7))
    assert first == second
    plain_labels = [entry["label"] for entry in json.loads(first)["ratings"]]
    salted_labels = [entry["label"] for entry in json.loads(salted)["ratings"]]
    assert all(a != b for a, b in zip(plain_labels, salted_labels, strict=True))


def test_fake_rating_shares_follow_salt_and_temperature_settings() -> None:
    statements = [f"Statement {number}" for number in range(400)]
    base = [fake_rating(text) for text in statements]
    salted = [fake_rating(text, salt="b", salt_disagreement=0.3) for text in statements]
    share_salted = sum(a[0] != b[0] for a, b in zip(base, salted, strict=True)) / len(statements)
    assert 0.2 < share_salted < 0.4  # expected 0.3; binomial sd 0.023

    # At temperature 0 the seed does not matter; at temperature 1 it does, for some items.
    assert base == [fake_rating(text, temperature=0.0, seed=99) for text in statements]
    hot_1 = [fake_rating(text, temperature=1.0, seed=1)[0] for text in statements]
    hot_2 = [fake_rating(text, temperature=1.0, seed=2)[0] for text in statements]
    assert hot_1 == [fake_rating(text, temperature=1.0, seed=1)[0] for text in statements]
    assert 0.2 < sum(a != b for a, b in zip(hot_1, hot_2, strict=True)) / len(statements) < 0.7
    bands = {"E0": (0.02, 0.30), "E2": (0.40, 0.65), "E1": (0.70, 0.98)}
    assert all(bands[label][0] <= score <= bands[label][1] for label, score in base)
    assert {label for label, _ in base} == {"E0", "E1", "E2"}


def test_item_lines_are_parsed_with_context_and_ids() -> None:
    text = "Intro\n[a1] First thing\n  [2] indented, not an item\n[2] Second (context: X)\n"
    assert parse_item_lines(text) == [("a1", "First thing"), ("2", "Second (context: X)")]
    # The context suffix does not change the rating of a statement.
    assert fake_rating("Second (context: X)") == fake_rating("Second")


def test_models_endpoint_lists_the_model() -> None:
    with FakeOpenAIServer(model="tiny-rater") as running:
        assert [model.id for model in _client(running).models.list()] == ["tiny-rater"]


def test_tools_request_is_answered_with_a_tool_call(server: FakeOpenAIServer) -> None:
    tool: Any = {"type": "function", "function": {"name": "Ratings", "parameters": {}}}
    response = _client(server).chat.completions.create(
        model="fake-model",
        messages=_messages(ITEMS),
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "Ratings"}},
    )
    tool_calls: Any = response.choices[0].message.tool_calls
    call = tool_calls[0]
    assert call.function.name == "Ratings"
    ratings = json.loads(call.function.arguments)["ratings"]
    assert [entry["id"] for entry in ratings] == ["1", "2", "3"]
    assert response.choices[0].finish_reason == "tool_calls"


# --- HTTP faults ------------------------------------------------------------------------------


def test_rate_limit_carries_retry_after_then_the_script_ends() -> None:
    with FakeOpenAIServer(faults=["429"], retry_after_s=1.5) as running:
        client = _client(running)
        with pytest.raises(openai.RateLimitError) as caught:
            _rate(client, ITEMS)
        assert caught.value.response.headers["retry-after"] == "1.5"
        assert caught.value.response.headers["retry-after-ms"] == "1500"
        assert caught.value.code == "rate_limit_exceeded"
        assert _ids(_rate(client, ITEMS)) == ["1", "2", "3"]
        assert running.fault_counts == {"429": 1, "ok": 1}


def test_sdk_retries_honour_retry_after_and_succeed() -> None:
    with FakeOpenAIServer(faults=["429", "429"], retry_after_s=0.2) as running:
        started = time.perf_counter()
        response = _rate(_client(running, max_retries=2), ITEMS)
        elapsed = time.perf_counter() - started
    assert _ids(response) == ["1", "2", "3"]
    assert [record.status for record in running.requests] == [429, 429, 200]
    assert 0.4 <= elapsed < 3.0  # two waits of 0.2 s asked by Retry-After


@pytest.mark.parametrize(
    ("fault", "error_class", "status"),
    [
        ("500", openai.InternalServerError, 500),
        ("503", openai.InternalServerError, 503),
        ("400", openai.BadRequestError, 400),
    ],
)
def test_http_error_faults(
    fault: str, error_class: type[openai.APIStatusError], status: int
) -> None:
    with FakeOpenAIServer(faults=[fault]) as running:
        with pytest.raises(error_class) as caught:
            _rate(_client(running), ITEMS)
        assert caught.value.status_code == status
        assert running.requests[0].status == status
        assert running.requests[0].fault == fault


def test_reset_fault_drops_the_connection() -> None:
    with FakeOpenAIServer(faults=["reset"]) as running:
        with pytest.raises(openai.APIConnectionError) as caught:
            _rate(_client(running), ITEMS)
        assert not isinstance(caught.value, openai.APITimeoutError)
        assert running.requests[0].status == 0


def test_slow_fault_exceeds_the_client_timeout_and_stop_wakes_it() -> None:
    running = FakeOpenAIServer(faults=["slow"], slow_s=30.0).start()
    try:
        client = _client(running, timeout=0.3)
        started = time.perf_counter()
        with pytest.raises(openai.APITimeoutError):
            _rate(client, ITEMS)
        assert time.perf_counter() - started < 2.0
        # The sleeping request holds only its own thread: the next one is answered at once.
        assert _ids(_rate(client, ITEMS)) == ["1", "2", "3"]
    finally:
        started = time.perf_counter()
        running.stop()
        assert time.perf_counter() - started < 2.0  # the 30 s sleep was interrupted


def test_slow_first_n_and_latency() -> None:
    with FakeOpenAIServer(slow_first_n=1, slow_s=0.5, latency_s=0.1) as running:
        client = _client(running)
        started = time.perf_counter()
        _rate(client, ITEMS)
        first = time.perf_counter() - started
        started = time.perf_counter()
        _rate(client, ITEMS)
        second = time.perf_counter() - started
    assert first >= 0.6
    assert second >= 0.1 and second < first - 0.3  # only the first request was slow
    assert running.fault_counts == {"slow": 1, "ok": 1}


def test_rate_limit_every_k_th_request() -> None:
    with FakeOpenAIServer(rate_limit_every=3) as running:
        client = _client(running)
        for _ in range(6):
            with contextlib.suppress(openai.RateLimitError):
                _rate(client, {"1": "x"})
    assert [record.status for record in running.requests] == [200, 200, 429, 200, 200, 429]


# --- content faults ---------------------------------------------------------------------------


def test_malformed_content_is_truncated_json() -> None:
    with FakeOpenAIServer(faults=["malformed"]) as running:
        content = _content(_rate(_client(running), ITEMS))
    assert content == '{"ratings":[{"id":"1",'
    with pytest.raises(json.JSONDecodeError):
        json.loads(content)


def test_length_fault_cuts_the_content() -> None:
    with FakeOpenAIServer(faults=["length"]) as running:
        response = _rate(_client(running), ITEMS)
    assert response.choices[0].finish_reason == "length"
    with pytest.raises(json.JSONDecodeError):
        json.loads(_content(response))


@pytest.mark.parametrize(
    ("fault", "expected_ids"),
    [
        ("drop", ["1", "2"]),
        ("unknown", ["1", "2", "3", "unknown-1"]),
        ("dup", ["1", "2", "3", "1"]),
        ("invalid", ["1", "2", "3"]),
        ("ok", ["1", "2", "3"]),
    ],
)
def test_batch_content_faults(fault: str, expected_ids: list[str]) -> None:
    with FakeOpenAIServer(faults=[fault]) as running:
        ratings = json.loads(_content(_rate(_client(running), ITEMS)))["ratings"]
    assert [entry["id"] for entry in ratings] == expected_ids
    labels = [entry["label"] for entry in ratings]
    if fault == "invalid":
        assert labels[0] == "E9"
        assert set(labels[1:]) <= {"E0", "E1", "E2"}
    else:
        assert set(labels) <= {"E0", "E1", "E2"}
    if fault == "dup":
        assert labels[0] != labels[3]  # a conflicting duplicate, not an identical copy


def test_item_fault_fails_one_item_for_good_while_others_succeed() -> None:
    items = {"1": "Plan meals", "2": "POISON pill statement", "3": "Sort mail"}
    with FakeOpenAIServer(item_faults={"POISON": "malformed"}) as running:
        client = _client(running)
        assert _content(_rate(client, items)) == '{"ratings":[{"id":"1",'
        assert _ids(_rate(client, {"1": items["1"], "3": items["3"]})) == ["1", "3"]
        for _ in range(2):
            assert _content(_rate(client, {"2": items["2"]})) == '{"ratings":[{"id":"2",'
        assert running.fault_counts == {"malformed": 3, "ok": 1}


def test_item_level_faults_hit_only_the_matching_item() -> None:
    items = {"1": "Plan meals", "2": "DROPME please", "3": "BADLABEL here", "4": "Sort mail"}
    faults = {"DROPME": "drop", "BADLABEL": "invalid"}
    with FakeOpenAIServer(item_faults=faults) as running:
        ratings = json.loads(_content(_rate(_client(running), items)))["ratings"]
    assert [(entry["id"], entry["label"] == "E9") for entry in ratings] == [
        ("1", False),
        ("3", True),
        ("4", False),
    ]
    assert running.item_fault_counts == {"drop": 1, "invalid": 1}
    assert running.requests[0].item_faults == {"2": "drop", "3": "invalid"}


def test_script_applies_in_order_and_reset_counters_restarts_it() -> None:
    with FakeOpenAIServer(faults=["500", "drop"]) as running:
        client = _client(running)
        with pytest.raises(openai.InternalServerError):
            _rate(client, ITEMS)
        assert _ids(_rate(client, ITEMS)) == ["1", "2"]
        assert _ids(_rate(client, ITEMS)) == ["1", "2", "3"]
        assert running.chat_request_count == 3
        running.reset_counters()
        assert (running.request_count, running.requests, running.items_requested) == (0, [], [])
        with pytest.raises(openai.InternalServerError):
            _rate(client, ITEMS)


def test_unknown_fault_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="E_TYPO"):
        FakeOpenAIServer(faults=["ok", "E_TYPO"])
    with pytest.raises(ConfigError, match="nope"):
        FakeOpenAIServer(item_faults={"x": "nope"})


# --- auth, recording, routing ------------------------------------------------------------------


def test_auth_is_enforced_with_an_openai_style_error() -> None:
    with FakeOpenAIServer(api_key="sk-right") as running:
        with pytest.raises(openai.AuthenticationError) as caught:
            _rate(_client(running, api_key="sk-wrong"), ITEMS)
        assert caught.value.code == "invalid_api_key"
        status, body = _raw_request(f"{running.base_url}/models")
        assert status == 401
        assert body["error"]["type"] == "invalid_request_error"
        assert body["error"]["code"] == "invalid_api_key"
        assert _ids(_rate(_client(running, api_key="sk-right"), ITEMS)) == ["1", "2", "3"]
        # Refused requests are counted but take no slot of the fault script.
        assert (running.request_count, running.chat_request_count) == (3, 1)


def test_recorded_requests_redact_the_authorization_header() -> None:
    secret = "sk-very-secret-123"
    with FakeOpenAIServer(api_key=secret) as running:
        client = _client(running, api_key=secret)
        _rate(client, ITEMS, seed=3)
        client.models.list()
        records = running.requests
    assert [record.path for record in records] == ["/v1/chat/completions", "/v1/models"]
    assert all(record.headers["authorization"] == REDACTED for record in records)
    assert secret not in repr(records)
    assert records[0].body["seed"] == 3
    assert records[0].body["response_format"] == SCHEMA_FORMAT
    assert records[0].item_ids == ("1", "2", "3")
    assert records[0].status == 200


def test_unknown_route_and_bad_body(server: FakeOpenAIServer) -> None:
    status, body = _raw_request(f"{server.base_url}/embeddings", data=b"{}")
    assert status == 404
    assert body["error"]["code"] == "unknown_url"
    status, body = _raw_request(f"{server.base_url}/chat/completions", data=b"{not json")
    assert status == 400
    bad_temperature = {"messages": [{"role": "user", "content": "[1] x"}], "temperature": "hot"}
    status, body = _raw_request(
        f"{server.base_url}/chat/completions", data=json.dumps(bad_temperature).encode()
    )
    assert status == 400
    assert "temperature" in body["error"]["message"]
    assert server.chat_request_count == 0


# --- throughput -------------------------------------------------------------------------------


def test_serves_32_requests_concurrently() -> None:
    with FakeOpenAIServer(latency_s=0.2) as running:
        client = _client(running)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(
                pool.map(lambda number: _ids(_rate(client, {str(number): "x"})), range(32))
            )
        elapsed = time.perf_counter() - started
        records = running.requests
    assert answers == [[str(number)] for number in range(32)]
    assert elapsed < 3.0  # a serial server needs 32 x 0.2 s = 6.4 s
    # Most of the 32 requests were in flight at one moment.
    peak = max(
        sum(
            other.started_at <= record.started_at < other.started_at + other.duration_s
            for other in records
        )
        for record in records
    )
    assert peak >= 16


# --- command line -----------------------------------------------------------------------------


def test_cli_prints_base_url_serves_faults_and_writes_stats(tmp_path: Path) -> None:
    stats_file = tmp_path / "stats.json"
    command = [
        sys.executable,
        "-m",
        "dwa_rater.testing.fake_openai",
        "--port",
        "0",
        "--faults",
        "429,ok",
        "--retry-after",
        "0.01",
        "--stats-file",
        str(stats_file),
        "--max-seconds",
        "60",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key="sk-x", max_retries=1, timeout=10.0)
        response = client.chat.completions.create(
            model="fake-model",
            messages=_messages(ITEMS),
        )
        assert [entry["id"] for entry in json.loads(_content(response))["ratings"]] == [
            "1",
            "2",
            "3",
        ]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    assert stats["chat_request_count"] == 2
    assert stats["fault_counts"] == {"429": 1, "ok": 1}
    assert stats["status_counts"] == {"429": 1, "200": 1}
