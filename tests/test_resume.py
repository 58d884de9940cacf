"""A run killed with SIGKILL and started again: nothing lost, duplicated or re-requested."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer


def rate_command(base_url: str, items: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dwa_rater",
        "rate",
        "--items",
        str(items),
        "--base-url",
        base_url,
        "--model",
        "fake-model",
        "--batch-size",
        "2",
        "--concurrency",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]


def data_rows(path: Path) -> int:
    if not path.exists():
        return 0
    return max(0, path.read_text(encoding="utf-8").count("\n") - 1)


def test_sigkill_then_rerun_completes_without_duplicates(tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    pd.DataFrame(
        {
            "id": [f"s{i:02d}" for i in range(30)],
            "text": [f"职责 {i}: prepare report {i}" for i in range(30)],
        }
    ).to_csv(items, index=False)
    out = tmp_path / "out" / "ratings.csv"
    env = {**os.environ, "DWA_RATER_HOME": str(tmp_path / "home")}
    with FakeOpenAIServer(latency_s=0.25) as server:
        process = subprocess.Popen(rate_command(server.base_url, items, out), env=env)
        deadline = time.monotonic() + 60
        while data_rows(out) < 6 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        first = read_ratings(out)
        finished = set(first.loc[first["status"] == "ok", "item_id"])
        assert 6 <= len(finished) < 30, "the kill should land mid-run"

        server.reset_counters()
        rerun = subprocess.run(rate_command(server.base_url, items, out), env=env, check=False)
        assert rerun.returncode == 0
        requested_again = {text for batch in server.item_texts_requested for text in batch}

    final = read_ratings(out)
    ok = final[final["status"] == "ok"]
    assert sorted(ok["item_id"]) == [f"s{i:02d}" for i in range(30)]
    assert not ok.duplicated(["rater", "item_id", "sample"]).any()
    texts_done_before = set(first.loc[first["status"] == "ok", "item_text"])
    assert not (requested_again & texts_done_before)
