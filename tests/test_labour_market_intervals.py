"""Intervals of the labour-market indices: same weighting as the point estimates (issue 15)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dwa_rater.indices.city import city_index
from dwa_rater.indices.labour_market.intervals import (
    city_intervals,
    city_weights,
    labour_market_intervals,
    posting_dwa_weights,
    with_intervals,
)
from dwa_rater.indices.labour_market.occupations import (
    occupation_index_by_year,
    occupation_index_change_between,
    occupation_index_in,
)
from dwa_rater.indices.labour_market.pipeline import LabourMarketIndices
from dwa_rater.indices.labour_market.scoring import score_postings, score_postings_from_dwas
from dwa_rater.indices.mapping import pool_lines
from dwa_rater.indices.periods import parse_period, postings_in


def _market(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 postings in 2022 and 2023, 3 occupations, 4 cities; 8 DWAs with random weights."""
    rng = np.random.default_rng(seed)
    n = 60
    postings = pd.DataFrame(
        {
            "posting_id": [f"p{i}" for i in range(n)],
            "occupation_category": rng.choice(["会计", "程序员", "司机"], n),
            "city_code": rng.choice(["110000", "310000", "440100", "510100"], n),
            "date": rng.choice(["2022-03-01", "2023-05-01"], n),
        }
    )
    postings["city_name"] = postings["city_code"].map(
        {"110000": "北京", "310000": "上海", "440100": "广州", "510100": "成都"}
    )
    rows = []
    for posting in postings["posting_id"]:
        for dwa in rng.choice(8, size=rng.integers(1, 4), replace=False):
            rows.append((posting, f"4.A.{dwa}", float(rng.uniform(0.2, 2.0))))
    return postings, pd.DataFrame(rows, columns=["posting_id", "dwa_id", "weight"])


def _items(gold: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": [f"4.A.{i}" for i in range(len(gold))], "gold": gold, "llm": predicted}
    )


@pytest.mark.parametrize("weighting", ["national", "national-all", "within-city"])
def test_with_every_item_labelled_the_intervals_collapse_on_the_point_indices(
    weighting: str,
) -> None:
    # Every DWA human-labelled: the design-based interval has no sampling variance, and its
    # estimate must be the index the pipeline computes from the human scores.
    postings, posting_dwas = _market()
    rng = np.random.default_rng(1)
    human = rng.uniform(0, 1, 8)
    items = _items(human, np.clip(human + rng.normal(0, 0.2, 8), 0, 1))
    scores = score_postings_from_dwas(posting_dwas, items.set_index("item_id")["gold"])
    by_year = occupation_index_by_year(postings, scores)
    change = occupation_index_change_between(postings, scores, "2022", "2023")
    city = []
    for label in ("2022", "2023"):
        window = parse_period(label)
        occupations = occupation_index_in(postings, scores, window)
        table = city_index(
            postings_in(postings, window),
            occupations.set_index("occupation_category")["index"],
            weighting,
        )
        city.append(table.assign(period=label, year=int(label)))
    result = LabourMarketIndices(
        scores, by_year, change, pd.concat(city), pd.DataFrame(), pd.DataFrame(), 2022, 2023,
        "2022", "2023", weighting, periods=True,
    )  # fmt: skip
    intervals = labour_market_intervals(
        items, postings, posting_dwas, ["llm"], years=[2022, 2023], periods=("2022", "2023"),
        city_periods=["2022", "2023"], weighting=weighting,
    )  # fmt: skip
    out = with_intervals(result, intervals)
    index = out.occupation_index
    np.testing.assert_allclose(index["ci_estimate"], index["index"], atol=1e-12)
    np.testing.assert_allclose(index["ci_low"], index["index"], atol=1e-12)
    np.testing.assert_allclose(index["ci_high"], index["index"], atol=1e-12)
    assert (index["n_gold"] > 0).all()
    moved = out.occupation_change
    np.testing.assert_allclose(moved["from_ci_estimate"], moved["index_from"], atol=1e-12)
    np.testing.assert_allclose(moved["to_ci_estimate"], moved["index_to"], atol=1e-12)
    np.testing.assert_allclose(moved["change_ci_estimate"], moved["change"], atol=1e-12)
    cities = out.city_index
    assert len(cities) == 8 and cities["ci_estimate"].notna().all()
    np.testing.assert_allclose(cities["ci_estimate"], cities["index"], atol=1e-12)
    np.testing.assert_allclose(cities["ci_high"], cities["index"], atol=1e-12)


def test_national_city_interval_by_hand() -> None:
    # Occupation A: posting p1 (city X) with d1, d2 (equal weights). Occupation B: p2 (city X)
    # with d3, p3 (city Y) with d4. National weights: X = 1 * I_A + 1/2 * I_B, Y = 1/2 * I_B.
    postings = pd.DataFrame(
        {
            "posting_id": ["p1", "p2", "p3"],
            "occupation_category": ["A", "B", "B"],
            "city_code": ["X", "X", "Y"],
            "city_name": ["X", "X", "Y"],
            "date": ["2022-01-01"] * 3,
        }
    )
    posting_dwas = pd.DataFrame(
        {
            "posting_id": ["p1", "p1", "p2", "p3"],
            "dwa_id": ["d1", "d2", "d3", "d4"],
            "weight": [1.0, 1.0, 1.0, 1.0],
        }
    )
    weights = city_weights(postings, ["A", "B"], "national").set_index(["group", "item_id"])
    assert weights["weight"].to_dict() == {("X", "A"): 1.0, ("X", "B"): 0.5, ("Y", "B"): 0.5}
    items = pd.DataFrame(
        {
            "item_id": ["d1", "d2", "d3", "d4"],
            "gold": [0.0, np.nan, 1.0, np.nan],
            "llm": [0.2, 0.4, 0.6, 0.8],
        }
    )
    table = city_intervals(items, postings, posting_dwas, ["llm"], "national")
    x = table.set_index("group").loc["X"]
    # Normalised coefficients a = (1/3, 1/3, 1/6, 1/6); labelled d1, d3 (n = 2 of N = 4).
    # lam = cov(aY, aYhat) / var(aYhat) = 5, clipped to 1; estimate = sum a Yhat +
    # sum_L a (Y - Yhat) / (n/N) = 13/30 + 0; residuals a (Y - Yhat) = (-1/15, 1/15), their
    # variance 2/225; var = N^2 (1 - n/N) / n * 2/225 = 8/225, se = sqrt(8)/15. City X's total
    # weight is 1.5, so the national index is 1.5 times the normalised mean.
    assert x["estimate"] == pytest.approx(1.5 * 13 / 30, abs=1e-12)
    assert x["se"] == pytest.approx(1.5 * np.sqrt(8) / 15, abs=1e-12)
    assert x["lam"] == pytest.approx(1.0)
    half = 1.959963984540054 * 1.5 * np.sqrt(8) / 15
    assert x["ci_low"] == pytest.approx(0.65 - half, abs=1e-9)
    assert x["ci_high"] == pytest.approx(0.65 + half, abs=1e-9)
    assert x["predicted_index"] == pytest.approx(1.5 * 13 / 30, abs=1e-12)
    assert int(x["n_gold"]) == 2


def test_posting_dwa_weights_match_the_posting_scores() -> None:
    posting_lines = pool_lines(["p1", "p2"], [["a", "b", "a"], ["b"]])
    sha = dict(zip(posting_lines.lines, posting_lines.line_sha, strict=True))
    line_mapping = pd.DataFrame(
        {
            "line_sha": [sha["a"], sha["a"], sha["b"]],
            "dwa_id": ["d1", "d2", "d2"],
            "weight": [0.7, 0.3, 1.0],
        }
    )
    weights = posting_dwa_weights(posting_lines, line_mapping)
    # p1: line a twice (d1 0.7 x 2, d2 0.3 x 2) and line b once (d2 1.0)
    assert weights.set_index(["posting_id", "dwa_id"])["weight"].to_dict() == pytest.approx(
        {("p1", "d1"): 1.4, ("p1", "d2"): 1.6, ("p2", "d2"): 1.0}
    )
    scores = pd.Series({"d1": 0.9, "d2": 0.1})
    direct = score_postings(posting_lines, line_mapping, scores).set_index("posting_id")["score"]
    via = score_postings_from_dwas(weights, scores).set_index("posting_id")["score"]
    np.testing.assert_allclose(via.loc[direct.index], direct, atol=1e-12)


def test_the_study_adds_interval_columns_to_every_table() -> None:
    from dwa_rater.indices.labour_market.pipeline import build_labour_market_indices
    from dwa_rater.study.intervals import HumanItems, labour_market_with_intervals

    postings, posting_dwas = _market(seed=2)
    postings = postings.assign(applicants=1, education="bachelor", experience_years_min=1)
    rng = np.random.default_rng(3)
    human = rng.uniform(0, 1, 8)
    gold = np.where(np.arange(8) % 2 == 0, human, np.nan)  # half the DWAs labelled
    items = _items(gold, np.clip(human + rng.normal(0, 0.1, 8), 0, 1))
    scores = score_postings_from_dwas(posting_dwas, items.set_index("item_id")["llm"])
    labour = build_labour_market_indices(postings, scores, 2022, 2023)
    sample = HumanItems(items, ("llm",), "human", 4, 0)
    out = labour_market_with_intervals(labour, sample, postings, posting_dwas)
    for table, prefix in (
        (out.occupation_index, ""),
        (out.occupation_change, "from_"),
        (out.occupation_change, "to_"),
        (out.occupation_change, "change_"),
        (out.city_index, ""),
    ):
        low, high = table[f"{prefix}ci_low"], table[f"{prefix}ci_high"]
        assert low.notna().all() and (low <= high).all(), prefix
        assert (table[f"{prefix}n_gold"] > 0).all()
    assert len(out.city_index) == len(labour.city_index)
    width = out.occupation_index["ci_high"] - out.occupation_index["ci_low"]
    assert (width > 0).all()  # half the DWAs unlabelled: real uncertainty

    # the study report draws them: bars in the occupation plot, lines on the city bars
    from dwa_rater.report.html import HtmlReport
    from dwa_rater.report.plotting import configure_matplotlib
    from dwa_rater.report.study import _occupation_lines
    from dwa_rater.report.study_postings import add_city_sections
    from dwa_rater.study.artifacts import StudyArtifacts

    configure_matplotlib()  # the CJK font the report uses
    report = HtmlReport("t")
    record = {"intervals": True, "human_sample": "4 human labels of rater 'human'"}
    add_city_sections(report, StudyArtifacts(labour=out), record)
    figure = _occupation_lines(out)
    assert len(figure.axes[0].collections) >= 3  # one interval collection per category
    page = report.render()
    assert "rest on 4 human labels" in page and "lines: 95% intervals" in page
