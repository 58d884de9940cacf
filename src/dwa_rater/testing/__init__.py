"""Test doubles that run for real: a fault-injecting OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dwa_rater.testing.fake_openai import (
        FAULT_KINDS,
        FakeOpenAIServer,
        RecordedRequest,
        fake_rating,
        parse_item_lines,
    )

__all__ = [
    "FAULT_KINDS",
    "FakeOpenAIServer",
    "RecordedRequest",
    "fake_rating",
    "parse_item_lines",
]


def __getattr__(name: str) -> Any:
    # Imported lazily so that `python -m dwa_rater.testing.fake_openai` does not find the module
    # already imported by its package (runpy warns about that).
    if name in __all__:
        from dwa_rater.testing import fake_openai

        return getattr(fake_openai, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
