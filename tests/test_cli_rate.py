"""``dwa-rater rate`` and ``ratings show`` from the command line: results and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dwa_rater.store import read_ratings
from dwa_rater.testing.fake_openai import FakeOpenAIServer


def cli(
    *args: str, env_home: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    env = {**os.environ, "DWA_RATER_HOME": str(env_home), **(extra_env or {})}
    env.pop("DWA_RATER_ONET_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "dwa_rater", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_rate_dwas_by_id_then_show(tmp_path: Path, onet_dir: Path) -> None:
    ids = "4.A.1.a.1.I01.D01,4.A.4.a.1.I03.D01"
    with FakeOpenAIServer() as server:
        done = cli(
            "rate",
            "--onet-dir",
            str(onet_dir),
            "--ids",
            ids,
            "--base-url",
            server.base_url,
            "--model",
            "fake-model",
            "--samples",
            "2",
            "--out",
            str(tmp_path / "r.parquet"),
            "--no-progress",
            env_home=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    frame = read_ratings(tmp_path / "r.parquet")
    assert sorted(set(frame["item_id"])) == sorted(ids.split(","))
    assert len(frame) == 4 and (frame["item_type"] == "dwa").all()
    shown = cli("ratings", "show", str(tmp_path / "r.parquet"), env_home=tmp_path)
    assert shown.returncode == 0 and "fake-model" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["rate", "--onet-dir", "/nonexistent/onet"], "does not exist"),
        (["rate", "--items", "{tmp}/missing.csv"], "missing.csv"),
        (["rate", "--ids", "no.such.id", "--onet-dir", "{onet}"], "no.such.id"),
        (["rate", "--limit", "1", "--rubric", "nope", "--onet-dir", "{onet}"], "unknown rubric"),
        (["rate", "--raters", "{tmp}/bad.toml", "--onet-dir", "{onet}"], "invalid TOML"),
        (
            [
                "rate",
                "--limit",
                "1",
                "--onet-dir",
                "{onet}",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
            ],
            "cannot reach",
        ),
        (
            [
                "rate",
                "--limit",
                "1",
                "--onet-dir",
                "{onet}",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "--api-key-env",
                "DWA_TEST_UNSET_KEY",
            ],
            "DWA_TEST_UNSET_KEY",
        ),
        (["ratings", "show", "{tmp}/missing.csv"], "not found"),
    ],
)
def test_bad_input_gives_one_line_error(
    tmp_path: Path, onet_dir: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.toml").write_text("[[raters]\n", encoding="utf-8")
    filled = [a.format(tmp=tmp_path, onet=onet_dir) for a in args]
    result = (
        cli(*filled, "--out", str(tmp_path / "r.csv"), env_home=tmp_path)
        if args[0] == "rate"
        else cli(*filled, env_home=tmp_path)
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_failed_ratings_give_exit_code_1(tmp_path: Path) -> None:
    items = tmp_path / "items.csv"
    items.write_text("id,text\na,Write reports.\nb,POISON statement\n", encoding="utf-8")
    with FakeOpenAIServer(item_faults={"POISON": "invalid"}) as server:
        result = cli(
            "rate", "--items", str(items), "--base-url", server.base_url, "--model", "m",
            "--out", str(tmp_path / "r.csv"), "--no-progress", env_home=tmp_path,
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "1 rating(s) failed" in result.stdout.replace("\n", " ")
    help_result = cli("rate", "--help", env_home=tmp_path)
    assert help_result.returncode == 0 and "--batch-size" in help_result.stdout
