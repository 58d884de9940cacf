"""The ``agree`` and ``agree-scores`` commands: JSON with the documented keys and an HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.cli.agree import register
from dwa_rater.errors import DataError

SHARED_DATA = DATA_DIR
PAIR_KEYS = {
    "rater_a", "rater_b", "n", "percent_agreement", "cohen_kappa", "weighted_kappa_linear",
    "weighted_kappa_quadratic", "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal",
    "krippendorff_alpha_interval", "pearson", "spearman", "kendall", "ci",
}  # fmt: skip
OVERALL_KEYS = {
    "fleiss_kappa", "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal",
    "krippendorff_alpha_interval", "icc2_1", "icc2_k", "n_items", "n_raters",
}  # fmt: skip


@pytest.fixture
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def write_ratings(path: Path, raters: dict[str, int], seed: int, item_ids: list[str]) -> Path:
    """A small ratings CSV: raters -> number of samples; labels follow a shared truth."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["E0", "E2", "E1"], size=len(item_ids), p=[0.5, 0.2, 0.3])
    rows = []
    for rater, samples in raters.items():
        for sample in range(samples):
            noisy = np.where(
                rng.random(len(item_ids)) < 0.25, rng.choice(["E0", "E2", "E1"]), truth
            )
            for item, label in zip(item_ids, noisy, strict=True):
                score = {"E0": 0.1, "E2": 0.5, "E1": 0.9}[label] + rng.normal(0, 0.05)
                rows.append({"item_id": item, "item_type": "dwa", "rater": rater, "sample": sample,
                             "status": "ok", "label": label, "score": round(score, 3),
                             "family": item.split(".")[2]})  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ITEMS = [f"4.A.{'ab'[k % 2]}.{k}" for k in range(40)]


def test_agree_writes_json_with_documented_keys_and_html_with_plots(app, tmp_path: Path) -> None:
    first = write_ratings(tmp_path / "llm.csv", {"gpt": 3, "qwen": 1}, 1, ITEMS)
    second = write_ratings(tmp_path / "human.csv", {"human": 1}, 2, ITEMS[:30])
    out = tmp_path / "agreement.json"
    report = tmp_path / "report"
    result = CliRunner().invoke(
        app,
        [
            "agree",
            str(first),
            str(second),
            *[
                "--raters",
                "gpt,qwen,human",
                "--order",
                "E0,E2,E1",
                "--codes",
                "0,0.5,1",
                "--by",
                "family",
            ],
            *["--bootstrap", "200", "--seed", "3"],
            *("--json", str(out), "--report", str(report)),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"JSON has {c}"))
    assert len(document["pairs"]) == 3
    for pair in document["pairs"]:
        assert set(pair) >= PAIR_KEYS
        assert {"cohen_kappa", "weighted_kappa_quadratic", "krippendorff_alpha_ordinal", "pearson",
                "spearman"} <= set(pair["ci"])  # fmt: skip
    assert set(document["overall"]) >= OVERALL_KEYS
    assert document["overall"]["n_raters"] == 3
    assert document["overall"]["n_items"] == 40
    assert document["raters"] == ["gpt", "qwen", "human"]
    assert document["self_consistency"][0]["rater"] == "gpt"
    assert [g["group"] for g in document["groups"]["results"]] == ["a", "b"]
    assert document["scale"]["codes"] == {"E0": 0.0, "E2": 0.5, "E1": 1.0}
    html = (report / "agreement.html").read_text()
    assert html.count("<img") >= 6  # heatmap, 3 confusion matrices, score plots, forest plot
    assert "Breakdown by family" in html
    assert "gpt vs qwen:" in result.output


def test_agree_reports_degenerate_cases_as_warnings(app, tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    pd.DataFrame(
        [{"item_id": f"i{k}", "rater": r, "label": "E0"} for k in range(4) for r in ("a", "b")]
    ).to_csv(path, index=False)
    out = tmp_path / "out.json"
    result = CliRunner().invoke(app, ["agree", str(path), "--json", str(out), "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "warning: a vs b: cohen_kappa undefined: both raters used only E0" in result.output
    pair = json.loads(out.read_text())["pairs"][0]
    assert pair["cohen_kappa"] is None
    assert pair["percent_agreement"] == 1.0


def test_agree_refuses_labels_off_the_scale(app, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    pd.DataFrame([{"item_id": "i1", "rater": "a", "label": "E3"}]).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["agree", str(path), "--json", str(tmp_path / "x.json")])
    assert isinstance(result.exception, DataError)
    assert "E3" in str(result.exception)
    assert not (tmp_path / "x.json").exists()


def test_agree_groups_dwas_by_gwa_from_onet(app, tmp_path: Path, monkeypatch) -> None:
    onet = SHARED_DATA / "onet"
    if not onet.is_dir():
        pytest.skip(f"O*NET reference data not found at {onet}")
    dwas = pd.read_csv(onet / "DWA Reference.txt", sep="\t", dtype=str, quoting=3)["DWA ID"]
    items = dwas.iloc[::50].tolist()  # 42 DWAs across the GWAs
    path = write_ratings(tmp_path / "r.csv", {"x": 1, "y": 1}, 5, items)
    monkeypatch.setenv("DWA_RATER_ONET_DIR", str(onet))
    out = tmp_path / "gwa.json"
    result = CliRunner().invoke(
        app, ["agree", str(path), "--by", "gwa_title", "--bootstrap", "0", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    groups = json.loads(out.read_text())["groups"]
    assert groups["column"] == "gwa_title"
    assert groups["n_items_without_group"] == 0
    assert sum(g["n_items"] for g in groups["results"]) == len(items)
    assert "Getting Information" in {g["group"] for g in groups["results"]}


def test_agree_scores_compares_two_tables(app, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    codes = [f"11-{1000 + k}.00" for k in range(50)]
    values = rng.random(50)
    pd.DataFrame({"onetsoc_code": codes, "beta": values}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"onetsoc_code": codes, "beta": values + rng.normal(0, 0.1, 50)}).to_csv(
        tmp_path / "b.csv", index=False
    )
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(
        app,
        [
            "agree-scores",
            str(tmp_path / "a.csv"),
            str(tmp_path / "b.csv"),
            *[
                "--key",
                "onetsoc_code",
                "--a-column",
                "beta",
                "--b-column",
                "beta",
                "--bootstrap",
                "100",
            ],
            *("--json", str(out), "--report", str(tmp_path / "rep")),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["n"] == 50
    assert {"pearson", "spearman", "kendall", "mean_difference"} <= set(document["ci"])
    assert document["pearson"] > 0.8
    assert "<img" in (tmp_path / "rep" / "score_agreement.html").read_text()


def test_measure_is_the_option_and_coding_its_hidden_old_name(app, tmp_path: Path) -> None:
    ratings = write_ratings(tmp_path / "r.csv", {"gpt": 1, "qwen": 1}, 3, ITEMS)
    results = {}
    for option in ("--measure", "--coding"):
        out = tmp_path / f"{option.strip('-')}.json"
        result = CliRunner().invoke(
            app, ["agree", str(ratings), option, "alpha", "--json", str(out)]
        )
        assert result.exit_code == 0, result.output
        results[option] = json.loads(out.read_text(encoding="utf-8"))
    assert results["--measure"]["scale"] == results["--coding"]["scale"]
    assert results["--measure"]["scale"]["coding"] == "alpha"
    clash = CliRunner().invoke(
        app, ["agree", str(ratings), "--measure", "beta", "--coding", "alpha", "--json", "x.json"]
    )
    assert clash.exit_code != 0 and "contradicts" in str(clash.exception)
    assert "--coding" not in CliRunner().invoke(app, ["agree", "--help"]).output
