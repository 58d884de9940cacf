"""Request bodies per structured-output mode, and reading answers back from any of them.

- ``json_schema``: the OpenAI-standard ``response_format`` with the batch's exact schema
  (ids as an enum, exactly K ratings);
- ``json_object``: ``response_format: {"type": "json_object"}``, the schema in the system
  message (which therefore says "json");
- ``tools``: one forced function whose parameters are the batch's schema;
- ``md_json``: no format field at all; the schema in the system message and the answer read
  from plain or fenced JSON.

In every mode the item ids are in the user message (``[1] ...``), so a model that ignores the
format still sees what to answer for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import ValidationError

from dwa_rater.llm.response import RatingBatch, batch_model, extract_json, read_envelope
from dwa_rater.prompts import PromptOutput, render_user_message
from dwa_rater.providers import StructuredOutput
from dwa_rater.rating.plan import USER_FORMAT_REMINDER, RaterPlan, Unit

#: Name of the function (tools mode) and of the schema (json_schema mode).
SCHEMA_NAME = "RatingBatch"


@cache
def _format_fields(
    mode: StructuredOutput, output: PromptOutput, ids: tuple[str, ...]
) -> dict[str, Any]:
    """The mode's format fields (cached, shared between bodies: never mutate them)."""
    if mode == "json_schema":
        schema = batch_model(output, ids).sent_schema
        fields: dict[str, Any] = {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": schema},
            }
        }
    elif mode == "json_object":
        fields = {"response_format": {"type": "json_object"}}
    elif mode == "tools":
        schema = batch_model(output, ids).sent_schema
        fields = {
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": SCHEMA_NAME,
                        "description": "Record one rating per listed id.",
                        "parameters": schema,
                    },
                }
            ],
            "tool_choice": {"type": "function", "function": {"name": SCHEMA_NAME}},
        }
    else:
        fields = {}
    return fields


def request_body(
    plan: RaterPlan, batch: Sequence[Unit], feedback: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The full chat-completion request body of one request (live path and Batch API alike).

    The rubric is the first message, identical in every request (provider prefix caching);
    the items come last, with short local ids ``1..k``. A re-ask (``feedback``: the previous
    answer and its problem) adds that answer and a note saying what to fix.
    """
    template = plan.request
    ids = tuple(str(i + 1) for i in range(len(batch)))
    user_message = render_user_message(
        plan.prompt, list(zip(ids, [u.item for u in batch], strict=True))
    )
    if template.mode in ("json_object", "md_json"):
        user_message += USER_FORMAT_REMINDER
    body: dict[str, Any] = dict(template.fields)
    body["messages"] = [
        {"role": "system", "content": template.system},
        {"role": "user", "content": user_message},
    ]
    if feedback is not None:
        previous, problem = feedback
        body["messages"] += [
            {"role": "assistant", "content": previous[:4000] or "(no answer)"},
            {
                "role": "user",
                "content": f"That answer could not be used ({problem[:300]}). Answer again for "
                "every id listed, exactly in the format asked for.",
            },
        ]
    seed = plan.request_seed(batch[0].sample)
    if seed is not None:
        body["seed"] = seed
    body.update(_format_fields(template.mode, plan.prompt.output, ids))
    if template.extra_body:
        body.update(template.extra_body)
    return body


@dataclass(frozen=True)
class Usage:
    """Tokens of one answer. ``completion_tokens`` is what is billed as output.

    Reasoning tokens are part of the output bill: OpenAI and DeepSeek count them inside
    ``completion_tokens`` (and report them in ``completion_tokens_details``); where a server
    reports them only in ``total_tokens``, the difference is added to the output.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    @classmethod
    def of(cls, usage: Mapping[str, Any] | None) -> Usage:
        if not isinstance(usage, Mapping):
            return cls()
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
        details = usage.get("completion_tokens_details")
        reasoning = 0
        if isinstance(details, Mapping):
            reasoning = int(details.get("reasoning_tokens") or 0)
        total = int(usage.get("total_tokens") or 0)
        if total > prompt + completion:
            reasoning = max(reasoning, total - prompt - completion)
            completion = total - prompt
        return cls(prompt, completion, reasoning)


@dataclass(frozen=True)
class Answer:
    """A chat completion read as a rating answer.

    ``cut``: the output hit the token limit; ``filtered``: the provider withheld the output
    (``finish_reason`` ``content_filter``); ``problem``: why the envelope is unusable
    (``parsed`` is then ``None``).
    """

    parsed: RatingBatch | None
    usage: Usage
    cut: bool = False
    filtered: bool = False
    problem: str | None = None
    text: str = ""

    @property
    def prompt_tokens(self) -> int:
        return self.usage.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.usage.completion_tokens


def answer_text(message: Mapping[str, Any]) -> str:
    """The text holding the answer: the first tool call's arguments, else the content."""
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        function = calls[0].get("function") if isinstance(calls[0], Mapping) else None
        if isinstance(function, Mapping) and function.get("arguments"):
            return str(function["arguments"])
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return str(content or "")


def read_answer(output: PromptOutput, ids: Sequence[str], completion: Mapping[str, Any]) -> Answer:
    """Parse the envelope of an answer, whatever the mode (items are checked one by one later)."""
    usage = Usage.of(completion.get("usage"))
    choices = completion.get("choices") or []
    if not choices or not isinstance(choices[0], Mapping):
        return Answer(None, usage, problem="no choices in the answer")
    choice = choices[0]
    finish = choice.get("finish_reason")
    if finish == "length":
        return Answer(None, usage, cut=True, problem="output cut at max_tokens")
    message = choice.get("message") or {}
    text = answer_text(message) if isinstance(message, Mapping) else ""
    if finish == "content_filter" and not text.strip():
        return Answer(None, usage, filtered=True, problem="the provider filtered the output")
    try:
        parsed = read_envelope(extract_json(text))
    except ValueError as exc:
        if isinstance(exc, ValidationError):
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"])) or "answer"
            return Answer(None, usage, problem=f"{where}: {first['msg']}"[:200], text=text)
        return Answer(None, usage, problem=f"{exc}: {' '.join(text.split())[:120]}", text=text)
    return Answer(parsed, usage, text=text)
