"""Every provider preset rates through a loopback server that enforces that provider's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.errors import EndpointError
from dwa_rater.llm.retry import RetryPolicy
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from servers.providers import FORBIDDEN, RULES, ProviderServer

FAST = RetryPolicy(max_attempts=3, initial_wait_s=0.01, max_wait_s=0.1)
KEY = "sk-provider-test-key-0042"

#: preset -> (server rules, model, expected structured-output mode)
CASES: dict[str, tuple[str, str, str]] = {
    "openai": ("openai", "gpt-4o-mini", "json_schema"),
    "azure": ("azure", "my-gpt-4o-deployment", "json_schema"),
    "deepseek": ("deepseek", "deepseek-chat", "json_object"),
    "dashscope": ("dashscope", "qwen3-8b", "json_object"),
    "zhipu": ("zhipu", "glm-4-plus", "json_object"),
    "moonshot": ("moonshot", "kimi-k2-0905-preview", "json_object"),
    "anthropic": ("anthropic", "claude-sonnet-4-5", "md_json"),
    "gemini": ("gemini", "gemini-2.5-flash", "json_object"),
    "openrouter": ("openrouter", "meta-llama/llama-3.3-70b-instruct", "json_object"),
    "ollama": ("ollama", "qwen2.5:7b", "json_schema"),
    "vllm": ("vllm", "Qwen/Qwen2.5-7B-Instruct", "json_schema"),
}


def items(n: int, forbidden: int | None = None) -> list[Item]:
    return [
        Item(
            item_id=f"a{i}",
            item_type="dwa",
            text=f"{FORBIDDEN} statement {i}." if i == forbidden else f"Prepare report {i}.",
        )
        for i in range(n)
    ]


def spec(provider: str, server: ProviderServer, model: str, **extra: object) -> RaterSpec:
    values: dict[str, object] = {
        "name": f"{provider}-rater",
        "provider": provider,
        "base_url": server.base_url,
        "model": model,
        "api_key_env": "PROVIDER_KEY",
        "batch_size": 5,
        "timeout_s": 5.0,
    }
    values.update(extra)
    return RaterSpec(**values)


def run(tmp_path: Path, specs: list[RaterSpec], rated: list[Item]):
    return execute_run(
        rated,
        specs,
        out=tmp_path / "r.csv",
        cache_dir=tmp_path / "cache",
        environ={"PROVIDER_KEY": KEY},
        retry=FAST,
    )


@pytest.mark.parametrize("provider", sorted(CASES))
def test_each_preset_rates_through_its_providers_rules(tmp_path: Path, provider: str) -> None:
    rules, model, mode = CASES[provider]
    with ProviderServer(RULES[rules], api_key=KEY) as server:
        result = run(tmp_path, [spec(provider, server, model)], items(10))
        assert server.refused == [], server.refused
        assert server.chat_posts <= 6
    rows = read_ratings(tmp_path / "r.csv")
    assert result.progress.failed == 0 and (rows["status"] == "ok").all()
    assert sorted(rows["item_id"]) == sorted(f"a{i}" for i in range(10))
    assert set(rows["structured_output"]) == {mode} and set(rows["provider"]) == {provider}


def test_reasoning_model_gets_max_completion_tokens_and_no_temperature(tmp_path: Path) -> None:
    with ProviderServer(RULES["openai-reasoning"], api_key=KEY) as server:
        result = run(tmp_path, [spec("openai", server, "o4-mini")], items(10))
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
        assert server.refused == [] and len(bodies) <= 6
    assert all("max_completion_tokens" in b and "temperature" not in b for b in bodies)
    rows = read_ratings(tmp_path / "r.csv")
    assert result.progress.failed == 0 and rows["temperature"].isna().all()
    # reasoning tokens are counted, priced as output (o4-mini list price 4.40 $/Mtok)
    assert result.progress.reasoning_tokens == 192 * len(bodies)
    assert rows["reasoning_tokens"].sum() >= 192 * 2 - 10
    output_cost = result.progress.completion_tokens * 4.40 / 1e6
    assert result.progress.cost_usd >= output_cost


def test_reasoning_flag_applies_to_any_model_name(tmp_path: Path) -> None:
    with ProviderServer(RULES["openai-reasoning"], api_key=KEY) as server:
        result = run(tmp_path, [spec("openai", server, "my-thinker", reasoning=True)], items(5))
        assert server.refused == [] and result.progress.done == 5


def test_dashscope_sends_enable_thinking_false_only_to_qwen3(tmp_path: Path) -> None:
    with ProviderServer(RULES["dashscope"], api_key=KEY) as server:
        run(tmp_path, [spec("dashscope", server, "qwen3-8b", name="a")], items(5))
        run(tmp_path, [spec("dashscope", server, "qwen-plus", name="b")], items(5))
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
    assert [b.get("enable_thinking") for b in bodies] == [False, None]


@pytest.mark.parametrize("provider", ["deepseek", "dashscope", "azure", "zhipu", "moonshot"])
def test_content_filter_fails_only_that_item(tmp_path: Path, provider: str) -> None:
    rules, model, _ = CASES[provider]
    with ProviderServer(RULES[rules], api_key=KEY) as server:
        result = run(tmp_path, [spec(provider, server, model)], items(10, forbidden=3))
        assert server.filtered == 2  # the batch of five, then the item alone
    rows = read_ratings(tmp_path / "r.csv")
    failed = rows[rows["status"] == "failed"]
    assert list(failed["item_id"]) == ["a3"] and result.progress.done == 9
    assert "refused by the provider: HTTP 400" in failed["error"].iloc[0]


def test_a_provider_that_filters_everything_stops_the_run(tmp_path: Path) -> None:
    flagged = [
        Item(item_id=f"f{i}", item_type="dwa", text=f"{FORBIDDEN} act {i}.") for i in range(10)
    ]
    with ProviderServer(RULES["dashscope"], api_key=KEY) as server:
        with pytest.raises(EndpointError, match="inappropriate content"):
            run(tmp_path, [spec("dashscope", server, "qwen-plus")], flagged)
        assert server.chat_posts == 3


def test_a_refused_request_stops_the_run_at_once_quoting_the_provider(tmp_path: Path) -> None:
    with ProviderServer(RULES["deepseek"], api_key=KEY) as server:
        forced = spec("deepseek", server, "deepseek-chat", structured_output="json_schema")
        with pytest.raises(EndpointError) as caught:
            run(tmp_path, [forced], items(10))
        assert server.chat_posts == 1
    message = str(caught.value)
    assert "This response_format type is unavailable now" in message and "\n" not in message


def test_extra_body_reaches_every_request_and_changes_the_cache_key(tmp_path: Path) -> None:
    with ProviderServer(RULES["openai"], api_key=KEY) as server:
        run(tmp_path, [spec("openai", server, "gpt-4o-mini", name="plain")], items(3))
        run(
            tmp_path,
            [spec("openai", server, "gpt-4o-mini", name="extra", extra_body={"user": "study-1"})],
            items(3),
        )
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(bodies) == 2 and bodies[1]["user"] == "study-1" and "user" not in bodies[0]
    rows = read_ratings(tmp_path / "r.csv")
    assert (
        rows.groupby("rater")["cache_key"].apply(set).pipe(lambda s: s["plain"] & s["extra"])
        == set()
    )


def test_mode_is_in_the_cache_key_and_json_mode_prompts_say_json(tmp_path: Path) -> None:
    with ProviderServer(RULES["openai"], api_key=KEY) as server:
        for mode in ("json_schema", "json_object", "tools", "md_json"):
            run(
                tmp_path,
                [spec("openai", server, "gpt-4o-mini", name=mode, structured_output=mode)],
                items(2),
            )
        bodies = [r.body for r in server.requests if r.path.endswith("/chat/completions")]
    assert len(bodies) == 4  # no mode is served from another mode's cache
    by_mode = dict(zip(("json_schema", "json_object", "tools", "md_json"), bodies, strict=True))
    assert by_mode["json_schema"]["response_format"]["type"] == "json_schema"
    assert by_mode["json_object"]["response_format"] == {"type": "json_object"}
    assert by_mode["tools"]["tool_choice"]["function"]["name"] == "RatingBatch"
    assert "response_format" not in by_mode["md_json"] and "tools" not in by_mode["md_json"]
    for mode in ("json_object", "md_json"):
        system = by_mode[mode]["messages"][0]["content"]
        assert "JSON" in system and '"ratings"' in system
    rows = read_ratings(tmp_path / "r.csv")
    assert rows.groupby("rater")["structured_output"].first().to_dict() == {m: m for m in by_mode}


def test_cny_prices_are_converted_at_the_users_rate(tmp_path: Path) -> None:
    cheap = RaterSpec(name="a", provider="deepseek", model="deepseek-chat", cny_per_usd=8.0)
    assert cheap.prices() == pytest.approx((2.0 / 8.0, 3.0 / 8.0))
    own = RaterSpec(
        name="b",
        provider="deepseek",
        model="deepseek-chat",
        price_input_per_mtok=1.0,
        price_output_per_mtok=2.0,
    )
    assert own.prices() == (1.0, 2.0)


def test_raters_file_takes_the_provider_keys(tmp_path: Path) -> None:
    from dwa_rater.config import load_raters

    path = tmp_path / "raters.toml"
    path.write_text(
        """
[defaults]
batch_size = 5

[[raters]]
name = "qwen"
provider = "dashscope"
model = "qwen3-8b"
structured_output = "md_json"
extra_body = { top_k = 20 }
cny_per_usd = 7.0

[[raters]]
name = "o3"
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "o3-mini"
reasoning_effort = "low"
""",
        encoding="utf-8",
    )
    qwen, o3 = load_raters(path)
    assert qwen.resolved_structured_output == "md_json"
    assert qwen.request_extra_body() == {"enable_thinking": False, "top_k": 20}
    assert qwen.resolved_api_key_env == "DASHSCOPE_API_KEY"
    assert qwen.prices() == pytest.approx((0.5 / 7.0, 2.0 / 7.0))
    assert o3.is_reasoning and o3.resolved_base_url == "http://127.0.0.1:9/v1"
    assert o3.resolved_structured_output == "json_schema"
