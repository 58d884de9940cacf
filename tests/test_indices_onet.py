"""DWA score table, task and occupation aggregation, and the comparison with published measures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from scipy import stats
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.cli.onet import register
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.onet import (
    load_task_importance,
    occupation_index,
    occupation_scores,
    rating_level,
    task_scores_from_dwas,
    weighted_occupation_scores,
)
from dwa_rater.indices.published import (
    Crosswalks,
    PublishedMeasure,
    compare_with_published,
    load_crosswalks,
    load_published_measures,
    map_occupations,
)
from dwa_rater.indices.scores import dwa_scores, read_score_input, score_items

DATA = DATA_DIR

DWA_A = "4.A.1.a.1.I01.D01"
DWA_B = "4.A.1.a.1.I01.D02"
DWA_C = "4.A.2.b.1.I02.D03"


@pytest.fixture
def data_dir() -> Path:
    if not (DATA / "SOURCES.md").is_file():
        pytest.skip(f"shared reference data not found at {DATA}")
    return DATA


def ratings(rows: list[tuple[str, str, str | None, float | None]], **extra: object) -> pd.DataFrame:
    """Long ratings table from (item_id, rater, label, score) rows; one sample index per repeat."""
    frame = pd.DataFrame(rows, columns=["item_id", "rater", "label", "score"])
    frame["sample"] = frame.groupby(["item_id", "rater"]).cumcount()
    frame["status"] = "ok"
    for column, value in extra.items():
        frame[column] = value
    return frame


# ----------------------------------------------------------------------------- scores


def test_codings_follow_eloundou() -> None:
    frame = ratings([(DWA_A, "m", "E0", None), (DWA_B, "m", "E1", None), (DWA_C, "m", "E2", None)])
    scores = dwa_scores(frame).set_index("item_id")
    assert scores.loc[DWA_A, ["alpha", "beta", "gamma"]].tolist() == [0.0, 0.0, 0.0]
    assert scores.loc[DWA_B, ["alpha", "beta", "gamma"]].tolist() == [1.0, 1.0, 1.0]
    assert scores.loc[DWA_C, ["alpha", "beta", "gamma"]].tolist() == [0.0, 0.5, 1.0]


def test_mean_over_samples_then_over_raters() -> None:
    # rater a: E1, E2 (two samples) -> beta 0.75; rater b: E0 -> 0. Two-stage mean: 0.375
    # (a pooled mean over the three rows would give 0.5).
    frame = ratings([(DWA_A, "a", "E1", 0.9), (DWA_A, "a", "E2", 0.7), (DWA_A, "b", "E0", 0.2)])
    scores = dwa_scores(frame, rater="all")
    row = scores.iloc[0]
    assert row["alpha"] == pytest.approx(0.25)
    assert row["beta"] == pytest.approx(0.375)
    assert row["gamma"] == pytest.approx(0.5)
    assert row["score"] == pytest.approx((0.8 + 0.2) / 2)
    assert row["n"] == 3
    assert any("averaged 2 raters" in note for note in score_items(frame, rater="all").notes)
    only_a = dwa_scores(frame, rater="a").iloc[0]
    assert only_a["beta"] == pytest.approx(0.75)
    assert dwa_scores(frame, rater=["a", "b"]).iloc[0]["beta"] == pytest.approx(0.375)


def test_failed_rows_are_dropped_and_labels_normalised() -> None:
    frame = ratings([(DWA_A, "m", " e1 ", None), (DWA_A, "m", "E0", None)])
    frame.loc[1, "status"] = "failed"
    row = dwa_scores(frame).iloc[0]
    assert row["alpha"] == 1.0
    assert row["n"] == 1


def test_several_raters_without_choice_lists_them() -> None:
    frame = ratings([(DWA_A, "gpt", "E1", None), (DWA_A, "human", "E0", None)])
    with pytest.raises(DataError, match=r"several raters.*gpt, human.*--rater"):
        dwa_scores(frame)


def test_unknown_rater_lists_known_ones() -> None:
    frame = ratings([(DWA_A, "gpt", "E1", None), (DWA_A, "human", "E0", None)])
    with pytest.raises(DataError, match=r"'llama'.*known raters: gpt, human"):
        dwa_scores(frame, rater="llama")


def test_label_outside_coding_is_an_error() -> None:
    frame = ratings([(DWA_A, "m", "E3", None)])
    with pytest.raises(DataError, match=r"E3.*not in the coding"):
        dwa_scores(frame)


def test_score_table_is_detected_and_used_as_is(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    pd.DataFrame(
        {
            "item_id": [DWA_A, DWA_B],
            "label": ["E1", "E0"],
            "alpha": [0.9, 0.1],
            "beta": [0.95, 0.2],
            "gamma": [1.0, 0.3],
            "score": [0.8, ""],
            "n_raters": [3, 2],
        }
    ).to_csv(path, index=False)
    scores = dwa_scores(read_score_input(path)).set_index("item_id")
    assert scores.loc[DWA_A, "beta"] == pytest.approx(0.95)
    assert np.isnan(scores.loc[DWA_B, "score"])
    assert scores.loc[DWA_B, "n"] == 2


def test_score_table_with_text_in_a_number_column(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    pd.DataFrame({"item_id": [DWA_A], "alpha": ["high"], "beta": [1], "gamma": [1]}).to_csv(
        path, index=False
    )
    with pytest.raises(DataError, match=r"'alpha'.*'high'.*line 2"):
        read_score_input(path)


# ------------------------------------------------------------------- tasks and occupations


def tiny_onet() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    tasks = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "11-1011.00", "11-1011.00", "15-1252.00"],
            "task_id": ["1", "2", "3", "4"],
            "task": ["t1", "t2", "t3", "t4"],
            "task_type": ["Core", "Supplemental", "n/a", "Core"],
        }
    )
    task_dwas = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "11-1011.00", "11-1011.00", "11-1011.00", "15-1252.00"],
            "task_id": ["1", "1", "2", "3", "4"],
            "dwa_id": [DWA_A, DWA_B, DWA_C, DWA_A, DWA_C],
        }
    )
    occupations = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "15-1252.00"],
            "title": ["Chief Executives", "Software Developers"],
            "description": ["", ""],
        }
    )
    return tasks, task_dwas, occupations


def test_task_score_is_mean_of_its_dwas() -> None:
    _, task_dwas, _ = tiny_onet()
    scores = pd.DataFrame({"item_id": [DWA_A, DWA_B, DWA_C], "beta": [1.0, 0.0, 0.5]})
    tasks = task_scores_from_dwas(scores, task_dwas).set_index("task_id")
    assert tasks.loc["1", "beta"] == pytest.approx(0.5)
    assert tasks.loc["1", "n_dwas"] == 2
    assert tasks.loc["2", "beta"] == pytest.approx(0.5)
    assert tasks.loc["3", "beta"] == pytest.approx(1.0)


def test_core_weighs_two_supplemental_and_na_one() -> None:
    task_table = pd.DataFrame(
        {
            "onetsoc_code": ["X", "X", "X"],
            "task_id": ["1", "2", "3"],
            "task_type": ["Core", "Supplemental", "n/a"],
            "beta": [1.0, 0.0, 0.4],
        }
    )
    core2 = occupation_scores(task_table, weights="core2").iloc[0]
    assert core2["beta"] == pytest.approx((2 * 1.0 + 1 * 0.0 + 1 * 0.4) / 4)
    assert core2["n_tasks"] == 3
    equal = occupation_scores(task_table, weights="equal").iloc[0]
    assert equal["beta"] == pytest.approx(1.4 / 3)


def test_importance_weights_leave_out_unrated_tasks() -> None:
    task_table = pd.DataFrame(
        {"onetsoc_code": ["X", "X", "X"], "task_id": ["1", "2", "3"], "beta": [1.0, 0.0, 0.5]}
    )
    importance = pd.DataFrame(
        {"onetsoc_code": ["X", "X"], "task_id": ["1", "2"], "importance": [4.0, 1.0]}
    )
    result = occupation_scores(task_table, weights="importance", importance=importance)
    assert result.iloc[0]["beta"] == pytest.approx(4.0 / 5.0)
    assert result.iloc[0]["n_tasks"] == 2
    noted = weighted_occupation_scores(task_table, weights="importance", importance=importance)
    assert "1 of 3 tasks have no importance rating" in noted.notes[0]
    pd.testing.assert_frame_equal(noted.table, result)
    with pytest.raises(ConfigError, match="importance"):
        occupation_scores(task_table, weights="importance")


def test_occupation_index_from_dwa_ratings_by_hand() -> None:
    tasks, task_dwas, occupations = tiny_onet()
    frame = ratings([(DWA_A, "m", "E1", None), (DWA_B, "m", "E0", None), (DWA_C, "m", "E2", None)])
    result = occupation_index(frame, tasks, task_dwas, occupations).set_index("onetsoc_code")
    # Tasks of 11-1011.00: t1 (Core) = mean(1, 0) = 0.5; t2 (Suppl.) = 0.5; t3 (n/a) = 1.0 (beta).
    assert result.loc["11-1011.00", "beta"] == pytest.approx((2 * 0.5 + 0.5 + 1.0) / 4)
    # alpha: t1 = 0.5, t2 = 0, t3 = 1 -> (1 + 0 + 1) / 4
    assert result.loc["11-1011.00", "alpha"] == pytest.approx(0.5)
    assert result.loc["15-1252.00", "gamma"] == pytest.approx(1.0)
    assert result.loc["15-1252.00", "title"] == "Software Developers"
    assert result.loc["11-1011.00", "n_tasks"] == 3
    assert "score" not in result.columns  # no rater gave a numeric score


def test_task_ratings_use_their_own_task_list_first() -> None:
    tasks, task_dwas, occupations = tiny_onet()
    # Published labels: task 1 and 2 filed under an older code, with their own task types.
    frame = ratings([("1", "human", "E1", None), ("2", "human", "E0", None)], item_type="task")
    frame["onetsoc_code"] = ["11-1011.00", "99-9999.00"]
    frame["task_type"] = ["Supplemental", "Core"]
    result = occupation_index(frame, tasks, task_dwas, occupations).set_index("onetsoc_code")
    assert sorted(result.index) == ["11-1011.00", "99-9999.00"]
    assert result.loc["11-1011.00", "beta"] == pytest.approx(1.0)
    assert result.loc["99-9999.00", "beta"] == pytest.approx(0.0)
    assert result.loc["99-9999.00", "title"] == ""


def test_task_ratings_without_task_list_use_onet_tasks() -> None:
    tasks, task_dwas, occupations = tiny_onet()
    frame = ratings([("1", "h", "E1", 0.9), ("2", "h", "E0", 0.1), ("3", "h", "E2", 0.5)])
    assert rating_level(frame) == "task"
    result = occupation_index(frame, tasks, task_dwas, occupations).set_index("onetsoc_code")
    assert result.loc["11-1011.00", "beta"] == pytest.approx((2 * 1.0 + 0.0 + 0.5) / 4)
    assert result.loc["11-1011.00", "score"] == pytest.approx((2 * 0.9 + 0.1 + 0.5) / 4)


def test_mixed_item_ids_are_refused() -> None:
    frame = ratings([(DWA_A, "m", "E1", None), ("17", "m", "E0", None)])
    with pytest.raises(DataError, match="DWAs or tasks"):
        rating_level(frame)


def test_task_importance_from_both_layouts(tmp_path: Path, data_dir: Path) -> None:
    official = tmp_path / "Task Ratings.txt"
    official.write_text(
        "O*NET-SOC Code\tTask ID\tScale ID\tCategory\tData Value\n"
        "11-1011.00\t8823\tIM\tn/a\t4.52\n"
        "11-1011.00\t8823\tRT\tn/a\t74.44\n"
        "11-1011.00\t8823\tFT\t1\t0.5\n",
        encoding="utf-8",
    )
    table = load_task_importance(official)
    assert table.to_dict("records") == [
        {"onetsoc_code": "11-1011.00", "task_id": "8823", "importance": 4.52}
    ]
    summary = load_task_importance(
        data_dir / "onet" / "supplementary" / "task_ratings_summary_onet29.3.csv"
    )
    assert len(summary) == 17_639
    assert summary["importance"].between(1, 5).all()


# ----------------------------------------------------------------------------- published measures


def tiny_crosswalks() -> Crosswalks:
    return Crosswalks(
        soc2010_soc2018=pd.DataFrame(
            {
                "soc2010_code": ["15-1132", "15-1133", "11-1011"],
                "soc2018_code": ["15-1252"] * 2 + ["11-1011"],
            }
        ),
        onetsoc2010_onetsoc2019=pd.DataFrame(
            {"onetsoc2010_code": ["11-1011.00"], "onetsoc2019_code": ["11-1011.00"]}
        ),
        onetsoc2019_isco08=pd.DataFrame(
            {
                "onetsoc2019_code": ["11-1011.00", "11-1011.03", "11-1011.03"],
                "isco08_code": ["1120", "1120", "1112"],
            }
        ),
    )


def test_map_occupations_by_hand() -> None:
    occupations = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "11-1011.03", "15-1252.00"],
            "beta": [0.2, 0.6, 0.9],
        }
    )
    cross = tiny_crosswalks()
    soc2018 = map_occupations(occupations, "beta", "soc2018", cross).set_index("code")
    assert soc2018.loc["11-1011", "value"] == pytest.approx(0.4)
    assert soc2018.loc["11-1011", "n_source"] == 2
    soc2010 = map_occupations(occupations, "beta", "soc2010", cross).set_index("code")
    # SOC 2018 15-1252 splits into two SOC 2010 codes: each gets the full value.
    assert soc2010.loc["15-1132", "value"] == pytest.approx(0.9)
    assert soc2010.loc["15-1133", "value"] == pytest.approx(0.9)
    isco = map_occupations(occupations, "beta", "isco08", cross).set_index("code")
    assert isco.loc["1120", "value"] == pytest.approx(0.4)  # mean of both candidates
    assert isco.loc["1112", "value"] == pytest.approx(0.6)
    onet2010 = map_occupations(occupations, "beta", "onetsoc2010", cross)
    assert onet2010["code"].tolist() == ["11-1011.00"]


def test_compare_with_a_tiny_measure_matches_scipy() -> None:
    occupations = pd.DataFrame(
        {
            "onetsoc_code": ["11-1011.00", "15-1252.00", "13-2011.00", "43-4051.00"],
            "beta": [0.1, 0.9, 0.7, 0.4],
        }
    )
    published = pd.DataFrame(
        {"code": ["11-1011", "15-1252", "13-2011", "43-4051"], "value": [0.3, 0.8, 0.9, 0.1]}
    )
    measure = PublishedMeasure("m", "soc2018", published, "test")
    row = compare_with_published(occupations, "beta", [measure], tiny_crosswalks()).iloc[0]
    assert row["n_matched"] == 4
    x, y = [0.1, 0.9, 0.7, 0.4], [0.3, 0.8, 0.9, 0.1]
    assert row["pearson"] == pytest.approx(stats.pearsonr(x, y)[0])
    # ranks x: 1 4 3 2, y: 2 3 4 1 -> sum d^2 = 4 -> rho = 1 - 6 * 4 / (4 * 15)
    assert row["spearman"] == pytest.approx(0.6)
    assert row["kendall"] == pytest.approx(stats.kendalltau(x, y)[0])


def test_compare_refuses_a_missing_column() -> None:
    occupations = pd.DataFrame({"onetsoc_code": ["11-1011.00"], "beta": [0.1]})
    with pytest.raises(DataError, match=r"lacks column 'gamma'"):
        compare_with_published(occupations, "gamma", [], tiny_crosswalks())


def test_published_measures_match_on_the_real_data(data_dir: Path) -> None:
    measures = {m.name: m for m in load_published_measures(data_dir)}
    cross = load_crosswalks(data_dir)
    # An occupation table that *is* the Microsoft measure (SOC 2018 code + ".00").
    microsoft = measures["microsoft_ai_applicability"].values
    occupations = pd.DataFrame(
        {"onetsoc_code": microsoft["code"] + ".00", "beta": microsoft["value"]}
    )
    table = compare_with_published(occupations, "beta", list(measures.values()), cross)
    rows = table.set_index("measure")
    assert rows.loc["microsoft_ai_applicability", "n_matched"] == len(microsoft) == 785
    assert rows.loc["microsoft_ai_applicability", "pearson"] == pytest.approx(1.0)
    assert rows.loc["microsoft_ai_applicability", "kendall"] == pytest.approx(1.0)
    floors = {
        "felten_aioe": 700,
        "felten_lm_aioe": 700,
        "webb_ai": 700,
        "ilo_gmyrek_2023": 380,
        "dingel_neiman_teleworkable": 700,
    }
    for name, floor in floors.items():
        assert rows.loc[name, "n_matched"] > floor, name
        assert -1.0 <= rows.loc[name, "pearson"] <= 1.0
    # Measured 0.71 (Microsoft vs LM-AIOE) and 0.71 (vs ILO 2023) on this data.
    assert rows.loc["felten_lm_aioe", "spearman"] > 0.5
    assert rows.loc["ilo_gmyrek_2023", "spearman"] > 0.5
    assert "many-to-many" in rows.loc["ilo_gmyrek_2023", "note"]


# ----------------------------------------------------------------------------- CLI


def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_occupations_and_compare_on_real_onet(tmp_path: Path, data_dir: Path) -> None:
    dwas = pd.read_csv(
        data_dir / "onet" / "DWA Reference.txt",
        sep="\t",
        dtype=str,
        keep_default_na=False,
        quoting=3,
    )["DWA ID"]
    labels = np.array(["E0", "E1", "E2"])[np.arange(len(dwas)) % 3]
    frame = pd.DataFrame({"item_id": dwas, "item_type": "dwa", "rater": "m", "label": labels})
    ratings_path = tmp_path / "ratings.csv"
    frame.to_csv(ratings_path, index=False)
    out = tmp_path / "occupations.csv"
    result = CliRunner().invoke(
        cli(),
        [
            "onet",
            "occupations",
            "--ratings",
            str(ratings_path),
            "--onet-dir",
            str(data_dir / "onet"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"onetsoc_code": str})
    assert list(table.columns) == ["onetsoc_code", "title", "alpha", "beta", "gamma", "n_tasks"]
    assert len(table) == 923  # occupations with tasks in O*NET 30.1
    assert table[["alpha", "beta", "gamma"]].apply(lambda c: c.between(0, 1).all()).all()
    assert (table["alpha"] <= table["beta"]).all() and (table["beta"] <= table["gamma"]).all()
    assert "CC BY 4.0" in (tmp_path / "occupations.ATTRIBUTION.txt").read_text(encoding="utf-8")

    comparison = tmp_path / "compare.csv"
    result = CliRunner().invoke(
        cli(),
        [
            "onet",
            "compare",
            "--occupations",
            str(out),
            "--data-dir",
            str(data_dir),
            "--out",
            str(comparison),
        ],
    )
    assert result.exit_code == 0, result.output
    compared = pd.read_csv(comparison)
    assert {"measure", "n_matched", "pearson", "spearman", "kendall"} <= set(compared.columns)
    assert len(compared) == 6
    assert "CC BY 4.0" in (tmp_path / "compare.ATTRIBUTION.txt").read_text(encoding="utf-8")


def test_cli_occupations_unknown_rater(tmp_path: Path, data_dir: Path) -> None:
    path = tmp_path / "ratings.csv"
    ratings([(DWA_A, "gpt", "E1", None)]).to_csv(path, index=False)
    result = CliRunner().invoke(
        cli(),
        [
            "onet",
            "occupations",
            "--ratings",
            str(path),
            "--rater",
            "nobody",
            "--onet-dir",
            str(data_dir / "onet"),
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert isinstance(result.exception, DataError)
    assert "known raters: gpt" in str(result.exception)
