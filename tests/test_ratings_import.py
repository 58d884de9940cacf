"""``dwa-rater ratings import``: published label sets into the long ratings table."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dwa_rater.cli.ratings import register
from dwa_rater.errors import DataError
from dwa_rater.reference.labelsets import import_eloundou, import_wide, task_id_string
from dwa_rater.schemas import RATING_COLUMNS
from dwa_rater.store import read_ratings

HEADER = [
    "",
    "O*NET-SOC Code",
    "Task ID",
    "Task",
    "Task Type",
    "Title",
    "human_exposure_agg",
    "gpt4_exposure",
    "gpt4_exposure_alt_rubric",
    "gpt_3_relevant",
    "gpt4_automation",
    "alpha",
    "beta",
    "gamma",
    "automation",
    "human_labels",
]
ROWS = [
    ["0", "11-1011.00", "8823.0", "Direct budgets, to fund operations.", "Core", "Chief Executives",
     "E0", "E2", "E2", "False", "T2", "0.0", "0.5", "1.0", "0.5", "E0"],
    ["1", "11-1011.00", "8831.0", 'Appoint "department" heads.', "", "Chief Executives",
     "E1", "E0", "E0", "False", "T1", "0.0", "0.0", "0.0", "0.25", "E1"],
    ["2", "15-1252.00", "16363.0", "Write code\tfor programs.", "Supplemental",
     "Software Developers", "E2", "E1", "E2", "True", "T3", "1.0", "1.0", "1.0", "0.75", "E2"],
]  # fmt: skip


@pytest.fixture()
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


def _write_release(path: Path, rows: list[list[str]] = ROWS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def test_task_ids_become_integer_strings() -> None:
    assert task_id_string("8823.0") == "8823"
    assert task_id_string(" 16363 ") == "16363"
    assert task_id_string("") is None
    with pytest.raises(DataError):
        task_id_string("12.5")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_imports_the_release_layout(app: typer.Typer, tmp_path: Path, suffix: str) -> None:
    source = _write_release(tmp_path / "full_labelset.tsv")
    out = tmp_path / f"labels{suffix}"
    result = CliRunner().invoke(app, ["ratings", "import", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = read_ratings(out)
    assert list(frame.columns[: len(RATING_COLUMNS)]) == list(RATING_COLUMNS)
    assert len(frame) == 9
    human = frame[frame["rater"] == "human"].set_index("item_id")
    assert list(human.index) == ["8823", "8831", "16363"]
    assert list(human["label"]) == ["E0", "E1", "E2"]
    assert human.loc["16363", "item_text"] == "Write code\tfor programs."
    assert human.loc["8831", "item_text"] == 'Appoint "department" heads.'
    missing = human.loc["8831", "task_type"]
    assert pd.isna(missing) or missing == ""
    assert human.loc["8823", "task_type"] == "Core"
    assert set(frame["item_type"]) == {"task"}
    gpt4 = frame[frame["rater"] == "gpt4"].set_index("item_id")["label"]
    alt = frame[frame["rater"] == "gpt4_alt"].set_index("item_id")["label"]
    assert list(gpt4) == ["E2", "E0", "E1"]
    assert list(alt) == ["E2", "E0", "E2"]
    assert set(frame["onetsoc_code"]) == {"11-1011.00", "15-1252.00"}
    assert frame["source_sha256"].nunique() == 1
    assert (tmp_path / f"labels{suffix}.manifest.json").is_file()


def test_release_with_another_column_layout_is_refused(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "other.tsv"
    source.write_text("id\tlabel\n1\tE0\n", encoding="utf-8")
    out = tmp_path / "labels.csv"
    result = CliRunner().invoke(app, ["ratings", "import", str(source), "--out", str(out)])
    assert result.exit_code != 0
    assert isinstance(result.exception, DataError)
    assert "--format wide" in str(result.exception)
    assert not out.exists()


def test_a_label_off_the_scale_is_refused(tmp_path: Path) -> None:
    rows = [list(ROWS[0])]
    rows[0][7] = "E3"
    with pytest.raises(DataError, match="gpt4_exposure"):
        import_eloundou(_write_release(tmp_path / "bad.tsv", rows))


def test_empty_labels_and_task_ids_are_skipped_not_invented(tmp_path: Path) -> None:
    rows = [list(r) for r in ROWS]
    rows[1][8] = ""  # no alt-rubric label
    rows[2][2] = ""  # no Task ID
    result = import_eloundou(_write_release(tmp_path / "gaps.tsv", rows))
    counts = result.ratings.groupby("rater").size().to_dict()
    assert counts == {"gpt4": 2, "gpt4_alt": 1, "human": 2}
    assert any("without a Task ID" in note for note in result.notes)


def test_wide_format(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text(
        "id,text,annotator_a,model_b,score_c\nt1,Sort mail,e0,E0,0.1\nt2,Draft letters,E1,,0.9\n",
        encoding="utf-8",
    )
    out = tmp_path / "long.csv"
    result = CliRunner().invoke(
        app, ["ratings", "import", str(source), "--format", "wide", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    frame = read_ratings(out)
    a = frame[frame["rater"] == "annotator_a"].set_index("item_id")
    assert dict(a["label"]) == {"t1": "E0", "t2": "E1"}
    assert a.loc["t2", "item_text"] == "Draft letters"
    assert len(frame[frame["rater"] == "model_b"]) == 1
    c = frame[frame["rater"] == "score_c"].set_index("item_id")
    assert c["score"].tolist() == [0.1, 0.9]
    assert c["label"].isna().all()
    chosen = import_wide(source, raters=["model_b"])
    assert set(chosen.ratings["rater"]) == {"model_b"}


def test_wide_score_outside_0_1_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "wide.csv"
    source.write_text("item_id,x\n1,7\n", encoding="utf-8")
    with pytest.raises(DataError, match="outside 0-1"):
        import_wide(source)


def test_every_label_of_the_dev_release_is_kept(data_dir: Path, tmp_path: Path) -> None:
    """The whole shared half, compared with the release read independently by ``csv``."""
    source = data_dir / "exposure" / "eloundou_2023" / "full_labelset_dev.tsv"
    if not source.is_file():
        pytest.skip("Eloundou et al. dev labels not found")
    with open(source, encoding="utf-8", newline="") as handle:
        release = list(csv.DictReader(handle, delimiter="\t"))
    result = import_eloundou(source)
    frame = result.ratings
    for column, rater in (
        ("human_exposure_agg", "human"),
        ("gpt4_exposure", "gpt4"),
        ("gpt4_exposure_alt_rubric", "gpt4_alt"),
    ):
        expected = {
            (str(int(float(r["Task ID"]))), r["O*NET-SOC Code"]): r[column] for r in release
        }
        got = frame[frame["rater"] == rater]
        imported = dict(
            zip(zip(got["item_id"], got["onetsoc_code"], strict=True), got["label"], strict=True)
        )
        assert imported == expected
    texts = dict(zip(frame["item_id"], frame["item_text"], strict=False))
    assert all(texts[str(int(float(r["Task ID"])))] == r["Task"] for r in release)
