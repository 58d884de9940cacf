"""``dwa-rater calibrate`` and ``dwa-rater export`` through typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.calibration import SCORE_COLUMNS
from dwa_rater.cli.calibrate import register
from dwa_rater.errors import DataError

SHARED_DATA = DATA_DIR
LABELS = ("E0", "E1", "E2")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


@pytest.fixture(scope="module")
def onet_dir() -> Path:
    folder = SHARED_DATA / "onet"
    if not (folder / "Tasks to DWAs.txt").is_file():
        pytest.skip(f"O*NET reference data not found at {folder}")
    return folder


def _write_ratings(
    folder: Path, ids: list[str], raters: tuple[str, ...], seed: int = 0
) -> list[Path]:
    """LLM raters biased toward E2, plus a human who labelled a random audit sample."""
    rng = np.random.default_rng(seed)
    n_items = len(ids)
    truth = rng.choice(3, n_items, p=[0.6, 0.2, 0.2])
    confusion = np.array([[0.6, 0.05, 0.35], [0.05, 0.85, 0.10], [0.10, 0.10, 0.80]])
    frames = []
    for rater in raters:
        labels = (rng.random(n_items)[:, None] > np.cumsum(confusion[truth], axis=1)).sum(1)
        frames.append(
            pd.DataFrame(
                {
                    "item_id": ids,
                    "rater": rater,
                    "label": [LABELS[k] for k in labels],
                    "score": np.clip(
                        np.array([0.1, 0.9, 0.5])[labels] + rng.normal(0, 0.1, n_items), 0, 1
                    ),
                    "run_id": "run-1",
                }
            )
        )
    llm = folder / "llm.csv"
    pd.concat(frames, ignore_index=True).to_csv(llm, index=False)
    audit = rng.choice(n_items, n_items // 4, replace=False)
    human = folder / "human.csv"
    pd.DataFrame(
        {
            "item_id": [ids[i] for i in audit],
            "rater": "expert",
            "label": [LABELS[truth[i]] for i in audit],
            "reason": "audit",
        }
    ).to_csv(human, index=False)
    return [llm, human]


def test_calibrate_and_export_with_occupations(
    app: typer.Typer, onet_dir: Path, tmp_path: Path
) -> None:
    dwa = pd.read_csv(onet_dir / "DWA Reference.txt", sep="\t", dtype=str, quoting=3)
    ids = dwa["DWA ID"].iloc[:400].tolist()
    files = _write_ratings(tmp_path, ids, ("gpt", "llama", "qwen"))
    out = tmp_path / "scores.parquet"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "calibrate",
            *map(str, files),
            "--human",
            "expert",
            "--out",
            str(out),
            "--report",
            str(tmp_path / "report"),
            "--folds",
            "4",
            "--seed",
            "3",
            "--onet-dir",
            str(onet_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "method: calibrated" in result.output or "method: latent class" in result.output
    assert "majority: kappa=" in result.output
    scores = pd.read_parquet(out)
    assert tuple(scores.columns) == SCORE_COLUMNS and len(scores) == 400
    manifest = json.loads((tmp_path / "scores.parquet.manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"]["folds"] == 4 and manifest["options"]["seed"] == 3
    table = pd.DataFrame(manifest["evaluation"]["table"]).set_index("method")
    assert table.loc["majority", "occupation_n"] > 50
    assert table.loc["calibrated", "brier"] < table.loc["majority", "brier"]
    html = (tmp_path / "report" / "calibration.html").read_text(encoding="utf-8")
    assert "Reliability" in html and "Confusion matrices" in html and html.count("<img") >= 3

    exported = runner.invoke(app, ["export", str(out), "--out", str(tmp_path / "export")])
    assert exported.exit_code == 0, exported.output
    assert "400 items" in exported.output
    table = pd.read_csv(tmp_path / "export" / "dwa_scores.csv", dtype=str)
    assert table["dwa_id"].tolist() == sorted(ids)


def test_single_rater_is_passed_through_and_said(app: typer.Typer, tmp_path: Path) -> None:
    ids = [f"item{i:03d}" for i in range(40)]
    files = _write_ratings(tmp_path, ids, ("gpt",))
    out = tmp_path / "scores.csv"
    result = CliRunner().invoke(
        app, ["calibrate", *map(str, files), "--human", "expert", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "method: single rater pass through" in result.output
    assert "warning: only one rater besides the human (gpt)" in result.output
    scores = pd.read_csv(out)
    assert set(scores["source"]) == {"raw", "human"}


def test_unknown_human_rater_is_a_clear_error(app: typer.Typer, tmp_path: Path) -> None:
    files = _write_ratings(tmp_path, [f"i{i}" for i in range(10)], ("gpt", "llama"))
    result = CliRunner().invoke(
        app, ["calibrate", *map(str, files), "--human", "nobody", "--out", str(tmp_path / "s.csv")]
    )
    assert isinstance(result.exception, DataError)
    assert "raters present: expert, gpt, llama" in str(result.exception)
    assert not (tmp_path / "s.csv").exists()


def test_label_outside_the_scale_names_the_file(app: typer.Typer, tmp_path: Path) -> None:
    files = _write_ratings(tmp_path, [f"i{i}" for i in range(10)], ("gpt", "llama"))
    frame = pd.read_csv(files[0])
    frame.loc[3, "label"] = "E4"
    frame.to_csv(files[0], index=False)
    result = CliRunner().invoke(
        app, ["calibrate", *map(str, files), "--human", "expert", "--out", str(tmp_path / "s.csv")]
    )
    assert isinstance(result.exception, DataError)
    assert str(files[0]) in str(result.exception) and "'E4'" in str(result.exception)
