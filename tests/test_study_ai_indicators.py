"""The study builds the AI development index's posting indicators from its own postings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dwa_rater.study.ai_indicators import PUBLISHED, study_ai_indicators
from dwa_rater.study.config import StudyConfig


def _postings(path: Path) -> Path:
    rows = [
        ("p1", "2024-03-01", "110000", "北京", "自然语言处理工程师", 10),
        ("p2", "2024-03-02", "110000", "北京", "深度学习工程师", 30),
        ("p3", "2024-04-01", "310000", "上海", "自然语言处理工程师", 20),
        ("p4", "2024-04-01", "310000", "上海", "会计", 99),  # not an AI posting
        ("p5", "2023-04-01", "310000", "上海", "深度学习工程师", 500),  # outside 2024H1
    ]
    frame = pd.DataFrame(
        rows, columns=["posting_id", "date", "city_code", "city_name", "title", "applicants"]
    ).assign(
        occupation_category="软件/硬件研发",
        description="岗位职责：负责模型训练",
        salary_min="",
        salary_max="",
        education="",
        experience_years_min="",
    )
    frame.to_csv(path, index=False)
    return path


def _data_dir(tmp_path: Path) -> Path:
    published = tmp_path / "data" / PUBLISHED
    published.parent.mkdir(parents=True)
    published.write_text(
        "city,ai_job_share,ai_patents,ai_applicant_share,ai_universities\n"
        "上海,9.0,8620,8.7,16\n北京,20.0,20000,15.0,30\n深圳,8.0,9000,7.0,12\n",
        encoding="utf-8",
    )
    return tmp_path / "data"


def test_posting_shares_by_hand_joined_with_the_published_external_indicators(
    tmp_path: Path,
) -> None:
    record: dict[str, Any] = {}
    config = StudyConfig.model_validate({"postings": {"ai_periods": ["2024H1"]}})
    target = study_ai_indicators(
        config,
        tmp_path / "ai_indicators.csv",
        _data_dir(tmp_path),
        postings_file=_postings(tmp_path / "postings.csv"),
        periods=lambda: None,
        record=record,
        min_cities=2,
    )
    table = pd.read_csv(target).set_index("city")
    # 2024H1 AI postings: 北京 2 of 3, 上海 1 of 3; applicants 40 and 20 of 60.
    assert table.loc["北京", "ai_job_share"] == pytest.approx(200 / 3)
    assert table.loc["上海", "ai_job_share"] == pytest.approx(100 / 3)
    assert table.loc["北京", "ai_applicant_share"] == pytest.approx(200 / 3)
    assert table.loc["上海", "ai_patents"] == 8620 and table.loc["北京", "ai_universities"] == 30
    assert "深圳" not in table.index  # no postings there
    assert record["indicators_source"] == (
        "postings (ai_job_share, ai_applicant_share, window 2024H1) + published table "
        "ai_city_indicators_top30.csv (ai_patents, ai_universities)"
    )
    sources = pd.read_csv(tmp_path / "ai_indicators_sources.csv")
    assert dict(zip(sources["indicator"], sources["source"], strict=True)) == {
        "ai_job_share": "postings",
        "ai_applicant_share": "postings",
        "ai_patents": "external",
        "ai_universities": "external",
    }


def test_without_ai_postings_the_published_table_is_used_and_said(tmp_path: Path) -> None:
    record: dict[str, Any] = {}
    config = StudyConfig.model_validate({"postings": {"ai_occupations": ["机器人算法工程师"]}})
    data_dir = _data_dir(tmp_path)
    target = study_ai_indicators(
        config,
        tmp_path / "ai_indicators.csv",
        data_dir,
        postings_file=_postings(tmp_path / "postings.csv"),
        periods=lambda: ["2022", "2024H1"],
        record=record,
        min_cities=2,
    )
    assert target == data_dir / PUBLISHED
    assert "no AI postings" in record["indicators_note"]
    assert record["indicators_source"].startswith("published table")


def test_a_window_without_ai_postings_widens_to_all_postings_and_says_so(
    tmp_path: Path,
) -> None:
    record: dict[str, Any] = {}
    config = StudyConfig.model_validate({"postings": {"ai_periods": ["2022"]}})
    target = study_ai_indicators(
        config,
        tmp_path / "ai_indicators.csv",
        _data_dir(tmp_path),
        postings_file=_postings(tmp_path / "postings.csv"),
        periods=lambda: None,
        record=record,
        min_cities=2,
    )
    table = pd.read_csv(target).set_index("city")
    # All AI postings: 北京 2 of 4, 上海 2 of 4 (p3 and the 2023 p5); applicants 40 and 520.
    assert table.loc["北京", "ai_job_share"] == pytest.approx(50.0)
    assert table.loc["上海", "ai_applicant_share"] == pytest.approx(100 * 520 / 560)
    assert record["indicators_note"].startswith("window 2022: no postings in 2022")
    assert record["indicators_source"].startswith("postings (ai_job_share, ai_applicant_share, all")


def test_too_few_cities_fall_back_to_the_published_table(tmp_path: Path) -> None:
    record: dict[str, Any] = {}
    data_dir = _data_dir(tmp_path)
    target = study_ai_indicators(
        StudyConfig.model_validate({"postings": {"ai_periods": ["2024H1"]}}),
        tmp_path / "ai_indicators.csv",
        data_dir,
        postings_file=_postings(tmp_path / "postings.csv"),
        periods=lambda: None,
        record=record,
    )  # two cities with AI postings, fewer than the default minimum of five
    assert target == data_dir / PUBLISHED
    assert record["indicators_note"] == (
        "posting indicators not built (window 2024H1: AI postings in 2 cities (< 5); "
        "all postings: AI postings in 2 cities (< 5))"
    )
