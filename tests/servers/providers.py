"""Provider-like loopback servers: the fake OpenAI server plus each provider's documented rules.

Each :class:`ProviderRules` encodes what a provider's OpenAI-compatible endpoint refuses or
needs, with its own error body (shapes from the providers' error documentation):

- DeepSeek: ``response_format`` only ``json_object``/``text`` ("This response_format type is
  unavailable now"); ``json_object`` needs the word "json" in the messages; content filter
  ``400 Content Exists Risk``;
- OpenAI reasoning models (o-series, gpt-5): ``max_tokens`` refused (``max_completion_tokens``
  instead), ``temperature``/``top_p`` other than 1 refused; usage reports reasoning tokens;
- DashScope (Qwen3): non-streaming calls need ``enable_thinking: false``; ``json_object``
  only; content filter ``data_inspection_failed``;
- Anthropic's compatibility layer: ignores ``response_format`` and answers in prose with a
  fenced JSON block; ``temperature`` and ``top_p`` together refused; Anthropic error shape;
- Azure: key in the ``api-key`` header; content filter ``code: content_filter``;
- Zhipu (code ``1301``), Moonshot (``content_filter``, "high risk"), Gemini (list-wrapped
  errors, ``json_object``), OpenRouter, Ollama, vLLM (``json_schema``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dwa_rater.testing.fake_openai import FakeOpenAIServer, message_text
from dwa_rater.testing.loopback import LoopbackHandler

#: Item text that trips every provider's content filter in these servers.
FORBIDDEN = "FORBIDDEN"


def openai_error(message: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {
        "error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    }


@dataclass(frozen=True)
class ProviderRules:
    """What one provider refuses, needs and how it answers."""

    name: str
    response_formats: frozenset[str] | None = None  # allowed types; None: all
    json_word_needed: bool = False
    refused: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # param -> error body
    only_default_temperature: bool = False
    needs: Mapping[str, Any] = field(default_factory=dict)  # body fields that must be present
    needs_error: dict[str, Any] | None = None
    ignores_response_format: bool = False
    prose_answers: bool = False
    no_temperature_with_top_p: bool = False
    content_filter: dict[str, Any] | None = None
    content_filter_list: bool = False  # Gemini wraps errors in a list
    reasoning_tokens: int = 0
    api_key_header: str = "authorization"


RULES: dict[str, ProviderRules] = {
    "deepseek": ProviderRules(
        name="deepseek",
        response_formats=frozenset({"json_object", "text"}),
        json_word_needed=True,
        content_filter=openai_error("Content Exists Risk", "invalid_request_error"),
    ),
    "openai-reasoning": ProviderRules(
        name="openai-reasoning",
        refused={
            "max_tokens": openai_error(
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead.",
                "unsupported_parameter",
                "max_tokens",
            ),
            "top_p": openai_error(
                "Unsupported parameter: 'top_p' is not supported with this model.",
                "unsupported_parameter",
                "top_p",
            ),
        },
        only_default_temperature=True,
        reasoning_tokens=192,
    ),
    "openai": ProviderRules(name="openai"),
    "dashscope": ProviderRules(
        name="dashscope",
        response_formats=frozenset({"json_object", "text"}),
        json_word_needed=True,
        needs={"enable_thinking": False},
        needs_error={
            "error": {
                "code": "invalid_parameter_error",
                "message": "parameter.enable_thinking must be set to false for non-streaming calls",
                "type": "invalid_request_error",
                "param": None,
            }
        },
        content_filter={
            "error": {
                "code": "data_inspection_failed",
                "message": "Input data may contain inappropriate content.",
                "type": "data_inspection_failed",
                "param": None,
            }
        },
    ),
    "anthropic": ProviderRules(
        name="anthropic",
        ignores_response_format=True,
        prose_answers=True,
        no_temperature_with_top_p=True,
    ),
    "azure": ProviderRules(
        name="azure",
        api_key_header="api-key",
        content_filter={
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure "
                "OpenAI's content management policy. Please modify your prompt and retry.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            }
        },
    ),
    "zhipu": ProviderRules(
        name="zhipu",
        response_formats=frozenset({"json_object", "text"}),
        content_filter={
            "error": {
                "code": "1301",
                "message": "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生"
                "敏感内容的提示语，感谢您的配合。",
            }
        },
    ),
    "moonshot": ProviderRules(
        name="moonshot",
        response_formats=frozenset({"json_object", "text"}),
        content_filter={
            "error": {
                "message": "The request was rejected because it was considered high risk",
                "type": "content_filter",
            }
        },
    ),
    "gemini": ProviderRules(
        name="gemini",
        response_formats=frozenset({"json_object", "text"}),
        content_filter={
            "error": {
                "code": 400,
                "message": "The prompt was blocked: content_filter (SAFETY)",
                "status": "INVALID_ARGUMENT",
            }
        },
        content_filter_list=True,
    ),
    "openrouter": ProviderRules(name="openrouter"),
    "ollama": ProviderRules(name="ollama"),
    "vllm": ProviderRules(name="vllm"),
}


class ProviderServer(FakeOpenAIServer):
    """The fake OpenAI server behind one provider's rules; counts what it refused."""

    def __init__(self, rules: ProviderRules, *, api_key: str | None = None, **kwargs: Any):
        self.rules = rules
        self.provider_key = api_key
        self.refused: list[str] = []
        self.filtered = 0
        super().__init__(**kwargs)

    @property
    def chat_posts(self) -> int:
        """Every POST to the chat route, answered, refused or filtered."""
        return sum(1 for r in self.requests if r.path.endswith("/chat/completions"))

    def _route(self, handler: LoopbackHandler, exchange: Any, body: Any) -> None:
        if self.provider_key is not None:
            if self.rules.api_key_header == "api-key":
                given = handler.headers.get("api-key")
            else:
                given = (handler.headers.get("Authorization") or "").removeprefix("Bearer ")
            if given != self.provider_key:
                error = openai_error("Incorrect API key provided.", "invalid_api_key")
                self._send(handler, exchange, 401, error)
                return
        super()._route(handler, exchange, body)

    def _refuse(self, handler: LoopbackHandler, exchange: Any, why: str, body: Any) -> None:
        self.refused.append(why)
        self._send(handler, exchange, 400, body)

    def _answer_chat(self, handler: LoopbackHandler, exchange: Any, body: dict[str, Any]) -> None:
        rules = self.rules
        for name, error in rules.refused.items():
            if name in body:
                self._refuse(handler, exchange, name, error)
                return
        temperature = body.get("temperature")
        if rules.only_default_temperature and temperature not in (None, 1, 1.0):
            message = (
                f"Unsupported value: 'temperature' does not support {temperature} with this "
                "model. Only the default (1) value is supported."
            )
            error = openai_error(message, "unsupported_value", "temperature")
            self._refuse(handler, exchange, "temperature", error)
            return
        if rules.no_temperature_with_top_p and "temperature" in body and "top_p" in body:
            error = {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "`temperature` and `top_p` cannot both be specified for this "
                    "model. Please use only one.",
                },
            }
            self._refuse(handler, exchange, "temperature+top_p", error)
            return
        model = str(body.get("model") or "")
        if rules.needs and (rules.name != "dashscope" or model.startswith("qwen3")):
            for name, value in rules.needs.items():
                if body.get(name) != value:
                    self._refuse(handler, exchange, name, rules.needs_error)
                    return
        response_format = body.get("response_format")
        if isinstance(response_format, Mapping) and not rules.ignores_response_format:
            kind = str(response_format.get("type"))
            if rules.response_formats is not None and kind not in rules.response_formats:
                error = openai_error(
                    "This response_format type is unavailable now", "invalid_request_error"
                )
                self._refuse(handler, exchange, f"response_format={kind}", error)
                return
            text = " ".join(message_text(m) for m in body.get("messages", []))
            if kind == "json_object" and rules.json_word_needed and "json" not in text.lower():
                error = openai_error(
                    "Prompt must contain the word 'json' in some form to use 'response_format' "
                    "of type 'json_object'.",
                    "invalid_request_error",
                    "messages",
                )
                self._refuse(handler, exchange, "json word", error)
                return
        users = [m for m in body.get("messages", []) if m.get("role") == "user"]
        if rules.content_filter is not None and any(FORBIDDEN in message_text(m) for m in users):
            self.filtered += 1
            payload: Any = rules.content_filter
            if rules.content_filter_list:
                payload = [payload]
            self._send(handler, exchange, 400, payload)  # type: ignore[arg-type]
            return
        super()._answer_chat(handler, exchange, body)

    def rating_content(
        self, items: Any, body: Mapping[str, Any], fault: str, item_faults: Mapping[str, str]
    ) -> tuple[str, str]:
        content, finish = super().rating_content(items, body, fault, item_faults)
        if self.rules.prose_answers and finish == "stop":
            content = (
                "I rated each work activity against the rubric.\n\n```json\n"
                + json.dumps(json.loads(content), indent=2, ensure_ascii=False)
                + "\n```\n\nLet me know if you want more detail."
            )
        return content, finish

    def _send(
        self,
        handler: LoopbackHandler,
        exchange: Any,
        status: int,
        payload: Any,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        if status == 200 and self.rules.reasoning_tokens and isinstance(payload, dict):
            usage = payload.get("usage")
            if isinstance(usage, dict):
                extra = self.rules.reasoning_tokens
                payload = {
                    **payload,
                    "usage": {
                        **usage,
                        "completion_tokens": usage["completion_tokens"] + extra,
                        "total_tokens": usage["total_tokens"] + extra,
                        "completion_tokens_details": {"reasoning_tokens": extra},
                    },
                }
        super()._send(handler, exchange, status, payload, extra_headers)
