"""The study stops with one line, non-zero, when its rating step produced no usable rating."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dwa_rater.testing.fake_openai import FakeOpenAIServer


def test_study_refuses_to_build_on_no_ratings(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "study"
    # Every item comes back with an invalid label, so every rating fails after its re-asks.
    with FakeOpenAIServer(item_faults={"": "invalid"}) as server:
        config = tmp_path / "study.toml"
        config.write_text(
            "[study]\nsample = 4\nseed = 1\n"
            f'[[raters]]\nname = "broken"\nbase_url = "{server.base_url}"\nmodel = "fake"\n'
            "max_reasks = 0\n",
            encoding="utf-8",
        )
        env = {**os.environ, "DWA_RATER_DATA_DIR": str(data_dir)}
        result = subprocess.run(
            [sys.executable, "-m", "dwa_rater", "study", "--config", str(config), "--out",
             str(out), "--annotations-dir", str(tmp_path / "annotations"), "--no-progress"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "no usable rating" in errors[0], result.stderr[-2000:]
    assert not (out / "report.html").exists()
    assert not (out / "dwa_scores.csv").exists()
