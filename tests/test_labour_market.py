"""Labour-market indices: hand-computed small cases for every index, statistics against
reference implementations, the CLI end to end on a tiny mapping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from dwa_rater.cli.postings import register
from dwa_rater.embedding import text_sha256
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.labour_market.ai_talent import ai_talent_demand
from dwa_rater.indices.labour_market.occupations import (
    city_exposure_index,
    city_exposure_index_by_year,
    occupation_index_by_year,
    occupation_index_change,
    occupation_market_changes,
)
from dwa_rater.indices.labour_market.pipeline import build_labour_market_indices
from dwa_rater.indices.labour_market.relationships import (
    index_relationships,
    linear_fit,
)
from dwa_rater.indices.labour_market.scoring import (
    dwa_score_series,
    score_postings,
    score_postings_from_dwas,
)
from dwa_rater.indices.mapping import pool_lines, posting_dwa_weights
from dwa_rater.indices.mapping_files import LINE_DWAS_FILE, POSTING_LINES_FILE
from dwa_rater.indices.postings import validate_postings, write_postings
from dwa_rater.report.labour_market import labour_market_report, plot_relationship


def _postings() -> pd.DataFrame:
    rows = [
        # id, date, city, name, occupation, education, experience, applicants, salary, skills
        ("p1", "2022-03-01", "110000", "北京", "X", "本科", "3-5年", 10, 10000, "Python;SQL"),
        ("p2", "2022-06-01", "110000", "北京", "Y", "大专", "不限", 30, 6000, "Excel"),
        ("p3", "2022-09-01", "310000", "上海", "X", "硕士", "5-10年", 20, 20000, "python"),
        ("p4", "2024-02-01", "110000", "北京", "X", "本科", "1-3年", 40, 12000, ""),
        ("p5", "2024-04-01", "310000", "上海", "Y", "不限", "3年", 10, 5000, ""),
        ("p6", "2024-05-01", "310000", "上海", "Y", "", "", None, None, ""),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "posting_id", "date", "city_code", "city_name", "occupation_category", "education",
            "experience_years_min", "applicants", "salary_min", "skills",
        ],
    )  # fmt: skip
    frame["salary_max"] = frame["salary_min"]
    frame["title"] = ""
    frame["description"] = ""
    return validate_postings(frame)


SCORES = pd.DataFrame(
    {"posting_id": ["p1", "p2", "p3", "p4", "p5", "p6"], "score": [0.8, 0.2, 0.6, 0.9, 0.3, 0.5]}
)


def test_score_postings_by_hand() -> None:
    pooled = pool_lines(["q1", "q2", "q3", "q4"], [["L1", "L2"], ["L3"], ["L1"], []])
    mapping = pd.DataFrame(
        {
            "line_sha": [text_sha256(t) for t in ["L1", "L1", "L2", "L3"]],
            "dwa_id": ["D1", "D2", "D3", "D4"],
            "similarity": 0.9,
            "weight": [0.75, 0.25, 1.0, 1.0],
        }
    )
    dwa_scores = pd.Series({"D1": 1.0, "D2": 0.0, "D3": 0.5})  # D4 has no score
    out = score_postings(pooled, mapping, dwa_scores).set_index("posting_id")
    # q1: (0.75*1 + 0.25*0 + 1*0.5) / 2; q3: (0.75*1 + 0.25*0) / 1; q2 maps only to the
    # unscored D4; q4 has no lines.
    assert out.loc["q1", "score"] == pytest.approx(1.25 / 2)
    assert out.loc["q3", "score"] == pytest.approx(0.75)
    assert np.isnan(out.loc["q2", "score"]) and np.isnan(out.loc["q4", "score"])
    assert out["matched_weight"].tolist() == pytest.approx([2.0, 0.0, 1.0, 0.0])
    assert out["n_lines"].tolist() == [2, 1, 1, 0]
    assert out["n_matched_lines"].tolist() == [2, 0, 1, 0]
    # The same through the posting x DWA weight table.
    via_dwas = score_postings_from_dwas(posting_dwa_weights(pooled, mapping), dwa_scores)
    via_dwas = via_dwas.set_index("posting_id")
    for posting in ("q1", "q3"):
        assert via_dwas.loc[posting, "score"] == pytest.approx(out.loc[posting, "score"])
    assert np.isnan(via_dwas.loc["q2", "score"])


def test_occupation_index_and_change_by_hand() -> None:
    index = occupation_index_by_year(_postings(), SCORES)
    got = {(r.occupation_category, r.year): (r.index, r.n_postings) for r in index.itertuples()}
    assert got[("X", 2022)] == (pytest.approx(0.7), 2)
    assert got[("Y", 2022)] == (pytest.approx(0.2), 1)
    assert got[("X", 2024)] == (pytest.approx(0.9), 1)
    assert got[("Y", 2024)] == (pytest.approx(0.4), 2)
    change = occupation_index_change(index, 2022, 2024).set_index("occupation_category")
    assert change.loc["X", "change"] == pytest.approx(0.2)
    assert change.loc["Y", "index_from"] == pytest.approx(0.2)
    with pytest.raises(DataError, match="no postings in 2023"):
        occupation_index_change(index, 2022, 2023)


def test_unscored_postings_are_left_out_of_the_occupation_index() -> None:
    scores = SCORES.assign(score=[0.8, 0.2, np.nan, 0.9, 0.3, 0.5])
    index = occupation_index_by_year(_postings(), scores)
    x2022 = index[(index["occupation_category"] == "X") & (index["year"] == 2022)]
    assert x2022["index"].item() == pytest.approx(0.8) and x2022["n_postings"].item() == 1


def test_city_index_by_hand() -> None:
    postings = _postings()
    index = occupation_index_by_year(postings, SCORES)
    cities = city_exposure_index_by_year(postings, index)
    y2022 = cities[cities["year"] == 2022].set_index("city_code")
    # 北京 2022: half X (0.7), half Y (0.2); 上海: all X.
    assert y2022.loc["110000", "index"] == pytest.approx(0.5 * 0.7 + 0.5 * 0.2)
    assert y2022.loc["310000", "index"] == pytest.approx(0.7)
    assert y2022.loc["310000", "rank"] == 1 and y2022.loc["110000", "rank"] == 2
    y2024 = cities[cities["year"] == 2024].set_index("city_code")
    assert y2024.loc["110000", "index"] == pytest.approx(0.9)
    assert y2024.loc["310000", "index"] == pytest.approx(0.4)
    assert y2024.loc["310000", "city_name"] == "上海"


def test_city_index_shares_cover_only_indexed_occupations() -> None:
    postings = _postings()
    # Y has no index: 北京's 2022 index is X's alone, with half its postings covered.
    out = city_exposure_index(postings, pd.Series({"X": 0.7}), 2022).set_index("city_code")
    assert out.loc["110000", "index"] == pytest.approx(0.7)
    assert out.loc["110000", "coverage"] == pytest.approx(0.5)
    assert out.loc["110000", "rank"] == 1 and out.loc["310000", "rank"] == 1  # a tie
    with pytest.raises(DataError):
        city_exposure_index(postings, pd.Series({"X": 0.7}), 2030)


def test_market_changes_by_hand() -> None:
    changes = occupation_market_changes(_postings(), 2022, 2024).set_index("occupation_category")
    assert changes.loc["X", "posting_share_from"] == pytest.approx(200 / 3)
    assert changes.loc["X", "posting_share_change"] == pytest.approx(100 / 3 - 200 / 3)
    # Applicants 2022: X 30 of 60; 2024: X 40 of 50 (p6 has no count).
    assert changes.loc["X", "applicant_share_change"] == pytest.approx(80 - 50)
    assert changes.loc["Y", "applicant_share_to"] == pytest.approx(20)
    # Bachelor or more among stated: X 100% both years; Y 0% (p6 unknown is left out).
    assert changes.loc["X", "bachelor_share_change"] == pytest.approx(0)
    assert changes.loc["Y", "bachelor_share_to"] == pytest.approx(0)
    # 3+ years: X 2/2 then 0/1; Y 0/1 then 1/1.
    assert changes.loc["X", "experience3_share_change"] == pytest.approx(-100)
    assert changes.loc["Y", "experience3_share_change"] == pytest.approx(100)


def test_linear_fit_matches_scipy_numpy_and_statsmodels() -> None:
    statsmodels = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(7)
    x = rng.uniform(0.3, 0.9, 13)
    y = -4 * x + rng.normal(0, 0.8, 13)
    fit = linear_fit(x, y)
    reference = stats.linregress(x, y)
    assert fit.slope == pytest.approx(reference.slope, rel=1e-10)
    assert fit.intercept == pytest.approx(reference.intercept, rel=1e-10)
    assert fit.pearson_r == pytest.approx(reference.rvalue, rel=1e-10)
    assert fit.pearson_p == pytest.approx(reference.pvalue, rel=1e-8)
    assert fit.slope_se == pytest.approx(reference.stderr, rel=1e-10)
    assert fit.slope == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-10)
    ols = statsmodels.OLS(y, statsmodels.add_constant(x)).fit()
    low, high = ols.conf_int(0.05)[1]
    assert (fit.slope_ci_low, fit.slope_ci_high) == (
        pytest.approx(low, rel=1e-9),
        pytest.approx(high, rel=1e-9),
    )
    assert fit.n == 13


def test_linear_fit_small_and_degenerate_samples() -> None:
    two = linear_fit([0.0, 1.0], [1.0, 3.0])
    assert two.slope == pytest.approx(2.0) and np.isnan(two.slope_ci_low)
    flat = linear_fit([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert np.isnan(flat.slope)
    with_nan = linear_fit([0.0, 1.0, 2.0, np.nan], [0.0, 2.0, 4.0, 9.0])
    assert with_nan.n == 3 and with_nan.slope == pytest.approx(2.0)
    assert with_nan.pearson_r == pytest.approx(1.0) and with_nan.pearson_p == 0.0


def test_index_relationships_rows() -> None:
    changes = pd.DataFrame(
        {"occupation_category": list("ABCD"), "posting_share_change": [3.0, 1.0, -1.0, -3.0]}
    )
    index = pd.Series({"A": 0.2, "B": 0.4, "C": 0.6, "D": 0.8, "E": 0.5})  # E has no change
    out = index_relationships(index, changes, variables=["posting_share_change"])
    row = out.iloc[0]
    assert row["n"] == 4 and row["slope"] == pytest.approx(-10.0)
    assert row["pearson_r"] == pytest.approx(-1.0)
    with pytest.raises(DataError):
        index_relationships(index, changes, variables=["nothing"])


def test_plot_has_title_labels_and_point_labels() -> None:
    figure = plot_relationship(
        pd.Series({"编辑/翻译": 0.8, "生活服务": 0.3, "软件/硬件研发": 0.65}),
        pd.Series({"编辑/翻译": -1.0, "生活服务": 2.0, "软件/硬件研发": 0.5}),
        y_label="Change in posting share (percentage points)",
        title="Posting share",
    )
    axes = figure.axes[0]
    assert axes.get_title() == "Posting share"
    assert axes.get_xlabel() == "LLM exposure index (0-1)"
    assert axes.get_ylabel() == "Change in posting share (percentage points)"
    assert {t.get_text() for t in axes.texts} == {"编辑/翻译", "生活服务", "软件/硬件研发"}
    assert len(axes.lines) >= 1  # the fitted line


def _ai_postings() -> pd.DataFrame:
    rows = [
        ("a1", "2023-02-01", "自然语言处理工程师", "本科", "3-5年", 20000, "Python;PyTorch"),
        ("a2", "2023-03-01", "NLP 自然语言处理", "硕士", "1-3年", 30000, "python;BERT"),
        ("a3", "2024-01-10", "自然语言处理工程师", "博士", "5-10年", 26000, "Python;BERT"),
        ("a4", "2024-02-10", "高级自然语言处理工程师", "本科", "3-5年", 28000, "PyTorch;Python"),
        ("a5", "2024-03-10", "自然语言处理算法", "大专", "不限", 24000, "Java"),
        ("a6", "2024-09-10", "自然语言处理工程师", "本科", "3-5年", 90000, "Go"),
        ("d1", "2024-01-01", "深度学习工程师", "本科", "1年以下", 25000, "C/C++"),
        ("o1", "2024-01-01", "销售代表", "大专", "不限", 6000, "Excel"),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "posting_id", "date", "title", "education", "experience_years_min", "salary_min",
            "skills",
        ],
    )  # fmt: skip
    frame["salary_max"] = frame["salary_min"] + 2000
    frame["city_code"] = "110000"
    frame["city_name"] = "北京"
    frame["occupation_category"] = "软件/硬件研发"
    frame["description"] = ""
    return validate_postings(frame)


def test_ai_talent_demand_by_hand() -> None:
    ai = ai_talent_demand(
        _ai_postings(), ["自然语言处理", "深度学习"], 2023, 2024, months=range(1, 7), top_n=2
    )
    growth = ai.growth.set_index("ai_occupation")
    assert growth.loc["自然语言处理", "postings_from"] == 2
    assert growth.loc["自然语言处理", "postings_to"] == 3  # a6 (September) is outside H1
    assert growth.loc["自然语言处理", "growth_pct"] == pytest.approx(50.0)
    assert np.isnan(growth.loc["深度学习", "growth_pct"])  # no 2023 postings
    salary = ai.salary.set_index("ai_occupation")
    assert salary.loc["自然语言处理", "salary_from"] == pytest.approx((21000 + 31000) / 2)
    assert salary.loc["自然语言处理", "salary_to"] == pytest.approx((27000 + 29000 + 25000) / 3)
    education = ai.education.set_index(["ai_occupation", "group"])
    assert education.loc[("自然语言处理", "master_or_phd"), "share_from"] == pytest.approx(50)
    assert education.loc[("自然语言处理", "master_or_phd"), "share_to"] == pytest.approx(100 / 3)
    assert education.loc[("自然语言处理", "below_bachelor"), "change"] == pytest.approx(100 / 3)
    experience = ai.experience.set_index(["ai_occupation", "bin"])
    assert experience.loc[("自然语言处理", "3-5"), "share_to"] == pytest.approx(100 / 3)
    assert experience.loc[("自然语言处理", "5+"), "share_to"] == pytest.approx(100 / 3)
    assert experience.loc[("深度学习", "<1"), "share_to"] == pytest.approx(100)
    skills = ai.skills[ai.skills["ai_occupation"] == "自然语言处理"]
    # 2024 H1: Python in a3 and a4 (2 of 3), then BERT / Java / PyTorch with 1 each.
    assert skills["skill"].tolist() == ["Python", "BERT"]
    assert skills["share"].tolist() == pytest.approx([200 / 3, 100 / 3])
    with pytest.raises(ConfigError):
        ai_talent_demand(_ai_postings(), [], 2023, 2024)


def test_dwa_score_series_picks_a_measure() -> None:
    table = pd.DataFrame({"item_id": ["D1", "D2"], "alpha": [0.1, None], "beta": [0.5, 0.7]})
    assert dwa_score_series(table, "beta").to_dict() == {"D1": 0.5, "D2": 0.7}
    assert dwa_score_series(table, "alpha").to_dict() == {"D1": 0.1}
    with pytest.raises(ConfigError):
        dwa_score_series(table, "delta")


def test_build_indices_and_report(tmp_path: Path) -> None:
    result = build_labour_market_indices(_postings(), SCORES)
    assert (result.from_year, result.to_year) == (2022, 2024)
    assert set(result.relationships["variable"]) == {
        "posting_share_change",
        "applicant_share_change",
        "bachelor_share_change",
        "experience3_share_change",
    }
    path = labour_market_report(result).write(tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert "City LLM-exposure index" in html and html.count("data:image/png;base64,") == 4


def test_cli_indices_and_ai_talent(tmp_path: Path) -> None:
    postings = _postings()
    postings.loc[:, "description"] = "x"
    write_postings(postings, tmp_path / "postings.csv")
    # A hand-made mapping: every posting has one line; p-lines map to one DWA each.
    pooled = pool_lines(postings["posting_id"], [[f"line {p}"] for p in postings["posting_id"]])
    mapping_dir = tmp_path / "map"
    mapping_dir.mkdir()
    pooled.to_frame().to_parquet(mapping_dir / POSTING_LINES_FILE)
    pd.DataFrame(
        {
            "line_sha": pooled.line_sha,
            "line": pooled.lines,
            "dwa_id": [f"D{p}" for p in postings["posting_id"]],
            "dwa_title": "t",
            "similarity": 0.9,
            "weight": 1.0,
        }
    ).to_parquet(mapping_dir / LINE_DWAS_FILE)
    pd.DataFrame(
        {
            "item_id": [f"D{p}" for p in SCORES["posting_id"]],
            "alpha": 0.0,
            "beta": SCORES["score"],
            "gamma": 1.0,
        }
    ).to_csv(tmp_path / "scores.csv", index=False)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "postings", "indices", str(tmp_path / "postings.csv"), "--mapping-dir",
            str(mapping_dir), "--scores", str(tmp_path / "scores.csv"), "--out-dir", str(out),
            "--no-report",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6 postings scored; years 2022 -> 2024; city weighting national" in result.output
    windows = tmp_path / "windows"
    result = runner.invoke(
        app,
        [
            "postings", "indices", str(tmp_path / "postings.csv"), "--mapping-dir",
            str(mapping_dir), "--scores", str(tmp_path / "scores.csv"), "--out-dir", str(windows),
            "--period", "2022", "--period", "2024H1", "--city-weighting", "within-city",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "periods 2022 -> 2024H1; city weighting within-city" in result.output
    city = pd.read_csv(windows / "city_index.csv", encoding="utf-8-sig")
    assert set(city["period"]) == {"2022", "2024H1"} and set(city["weighting"]) == {"within-city"}
    html = (windows / "report.html").read_text(encoding="utf-8")
    assert "City LLM-exposure index, 2024H1 (weighting: within-city)" in html
    index = pd.read_csv(out / "occupation_index.csv", encoding="utf-8-sig")
    assert index["index"].tolist() == pytest.approx([0.7, 0.9, 0.2, 0.4])
    assert not (out / "report.html").exists()

    write_postings(_ai_postings(), tmp_path / "ai.csv")
    result = runner.invoke(
        app,
        [
            "postings", "ai-talent", str(tmp_path / "ai.csv"), "--occupation", "自然语言处理",
            "--out-dir", str(out), "--months", "1-6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    growth = pd.read_csv(out / "ai_growth.csv", encoding="utf-8-sig")
    assert growth["growth_pct"].tolist() == pytest.approx([50.0])


def test_windows_instead_of_years_by_hand() -> None:
    """2022H1 (p1 X 0.8, p2 Y 0.2) against 2024-01..2024-04 (p4 X 0.9, p5 Y 0.3)."""
    result = build_labour_market_indices(
        _postings(), SCORES, from_period="2022H1", to_period="2024-01..2024-04"
    )
    assert (result.from_label, result.to_label, result.periods) == (
        "2022H1",
        "2024-01..2024-04",
        True,
    )
    change = result.occupation_change.set_index("occupation_category")
    assert change.loc["X", "change"] == pytest.approx(0.9 - 0.8)
    assert change.loc["Y", "change"] == pytest.approx(0.3 - 0.2)
    assert set(change["from_period"]) == {"2022H1"}
    city = result.city_index
    first = city[city["period"] == "2022H1"].set_index("city_code")
    # 2022H1: 北京 holds every posting of X and of Y -> national weighting = 0.8 + 0.2.
    assert first.loc["110000", "index"] == pytest.approx(1.0)
    assert set(city["weighting"]) == {"national"}
    market = result.market_changes.set_index("occupation_category")
    # Posting shares: 2022H1 X 1/2; 2024-01..04 X 1/2.
    assert market.loc["X", "posting_share_change"] == pytest.approx(0.0)
    within = build_labour_market_indices(
        _postings(), SCORES, from_period="2022H1", to_period="2024H1", city_weighting="within-city"
    )
    last = within.city_index[within.city_index["period"] == "2024H1"].set_index("city_code")
    assert last.loc["310000", "index"] == pytest.approx(0.4)  # Y's 2024H1 index (0.3 + 0.5) / 2
    with pytest.raises(ConfigError, match="both periods"):
        build_labour_market_indices(_postings(), SCORES, from_period="2022H1")


def test_ai_talent_windows(tmp_path: Path) -> None:
    frame = _ai_postings()
    by_period = ai_talent_demand(frame, ["自然语言处理"], periods=("2023H1", "2024H1"))
    by_months = ai_talent_demand(frame, ["自然语言处理"], 2023, 2024, months=range(1, 7))
    pd.testing.assert_frame_equal(by_period.growth, by_months.growth)
    with pytest.raises(ConfigError, match="overlap"):
        ai_talent_demand(frame, ["自然语言处理"], periods=("2024", "2024H1"))
