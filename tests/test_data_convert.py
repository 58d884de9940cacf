"""Tests of the converters from publishers' files to the tables the tool reads.

Each converter runs on tiny files written here (xlsx with openpyxl, xls with xlwt, Stata with
pandas, a zip with zipfile), with the expected CSV written out by hand; then on the real
originals in the shared data folder, whose converted tables it must reproduce byte for byte.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dwa_rater.data import convert_files, convert_tables
from dwa_rater.data.converters import CONVERTERS
from dwa_rater.data.registry import get_source
from dwa_rater.errors import DataError

openpyxl = pytest.importorskip("openpyxl")


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    workbook.save(path)
    return path


def text(data: bytes) -> str:
    return data.decode("utf-8")


def test_felten_appendix(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "AIOE_DataAppendix.xlsx",
        {
            "Index": [["Data Appendix A: AIOE Scores by Occupation"]],
            "Appendix A": [
                ["SOC Code", "Occupation Title", "AIOE"],
                ["11-1011", "Chief Executives", 1.334246],
                ["53-7121", "Tank Car, Truck, and Ship Loaders", -1.5],
            ],
            "Appendix D": [
                [None, "Abstract Strategy Games", "Translation"],
                ["Arm-Hand Steadiness", 0.48, 0.19],
            ],
            "Appendix E": [
                ["O*NET Abilities", "Ability-Level AI Exposure"],
                ["Arm-Hand Steadiness", -1.125],
            ],
        },
    )
    out = convert_tables.felten_appendix({path.name: path}, tmp_path)
    assert text(out["exposure/felten_aioe/aioe_by_soc.csv"]) == (
        "soc_code,occupation_title,aioe\n"
        "11-1011,Chief Executives,1.334246\n"
        '53-7121,"Tank Car, Truck, and Ship Loaders",-1.5\n'
    )
    assert text(out["exposure/felten_aioe/application_ability_matrix.csv"]) == (
        "onet_ability,Abstract Strategy Games,Translation\nArm-Hand Steadiness,0.48,0.19\n"
    )
    assert text(out["exposure/felten_aioe/ability_level_ai_exposure.csv"]) == (
        "onet_ability,ability_level_ai_exposure\nArm-Hand Steadiness,-1.125\n"
    )


def test_felten_generative(tmp_path: Path) -> None:
    files = {}
    for name, sheet, measure in (
        ("Language Modeling AIOE and AIIE.xlsx", "LM AIOE", "Language Modeling AIOE"),
        ("Image Generation AIOE and AIIE.xlsx", "IG AIOE", "Image Generation AIOE"),
    ):
        files[name] = write_xlsx(
            tmp_path / name,
            {
                sheet: [["SOC Code", "Occupation Title", measure], ["11-1011", "CEOs", 1.25]],
                sheet.replace("AIOE", "AIIE"): [["NAICS", "NAICS Description", "x"]],
            },
        )
    out = convert_tables.felten_generative(files, tmp_path)
    assert text(out["exposure/felten_aioe/lm_aioe_by_soc.csv"]) == (
        "soc_code,occupation_title,lm_aioe\n11-1011,CEOs,1.25\n"
    )
    assert text(out["exposure/felten_aioe/ig_aioe_by_soc.csv"]) == (
        "soc_code,occupation_title,ig_aioe\n11-1011,CEOs,1.25\n"
    )


def test_a_missing_sheet_or_column_is_one_line(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "AIOE_DataAppendix.xlsx",
        {"Appendix A": [["SOC Code", "Occupation Title", "AIOE"], ["11-1011", "CEOs", 1.0]]},
    )
    with pytest.raises(DataError, match=r"no sheet 'Appendix D' \(sheets: 'Appendix A'\)"):
        convert_tables.felten_appendix({path.name: path}, tmp_path)
    rows = [["SOC Code", "Title", "AIOE"], ["11-1011", "CEOs", 1.0]]
    with pytest.raises(DataError, match=r"missing column.*'Occupation Title'"):
        convert_tables.header_table(
            rows, {"SOC Code": "soc_code", "Occupation Title": "t"}, label="x"
        )


def test_ilo_task_scores_pad_isco_and_type_columns_as_a_spreadsheet_reader(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path / "Final_Scores_ISCO08_Gmyrek_et_al_2025.xlsx",
        {
            "Sheet1": [
                ["label4d", "ISCO_08", "taskID", "Task_ISCO", "score_2023", "score_2025"],
                ["0110 - Officers", 110, 1, "Commanding units;", 0.1, 0.2],
                ["1111 - Legislators", "1111", 2, "nan", 0, None],
            ]
        },
    )
    out = convert_tables.ilo_2025_tasks({path.name: path}, tmp_path)
    assert text(out["exposure/ilo_gmyrek/task_scores_isco08_2023_2025.csv"]) == (
        "label4d,ISCO_08,taskID,Task_ISCO,score_2023,score_2025\n"
        "0110 - Officers,0110,1,Commanding units;,0.1,0.2\n"
        "1111 - Legislators,1111,2,,0.0,\n"
    )


def test_bls_crosswalks_and_the_derived_chain(tmp_path: Path) -> None:
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("ISCO-08 to 2010 SOC")
    rows: list[list[Any]] = [
        ["Bureau of Labor Statistics"],
        [],
        ["ISCO-08 Code", "ISCO-08 Title EN", "part", "2010 SOC Code", "2010 SOC Title", "Comment"],
        ["1120", "Managing directors and chief executives", "*", "11-1011 ", "Chief Executives"],
        ["1112", "Senior government officials", "*", "11-1011", "Chief Executives"],
        [211, "Physical and earth science professionals", "", "19-2099", "Physical Scientists"],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.add_sheet("2010 SOC to ISCO-08")
    xls = tmp_path / "isco_soc_crosswalk.xls"
    book.save(str(xls))
    xlsx = write_xlsx(
        tmp_path / "soc_2010_to_2018_crosswalk.xlsx",
        {
            "Sorted by 2010": [
                ["U.S. Bureau of Labor Statistics", None, None, None],
                [None, None, None, None],
                ["2010 SOC Code", "2010 SOC Title", "2018 SOC Code", "2018 SOC Title"],
                ["11-1011", "Chief Executives", "11-1011", "Chief Executives"],
                ["19-2099", "Physical Scientists, All Other", "19-2099", "Physical Scientists"],
            ]
        },
    )
    onet_crosswalk = tmp_path / "2010_to_2019_soc_crosswalk.csv"
    onet_crosswalk.write_bytes(
        b"O*NET-SOC 2010 Code,O*NET-SOC 2019 Code\r\n11-1011.00,11-1011.00\r\n"
    )
    dest = tmp_path / "data"
    (dest / "onet").mkdir(parents=True)
    (dest / "onet" / "Occupation Data.txt").write_text(
        "O*NET-SOC Code\tTitle\tDescription\n"
        "11-1011.00\tChief Executives\tDetermine policies.\n"
        "15-1252.00\tSoftware Developers\tDevelop software.\n"
        "19-2099.01\tRemote Sensing Scientists\tApply remote sensing.\n"
    )
    files = {p.name: p for p in (xls, xlsx, onet_crosswalk)}
    out = convert_tables.crosswalks(files, dest)
    assert text(out["crosswalks/bls_isco08_soc2010.csv"]) == (
        "isco08_code,isco08_title,part,soc2010_code,soc2010_title,comment\n"
        "1120,Managing directors and chief executives,*,11-1011,Chief Executives,\n"
        "1112,Senior government officials,*,11-1011,Chief Executives,\n"
        "211,Physical and earth science professionals,,19-2099,Physical Scientists,\n"
    )
    assert text(out["crosswalks/bls_soc2010_soc2018.csv"]) == (
        "soc2010_code,soc2010_title,soc2018_code,soc2018_title\n"
        "11-1011,Chief Executives,11-1011,Chief Executives\n"
        '19-2099,"Physical Scientists, All Other",19-2099,Physical Scientists\n'
    )
    assert out["crosswalks/onetsoc2010_to_onetsoc2019.csv"] == onet_crosswalk.read_bytes()
    # Software Developers (15-1252) is not in this tiny SOC crosswalk: left out.
    assert text(out["crosswalks/derived_onetsoc2019_to_isco08.csv"]) == (
        "onetsoc2019_code,onetsoc_title,soc2018_code,soc2010_code,isco08_code,isco08_title,"
        "bls_part_flag,n_isco_candidates\n"
        "11-1011.00,Chief Executives,11-1011,11-1011,1120,Managing directors and chief "
        "executives,*,2\n"
        "11-1011.00,Chief Executives,11-1011,11-1011,1112,Senior government officials,*,2\n"
        "19-2099.01,Remote Sensing Scientists,19-2099,19-2099,211,Physical and earth science "
        "professionals,,1\n"
    )


def test_derived_crosswalk_needs_the_onet_release(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="dwa-rater data fetch onet"):
        convert_tables._onet_occupations(tmp_path)


def test_webb_stata_files(tmp_path: Path) -> None:
    scores = pd.DataFrame(
        {
            "onetsoccode": ["11-1011.00", "11-1011.03"],
            "index": ["Chief Executives", "Chief Sustainability Officers"],
            "agg_pairs": np.array([50.0, 22.0], dtype=np.float32),
            "ai_score": np.array([0.20430624, 0.29871672], dtype=np.float32),
            "software_score": np.array([0.18072541, 0.45957497], dtype=np.float32),
            "robot_score": np.array([0.12222982, 0.053837065], dtype=np.float32),
        }
    )
    scores.to_stata(tmp_path / "final_df_out.dta", write_index=False)
    links = pd.DataFrame(
        {
            "onetsoccode": ["11-1011.00"],
            "onet_name": ["Chief Executives"],
            "occ1990dd": np.array([4], dtype=np.int16),
            "occ1990dd_title": ["Chief executives, public administrators, and legislators"],
            "ipums_occ2010": np.array([10], dtype=np.int16),
            "acs_occsoc2010": ["1110XX"],
            "acs_title": ["Chief Executives and Legislators"],
            "_merge": np.array([3], dtype=np.int8),
        }
    )
    links.to_stata(tmp_path / "onet_to_occ1990dd.dta", write_index=False)
    files = {name: tmp_path / name for name in ("final_df_out.dta", "onet_to_occ1990dd.dta")}
    out = convert_tables.webb_stata(files, tmp_path)
    assert text(out["exposure/webb2020/webb_scores_by_onetsoc2010.csv"]) == (
        "onetsoccode,onet_title,agg_pairs,ai_score,software_score,robot_score\n"
        "11-1011.00,Chief Executives,50.0,0.20430624,0.18072541,0.12222982\n"
        "11-1011.03,Chief Sustainability Officers,22.0,0.29871672,0.45957497,0.053837065\n"
    )
    assert text(out["exposure/webb2020/onetsoc2010_to_occ1990dd.csv"]) == (
        "onetsoccode,onet_name,occ1990dd,occ1990dd_title,ipums_occ2010,acs_occsoc2010,acs_title\n"
        '11-1011.00,Chief Executives,4,"Chief executives, public administrators, and '
        'legislators",10,1110XX,Chief Executives and Legislators\n'
    )


def test_onet_zip_tables_are_extracted_unchanged(tmp_path: Path) -> None:
    fixture = Path(__file__).resolve().parent / "fixtures" / "onet_mini"
    archive = tmp_path / "db_30_1_text.zip"
    ratings = b"O*NET-SOC Code\tTask ID\tScale ID\tCategory\tData Value\r\n"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(fixture.iterdir()):
            zipped.writestr(f"db_30_1_text/{path.name}", path.read_bytes())
        zipped.writestr("db_30_1_text/Task Ratings.txt", ratings)
        zipped.writestr("db_30_1_text/Abilities.txt", b"not extracted")
    out = convert_files.onet_text_release({archive.name: archive}, tmp_path)
    assert out["onet/Task Ratings.txt"] == ratings
    assert out["onet/DWA Reference.txt"] == (fixture / "DWA Reference.txt").read_bytes()
    assert "onet/Abilities.txt" not in out
    assert set(out) == {f"onet/{p.name}" for p in fixture.iterdir()} | {"onet/Task Ratings.txt"}


def test_a_zip_without_the_tables_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "db_30_1_text.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("db_30_1_text/Read Me.txt", b"O*NET 30.1 Database")
    with pytest.raises(DataError, match="not an O\\*NET text release"):
        convert_files.onet_text_release({archive.name: archive}, tmp_path)
    fixture = Path(__file__).resolve().parent / "fixtures" / "onet_mini"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(fixture.iterdir()):
            data = path.read_bytes()
            if path.name == "Tasks to DWAs.txt":
                data = data.replace(b"4.A.1.a.1.I01.D02", b"4.A.9.z.9.I99.D99", 1)
            zipped.writestr(f"db_30_1_text/{path.name}", data)
    with pytest.raises(DataError, match=r"DWA ID.*not in"):
        convert_files.onet_text_release({archive.name: archive}, tmp_path)
    archive.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot open the zip file"):
        convert_files.onet_text_release({archive.name: archive}, tmp_path)


def test_renaming_converters_copy_bytes(tmp_path: Path) -> None:
    original = tmp_path / "Gmyrek_Berg_Bescond - ISCO 4digit scores.csv"
    original.write_bytes(b"isco,Title\r\n110,Officers\r\n")
    out = convert_files.copy_ilo_2023({original.name: original}, tmp_path)
    assert out == {
        "exposure/ilo_gmyrek/gmyrek_berg_bescond_2023_isco4digit.csv": original.read_bytes()
    }


# ------------------------------------------------------------- the real originals, by hand once


def shared_originals(data_dir: Path, names: dict[str, str]) -> dict[str, Path]:
    files = {name: data_dir / relative for name, relative in names.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        pytest.skip(f"original not in the data folder: {missing[0]}")
    return files


REAL_CASES = {
    "felten-aioe": {"AIOE_DataAppendix.xlsx": "exposure/felten_aioe/AIOE_DataAppendix.xlsx"},
    "felten-lm-aioe": {
        name: f"exposure/felten_aioe/{name}"
        for name in ("Language Modeling AIOE and AIIE.xlsx", "Image Generation AIOE and AIIE.xlsx")
    },
    # The shared folder keeps these originals under other names.
    "crosswalks": {
        "isco_soc_crosswalk.xls": "crosswalks/bls_isco08_soc2010_crosswalk.xls",
        "soc_2010_to_2018_crosswalk.xlsx": "crosswalks/bls_soc2010_soc2018_crosswalk.xlsx",
        "2010_to_2019_soc_crosswalk.csv": "crosswalks/onetsoc2010_to_onetsoc2019.csv",
    },
    "ilo-2025": {
        "Final_Scores_ISCO08_Gmyrek_et_al_2025.xlsx": (
            "exposure/ilo_gmyrek/Final_Scores_ISCO08_Gmyrek_et_al_2025.xlsx"
        )
    },
}


@pytest.mark.parametrize(
    "name",
    [
        "felten-aioe",
        "felten-lm-aioe",
        "crosswalks",
        pytest.param("ilo-2025", marks=pytest.mark.slow),
    ],
)
def test_real_originals_reproduce_the_converted_tables(data_dir: Path, name: str) -> None:
    source = get_source(name)
    assert source.converter is not None
    files = shared_originals(data_dir, REAL_CASES[name])
    out = CONVERTERS[source.converter](files, data_dir)
    assert set(out) == set(source.outputs)
    for relative, data in out.items():
        assert data == (data_dir / relative).read_bytes(), relative
