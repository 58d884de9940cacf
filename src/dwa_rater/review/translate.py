"""Machine translations of DWA statements for the review screen, made by an LLM and cached.

The screen always shows the O*NET English; a translation only stands beside it, marked as a
machine translation with the model that made it. Translations come from any OpenAI-compatible
endpoint (plain chat completion, temperature 0), one statement per request, and are cached in
``$DWA_RATER_HOME/translations`` (diskcache) keyed on the endpoint URL, model, target language,
prompt SHA-256 and the statement, so a re-run sends no request for a statement already done. The
API key comes from the environment variable the caller names and is never cached or written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import diskcache
import pandas as pd

from dwa_rater.errors import ConfigError, EndpointError

#: Target languages and how the prompt names them.
TARGET_LANGUAGES: dict[str, str] = {"zh": "Simplified Chinese"}

PROMPT = (
    "Translate this O*NET work activity from English into {language}. It describes what a "
    "worker does. Keep it short and literal, keep the imperative form, and answer with the "
    "translation only, without quotes or notes.\n\n{text}"
)
PROMPT_SHA256 = hashlib.sha256(PROMPT.encode("utf-8")).hexdigest()

#: Columns of a translations table (``read_translations`` needs item_id and translation).
TRANSLATION_COLUMNS: tuple[str, ...] = (
    "item_id",
    "text",
    "translation",
    "source",
    "target",
    "model",
    "endpoint",
    "prompt_sha256",
    "created_at",
)

Translator = Callable[[str], str]


@dataclass(frozen=True)
class TranslatorSpec:
    """Where translations come from: endpoint, model and the env var of the API key."""

    base_url: str
    model: str
    api_key_env: str | None = None
    target: str = "zh"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.target not in TARGET_LANGUAGES:
            raise ConfigError(
                f"unknown translation target {self.target!r} (use {', '.join(TARGET_LANGUAGES)})"
            )


def cache_key(spec: TranslatorSpec, text: str) -> str:
    """SHA-256 of everything a translation depends on (no secret)."""
    parts = {
        "endpoint": spec.base_url.rstrip("/"),
        "model": spec.model,
        "target": spec.target,
        "prompt_sha256": PROMPT_SHA256,
        "text": text,
    }
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def openai_translator(spec: TranslatorSpec, environ: Mapping[str, str]) -> Translator:
    """A function text -> translation through an OpenAI-compatible chat endpoint."""
    import openai

    key = "not-needed"
    if spec.api_key_env:
        key = environ.get(spec.api_key_env, "")
        if not key:
            raise EndpointError(f"environment variable {spec.api_key_env} (the API key) is not set")
    client = openai.OpenAI(
        base_url=spec.base_url, api_key=key, timeout=spec.timeout_s, max_retries=3
    )
    language = TARGET_LANGUAGES[spec.target]

    def translate(text: str) -> str:
        try:
            answer = client.chat.completions.create(
                model=spec.model,
                temperature=0,
                max_tokens=200,
                messages=[{"role": "user", "content": PROMPT.format(language=language, text=text)}],
            )
        except openai.OpenAIError as exc:
            message = " ".join(str(exc).split())[:200]
            raise EndpointError(
                f"translation request to {spec.base_url} failed: {type(exc).__name__} {message}"
            ) from None
        content = (answer.choices[0].message.content or "").strip()
        if not content:
            raise EndpointError(f"{spec.model} at {spec.base_url} returned an empty translation")
        return content.strip().strip('"“”').strip()

    return translate


def translate_statements(
    statements: Mapping[str, str],
    spec: TranslatorSpec,
    cache_dir: Path,
    translator: Translator,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> tuple[pd.DataFrame, int]:
    """Translate ``statements`` (item id -> English text): (table, requests sent).

    The table has ``TRANSLATION_COLUMNS``, one row per item in the order given; ``source`` is
    ``machine translation (<model>)``. Cached translations are reused without a request.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    sent = 0
    with diskcache.Cache(str(cache_dir)) as cache:
        for item_id, text in statements.items():
            key = cache_key(spec, text)
            cached = cache.get(key)
            if isinstance(cached, dict):
                record = cached
            else:
                record = {
                    "translation": translator(text),
                    "created_at": now().isoformat(timespec="seconds").replace("+00:00", "Z"),
                }
                sent += 1
                cache.set(key, record)
            rows.append(
                {
                    "item_id": item_id,
                    "text": text,
                    "translation": record["translation"],
                    "source": f"machine translation ({spec.model})",
                    "target": spec.target,
                    "model": spec.model,
                    "endpoint": spec.base_url,
                    "prompt_sha256": PROMPT_SHA256,
                    "created_at": record["created_at"],
                }
            )
    return pd.DataFrame.from_records(rows, columns=list(TRANSLATION_COLUMNS)), sent


def write_translations(table: pd.DataFrame, out: Path) -> Path:
    """Write a translations table as CSV (atomically)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp")
    table.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, out)
    return out


def statements_of(selection: pd.DataFrame, dwas: pd.DataFrame, ids: Sequence[str] = ()) -> dict:
    """Item id -> O*NET DWA title for the chosen items (or ``ids``), in order."""
    titles = dict(zip(dwas["dwa_id"].astype(str), dwas["dwa_title"].astype(str), strict=True))
    wanted = list(ids) or selection["item_id"].astype(str).tolist()
    return {i: titles[i] for i in dict.fromkeys(wanted) if i in titles}
