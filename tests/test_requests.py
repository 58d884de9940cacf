"""Request bodies per mode and provider rules; answers read from plain, fenced or prose JSON."""

from __future__ import annotations

import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.llm.response import extract_json, read_envelope, split_valid
from dwa_rater.prompts import load_prompt
from dwa_rater.rating import RaterPlan, Unit, Usage, read_answer, request_body
from dwa_rater.schemas import Item

ITEMS = [Item(item_id=f"x{i}", item_type="dwa", text=f"Draft letter {i}.") for i in range(2)]


def body_for(**values: object) -> dict:
    spec = RaterSpec(**{"name": "r", "base_url": "http://127.0.0.1:1/v1", **values})
    plan = RaterPlan.build(spec, load_prompt("exposure"))
    units = [Unit(item=item, sample=0, key=str(i)) for i, item in enumerate(ITEMS)]
    return request_body(plan, units)


@pytest.mark.parametrize(
    "text",
    [
        '{"ratings": [{"id": "1"}]}',
        'Here you go:\n```json\n{"ratings": [{"id": "1"}]}\n```\nAnything else?',
        '```\n{"ratings": [{"id": "1"}]}\n```',
        'My answer is {"ratings": [{"id": "1"}]} as asked.',
    ],
)
def test_json_is_found_plain_fenced_or_in_prose(text: str) -> None:
    assert extract_json(text) == {"ratings": [{"id": "1"}]}


def test_no_json_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("I cannot rate these.")


def test_envelope_forgives_a_bare_list_a_single_rating_and_another_key() -> None:
    assert len(read_envelope([{"id": "1"}, {"id": "2"}]).ratings) == 2
    assert read_envelope({"id": "1", "label": "E0"}).ratings == [{"id": "1", "label": "E0"}]
    assert len(read_envelope({"results": [{"id": "1"}]}).ratings) == 1


def test_labels_are_read_whatever_their_case() -> None:
    batch = read_envelope([{"id": 1, "rationale": "r", "label": " e2 ", "score": "0.45"}])
    valid, problems = split_valid(load_prompt("exposure").output, batch, ["1"])
    assert valid["1"].model_dump()["label"] == "E2" and not problems


def test_usage_counts_reasoning_tokens_as_output() -> None:
    inside = Usage.of(
        {
            "prompt_tokens": 100,
            "completion_tokens": 300,
            "total_tokens": 400,
            "completion_tokens_details": {"reasoning_tokens": 250},
        }
    )
    assert (inside.completion_tokens, inside.reasoning_tokens) == (300, 250)
    # a server that leaves thinking out of completion_tokens but counts it in the total
    outside = Usage.of({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 400})
    assert (outside.completion_tokens, outside.reasoning_tokens) == (300, 250)


def test_answers_cut_or_filtered_are_told_apart() -> None:
    cut = {"choices": [{"finish_reason": "length", "message": {"content": '{"rat'}}]}
    filtered = {"choices": [{"finish_reason": "content_filter", "message": {"content": None}}]}
    assert read_answer("exposure", ["1"], cut).cut
    assert read_answer("exposure", ["1"], filtered).filtered


def test_reasoning_models_get_max_completion_tokens_and_no_sampling_parameters() -> None:
    body = body_for(model="gpt-5-mini", top_p=0.9, reasoning_effort="low")
    assert "max_tokens" not in body and body["max_completion_tokens"] == 200 * 1 + 50 + 8000
    assert "temperature" not in body and "top_p" not in body
    assert body["reasoning_effort"] == "low"
    plain = body_for(model="gpt-4o-mini", top_p=0.9)
    assert plain["max_tokens"] == 250 and plain["temperature"] == 0.0 and plain["top_p"] == 0.9


def test_presets_drop_refused_parameters_and_add_required_fields() -> None:
    claude = body_for(provider="anthropic", model="claude-sonnet-4-5", top_p=0.9)
    assert "top_p" not in claude and "response_format" not in claude
    qwen = body_for(provider="dashscope", model="qwen3-32b", extra_body={"seed": 7})
    assert qwen["enable_thinking"] is False and qwen["seed"] == 7
    assert qwen["response_format"] == {"type": "json_object"}
    assert "json" in qwen["messages"][0]["content"] and "json" in qwen["messages"][1]["content"]


def test_a_provider_temperature_ceiling_is_checked() -> None:
    with pytest.raises(ValueError, match=r"temperatures up to 1\.0"):
        RaterSpec(name="k", provider="moonshot", model="kimi-k2", temperature=1.5)
