"""Remote-work index: Dingel-Neiman to O*NET-SOC 2019, weighted per period, and vs an LLM index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.cli.indices import register
from dwa_rater.errors import DataError
from dwa_rater.indices.published import load_crosswalks
from dwa_rater.indices.remote_work import (
    compare_with_llm_index,
    load_teleworkability,
    remote_work_index,
    teleworkability_onetsoc2019,
)

DATA = DATA_DIR


@pytest.fixture
def data_dir() -> Path:
    if not (DATA / "telework" / "occupations_workathome.csv").is_file():
        pytest.skip(f"shared reference data not found at {DATA}")
    return DATA


def tiny_teleworkable() -> pd.DataFrame:
    """2010 codes A1 (1) and A2 (0) merge into 2019 code X; B1 (1) becomes Y; C1 has no heir."""
    dn = pd.DataFrame(
        {"onetsoc2010_code": ["A1", "A2", "B1", "C1"], "teleworkable": [1.0, 0.0, 1.0, 0.0]}
    )
    crosswalk = pd.DataFrame(
        {"onetsoc2010_code": ["A1", "A2", "B1"], "onetsoc2019_code": ["X", "X", "Y"]}
    )
    return teleworkability_onetsoc2019(dn, crosswalk)


def test_several_2010_codes_are_averaged() -> None:
    table = tiny_teleworkable().set_index("onetsoc_code")
    assert table.loc["X", "teleworkable"] == pytest.approx(0.5)
    assert table.loc["X", "n_source"] == 2
    assert table.loc["Y", "teleworkable"] == pytest.approx(1.0)
    assert len(table) == 2


def test_remote_work_index_by_hand() -> None:
    weights = pd.DataFrame(
        {
            "period": ["2022", "2022", "2022", "2023", "2023"],
            "onetsoc_code": ["X", "Y", "Z", "X", "Y"],
            "weight": [10, 30, 60, 30, 10],
        }
    )
    result = remote_work_index(tiny_teleworkable(), weights).set_index("period")
    # 2022: (0.5*10 + 1*30) / 40 = 0.875; Z (60 postings) has no teleworkability -> coverage 0.4.
    assert result.loc["2022", "remote_work_index"] == pytest.approx(0.875)
    assert result.loc["2022", "coverage"] == pytest.approx(0.4)
    assert result.loc["2022", "n_occupations"] == 2
    # 2023: (0.5*30 + 1*10) / 40 = 0.625
    assert result.loc["2023", "remote_work_index"] == pytest.approx(0.625)
    assert result.loc["2023", "coverage"] == pytest.approx(1.0)


def test_weights_without_period_give_one_period() -> None:
    weights = pd.DataFrame({"onetsoc_code": ["X", "Y"], "weight": [1, 1]})
    result = remote_work_index(tiny_teleworkable(), weights)
    assert result["period"].tolist() == ["all"]
    assert result["remote_work_index"].iloc[0] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (pd.DataFrame({"onetsoc_code": ["X"], "count": [1]}), "lacks column.*weight"),
        (pd.DataFrame({"onetsoc_code": ["X", "Y"], "weight": [1, -2]}), r"non-negative.*row 2"),
        (pd.DataFrame({"onetsoc_code": ["X"], "weight": ["many"]}), r"row 1: 'many'"),
    ],
)
def test_bad_weights(weights: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        remote_work_index(tiny_teleworkable(), weights)


def test_comparison_across_occupations_and_over_time() -> None:
    telework = pd.DataFrame(
        {"onetsoc_code": ["a", "b", "c", "d"], "teleworkable": [1.0, 0.0, 1.0, 0.5]}
    )
    llm = pd.DataFrame(
        {"onetsoc_code": ["a", "b", "c", "d", "e"], "beta": [0.8, 0.2, 0.6, 0.5, 0.9]}
    )
    weights = pd.DataFrame(
        {
            "period": ["p1", "p1", "p2", "p2", "p3", "p3"],
            "onetsoc_code": ["a", "b", "a", "b", "c", "b"],
            "weight": [1, 1, 3, 1, 1, 3],
        }
    )
    result = compare_with_llm_index(telework, llm, "beta", weights)
    across = result.correlations.iloc[0]
    assert across["n"] == 4  # e has no teleworkability
    x, y = [1.0, 0.0, 1.0, 0.5], [0.8, 0.2, 0.6, 0.5]
    assert across["pearson"] == pytest.approx(stats.pearsonr(x, y)[0])
    assert across["kendall"] == pytest.approx(stats.kendalltau(x, y)[0])
    by_period = result.by_period.set_index("period")
    # p1: remote (1+0)/2 = .5, llm (.8+.2)/2 = .5; p2: remote 3/4, llm (2.4+.2)/4 = .65;
    # p3: remote 1/4, llm (.6+.6)/4 = .3
    assert by_period["remote_work_index"].tolist() == pytest.approx([0.5, 0.75, 0.25])
    assert by_period["llm_index"].tolist() == pytest.approx([0.5, 0.65, 0.3])
    over_time = result.correlations.iloc[1]
    assert over_time["n"] == 3
    assert over_time["pearson"] == pytest.approx(
        stats.pearsonr([0.5, 0.75, 0.25], [0.5, 0.65, 0.3])[0]
    )


def test_comparison_needs_the_llm_column() -> None:
    llm = pd.DataFrame({"onetsoc_code": ["a"], "gamma": [0.1]})
    with pytest.raises(DataError, match="lacks column 'beta'"):
        compare_with_llm_index(tiny_teleworkable(), llm, "beta")


def test_real_teleworkability_maps_to_onetsoc_2019(data_dir: Path) -> None:
    dn = load_teleworkability(data_dir / "telework" / "occupations_workathome.csv")
    assert len(dn) == 968
    assert int(dn["teleworkable"].sum()) == 361
    mapped = teleworkability_onetsoc2019(dn, load_crosswalks(data_dir).onetsoc2010_onetsoc2019)
    assert 900 <= len(mapped) <= 1016
    assert mapped["teleworkable"].between(0, 1).all()
    # Merged codes can be fractional; they are exactly those with several predecessors.
    fractional = mapped[(mapped["teleworkable"] > 0) & (mapped["teleworkable"] < 1)]
    assert not fractional.empty
    assert (fractional["n_source"] > 1).all()
    assert mapped.set_index("onetsoc_code").loc["11-1011.00", "teleworkable"] == 1.0


def test_cli_remote_work(tmp_path: Path, data_dir: Path) -> None:
    occupations = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "15-1252.00", "35-2014.00", "47-2061.00", "43-4051.00"],
            "title": ["CEO", "Software", "Cooks", "Laborers", "Customer service"],
            "beta": [0.5, 0.8, 0.1, 0.05, 0.7],
        }
    )
    occ_path = tmp_path / "occ.csv"
    occupations.to_csv(occ_path, index=False)
    weights_path = tmp_path / "weights.csv"
    pd.DataFrame(
        {
            "period": ["2022"] * 3 + ["2024"] * 3,
            "onetsoc_code": ["15-1252.00", "35-2014.00", "43-4051.00"] * 2,
            "weight": [10, 10, 10, 5, 20, 5],
        }
    ).to_csv(weights_path, index=False)
    app = typer.Typer()
    register(app)
    out = tmp_path / "remote.csv"
    result = CliRunner().invoke(
        app,
        [
            "indices",
            "remote-work",
            "--occupations",
            str(occ_path),
            "--weights",
            str(weights_path),
            "--data-dir",
            str(data_dir),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"onetsoc_code": str})
    assert {"onetsoc_code", "teleworkable", "beta"} <= set(table.columns)
    assert table.set_index("onetsoc_code").loc["35-2014.00", "teleworkable"] == 0.0
    by_period = pd.read_csv(tmp_path / "remote_by_period.csv", dtype={"period": str})
    assert by_period["period"].tolist() == ["2022", "2024"]
    # 2022 gives equal weight to three occupations, 2024 mostly to cooks: remote work falls.
    assert by_period["remote_work_index"].iloc[1] < by_period["remote_work_index"].iloc[0]
    assert (tmp_path / "remote_correlations.csv").is_file()
    assert "CC BY 4.0" in (tmp_path / "remote.ATTRIBUTION.txt").read_text(encoding="utf-8")
