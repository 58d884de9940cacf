"""``dwa-rater rate --provider ...`` against provider-like servers, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dwa_rater.store import read_ratings
from servers.providers import RULES, ProviderRules, ProviderServer, openai_error

KEY = "sk-cli-provider-key-77"


def rate(server: ProviderServer, provider: str, model: str, out: Path, onet: Path, home: Path):
    env = {**os.environ, "DWA_RATER_HOME": str(home), "MY_PROVIDER_KEY": KEY}
    command = [
        sys.executable, "-m", "dwa_rater", "rate", "--onet-dir", str(onet),
        "--provider", provider, "--base-url", f"{server.base_url}", "--model", model,
        "--api-key-env", "MY_PROVIDER_KEY", "--batch-size", "5", "--limit", "10",
        "--out", str(out), "--no-progress",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(
    ("provider", "rules", "model"),
    [
        ("deepseek", "deepseek", "deepseek-chat"),
        ("openai", "openai-reasoning", "o4-mini"),
        ("dashscope", "dashscope", "qwen3-8b"),
        ("anthropic", "anthropic", "claude-sonnet-4-5"),
    ],
)
def test_held_out_style_command_rates_ten_dwas(
    tmp_path: Path, onet_dir: Path, provider: str, rules: str, model: str
) -> None:
    with ProviderServer(RULES[rules], api_key=KEY) as server:
        done = rate(server, provider, model, tmp_path / "r.csv", onet_dir, tmp_path / "home")
        assert server.refused == [] and server.chat_posts <= 6
    assert done.returncode == 0, done.stderr
    rows = read_ratings(tmp_path / "r.csv")
    assert len(rows) == 10 and (rows["status"] == "ok").all()
    # the audit log holds each raw completion, and `ratings raw` shows it
    item = rows["item_id"].iloc[0]
    shown = subprocess.run(
        [sys.executable, "-m", "dwa_rater", "ratings", "raw", item, "--ratings",
         str(tmp_path / "r.csv"), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert records and all(item in r["item_ids"] for r in records)
    assert records[-1]["status"] == 200 and records[-1]["response_text"]
    assert KEY not in (tmp_path / "r.raw.jsonl").read_text(encoding="utf-8")


def test_a_model_that_refuses_everything_stops_in_one_line(tmp_path: Path, onet_dir: Path) -> None:
    message = "The model `deepseek-chat` does not support this request: invalid parameters."
    refusing = ProviderRules(
        name="refusing", refused={"model": openai_error(message, "invalid_request_error")}
    )
    with ProviderServer(refusing, api_key=KEY) as server:
        done = rate(server, "deepseek", "deepseek-chat", tmp_path / "r.csv", onet_dir, tmp_path)
        assert 1 <= server.chat_posts <= 5
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in done.stderr


def test_providers_command_lists_every_preset(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "dwa_rater", "providers", "--prices"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert shown.returncode == 0
    for name in ("openai", "azure", "deepseek", "dashscope", "zhipu", "moonshot", "anthropic",
                 "gemini", "openrouter", "ollama", "vllm", "embedded"):  # fmt: skip
        assert name in shown.stdout
    assert "CNY" in shown.stdout


def test_bad_extra_body_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("id,text\na,Write reports.\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dwa_rater", "rate", "--items", str(tmp_path / "x.csv"),
         "--provider", "openai", "--model", "gpt-4o", "--extra-body", "{nope"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: --extra-body: not JSON")
