"""The postings schema: loading, validation with line numbers, parsing of Chinese forms."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from datadir import DATA_DIR
from dwa_rater.cli.postings import register
from dwa_rater.errors import DataError
from dwa_rater.indices.postings import (
    EDUCATION_LEVELS,
    MAX_REPORTED_ERRORS,
    POSTING_COLUMNS,
    adapt_sample,
    parse_education,
    parse_experience,
    parse_salary,
    read_postings,
    validate_postings,
    write_postings,
)

SAMPLES = DATA_DIR / "postings_cn"

HEADER = (
    "posting_id,date,city_code,city_name,occupation_category,title,description,"
    "salary_min,salary_max,education,experience_years_min,applicants,skills"
)


def _write(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "postings.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


GOOD = [
    'p1,2023-03-01,110000,北京,软件/硬件研发,Java开发,"岗位职责：1、开发后台服务",15000,25000,本科,3-5年,12,Java;MySQL',
    "p2,2024-05-20,310000,上海,客服/运营,客服专员,,,,不限,经验不限,,",
]


def test_good_csv_is_typed(tmp_path: Path) -> None:
    frame = read_postings(_write(tmp_path, *GOOD))
    assert list(frame.columns) == list(POSTING_COLUMNS)
    assert frame["date"].dt.year.tolist() == [2023, 2024]
    assert frame["salary_min"].iloc[0] == 15000.0 and math.isnan(frame["salary_min"].iloc[1])
    assert frame["education"].tolist() == ["bachelor", "none"]
    assert list(frame["education"].cat.categories) == list(EDUCATION_LEVELS)
    assert frame["education"].cat.ordered
    assert frame["experience_years_min"].tolist() == [3.0, 0.0]
    assert frame["applicants"].iloc[0] == 12 and pd.isna(frame["applicants"].iloc[1])
    assert frame["skills"].tolist() == ["Java;MySQL", ""]
    assert frame["description"].iloc[1] == ""


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "postings.csv"
    path.write_text("posting_id,date,city_code\np1,2023-01-01,110000\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"postings\.csv: missing column\(s\) city_name, "):
        read_postings(path)


def test_optional_columns_may_be_absent() -> None:
    frame = pd.DataFrame(
        [["p1", "2023-01-01", "110000", "北京", "编辑/翻译", "编辑", "", 1, 2, "本科", 1]],
        columns=[c for c in POSTING_COLUMNS if c not in ("applicants", "skills")],
    )
    out = validate_postings(frame)
    assert pd.isna(out["applicants"].iloc[0]) and out["skills"].iloc[0] == ""


def test_bad_values_are_reported_with_csv_line_numbers(tmp_path: Path) -> None:
    rows = [
        *GOOD,
        "p3,2023-13-45,110000,北京,编辑/翻译,编辑,,abc,9000,本科,2,5,",  # line 4
        "p4,2023-01-01,,北京,编辑/翻译,编辑,,9000,8000,小学生,很多,-1,",  # line 5
        "p1,2023-01-01,110000,北京,编辑/翻译,编辑,,,,本科,1,2.5,",  # line 6
    ]
    with pytest.raises(DataError) as caught:
        read_postings(_write(tmp_path, *rows))
    message = str(caught.value)
    for expected in (
        "postings.csv line 4: date '2023-13-45' is not an ISO date",
        "postings.csv line 4: salary_min 'abc' is not a number",
        "postings.csv line 5: city_code is empty",
        "postings.csv line 5: salary_min '9000' is above salary_max",
        "postings.csv line 5: education '小学生' is not one of none, high_school",
        "postings.csv line 5: experience_years_min '很多' is not a number of years",
        "postings.csv line 5: applicants '-1' is not a whole number >= 0",
        "postings.csv line 6: posting_id 'p1' is repeated",
        "postings.csv line 6: applicants '2.5' is not a whole number >= 0",
    ):
        assert expected in message
    assert message.startswith("postings.csv: 9 bad value(s)")


def test_at_most_twenty_errors_are_listed(tmp_path: Path) -> None:
    rows = [f"p{i},2023-01-01,110000,北京,编辑/翻译,编辑,,x{i},,本科,1,," for i in range(30)]
    with pytest.raises(DataError) as caught:
        read_postings(_write(tmp_path, *rows))
    lines = str(caught.value).splitlines()
    assert lines[0] == f"postings.csv: 30 bad value(s), the first {MAX_REPORTED_ERRORS} by position"
    assert len(lines) == 1 + MAX_REPORTED_ERRORS
    assert lines[1] == "postings.csv line 2: salary_min 'x0' is not a number"
    assert lines[-1] == "postings.csv line 21: salary_min 'x19' is not a number"


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    frame = pd.read_csv(_write(tmp_path, *GOOD), dtype=str, keep_default_na=False)
    frame.loc[1, "salary_max"] = "lots"
    path = tmp_path / "postings.parquet"
    frame.to_parquet(path)
    with pytest.raises(
        DataError, match=r"postings\.parquet row 2: salary_max 'lots' is not a number"
    ):
        read_postings(path)


def test_csv_and_parquet_round_trip(tmp_path: Path) -> None:
    frame = read_postings(_write(tmp_path, *GOOD))
    for name in ("again.csv", "again.parquet"):
        back = read_postings(write_postings(frame, tmp_path / name))
        pd.testing.assert_frame_equal(
            back.drop(columns="date"), frame.drop(columns="date"), check_dtype=False
        )
        assert back["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-03-01", "2024-05-20"]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        ("不限", "none"), ("学历不限", "none"), ("初中及以下", "none"), ("高中", "high_school"),
        ("中专", "vocational"), ("中专/中技", "vocational"), ("大专", "associate"),
        ("大专及以上", "associate"), ("本科", "bachelor"), ("本科及以上学历", "bachelor"),
        ("统招本科", "bachelor"), ("硕士", "master"), ("研究生", "master"), ("博士", "phd"),
        ("Bachelor", "bachelor"), ("PhD", "phd"), ("", None), (None, None),
    ],
)  # fmt: skip
def test_parse_education(value: str | None, level: str | None) -> None:
    assert parse_education(value) == level


def test_parse_education_rejects_unknown() -> None:
    with pytest.raises(ValueError, match="not one of"):
        parse_education("小学生")


@pytest.mark.parametrize(
    ("value", "years"),
    [
        ("不限", 0.0), ("经验不限", 0.0), ("无经验", 0.0), ("无工作经验", 0.0), ("应届生", 0.0),
        ("在校生/应届生", 0.0), ("1年以下", 0.0), ("1-3年", 1.0), ("3-5年", 3.0), ("3～5年", 3.0),
        ("5-10年", 5.0), ("10年以上", 10.0), ("2年工作经验", 2.0), ("3", 3.0), (2.5, 2.5),
        ("3+ years", 3.0), ("no experience", 0.0), ("Many years", None), ("", None),
    ],
)  # fmt: skip
def test_parse_experience(value: object, years: float | None) -> None:
    if years is None and value:
        with pytest.raises(ValueError):
            parse_experience(value)
    else:
        assert parse_experience(value) == years


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1-1.5万/月", (10000.0, 15000.0)), ("6千-8千", (6000.0, 8000.0)),
        ("8千-1万", (8000.0, 10000.0)), ("10-20K·13薪", (10000.0, 20000.0)),
        ("15-24万/年", (12500.0, 20000.0)), ("200元/天", (4350.0, 4350.0)),
        ("1万以上", (10000.0, 10000.0)), ("5000-8000元/月", (5000.0, 8000.0)),
    ],
)  # fmt: skip
def test_parse_salary(text: str, expected: tuple[float, float]) -> None:
    assert parse_salary(text) == expected


def test_parse_salary_missing() -> None:
    assert all(math.isnan(v) for v in parse_salary("面议"))
    assert all(math.isnan(v) for v in parse_salary(""))


@pytest.mark.parametrize(
    ("name", "at_least"),
    [("51job_bigdata_2019_sample.csv", 4800), ("zhilian_data_analysis_2019_sample.csv", 290)],
)
def test_real_samples_adapt_to_the_schema(name: str, at_least: int) -> None:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {path} not present")
    adapted = adapt_sample(path)
    frame = adapted.postings
    assert adapted.dropped >= 0
    assert len(frame) >= at_least
    assert list(frame.columns[: len(POSTING_COLUMNS)]) == list(POSTING_COLUMNS)
    assert frame["posting_id"].is_unique
    assert (frame["salary_min"].dropna() <= frame["salary_max"].dropna()).all()
    beijing = frame[frame["city_name"] == "北京"]
    assert not beijing.empty and (beijing["city_code"] == "110000").all()
    assert frame["education"].notna().mean() > 0.8


def test_unknown_sample_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no adapter"):
        adapt_sample(tmp_path / "other.csv")


def test_cli_validate_and_adapt(tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    result = runner.invoke(app, ["postings", "validate", str(_write(tmp_path, *GOOD))])
    assert result.exit_code == 0, result.output
    assert (
        "2 postings, 2023-03-01 to 2024-05-20, 2 cities, 2 occupation categories" in result.output
    )
    bad = _write(tmp_path, "p1,yesterday,110000,北京,编辑/翻译,编辑,,,,本科,1,,")
    result = runner.invoke(app, ["postings", "validate", str(bad)])
    assert isinstance(result.exception, DataError)
    assert "line 2: date 'yesterday' is not an ISO date" in str(result.exception)
    sample = SAMPLES / "zhilian_data_analysis_2019_sample.csv"
    if sample.exists():
        out = tmp_path / "zhilian.csv"
        result = runner.invoke(app, ["postings", "adapt-sample", str(sample), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert len(read_postings(out)) == len(adapt_sample(sample).postings)
