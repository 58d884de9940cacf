"""Converters from publishers' workbooks and Stata files to the CSV tables the tool reads.

Each converter takes the publisher's files (``{file name: path}``) and the data directory and
returns ``{path relative to the data directory: CSV bytes}``. Values are kept as the publisher
wrote them: columns are renamed to snake_case, banner rows above the header are dropped, codes
stay strings as written (the ILO task table alone zero-pads its ISCO-08 codes to 4 characters),
numbers are written with Python's shortest round-trip representation, typed per column as a
spreadsheet reader types them (:func:`column_text`). CSVs are UTF-8 with ``\\n`` line endings.

Reading ``.xlsx`` needs ``openpyxl`` and ``.xls`` needs ``xlrd`` (the ``data`` extra).
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dwa_rater.data.convert_files import original
from dwa_rater.errors import ConfigError, DataError

Row = tuple[Any, ...]


def _require(module: str, suffix: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"reading {suffix} files needs the {module} package: pip install 'dwa_rater[data]'"
        ) from None


def sheet_rows(path: Path, sheet: str | int) -> list[Row]:
    """The cell values of one worksheet (by name, or 0-based position), row by row.

    ``.xlsx`` through openpyxl (cached values, not formulas), ``.xls`` through xlrd. Empty
    cells are None; an integral number stored as a float in an ``.xls`` becomes an int.
    """
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        openpyxl = _require("openpyxl", ".xlsx")
        try:
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as error:  # zipfile, XML and openpyxl's own errors
            raise DataError(f"{path.name}: cannot read as an xlsx workbook ({error})") from error
        try:
            names = workbook.sheetnames
            worksheet = workbook[_sheet_name(path, names, sheet)]
            return [tuple(row) for row in worksheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    if suffix == ".xls":
        xlrd = _require("xlrd", ".xls")
        try:
            book = xlrd.open_workbook(path)
        except Exception as error:  # xlrd.XLRDError and struct errors on a broken file
            raise DataError(f"{path.name}: cannot read as an xls workbook ({error})") from error
        names = book.sheet_names()
        worksheet = book.sheet_by_name(_sheet_name(path, names, sheet))
        return [
            tuple(_xls_value(value) for value in worksheet.row_values(index))
            for index in range(worksheet.nrows)
        ]
    raise DataError(f"{path.name}: not an .xlsx or .xls workbook")


def _sheet_name(path: Path, names: Sequence[str], sheet: str | int) -> str:
    if isinstance(sheet, int):
        if sheet >= len(names):
            raise DataError(f"{path.name}: the workbook has no sheet number {sheet + 1}")
        return names[sheet]
    if sheet not in names:
        raise DataError(
            f"{path.name}: no sheet {sheet!r} (sheets: {', '.join(repr(n) for n in names)})"
        )
    return sheet


def _xls_value(value: Any) -> Any:
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _cell_text(value: Any) -> str:
    """A cell as CSV text: '' for empty, ints without '.0', floats by ``repr``, text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "" if value != value else repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def column_text(values: Sequence[Any]) -> list[str]:
    """One column's cells as text, typed the way a spreadsheet reader would type the column.

    A column whose non-empty cells are all numbers is a float column as soon as one of them is
    a float or a cell is empty (so ``0`` beside ``0.5`` reads ``0.0``, as in ``pandas.read_excel``);
    otherwise every cell keeps its own form (:func:`_cell_text`).
    """
    present = [v for v in values if v is not None and not (isinstance(v, str) and not v.strip())]
    numeric = bool(present) and all(_is_number(v) for v in present)
    if numeric and (len(present) < len(values) or any(isinstance(v, float) for v in present)):
        return ["" if not _is_number(v) else _cell_text(float(v)) for v in values]
    return [_cell_text(v) for v in values]


def header_table(
    rows: Sequence[Row],
    columns: Mapping[str, str] | Sequence[str],
    *,
    label: str,
    first_header: str | None = None,
) -> pd.DataFrame:
    """The table under the header row, with every value as text and columns renamed.

    The header is the first row whose first cell is ``first_header`` (the first row when None).
    ``columns`` maps the publisher's header (stripped) to ours, in output order; a sequence
    keeps the publisher's names. Rows that are entirely empty are dropped.
    """
    start = 0
    if first_header is not None:
        matches = [i for i, row in enumerate(rows) if row and _cell_text(row[0]) == first_header]
        if not matches:
            raise DataError(f"{label}: no header row starting with {first_header!r}")
        start = matches[0]
    if start >= len(rows):
        raise DataError(f"{label}: the sheet is empty")
    header = [_cell_text(value) for value in rows[start]]
    width = len(header)
    body = [
        (list(row) + [None] * width)[:width]
        for row in rows[start + 1 :]
        if any(_cell_text(value) for value in row)
    ]
    frame = pd.DataFrame(
        {index: column_text([row[index] for row in body]) for index in range(width)},
        dtype=object,
    )
    frame.columns = header
    mapping = dict(columns) if isinstance(columns, Mapping) else {c: c for c in columns}
    missing = [name for name in mapping if name not in frame.columns]
    if missing:
        raise DataError(
            f"{label}: missing column(s) {', '.join(repr(m) for m in missing)}; "
            f"found {', '.join(repr(h) for h in header if h)}"
        )
    if frame.empty:
        raise DataError(f"{label}: the table has no data rows")
    return frame[list(mapping)].rename(columns=mapping).reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV with ``\\n`` line endings and no index."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _isco(codes: pd.Series) -> pd.Series:
    return codes.astype(str).str.strip().str.zfill(4)


# --------------------------------------------------------------------------------------------
# Felten, Raj & Seamans


def felten_appendix(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """AIOE by SOC (Appendix A), application-ability matrix (D), ability-level exposure (E)."""
    path = original(files, "AIOE_DataAppendix.xlsx")
    folder = "exposure/felten_aioe"
    aioe = header_table(
        sheet_rows(path, "Appendix A"),
        {"SOC Code": "soc_code", "Occupation Title": "occupation_title", "AIOE": "aioe"},
        label=f"{path.name} Appendix A",
    )
    matrix_rows = sheet_rows(path, "Appendix D")
    matrix_header = [_cell_text(v) for v in matrix_rows[0]] if matrix_rows else []
    applications = [name for name in matrix_header[1:] if name]
    matrix = header_table(
        [("onet_ability", *matrix_rows[0][1:]), *matrix_rows[1:]] if matrix_rows else [],
        ["onet_ability", *applications],
        label=f"{path.name} Appendix D",
    )
    abilities = header_table(
        sheet_rows(path, "Appendix E"),
        {
            "O*NET Abilities": "onet_ability",
            "Ability-Level AI Exposure": "ability_level_ai_exposure",
        },
        label=f"{path.name} Appendix E",
    )
    return {
        f"{folder}/aioe_by_soc.csv": csv_bytes(aioe),
        f"{folder}/ability_level_ai_exposure.csv": csv_bytes(abilities),
        f"{folder}/application_ability_matrix.csv": csv_bytes(matrix),
    }


def felten_generative(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """Language-modelling and image-generation AIOE by SOC (sheets "LM AIOE", "IG AIOE")."""
    out: dict[str, bytes] = {}
    for file_name, sheet, measure, column in (
        ("Language Modeling AIOE and AIIE.xlsx", "LM AIOE", "Language Modeling AIOE", "lm_aioe"),
        ("Image Generation AIOE and AIIE.xlsx", "IG AIOE", "Image Generation AIOE", "ig_aioe"),
    ):
        path = original(files, file_name)
        table = header_table(
            sheet_rows(path, sheet),
            {"SOC Code": "soc_code", "Occupation Title": "occupation_title", measure: column},
            label=f"{path.name} {sheet}",
        )
        out[f"exposure/felten_aioe/{column}_by_soc.csv"] = csv_bytes(table)
    return out


# --------------------------------------------------------------------------------------------
# ILO


def ilo_2025_tasks(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """The task-level 2023 and 2025 scores (first sheet), every column, ISCO_08 zero-padded.

    Cells holding the text ``nan`` (a missing value as the publisher's own export wrote it) are
    left empty.
    """
    path = original(files, "Final_Scores_ISCO08_Gmyrek_et_al_2025.xlsx")
    rows = [
        tuple(None if isinstance(v, str) and v.strip() == "nan" else v for v in row)
        for row in sheet_rows(path, 0)
    ]
    header = [_cell_text(v) for v in rows[0]] if rows else []
    table = header_table(rows, [h for h in header if h], label=path.name)
    if "ISCO_08" not in table.columns:
        raise DataError(f"{path.name}: no ISCO_08 column")
    table["ISCO_08"] = _isco(table["ISCO_08"])
    return {"exposure/ilo_gmyrek/task_scores_isco08_2023_2025.csv": csv_bytes(table)}


# --------------------------------------------------------------------------------------------
# Webb (Stata)


def _read_stata(path: Path) -> pd.DataFrame:
    try:
        # Codes, not value labels: the CSVs keep the numbers Webb stored.
        return pd.read_stata(path, convert_categoricals=False, preserve_dtypes=True)
    except (ValueError, OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path.name}: cannot read as a Stata file ({error})") from error


def _stata_columns(frame: pd.DataFrame, columns: Sequence[str], label: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{label}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}"
        )
    return frame[list(columns)]


def webb_stata(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """Webb's scores by O*NET-SOC 2010 and his O*NET-SOC 2010 to occ1990dd crosswalk, as CSV.

    ``final_df_out.dta``: the ``index`` column (occupation titles) is renamed ``onet_title``.
    ``onet_to_occ1990dd.dta``: Stata's ``_merge`` flag columns are dropped.
    """
    scores_path = original(files, "final_df_out.dta")
    scores = _read_stata(scores_path).rename(columns={"index": "onet_title"})
    scores = _stata_columns(
        scores,
        ["onetsoccode", "onet_title", "agg_pairs", "ai_score", "software_score", "robot_score"],
        scores_path.name,
    )
    links_path = original(files, "onet_to_occ1990dd.dta")
    links = _read_stata(links_path)
    links = _stata_columns(
        links,
        [
            "onetsoccode",
            "onet_name",
            "occ1990dd",
            "occ1990dd_title",
            "ipums_occ2010",
            "acs_occsoc2010",
            "acs_title",
        ],
        links_path.name,
    )
    return {
        "exposure/webb2020/webb_scores_by_onetsoc2010.csv": csv_bytes(scores),
        "exposure/webb2020/onetsoc2010_to_occ1990dd.csv": csv_bytes(links),
    }


# --------------------------------------------------------------------------------------------
# Crosswalks


def bls_isco_soc(path: Path) -> pd.DataFrame:
    """The BLS "ISCO-08 to 2010 SOC" sheet: isco08_code, isco08_title, part, soc2010_code,
    soc2010_title, comment (codes as strings as the BLS wrote them, values stripped)."""
    rows = sheet_rows(path, "ISCO-08 to 2010 SOC")
    header = next((r for r in rows if r and _cell_text(r[0]) == "ISCO-08 Code"), None)
    comment = _cell_text(header[5]) if header is not None and len(header) > 5 else "comment"
    table = header_table(
        rows,
        {
            "ISCO-08 Code": "isco08_code",
            "ISCO-08 Title EN": "isco08_title",
            "part": "part",
            "2010 SOC Code": "soc2010_code",
            "2010 SOC Title": "soc2010_title",
            comment: "comment",
        },
        label=f"{path.name} ISCO-08 to 2010 SOC",
        first_header="ISCO-08 Code",
    )
    return table


def bls_soc_2010_2018(path: Path) -> pd.DataFrame:
    """The BLS 2010-to-2018 SOC crosswalk (first sheet): soc2010_code, soc2010_title,
    soc2018_code, soc2018_title."""
    return header_table(
        sheet_rows(path, 0),
        {
            "2010 SOC Code": "soc2010_code",
            "2010 SOC Title": "soc2010_title",
            "2018 SOC Code": "soc2018_code",
            "2018 SOC Title": "soc2018_title",
        },
        label=f"{path.name} (first sheet)",
        first_header="2010 SOC Code",
    )


def derive_onetsoc2019_to_isco08(
    occupations: pd.DataFrame, soc: pd.DataFrame, isco: pd.DataFrame
) -> pd.DataFrame:
    """O*NET-SOC 2019 to ISCO-08 through SOC 2018 and SOC 2010 (many-to-many, unweighted).

    Chain: O*NET-SOC 2019 code -> SOC 2018 (its first 7 characters) -> SOC 2010 (BLS
    2010-2018 crosswalk) -> ISCO-08 (BLS ISCO-08/SOC 2010 crosswalk). ``occupations`` has
    onetsoc_code and title (O*NET Occupation Data); ``soc`` and ``isco`` are the converted BLS
    tables. Returns onetsoc2019_code, onetsoc_title, soc2018_code, soc2010_code, isco08_code,
    isco08_title, bls_part_flag ("*": the BLS mapping covers part of the occupation) and
    n_isco_candidates (distinct ISCO codes of the O*NET occupation), in the order of
    ``occupations``, then of the BLS tables; occupations the chain does not reach are left out.
    """
    base = pd.DataFrame(
        {
            "onetsoc2019_code": occupations["onetsoc_code"].astype(str).str.strip(),
            "onetsoc_title": occupations["title"].astype(str).str.strip(),
        }
    )
    base["soc2018_code"] = base["onetsoc2019_code"].str[:7]
    chain = base.merge(soc[["soc2010_code", "soc2018_code"]], on="soc2018_code", how="inner")
    chain = chain.merge(
        isco[["soc2010_code", "isco08_code", "isco08_title", "part"]],
        on="soc2010_code",
        how="inner",
    ).rename(columns={"part": "bls_part_flag"})
    chain = chain.drop_duplicates(["onetsoc2019_code", "soc2010_code", "isco08_code"])
    chain["n_isco_candidates"] = chain.groupby("onetsoc2019_code")["isco08_code"].transform(
        "nunique"
    )
    chain = chain.reset_index(drop=True)
    return chain[
        [
            "onetsoc2019_code",
            "onetsoc_title",
            "soc2018_code",
            "soc2010_code",
            "isco08_code",
            "isco08_title",
            "bls_part_flag",
            "n_isco_candidates",
        ]
    ]


def _onet_occupations(dest: Path) -> pd.DataFrame:
    path = dest / "onet" / "Occupation Data.txt"
    if not path.is_file():
        raise DataError(
            f"{path}: missing; the derived ISCO-08 crosswalk needs the O*NET release "
            "(dwa-rater data fetch onet)"
        )
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3)
    if not {"O*NET-SOC Code", "Title"} <= set(frame.columns):
        raise DataError(f"{path}: not O*NET Occupation Data (needs O*NET-SOC Code, Title)")
    return frame.rename(columns={"O*NET-SOC Code": "onetsoc_code", "Title": "title"})


def crosswalks(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """The BLS crosswalks as CSV, O*NET's 2010-2019 crosswalk renamed, and the derived chain."""
    isco = bls_isco_soc(original(files, "isco_soc_crosswalk.xls"))
    soc = bls_soc_2010_2018(original(files, "soc_2010_to_2018_crosswalk.xlsx"))
    derived = derive_onetsoc2019_to_isco08(_onet_occupations(dest), soc, isco)
    return {
        "crosswalks/bls_isco08_soc2010.csv": csv_bytes(isco),
        "crosswalks/bls_soc2010_soc2018.csv": csv_bytes(soc),
        "crosswalks/onetsoc2010_to_onetsoc2019.csv": original(
            files, "2010_to_2019_soc_crosswalk.csv"
        ).read_bytes(),
        "crosswalks/derived_onetsoc2019_to_isco08.csv": csv_bytes(derived),
    }
