"""Tests of dwa_rater.catalog against the real O*NET 30.1 release, a zip of it, a tiny fixture
(tests/fixtures/onet_mini: rows picked unchanged from 30.1) and broken files made in tmp_path."""

from __future__ import annotations

import csv
import shutil
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datadir import DATA_DIR
from dwa_rater.catalog import (
    MAX_STATEMENT_CHARS,
    OnetTables,
    dwa_items,
    example_occupations,
    load_items,
    load_onet,
    select_items,
    task_items,
)
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.schemas import Item

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "onet_mini"
REAL_ONET = DATA_DIR / "onet"

TABLE_FILES = (
    "DWA Reference.txt",
    "IWA Reference.txt",
    "Content Model Reference.txt",
    "Task Statements.txt",
    "Tasks to DWAs.txt",
    "Occupation Data.txt",
)
UNLINKED_DWAS = {
    "4.A.2.b.6.I02.D06",
    "4.A.3.a.2.I35.D06",
    "4.A.3.a.2.I46.D12",
    "4.A.3.b.4.I06.D06",
}


@pytest.fixture(scope="module")
def real_onet() -> Path:
    if not (REAL_ONET / "DWA Reference.txt").is_file():
        pytest.skip(f"reference data not found at {REAL_ONET} (set DWA_RATER_DATA_DIR)")
    return REAL_ONET


@pytest.fixture(scope="module")
def real_tables(real_onet: Path) -> OnetTables:
    return load_onet(real_onet)


@pytest.fixture
def onet_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny fixture, to break one file at a time."""
    target = tmp_path / "onet"
    shutil.copytree(FIXTURE, target)
    return target


def replace_in(path: Path, old: bytes, new: bytes) -> None:
    raw = path.read_bytes()
    assert old in raw, f"{old!r} not in {path.name}"
    path.write_bytes(raw.replace(old, new, 1))


def load_error(source: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_onet(source)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- the real 30.1 release -------------------------------------------------------------------


def test_real_release_counts(real_tables: OnetTables) -> None:
    tables = real_tables
    assert tables.version == "30.1"
    assert len(tables.dwas) == 2087
    assert tables.dwas["dwa_id"].is_unique
    assert tables.dwas["iwa_id"].nunique() == 332
    assert tables.dwas["gwa_id"].nunique() == 37
    assert tables.dwas["gwa_title"].nunique() == 37
    assert len(tables.tasks) == 18796
    assert len(tables.task_dwas) == 23850
    assert len(tables.occupations) == 1016
    assert tables.tasks["onetsoc_code"].nunique() == 923
    assert tables.tasks["task_type"].value_counts().to_dict() == {
        "Core": 13643,
        "Supplemental": 4308,
        "n/a": 845,
    }
    assert set(tables.dwas["dwa_id"]) - set(tables.task_dwas["dwa_id"]) == UNLINKED_DWAS
    assert list(tables.dwas.columns) == [
        "dwa_id",
        "dwa_title",
        "iwa_id",
        "iwa_title",
        "gwa_id",
        "gwa_title",
    ]
    assert list(tables.tasks.columns) == ["onetsoc_code", "task_id", "task", "task_type"]
    assert list(tables.task_dwas.columns) == ["onetsoc_code", "task_id", "dwa_id"]
    assert list(tables.occupations.columns) == ["onetsoc_code", "title", "description"]
    for frame in (tables.dwas, tables.tasks, tables.task_dwas, tables.occupations):
        assert not frame.isna().any().any()
        for column in frame.columns:
            values = frame[column]
            assert (values == values.str.strip()).all(), column


def test_real_release_known_rows(real_tables: OnetTables) -> None:
    first = real_tables.dwas.iloc[0].to_dict()
    assert first == {
        "dwa_id": "4.A.1.a.1.I01.D01",
        "dwa_title": "Review art or design materials.",
        "iwa_id": "4.A.1.a.1.I01",
        "iwa_title": "Study details of artistic productions.",
        "gwa_id": "4.A.1.a.1",
        "gwa_title": "Getting Information",
    }
    task = real_tables.tasks.set_index("task_id").loc["8823"]
    assert task["onetsoc_code"] == "11-1011.00"
    assert task["task_type"] == "Core"


def test_real_zip_matches_folder(real_onet: Path, real_tables: OnetTables, tmp_path: Path) -> None:
    archive = tmp_path / "db_30_1_text.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("db_30_1_text/", "")
        for path in sorted(real_onet.glob("*.txt")):
            zipped.write(path, f"db_30_1_text/{path.name}")
    from_zip = load_onet(archive)
    assert from_zip.version == real_tables.version
    for field in ("dwas", "tasks", "task_dwas", "occupations"):
        pd.testing.assert_frame_equal(getattr(from_zip, field), getattr(real_tables, field))


def test_real_items(real_tables: OnetTables) -> None:
    dwas = dwa_items(real_tables)
    assert len(dwas) == 2087
    assert dwas[0] == Item(
        item_id="4.A.1.a.1.I01.D01",
        item_type="dwa",
        text="Review art or design materials.",
        context="IWA: Study details of artistic productions.; GWA: Getting Information",
    )
    tasks = task_items(real_tables)
    assert len(tasks) == 18796
    assert len({item.item_id for item in tasks}) == 18796
    assert tasks[0].item_id == "8823"
    assert tasks[0].item_type == "task"
    assert tasks[0].context == "Occupation: Chief Executives"


def test_real_example_occupations_match_plain_count(
    real_onet: Path, real_tables: OnetTables
) -> None:
    """Recount occupations per DWA straight from the text files with the csv module."""

    def rows(name: str) -> list[dict[str, str]]:
        with (real_onet / name).open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))

    titles = {row["O*NET-SOC Code"]: row["Title"] for row in rows("Occupation Data.txt")}
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows("Tasks to DWAs.txt"):
        counts[row["DWA ID"]][titles[row["O*NET-SOC Code"]]] += 1
    dwa_ids = [*list(real_tables.dwas["dwa_id"][::40]), *sorted(UNLINKED_DWAS)]
    expected = {
        dwa_id: [t for t, _ in sorted(counts[dwa_id].items(), key=lambda kv: (-kv[1], kv[0]))][:3]
        for dwa_id in dwa_ids
    }
    assert example_occupations(real_tables, dwa_ids) == expected
    assert all(expected[d] == [] for d in UNLINKED_DWAS)


# --- the tiny fixture --------------------------------------------------------------------------


def test_fixture_tables() -> None:
    tables = load_onet(FIXTURE)
    assert tables.version == "30.1"
    assert list(tables.dwas["dwa_id"]) == [
        "4.A.1.a.1.I01.D01",
        "4.A.1.a.1.I01.D02",
        "4.A.2.b.1.I11.D01",
        "4.A.2.b.6.I02.D06",
        "4.A.3.a.3.I05.D06",
    ]
    row = tables.dwas.set_index("dwa_id").loc["4.A.3.a.3.I05.D06"]
    assert row["iwa_title"] == "Operate audiovisual or related equipment."
    assert row["gwa_title"] == "Controlling Machines and Processes"
    assert tables.tasks.set_index("task_id")["task_type"].to_dict() == {
        "22546": "Core",
        "22572": "n/a",
        "22582": "Core",
        "22585": "Core",
        "3997": "Core",
        "3999": "Supplemental",
    }
    assert len(tables.task_dwas) == 7
    assert tables.occupations["title"].tolist() == [
        "Music Directors and Composers",
        "Musicians and Singers",
        "Audio and Video Technicians",
    ]


def test_fixture_items() -> None:
    tables = load_onet(FIXTURE)
    assert dwa_items(tables)[3] == Item(
        item_id="4.A.2.b.6.I02.D06",
        item_type="dwa",
        text="Plan trapping or hunting activities.",
        context="IWA: Plan work activities.; GWA: Organizing, Planning, and Prioritizing Work",
    )
    tasks = {item.item_id: item for item in task_items(tables)}
    assert tasks["22572"] == Item(
        item_id="22572",
        item_type="task",
        text="Produce recordings of music.",
        context="Occupation: Music Directors and Composers",
    )


def test_fixture_example_occupations() -> None:
    tables = load_onet(FIXTURE)
    result = example_occupations(
        tables, ["4.A.3.a.3.I05.D06", "4.A.1.a.1.I01.D02", "4.A.1.a.1.I01.D01"]
    )
    # Key order follows the request; D02 is linked to 2 tasks of Musicians and Singers and to
    # 1 task of each other occupation (tie broken by title).
    assert list(result) == ["4.A.3.a.3.I05.D06", "4.A.1.a.1.I01.D02", "4.A.1.a.1.I01.D01"]
    assert result["4.A.1.a.1.I01.D02"] == [
        "Musicians and Singers",
        "Audio and Video Technicians",
        "Music Directors and Composers",
    ]
    assert result["4.A.3.a.3.I05.D06"] == [
        "Audio and Video Technicians",
        "Music Directors and Composers",
    ]
    assert result["4.A.1.a.1.I01.D01"] == []
    assert example_occupations(tables, ["4.A.1.a.1.I01.D02"], n=1) == {
        "4.A.1.a.1.I01.D02": ["Musicians and Singers"]
    }
    with pytest.raises(DataError, match=r"4\.A\.9"):
        example_occupations(tables, ["4.A.9.z.9.I99.D99"])


def test_unzipped_download_folder_is_found(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "db_30_1_text")
    assert len(load_onet(tmp_path).dwas) == 5


def test_fixture_zip_at_root_and_without_readme(tmp_path: Path) -> None:
    archive = tmp_path / "flat.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in TABLE_FILES:
            zipped.write(FIXTURE / name, name)
    tables = load_onet(archive)
    assert tables.version == "unknown"
    pd.testing.assert_frame_equal(tables.dwas, load_onet(FIXTURE).dwas)


def test_whitespace_and_line_endings_are_normalised(onet_copy: Path) -> None:
    dwa_file = onet_copy / "DWA Reference.txt"
    replace_in(
        dwa_file,
        b"4.A.1.a.1.I01.D01\tReview art or design materials.\r\n",
        b" 4.A.1.a.1.I01.D01 \tReview art or design materials.  \r\r\n",
    )
    links = onet_copy / "Tasks to DWAs.txt"
    links.write_bytes(links.read_bytes().replace(b"\r\n", b"\n"))  # LF-only file
    tables = load_onet(onet_copy)
    row = tables.dwas.iloc[0]
    assert row["dwa_id"] == "4.A.1.a.1.I01.D01"
    assert row["dwa_title"] == "Review art or design materials."
    assert len(tables.task_dwas) == 7
    assert tables.task_dwas["dwa_id"].str.endswith(("D02", "D06", "D01")).all()


def test_cp1252_and_bom_onet_files_are_accepted(onet_copy: Path) -> None:
    replace_in(
        onet_copy / "DWA Reference.txt",
        b"Review art or design materials.",
        "Review art or design matériel.".encode("cp1252"),
    )
    occupations = onet_copy / "Occupation Data.txt"
    occupations.write_bytes(b"\xef\xbb\xbf" + occupations.read_bytes())
    tables = load_onet(onet_copy)
    assert tables.dwas["dwa_title"].iloc[0] == "Review art or design matériel."
    assert len(tables.occupations) == 3


# --- broken O*NET input ------------------------------------------------------------------------


def test_missing_source(tmp_path: Path) -> None:
    assert "does not exist" in load_error(tmp_path / "nowhere")


def test_source_that_is_neither_folder_nor_zip(tmp_path: Path) -> None:
    bogus = tmp_path / "db_30_1_text.zip"
    bogus.write_bytes(b"not a zip at all")
    assert "neither a folder nor a zip" in load_error(bogus)


@pytest.mark.parametrize("file_name", TABLE_FILES)
def test_missing_table_file(onet_copy: Path, file_name: str) -> None:
    (onet_copy / file_name).unlink()
    message = load_error(onet_copy)
    assert file_name in message
    assert "missing" in message
    assert "O*NET Resource Center" in message
    assert "'text' format" in message


def test_missing_table_in_zip(tmp_path: Path) -> None:
    archive = tmp_path / "db_30_1_text.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in TABLE_FILES:
            if name != "Tasks to DWAs.txt":
                zipped.write(FIXTURE / name, f"db_30_1_text/{name}")
    assert "Tasks to DWAs.txt" in load_error(archive)


def test_zip_without_onet_tables(tmp_path: Path) -> None:
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("db_30_1_text/notes.txt", "hello")
    message = load_error(archive)
    assert "no O*NET tables" in message
    assert "other.zip" in message


def test_missing_column(onet_copy: Path) -> None:
    replace_in(onet_copy / "DWA Reference.txt", b"\tDWA Title\r\n", b"\tTitle\r\n")
    message = load_error(onet_copy)
    assert "DWA Reference.txt" in message
    assert "'DWA Title'" in message


def test_header_only_table(onet_copy: Path) -> None:
    (onet_copy / "Task Statements.txt").write_bytes(
        b"O*NET-SOC Code\tTask ID\tTask\tTask Type\tIncumbents Responding\tDate\tDomain Source\r\n"
    )
    message = load_error(onet_copy)
    assert "Task Statements.txt" in message
    assert "no data rows" in message


def test_zero_byte_table(onet_copy: Path) -> None:
    (onet_copy / "Occupation Data.txt").write_bytes(b"")
    message = load_error(onet_copy)
    assert "Occupation Data.txt" in message
    assert "empty" in message


def test_extra_field_in_row(onet_copy: Path) -> None:
    replace_in(
        onet_copy / "IWA Reference.txt",
        b"Plan work activities.\r\n",
        b"Plan work activities.\tstray\r\n",
    )
    assert "IWA Reference.txt" in load_error(onet_copy)


def test_duplicate_dwa_id(onet_copy: Path) -> None:
    replace_in(onet_copy / "DWA Reference.txt", b"I01.D02\t", b"I01.D01\t")
    message = load_error(onet_copy)
    assert "DWA Reference.txt" in message
    assert "duplicate DWA ID" in message
    assert "4.A.1.a.1.I01.D01" in message


def test_duplicate_task_id(onet_copy: Path) -> None:
    replace_in(onet_copy / "Task Statements.txt", b"\t22585\t", b"\t22582\t")
    message = load_error(onet_copy)
    assert "Task Statements.txt" in message
    assert "duplicate Task ID" in message
    assert "22582" in message


def test_empty_dwa_title(onet_copy: Path) -> None:
    replace_in(onet_copy / "DWA Reference.txt", b"Edit audio or video recordings.", b"   ")
    message = load_error(onet_copy)
    assert "DWA Reference.txt" in message
    assert "empty DWA title" in message
    assert "4.A.2.b.1.I11.D01" in message


def test_empty_task_statement(onet_copy: Path) -> None:
    replace_in(onet_copy / "Task Statements.txt", b"Produce recordings of music.", b"")
    message = load_error(onet_copy)
    assert "Task Statements.txt" in message
    assert "empty task statement" in message
    assert "22572" in message


def test_huge_task_statement(onet_copy: Path) -> None:
    path = onet_copy / "Task Statements.txt"
    original = path.read_bytes()
    replace_in(path, b"Produce recordings of music.", b"x" * MAX_STATEMENT_CHARS)
    assert len(load_onet(onet_copy).tasks) == 6  # exactly at the limit is fine
    path.write_bytes(original)
    replace_in(path, b"Produce recordings of music.", b"x" * (MAX_STATEMENT_CHARS + 1))
    message = load_error(onet_copy)
    assert "Task Statements.txt" in message
    assert "22572" in message
    assert "2,001 characters" in message


def test_undecodable_onet_file(onet_copy: Path) -> None:
    # 0x81 is undefined in Windows-1252 and invalid as a UTF-8 start byte.
    replace_in(onet_copy / "IWA Reference.txt", b"Plan work", b"Plan \x81work")
    message = load_error(onet_copy)
    assert "IWA Reference.txt" in message
    assert "not UTF-8" in message


def test_link_to_unknown_dwa(onet_copy: Path) -> None:
    replace_in(
        onet_copy / "Tasks to DWAs.txt", b"3997\t4.A.2.b.1.I11.D01", b"3997\t4.A.2.b.1.I11.D77"
    )
    message = load_error(onet_copy)
    assert "Tasks to DWAs.txt" in message
    assert "DWA Reference.txt" in message
    assert "4.A.2.b.1.I11.D77" in message


def test_link_to_unknown_task(onet_copy: Path) -> None:
    replace_in(onet_copy / "Tasks to DWAs.txt", b"\t3999\t", b"\t3998\t")
    message = load_error(onet_copy)
    assert "Tasks to DWAs.txt" in message
    assert "'3998'" in message


def test_dwa_with_unknown_iwa(onet_copy: Path) -> None:
    replace_in(onet_copy / "IWA Reference.txt", b"4.A.2.b.6.I02\t", b"4.A.2.b.6.I03\t")
    message = load_error(onet_copy)
    assert "DWA Reference.txt" in message
    assert "4.A.2.b.6.I02" in message


# --- user items -------------------------------------------------------------------------------

CHINESE_ROWS = [
    ("cn-1", "负责数据清洗与分析，撰写周报", "职位：数据分析师"),
    ("cn-2", "与客户沟通需求，维护客户关系", ""),
]


def test_chinese_csv_items(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text(
        "id,text,context\n" + "".join(f'{i},"{t}",{c}\n' for i, t, c in CHINESE_ROWS),
        encoding="utf-8",
    )
    items = load_items(path)
    assert items == [
        Item(item_id=i, item_type="custom", text=t, context=c) for i, t, c in CHINESE_ROWS
    ]


def test_excel_style_bom_csv_without_context(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes("item_id,text\r\n 7 , 撰写周报 \r\n".encode("utf-8-sig"))
    assert load_items(path, item_type="task") == [
        Item(item_id="7", item_type="task", text="撰写周报", context="")
    ]


def test_chinese_parquet_items(tmp_path: Path) -> None:
    path = tmp_path / "items.parquet"
    pd.DataFrame(
        {
            "item_id": [i for i, _, _ in CHINESE_ROWS],
            "text": [t for _, t, _ in CHINESE_ROWS],
            "context": [c or None for _, _, c in CHINESE_ROWS],
        }
    ).to_parquet(path)
    items = load_items(path)
    assert [(i.item_id, i.text, i.context) for i in items] == CHINESE_ROWS


def test_parquet_integer_ids(tmp_path: Path) -> None:
    path = tmp_path / "items.parquet"
    pd.DataFrame({"id": [10, 2], "text": ["a", "b"]}).to_parquet(path)
    assert [item.item_id for item in load_items(path)] == ["10", "2"]


def test_non_utf8_items_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("id,text\n1,负责数据清洗\n".encode("gb18030"))
    with pytest.raises(DataError) as caught:
        load_items(path)
    message = str(caught.value)
    assert "gbk.csv" in message
    assert "not UTF-8" in message
    assert "re-encode" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "empty"),
        ("id,text\n", "no data rows"),
        ("id,context\n1,x\n", "text"),
        ("text,context\nabc,x\n", "id (or item_id)"),
        ("id,text\n1,a\n1,b\n", "duplicate item id"),
        ("id,text\n1,a\n2,  \n", "empty text for ID '2'"),
        ("id,text\n1,a\n,b\n", "empty ID"),
        (f"id,text\n1,{'y' * (MAX_STATEMENT_CHARS + 1)}\n", "2,001 characters"),
    ],
)
def test_bad_items_file(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "items.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_items(path)
    assert expected in str(caught.value)
    assert "items.csv" in str(caught.value)


def test_items_file_missing_or_unsupported(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_items(tmp_path / "absent.csv")
    xlsx = tmp_path / "items.xlsx"
    xlsx.write_bytes(b"PK")
    with pytest.raises(DataError, match="unsupported"):
        load_items(xlsx)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(DataError, match=r"broken\.parquet"):
        load_items(broken)


def test_items_unknown_type(tmp_path: Path) -> None:
    path = tmp_path / "items.csv"
    path.write_text("id,text\n1,a\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="posting"):
        load_items(path, item_type="posting")


# --- selection --------------------------------------------------------------------------------

CATALOGUE = [Item(item_id=f"i{n:03d}", item_type="custom", text=f"text {n}") for n in range(200)]


def ids_of(items: list[Item]) -> list[str]:
    return [item.item_id for item in items]


def test_select_by_ids_keeps_given_order() -> None:
    chosen = select_items(CATALOGUE, ids=["i150", "i003", "i150", "i042"])
    assert ids_of(chosen) == ["i150", "i003", "i042"]
    with pytest.raises(DataError, match="'nope'"):
        select_items(CATALOGUE, ids=["i001", "nope"])


def test_select_sample_is_seeded_and_in_catalogue_order() -> None:
    first = select_items(CATALOGUE, sample=20, seed=7)
    assert ids_of(first) == ids_of(select_items(CATALOGUE, sample=20, seed=7))
    expected = np.sort(np.random.default_rng(7).choice(200, size=20, replace=False))
    assert ids_of(first) == [f"i{n:03d}" for n in expected]
    assert ids_of(first) == sorted(ids_of(first))
    assert ids_of(first) != ids_of(select_items(CATALOGUE, sample=20, seed=8))
    assert select_items(CATALOGUE, sample=500) == CATALOGUE


def test_select_limit_applies_last() -> None:
    assert ids_of(select_items(CATALOGUE, limit=3)) == ["i000", "i001", "i002"]
    sampled = select_items(CATALOGUE, sample=20, seed=1)
    assert select_items(CATALOGUE, sample=20, seed=1, limit=5) == sampled[:5]
    wanted = ["i199", "i005", "i100", "i050", "i020", "i010"]
    both = select_items(CATALOGUE, ids=wanted, sample=4, seed=3, limit=3)
    assert len(both) == 3
    positions = [wanted.index(i) for i in ids_of(both)]
    assert positions == sorted(positions)  # the ids order survives sampling
    assert select_items(CATALOGUE, limit=0) == []
    with pytest.raises(ConfigError):
        select_items(CATALOGUE, limit=-1)
    with pytest.raises(ConfigError):
        select_items(CATALOGUE, sample=-2)
