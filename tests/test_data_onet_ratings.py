"""Importance weights from the official O*NET release: Task Ratings.txt in a folder or a zip,
falling back to the O*NET 29.3 summary (dwa_rater.catalog.load_task_ratings, indices.onet)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from dwa_rater.catalog import load_onet, load_task_ratings
from dwa_rater.errors import ConfigError
from dwa_rater.indices.onet import (
    default_importance_path,
    load_task_importance,
    occupation_index_from_files,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "onet_mini"


def task_ratings_text(tables_dir: Path, importance: dict[str, float]) -> str:
    """An official-layout Task Ratings.txt: IM, RT and one FT row per task of the fixture."""
    tasks = pd.read_csv(
        tables_dir / "Task Statements.txt", sep="\t", dtype=str, keep_default_na=False
    )
    lines = [
        "O*NET-SOC Code\tTask ID\tScale ID\tCategory\tData Value\tN\tStandard Error\t"
        "Lower CI Bound\tUpper CI Bound\tRecommend Suppress\tDate\tDomain Source"
    ]
    for code, task in zip(tasks["O*NET-SOC Code"], tasks["Task ID"], strict=True):
        value = importance.get(task, 3.0)
        lines.append(f"{code}\t{task}\tIM\tn/a\t{value}\t20\t0.1\t3\t4\tN\t08/2022\tIncumbent")
        lines.append(f"{code}\t{task}\tRT\tn/a\t80.0\t20\t5\t70\t90\tN\t08/2022\tIncumbent")
        lines.append(f"{code}\t{task}\tFT\t1\t5.0\t20\t1\t1\t9\tN\t08/2022\tIncumbent")
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture
def release(tmp_path: Path) -> Path:
    folder = tmp_path / "onet"
    shutil.copytree(FIXTURE, folder)
    (folder / "Task Ratings.txt").write_text(
        task_ratings_text(FIXTURE, {"22546": 5.0, "22572": 1.0}), encoding="ascii"
    )
    return folder


def zipped(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            if path.is_file():
                archive.write(path, f"db_30_1_text/{path.name}")
    return target


def test_task_ratings_from_folder_and_zip_agree(release: Path, tmp_path: Path) -> None:
    from_folder = load_task_ratings(release)
    from_zip = load_task_ratings(zipped(release, tmp_path / "db_30_1_text.zip"))
    assert from_folder is not None and from_zip is not None
    pd.testing.assert_frame_equal(from_folder, from_zip)
    assert set(from_folder["scale_id"]) == {"IM", "RT", "FT"}
    importance = load_task_importance(tmp_path / "db_30_1_text.zip").set_index("task_id")
    assert importance.loc["22546", "importance"] == 5.0
    assert importance.loc["22572", "importance"] == 1.0
    assert len(importance) == 6


def test_release_without_task_ratings_gives_none(tmp_path: Path) -> None:
    assert load_task_ratings(FIXTURE) is None
    assert default_importance_path(FIXTURE) is None
    archive = zipped(FIXTURE, tmp_path / "db.zip")
    assert load_task_ratings(archive) is None


def test_default_importance_prefers_the_release_then_the_summary(
    release: Path, tmp_path: Path
) -> None:
    assert default_importance_path(release) == release
    archive = zipped(release, tmp_path / "db_30_1_text.zip")
    assert default_importance_path(archive) == archive
    (release / "Task Ratings.txt").unlink()
    summary = release / "supplementary" / "task_ratings_summary_onet29.3.csv"
    summary.parent.mkdir()
    summary.write_text("O*NET-SOC Code,Task ID,importance\n27-2041.00,22546,4.0\n")
    assert default_importance_path(release) == summary


def test_importance_weights_come_from_the_zip(release: Path, tmp_path: Path) -> None:
    """Occupation scores weighted by the zip's IM ratings equal a hand computation."""
    archive = zipped(release, tmp_path / "db_30_1_text.zip")
    tables = load_onet(archive)
    # one DWA (linked to tasks 22546, 22582, 22585 and 3999) is E1, every other DWA E0
    exposed = "4.A.1.a.1.I01.D02"
    dwa_ids = list(tables.dwas["dwa_id"])
    ratings = pd.DataFrame(
        {
            "item_id": dwa_ids,
            "item_type": "dwa",
            "rater": "m",
            "label": ["E1" if d == exposed else "E0" for d in dwa_ids],
            "score": [None] * len(dwa_ids),
            "status": "ok",
        }
    )
    ratings_path = tmp_path / "ratings.csv"
    ratings.to_csv(ratings_path, index=False)
    result = occupation_index_from_files(ratings_path, archive, weights="importance")
    # expected by hand: per occupation, sum(importance * task alpha) / sum(importance)
    links = tables.task_dwas
    alpha = {d: (1.0 if d == exposed else 0.0) for d in dwa_ids}
    task_alpha = (
        links.assign(a=links["dwa_id"].map(alpha)).groupby(["onetsoc_code", "task_id"])["a"].mean()
    )
    weights = {"22546": 5.0, "22572": 1.0}
    expected = {}
    for code, group in task_alpha.groupby(level=0):
        w = [weights.get(task, 3.0) for _, task in group.index]
        expected[code] = sum(wi * ai for wi, ai in zip(w, group, strict=True)) / sum(w)
    got = result.set_index("onetsoc_code")["alpha"].to_dict()
    assert got == pytest.approx(expected)
    # 27-2041.00: task 22546 (importance 5, E1) and 22572 (importance 1, E0)
    assert got["27-2041.00"] == pytest.approx(5 / 6)


def test_no_task_ratings_anywhere_is_a_config_error(tmp_path: Path) -> None:
    ratings_path = tmp_path / "ratings.csv"
    pd.DataFrame({"item_id": ["4.A.1.a.1.I01.D01"], "rater": ["m"], "label": ["E1"]}).to_csv(
        ratings_path, index=False
    )
    with pytest.raises(ConfigError, match="data fetch onet"):
        occupation_index_from_files(ratings_path, FIXTURE, weights="importance")
