"""The AI-development indicators from postings (by hand) joined with external ones; CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dwa_rater.cli.main import app
from dwa_rater.errors import DataError
from dwa_rater.indices.ai_indicators import build_ai_indicators, read_external_indicators
from dwa_rater.indices.postings import write_postings


def postings() -> pd.DataFrame:
    """北京: 3 AI postings (10, 20, no count applicants) + 1 other; 上海: 1 AI (40); 深圳: 0 AI."""
    rows = [
        ("p1", "2024-02-01", "110000", "北京", "软件/硬件研发", "深度学习工程师", 10),
        ("p2", "2024-03-01", "110000", "北京", "软件/硬件研发", "自然语言处理工程师", 20),
        ("p3", "2024-04-01", "110000", "北京", "软件/硬件研发", "深度学习工程师", None),
        ("p4", "2024-04-01", "110000", "北京", "客服/运营", "客服专员", 99),
        ("p5", "2024-05-01", "310000", "上海", "软件/硬件研发", "深度学习工程师", 40),
        ("p6", "2024-05-01", "440300", "深圳", "生活服务", "厨师", 5),
        ("p7", "2023-05-01", "440300", "深圳", "软件/硬件研发", "深度学习工程师", 5),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "posting_id", "date", "city_code", "city_name", "occupation_category", "title",
            "applicants",
        ],
    )  # fmt: skip
    for column in ("description", "salary_min", "salary_max", "education"):
        frame[column] = ""
    frame["experience_years_min"] = ""
    return frame


AI = ["深度学习", "自然语言处理"]


def test_posting_indicators_by_hand() -> None:
    frame = postings()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["applicants"] = pd.to_numeric(frame["applicants"])
    result = build_ai_indicators(frame, AI, period="2024H1")
    table = result.table.set_index("city_code")
    # 2024H1: 4 AI postings, 北京 3, 上海 1; applicants 30 of 70.
    assert table.loc["110000", "ai_job_share"] == pytest.approx(75.0)
    assert table.loc["310000", "ai_job_share"] == pytest.approx(25.0)
    assert table.loc["110000", "ai_applicant_share"] == pytest.approx(300 / 7)
    assert "440300" not in table.index
    everything = build_ai_indicators(frame, AI).table.set_index("city_code")
    assert everything.loc["440300", "ai_job_share"] == pytest.approx(20.0)
    assert set(result.sources["source"]) == {"postings"}


def test_external_join_and_cli(tmp_path: Path) -> None:
    posting_file = tmp_path / "postings.csv"
    write_postings(postings(), posting_file)
    external = tmp_path / "external.csv"
    pd.DataFrame(
        {
            "city": ["北京", "上海", "广州"],
            "ai_patents": [100, 50, 10],
            "ai_universities": [9, 5, 2],
        }
    ).to_csv(external, index=False)
    assert set(read_external_indicators(external)["city_code"]) == {"110000", "310000", "440100"}
    out = tmp_path / "indicators.csv"
    result = CliRunner().invoke(
        app,
        [
            "indices", "ai-indicators", str(posting_file), "--ai-occupation", "深度学习",
            "--ai-occupation", "自然语言处理", "--external", str(external), "--period", "2024H1",
            "--out", str(out), "--method", "minmax",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "city", "ai_job_share", "ai_applicant_share", "ai_patents", "ai_universities",
    ]  # fmt: skip
    assert table.set_index("city").loc["北京", "ai_patents"] == 100
    sources = pd.read_csv(tmp_path / "indicators_sources.csv").set_index("indicator")
    assert sources.loc["ai_patents", "source"] == "external"
    assert sources.loc["ai_job_share", "source"] == "postings"
    index = pd.read_csv(tmp_path / "indicators_index.csv")
    assert index.iloc[0]["city"] == "北京"


def test_unknown_city_name_is_a_clear_error(tmp_path: Path) -> None:
    external = tmp_path / "external.csv"
    pd.DataFrame({"city": ["不存在市"], "ai_patents": [1]}).to_csv(external, index=False)
    with pytest.raises(DataError, match="no city code"):
        read_external_indicators(external)
