"""City LLM-exposure index: every weighting against hand computations; the CLI; bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dwa_rater.cli.main import app
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.indices.city import city_index, city_index_by_year, city_index_from_files

# 2023: 北京 X x3, Y x1; 上海 X x1, Z x2 (Z has no index); 深圳 Y x1.   (8 postings)
# 2024: 北京 X x1; 上海 Y x1.
ROWS_2023 = [("110000", "北京", "X")] * 3 + [("110000", "北京", "Y")]
ROWS_2023 += [("310000", "上海", "X")] + [("310000", "上海", "Z")] * 2 + [("440300", "深圳", "Y")]
ROWS_2024 = [("110000", "北京", "X"), ("310000", "上海", "Y")]

#: Hand computations, 2023, I_X = 0.6, I_Y = 0.2; N_X = 4, N_Y = 2, N = 8.
EXPECTED_2023 = {
    # sum_o n_co / N_o * I_o
    "national": {"110000": 3 / 4 * 0.6 + 1 / 2 * 0.2, "310000": 1 / 4 * 0.6, "440300": 0.1},
    # sum_o n_co / N * I_o
    "national-all": {"110000": (3 * 0.6 + 0.2) / 8, "310000": 0.6 / 8, "440300": 0.2 / 8},
    # mean over the city's postings whose occupation has an index
    "within-city": {"110000": (3 * 0.6 + 0.2) / 4, "310000": 0.6, "440300": 0.2},
}
#: 2024, I_X = 0.5, I_Y = 0.3: each city holds all of its occupation's postings.
EXPECTED_2024 = {
    "national": {"110000": 0.5, "310000": 0.3},
    "national-all": {"110000": 0.5 / 2, "310000": 0.3 / 2},
    "within-city": {"110000": 0.5, "310000": 0.3},
}


def postings() -> pd.DataFrame:
    rows = [(*row, "2023-03-01") for row in ROWS_2023] + [(*row, "2024-02-10") for row in ROWS_2024]
    return pd.DataFrame(rows, columns=["city_code", "city_name", "occupation_category", "date"])


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    posting_file = tmp_path / "postings.csv"
    postings().to_csv(posting_file, index=False)
    index_file = tmp_path / "occupation_index.csv"
    pd.DataFrame(
        {
            "occupation_category": ["X", "Y", "X", "Y"],
            "year": [2023, 2023, 2024, 2024],
            "index": [0.6, 0.2, 0.5, 0.3],
        }
    ).to_csv(index_file, index=False)
    return posting_file, index_file


def as_dict(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["city_code"].astype(str), table["index"].astype(float), strict=True))


@pytest.mark.parametrize("weighting", ["national", "national-all", "within-city"])
def test_library_matches_hand_computation(weighting: str) -> None:
    frame = postings()
    frame = frame[frame["date"].str.startswith("2023")]
    table = city_index(frame, pd.Series({"X": 0.6, "Y": 0.2}), weighting)
    assert as_dict(table) == pytest.approx(EXPECTED_2023[weighting], abs=1e-9)
    assert set(table["weighting"]) == {weighting}
    assert table.set_index("city_code")["n_postings"].to_dict() == {
        "110000": 4,
        "310000": 3,
        "440300": 1,
    }
    assert table.set_index("city_code").loc["310000", "coverage"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("args", "weighting"),
    [([], "national"), (["--weighting", "national"], "national")]
    + [(["--weighting", w], w) for w in ("national-all", "within-city")],
)
@pytest.mark.parametrize("year", [2023, 2024])
def test_cli_matches_hand_computation(
    files: tuple[Path, Path], tmp_path: Path, args: list[str], weighting: str, year: int
) -> None:
    posting_file, index_file = files
    out = tmp_path / "city.csv"
    result = CliRunner().invoke(
        app,
        [
            "indices",
            "city",
            str(posting_file),
            "--occupation-index",
            str(index_file),
            "--year",
            str(year),
            *args,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, dtype={"city_code": str}, encoding="utf-8-sig")
    assert list(table.columns[:5]) == ["city_code", "city_name", "index", "rank", "n_postings"]
    expected = EXPECTED_2023 if year == 2023 else EXPECTED_2024
    assert as_dict(table) == pytest.approx(expected[weighting], abs=1e-9)
    assert set(table["weighting"]) == {weighting}
    assert weighting in result.output
    ranks = table.set_index("city_code")["rank"]
    ordered = sorted(expected[weighting], key=lambda c: -expected[weighting][c])
    assert list(ranks.sort_values().index) == ordered


def test_national_weighting_rewards_size_within_city_does_not() -> None:
    """The report's weighting ranks the city with most postings first; the mean does not."""
    frame = postings()
    frame = frame[frame["date"].str.startswith("2023")]
    index = pd.Series({"X": 0.6, "Y": 0.2})
    national = city_index(frame, index, "national")
    within = city_index(frame, index, "within-city")
    assert national.iloc[0]["city_code"] == "110000"
    assert within.iloc[0]["city_code"] == "310000"
    # Summed over cities, the national weighting gives back the sum of occupation indices.
    assert national["index"].sum() == pytest.approx(0.6 + 0.2, abs=1e-12)


def test_period_and_by_year(files: tuple[Path, Path]) -> None:
    posting_file, index_file = files
    by_period = city_index_from_files(posting_file, index_file, period="2023H1")
    assert as_dict(by_period) == pytest.approx(EXPECTED_2023["national"], abs=1e-9)
    assert set(by_period["period"]) == {"2023H1"}
    index_by_year = pd.read_csv(index_file)
    frame = postings()
    frame["date"] = pd.to_datetime(frame["date"])
    both = city_index_by_year(frame, index_by_year, "national-all")
    got = both[both["year"] == 2024]
    assert as_dict(got) == pytest.approx(EXPECTED_2024["national-all"], abs=1e-9)


def test_bad_input(files: tuple[Path, Path], tmp_path: Path) -> None:
    posting_file, index_file = files
    with pytest.raises(ConfigError, match="several years"):
        city_index_from_files(posting_file, index_file)
    with pytest.raises(ConfigError, match="not both"):
        city_index_from_files(posting_file, index_file, year=2023, period="2023H1")
    with pytest.raises(DataError, match="no rows for year 2022"):
        city_index_from_files(posting_file, index_file, period="2022")
    single = tmp_path / "single.csv"
    pd.DataFrame({"occupation_category": ["X"], "index": [0.5]}).to_csv(single, index=False)
    with pytest.raises(DataError, match="no postings in 2022"):
        city_index_from_files(posting_file, single, period="2022")
    broken = tmp_path / "broken.csv"
    postings().drop(columns=["date"]).to_csv(broken, index=False)
    with pytest.raises(DataError, match="missing column"):
        city_index_from_files(broken, index_file, year=2023)
    with pytest.raises(ConfigError, match="unknown city weighting"):
        city_index(postings(), pd.Series({"X": 1.0}), "per-capita")


def test_cli_error_is_one_line(files: tuple[Path, Path], tmp_path: Path) -> None:
    posting_file, index_file = files
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dwa_rater",
            "indices",
            "city",
            str(posting_file),
            "--occupation-index",
            str(index_file),
            "--out",
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()
