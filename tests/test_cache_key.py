"""The response-cache key: every field that shapes an answer changes it; nothing else does."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dwa_rater.cache import CacheKeyParts, cache_key
from dwa_rater.config import RaterSpec
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.testing.fake_openai import FakeOpenAIServer

PARTS = CacheKeyParts(
    endpoint="http://127.0.0.1:1/v1",
    model="model-a",
    temperature=0.0,
    top_p=None,
    max_tokens=200,
    seed=None,
    batch_size=1,
    prompt_sha256="a" * 64,
    schema_sha256="b" * 64,
)
ITEM = Item(item_id="x", item_type="custom", text="Prepare reports.", context="IWA: reporting")


def _changed(value: Any) -> Any:
    """Another value of the same kind (None becomes a number: an unset parameter gets set)."""
    if value is None:
        return 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, tuple | list):
        return (*value, "x")
    if isinstance(value, dict):
        return {**value, "x": 1}
    raise AssertionError(f"add a rule for {type(value).__name__}")


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(CacheKeyParts)])
def test_each_key_part_changes_the_key(field: str) -> None:
    # Iterates over the dataclass, so a part added later is covered without editing this test.
    base = cache_key(PARTS, ITEM, 0)
    other = dataclasses.replace(PARTS, **{field: _changed(getattr(PARTS, field))})
    assert cache_key(other, ITEM, 0) != base


@pytest.mark.parametrize(
    "item",
    [
        Item(item_id="x", item_type="custom", text="Prepare reports!", context="IWA: reporting"),
        Item(item_id="x", item_type="custom", text="Prepare reports.", context="IWA: other"),
    ],
    ids=["text", "context"],
)
def test_item_text_and_context_change_the_key(item: Item) -> None:
    assert cache_key(PARTS, item, 0) != cache_key(PARTS, ITEM, 0)


def test_sample_index_changes_the_key_and_the_item_id_does_not() -> None:
    assert cache_key(PARTS, ITEM, 1) != cache_key(PARTS, ITEM, 0)
    renamed = ITEM.model_copy(update={"item_id": "y", "item_type": "dwa"})
    # The same statement under another id is the same question to the model.
    assert cache_key(PARTS, renamed, 0) == cache_key(PARTS, ITEM, 0)


def test_new_model_or_context_sends_fresh_requests(tmp_path: Path) -> None:
    items = [Item(item_id=f"i{n}", item_type="custom", text=f"Task {n}.") for n in range(4)]
    cache = tmp_path / "cache"
    with FakeOpenAIServer() as server:

        def run(out: str, model: str, these: list[Item]) -> int:
            server.reset_counters()
            spec = RaterSpec(name="r", base_url=server.base_url, model=model, batch_size=1)
            execute_run(these, [spec], out=tmp_path / out, cache_dir=cache, environ={})
            return server.chat_request_count

        assert run("a.csv", "model-a", items) == 4
        assert run("b.csv", "model-a", items) == 0  # all from the cache
        assert run("c.csv", "model-b", items) == 4  # another model: no cached answer fits
        with_context = [i.model_copy(update={"context": "GWA: documenting"}) for i in items]
        assert run("d.csv", "model-a", with_context) == 4
