"""City AI-development index: each method by hand, PCA against scikit-learn, the report's data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.cli.indices import register
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.ai_development import (
    METHODS,
    ai_development_index,
    entropy_weights,
    indicator_table,
    normalise,
    parse_weights,
    pca_weights,
    rank_sensitivity,
)

DATA = DATA_DIR


@pytest.fixture
def indicators_csv() -> Path:
    path = DATA / "report_2024" / "ai_city_indicators_top30.csv"
    if not path.is_file():
        pytest.skip(f"shared reference data not found at {DATA}")
    return path


def small() -> pd.DataFrame:
    """Three cities, two indicators: x1 = 0, 1, 2; x2 = 1, 1, 3."""
    frame = pd.DataFrame({"city": ["A", "B", "C"], "x1": [0, 1, 2], "x2": [1, 1, 3]})
    return indicator_table(frame)


def scores(method: str, weights: dict[str, float] | None = None) -> dict[str, float]:
    index = ai_development_index(small(), method, weights)  # type: ignore[arg-type]
    return dict(zip(index.scores["city"], index.scores["score"], strict=True))


def test_minmax_equal_weights_by_hand() -> None:
    # x1' = 0, .5, 1; x2' = 0, 0, 1; score = (x1' + x2') / 2
    assert scores("minmax") == pytest.approx({"A": 0.0, "B": 0.25, "C": 1.0})


def test_zscore_by_hand() -> None:
    # x1: mean 1, sd sqrt(2/3); x2: mean 5/3, sd sqrt(8/9) (ddof 0)
    z1 = np.array([-1, 0, 1]) / math.sqrt(2 / 3)
    z2 = (np.array([1, 1, 3]) - 5 / 3) / math.sqrt(8 / 9)
    expected = (z1 + z2) / 2
    assert scores("zscore") == pytest.approx(dict(zip("ABC", expected, strict=True)))


def test_rank_by_hand() -> None:
    # x1 ranks 1, 2, 3 -> 0, .5, 1; x2 ranks 1.5, 1.5, 3 -> .25, .25, 1
    assert scores("rank") == pytest.approx({"A": 0.125, "B": 0.375, "C": 1.0})


def test_entropy_weights_by_hand() -> None:
    # Min-max: x1' = 0, .5, 1 -> p = 0, 1/3, 2/3; x2' = 0, 0, 1 -> p = 0, 0, 1.
    e1 = -(1 / math.log(3)) * (1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3))
    e2 = 0.0  # all mass on one city: 1 ln 1 = 0, and 0 ln 0 = 0
    w1 = (1 - e1) / ((1 - e1) + (1 - e2))
    assert e1 == pytest.approx(0.579380, abs=1e-6)
    assert w1 == pytest.approx(0.296082, abs=1e-6)
    index = ai_development_index(small(), "entropy")
    assert index.weights.tolist() == pytest.approx([w1, 1 - w1])
    got = dict(zip(index.scores["city"], index.scores["score"], strict=True))
    assert got == pytest.approx({"A": 0.0, "B": 0.5 * w1, "C": 1.0})


def test_entropy_gives_concentrated_indicator_more_weight() -> None:
    # x2 is as even as a non-constant min-max column can be here (p = 0, .5, .5); the more
    # concentrated x1 (p = 0, 0, 1) must get the larger weight.
    table = indicator_table(pd.DataFrame({"city": list("ABC"), "x1": [0, 0, 5], "x2": [0, 4, 4]}))
    weights = entropy_weights(normalise(table, "minmax"))
    e2 = -(2 * 0.5 * math.log(0.5)) / math.log(3)
    assert weights["x1"] == pytest.approx(1 / (1 + 1 - e2))
    assert weights["x1"] > weights["x2"]


def test_pca_two_positively_correlated_indicators_weigh_half_each() -> None:
    # A 2 x 2 correlation matrix with r > 0 has leading eigenvector (1, 1) / sqrt(2).
    index = ai_development_index(small(), "pca")
    assert index.weights.tolist() == pytest.approx([0.5, 0.5])


def test_pca_weights_match_scikit_learn(indicators_csv: Path) -> None:
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    table = indicator_table(pd.read_csv(indicators_csv))
    component = PCA(n_components=1).fit(StandardScaler().fit_transform(table)).components_[0]
    component = component if component.sum() > 0 else -component
    assert pca_weights(table).to_numpy() == pytest.approx(component / component.sum(), abs=1e-10)


def test_pca_sign_is_fixed_positive() -> None:
    table = small()
    flipped = pca_weights(-table)  # every indicator reversed: loadings keep a positive sum
    assert flipped.sum() == pytest.approx(1.0)
    assert (flipped > 0).all()


def test_pca_refuses_opposed_pair() -> None:
    table = indicator_table(pd.DataFrame({"city": list("ABC"), "x1": [0, 1, 2], "x2": [2, 1, 0]}))
    with pytest.raises(DataError, match="sum to zero"):
        pca_weights(table)


def test_given_weights_are_rescaled_and_refused_for_derived_methods() -> None:
    # weights 3 : 1 -> .75, .25 on min-max values
    assert scores("minmax", {"x1": 3, "x2": 1}) == pytest.approx({"A": 0.0, "B": 0.375, "C": 1.0})
    with pytest.raises(ConfigError, match="derives its own weights"):
        ai_development_index(small(), "entropy", {"x1": 1, "x2": 1})
    with pytest.raises(ConfigError, match="missing x2"):
        ai_development_index(small(), "minmax", {"x1": 1})


def test_parse_weights() -> None:
    assert parse_weights(None, ["a", "b"]) is None
    assert parse_weights("equal", ["a", "b"]) is None
    assert parse_weights("a=0.4, b=0.6", ["a", "b"]) == {"a": 0.4, "b": 0.6}
    assert parse_weights("1,3", ["a", "b"]) == {"a": 1.0, "b": 3.0}
    with pytest.raises(ConfigError, match="2 numbers for 3 indicators"):
        parse_weights("1,3", ["a", "b", "c"])
    with pytest.raises(ConfigError, match="not a number"):
        parse_weights("a=x", ["a"])


def test_ranks_and_ties() -> None:
    table = indicator_table(pd.DataFrame({"city": list("ABC"), "x": [5, 5, 1], "y": [2, 2, 0]}))
    index = ai_development_index(table, "minmax")
    assert dict(zip(index.scores["city"], index.scores["rank"], strict=True)) == {
        "A": 1,
        "B": 1,
        "C": 3,
    }


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"town": ["A", "B"], "x": [1, 2]}), "city column 'city'"),
        (pd.DataFrame({"city": ["A", "A"], "x": [1, 2]}), "'A' appears more than once"),
        (pd.DataFrame({"city": ["A", "B"], "x": [1, "n/a"]}), r"'x'.*city 'B'.*'n/a'"),
        (pd.DataFrame({"city": ["A", "B"], "x": [1, 1]}), "'x' is constant"),
        (pd.DataFrame({"city": ["A"], "x": [1]}), "at least two cities"),
    ],
)
def test_bad_indicator_tables(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        indicator_table(frame)


def test_report_data_rank_sensitivity(indicators_csv: Path) -> None:
    table = indicator_table(pd.read_csv(indicators_csv))
    assert list(table.columns) == [
        "ai_job_share",
        "ai_patents",
        "ai_applicant_share",
        "ai_universities",
    ]
    sensitivity = rank_sensitivity(table)
    kendall = sensitivity.kendall
    assert np.diag(kendall.to_numpy()) == pytest.approx(np.ones(len(METHODS)))
    assert kendall.to_numpy() == pytest.approx(kendall.to_numpy().T)
    minmax = sensitivity.indices["minmax"].scores.set_index("city")["score"]
    rank = sensitivity.indices["rank"].scores.set_index("city")["score"].reindex(minmax.index)
    assert kendall.loc["minmax", "rank"] == pytest.approx(stats.kendalltau(minmax, rank)[0])
    # The report: Beijing first; the top ten are first-tier and provincial capitals plus Suzhou.
    entropy = sensitivity.indices["entropy"].scores
    assert entropy.iloc[0]["city"] == "北京"
    assert "苏州" in set(entropy.head(10)["city"])
    ranks = sensitivity.ranks.set_index("city")
    assert (ranks["rank_range"] >= 0).all()
    assert ranks.loc["北京", "rank_range"] == 0


def test_cli_ai_dev_writes_scores_weights_and_report(tmp_path: Path, indicators_csv: Path) -> None:
    app = typer.Typer()
    register(app)
    out = tmp_path / "ai_dev.csv"
    result = CliRunner().invoke(
        app,
        [
            "indices",
            "ai-dev",
            str(indicators_csv),
            "--method",
            "entropy",
            "--out",
            str(out),
            "--report",
            str(tmp_path / "report"),
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert list(written.columns) == ["city", "score", "rank", "method"]
    assert len(written) == 30
    weights = pd.read_csv(tmp_path / "ai_dev_weights.csv")
    assert weights["weight"].sum() == pytest.approx(1.0)
    assert len(pd.read_csv(tmp_path / "ai_dev_kendall.csv")) == len(METHODS)
    html = (tmp_path / "report" / "ai_development.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    assert "Kendall tau-b" in html


def test_cli_ai_dev_refuses_weights_for_pca(tmp_path: Path, indicators_csv: Path) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(
        app,
        [
            "indices",
            "ai-dev",
            str(indicators_csv),
            "--method",
            "pca",
            "--weights",
            "1,1,1,1",
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert isinstance(result.exception, ConfigError)
