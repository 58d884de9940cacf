"""Provider presets: where a provider lives, how it wants structured output, what it refuses.

A preset is what a researcher would otherwise look up in each provider's documentation: the
OpenAI-compatible base URL, the environment variable its key is read from by default, the
structured-output mode that works there, the request parameters it refuses, extra request
fields some of its models need, and list prices in the provider's own currency.

Prices are list prices per million tokens (input, output) as published by each provider in
2025; they are for orientation only (cached-input discounts, tiers and promotions are not
modelled) and a rater's own ``price_input_per_mtok`` / ``price_output_per_mtok`` override them.
Prices in CNY are converted to US dollars at a rate the user sets (``cny_per_usd``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

StructuredOutput = Literal["json_schema", "json_object", "tools", "md_json"]
StructuredOutputChoice = Literal["auto", "json_schema", "json_object", "tools", "md_json"]
STRUCTURED_OUTPUT_MODES: tuple[str, ...] = ("json_schema", "json_object", "tools", "md_json")
Currency = Literal["USD", "CNY"]
AuthHeader = Literal["bearer", "api-key"]

#: Default CNY per USD used to convert CNY list prices (user-settable per rater / on the CLI).
DEFAULT_CNY_PER_USD = 7.1

#: Model names of OpenAI's reasoning families (o1, o3, o4, gpt-5), also behind a router prefix
#: such as ``openai/o3-mini``: they refuse ``max_tokens`` and any temperature but the default.
REASONING_MODEL = re.compile(r"^(?:[\w.-]+/)?(?:o1|o3|o4|gpt-5)(?:$|[-.:])", re.IGNORECASE)


@dataclass(frozen=True)
class Price:
    """List price per million tokens, in ``currency``."""

    input: float
    output: float
    currency: Currency = "USD"

    def in_usd(self, cny_per_usd: float) -> tuple[float, float]:
        """(input, output) US dollars per million tokens."""
        if self.currency == "USD":
            return (self.input, self.output)
        return (self.input / cny_per_usd, self.output / cny_per_usd)


@dataclass(frozen=True)
class ProviderPreset:
    """One provider's rules, applied to every rater that names it."""

    name: str
    base_url: str | None
    api_key_env: str | None
    structured_output: StructuredOutput
    #: Request parameters the provider answers with HTTP 400; they are never sent.
    refused: frozenset[str] = frozenset()
    #: Highest temperature the provider accepts (``None``: OpenAI's 2.0).
    max_temperature: float | None = None
    auth_header: AuthHeader = "bearer"
    prices: Mapping[str, Price] = field(default_factory=dict)
    needs_base_url: bool = False
    notes: str = ""

    def price_for(self, model: str) -> Price | None:
        """The list price of ``model``: exact name first, else the longest matching prefix."""
        if model in self.prices:
            return self.prices[model]
        matches = [name for name in self.prices if model.startswith(name)]
        return self.prices[max(matches, key=len)] if matches else None

    def extra_body_for(self, model: str) -> dict[str, Any]:
        """Request fields this provider needs for ``model`` (merged under the rater's own)."""
        if self.name == "dashscope" and model.lower().startswith("qwen3"):
            # Open-weight Qwen3 models think by default, and DashScope refuses a non-streaming
            # call that would think: ``enable_thinking`` must be false.
            return {"enable_thinking": False}
        return {}


def is_reasoning_model(model: str) -> bool:
    """True for model names of OpenAI's o1/o3/o4/gpt-5 families (router prefixes allowed)."""
    return bool(REASONING_MODEL.match(model))


_OPENAI_PRICES = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "o1": Price(15.00, 60.00),
    "o3": Price(2.00, 8.00),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
}

PRESETS: dict[str, ProviderPreset] = {
    preset.name: preset
    for preset in (
        ProviderPreset(
            name="embedded",
            base_url=None,
            api_key_env=None,
            structured_output="json_schema",
            prices={"smollm2-135m-instruct": Price(0.0, 0.0)},
            notes="local llama.cpp server with SmolLM2-135M (a smoke test)",
        ),
        ProviderPreset(
            name="openai",
            base_url="https://api.openai.com/v1",
            api_key_env="OPENAI_API_KEY",
            structured_output="json_schema",
            prices=_OPENAI_PRICES,
            notes="o1/o3/o4/gpt-5: max_completion_tokens, no temperature",
        ),
        ProviderPreset(
            name="azure",
            base_url=None,
            api_key_env="AZURE_OPENAI_API_KEY",
            structured_output="json_schema",
            auth_header="api-key",
            prices=_OPENAI_PRICES,
            needs_base_url=True,
            notes="base_url https://RESOURCE.openai.azure.com/openai/v1; model = deployment",
        ),
        ProviderPreset(
            name="deepseek",
            base_url="https://api.deepseek.com/v1",
            api_key_env="DEEPSEEK_API_KEY",
            structured_output="json_object",
            prices={
                "deepseek-chat": Price(2.0, 3.0, "CNY"),
                "deepseek-reasoner": Price(2.0, 3.0, "CNY"),
            },
            notes="json_object only (json_schema is refused); 'json' must be in the prompt",
        ),
        ProviderPreset(
            name="dashscope",
            base_url="https://dashscope.aliyuncs.com/compatible-mode/v1",
            api_key_env="DASHSCOPE_API_KEY",
            structured_output="json_object",
            prices={
                "qwen-max": Price(2.4, 9.6, "CNY"),
                "qwen-plus": Price(0.8, 2.0, "CNY"),
                "qwen-turbo": Price(0.3, 0.6, "CNY"),
                "qwen-flash": Price(0.15, 1.5, "CNY"),
                "qwen3-235b-a22b": Price(2.0, 8.0, "CNY"),
                "qwen3-32b": Price(2.0, 8.0, "CNY"),
                "qwen3-14b": Price(1.0, 4.0, "CNY"),
                "qwen3-8b": Price(0.5, 2.0, "CNY"),
            },
            notes="Qwen3 models get enable_thinking=false",
        ),
        ProviderPreset(
            name="zhipu",
            base_url="https://open.bigmodel.cn/api/paas/v4",
            api_key_env="ZHIPUAI_API_KEY",
            structured_output="json_object",
            max_temperature=1.0,
            prices={
                "glm-4-plus": Price(5.0, 5.0, "CNY"),
                "glm-4-air": Price(0.5, 0.5, "CNY"),
                "glm-4-flash": Price(0.0, 0.0, "CNY"),
                "glm-4.5": Price(0.8, 2.0, "CNY"),
                "glm-4.5-air": Price(0.8, 2.0, "CNY"),
            },
            notes="GLM; temperature at most 1",
        ),
        ProviderPreset(
            name="moonshot",
            base_url="https://api.moonshot.cn/v1",
            api_key_env="MOONSHOT_API_KEY",
            structured_output="json_object",
            max_temperature=1.0,
            prices={
                "kimi-k2": Price(4.0, 16.0, "CNY"),
                "moonshot-v1-8k": Price(2.0, 10.0, "CNY"),
                "moonshot-v1-32k": Price(5.0, 20.0, "CNY"),
            },
            notes="Kimi; temperature at most 1",
        ),
        ProviderPreset(
            name="anthropic",
            base_url="https://api.anthropic.com/v1",
            api_key_env="ANTHROPIC_API_KEY",
            structured_output="md_json",
            # Recent Claude models refuse temperature and top_p together.
            refused=frozenset({"top_p"}),
            max_temperature=1.0,
            prices={
                "claude-opus-4": Price(15.0, 75.0),
                "claude-sonnet-4": Price(3.0, 15.0),
                "claude-haiku-4-5": Price(1.0, 5.0),
                "claude-3-5-haiku": Price(0.8, 4.0),
            },
            notes="OpenAI compatibility ignores response_format: JSON is asked for in the prompt",
        ),
        ProviderPreset(
            name="gemini",
            base_url="https://generativelanguage.googleapis.com/v1beta/openai",
            api_key_env="GEMINI_API_KEY",
            structured_output="json_object",
            prices={
                "gemini-2.5-pro": Price(1.25, 10.0),
                "gemini-2.5-flash": Price(0.30, 2.50),
                "gemini-2.5-flash-lite": Price(0.10, 0.40),
            },
            notes="OpenAI compatibility; the schema goes into the prompt",
        ),
        ProviderPreset(
            name="openrouter",
            base_url="https://openrouter.ai/api/v1",
            api_key_env="OPENROUTER_API_KEY",
            structured_output="json_object",
            notes="routes to many models; set prices per rater",
        ),
        ProviderPreset(
            name="ollama",
            base_url="http://127.0.0.1:11434/v1",
            api_key_env=None,
            structured_output="json_schema",
            notes="local; free",
        ),
        ProviderPreset(
            name="vllm",
            base_url=None,
            api_key_env=None,
            structured_output="json_schema",
            needs_base_url=True,
            notes="your server's /v1 URL; guided decoding",
        ),
    )
}


def preset(name: str | None) -> ProviderPreset | None:
    """The preset called ``name`` (``None`` for no provider)."""
    return None if name is None else PRESETS.get(name)
