"""The catalogue of statements to rate: O*NET DWAs and tasks, or a user's own list.

``load_onet`` reads the O*NET text release (a folder or the official ``db_XX_X_text.zip``) into
canonical tables keyed on O*NET's stable codes (DWA ID, Task ID, O*NET-SOC code) and checks that
they hang together. ``dwa_items``, ``task_items`` and ``load_items`` turn those tables, or a
user's CSV/Parquet file, into ``Item`` records; ``select_items`` picks the subset to rate.

Every function is a pure function of its arguments: nothing is cached between calls.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

import numpy as np
import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.schemas import Item, ItemType

#: Longest statement accepted, in characters. DWA titles are under 150 and O*NET task
#: statements under 600; anything longer is almost surely a parsing accident (a merged row or
#: a whole document in one cell) that would blow up every prompt.
MAX_STATEMENT_CHARS = 2000

#: Where users get the official files, for the "missing table" message.
ONET_DOWNLOAD_HINT = (
    "run `dwa-rater data fetch onet`, or download the 'text' format of the database from the "
    "O*NET Resource Center's database download page (https://www.onetcenter.org/database.html)"
)

README_FILE = "Read Me.txt"

#: The release's task ratings (importance IM, relevance RT, frequency FT per task).
TASK_RATINGS_FILE = "Task Ratings.txt"


@dataclass(frozen=True)
class _TableSpec:
    """One O*NET text file: its name and the columns we read, renamed to ours."""

    file_name: str
    columns: dict[str, str]  # O*NET header -> our column name


_DWA_REFERENCE = _TableSpec(
    "DWA Reference.txt",
    {"Element ID": "gwa_id", "IWA ID": "iwa_id", "DWA ID": "dwa_id", "DWA Title": "dwa_title"},
)
_IWA_REFERENCE = _TableSpec(
    "IWA Reference.txt",
    {"Element ID": "gwa_id", "IWA ID": "iwa_id", "IWA Title": "iwa_title"},
)
_CONTENT_MODEL = _TableSpec(
    "Content Model Reference.txt",
    {"Element ID": "element_id", "Element Name": "element_name"},
)
_TASK_STATEMENTS = _TableSpec(
    "Task Statements.txt",
    {
        "O*NET-SOC Code": "onetsoc_code",
        "Task ID": "task_id",
        "Task": "task",
        "Task Type": "task_type",
    },
)
_TASKS_TO_DWAS = _TableSpec(
    "Tasks to DWAs.txt",
    {"O*NET-SOC Code": "onetsoc_code", "Task ID": "task_id", "DWA ID": "dwa_id"},
)
_OCCUPATION_DATA = _TableSpec(
    "Occupation Data.txt",
    {"O*NET-SOC Code": "onetsoc_code", "Title": "title", "Description": "description"},
)

_TABLES: tuple[_TableSpec, ...] = (
    _DWA_REFERENCE,
    _IWA_REFERENCE,
    _CONTENT_MODEL,
    _TASK_STATEMENTS,
    _TASKS_TO_DWAS,
    _OCCUPATION_DATA,
)
_TABLE_NAMES: frozenset[str] = frozenset(spec.file_name for spec in _TABLES)


@dataclass(frozen=True)
class OnetTables:
    """The O*NET tables the tool needs, with snake_case columns and every value a stripped str.

    - ``dwas``: dwa_id, dwa_title, iwa_id, iwa_title, gwa_id, gwa_title (one row per DWA, in
      the order of ``DWA Reference.txt``; the GWA is the DWA's "Element ID", its title comes
      from ``Content Model Reference.txt``).
    - ``tasks``: onetsoc_code, task_id, task, task_type ("Core", "Supplemental" or "n/a").
    - ``task_dwas``: onetsoc_code, task_id, dwa_id (``Tasks to DWAs.txt``).
    - ``occupations``: onetsoc_code, title, description (``Occupation Data.txt``).
    """

    version: str
    dwas: pd.DataFrame
    tasks: pd.DataFrame
    task_dwas: pd.DataFrame
    occupations: pd.DataFrame


# --------------------------------------------------------------------------------------------
# Reading the release


class _Source:
    """Raw bytes of the release's files, from a folder or a zip, with display names for errors."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self._members: dict[str, str] = {}  # file name -> zip member name
        self._folder: Path | None = None
        if not source.exists():
            raise DataError(f"O*NET source {source} does not exist")
        if source.is_dir():
            self._folder = _release_folder(source)
        elif zipfile.is_zipfile(source):
            self._members = _zip_members(source)
        else:
            raise DataError(
                f"O*NET source {source} is neither a folder nor a zip file; {ONET_DOWNLOAD_HINT}"
            )

    def display_name(self, file_name: str) -> str:
        if self._folder is not None:
            return str(self._folder / file_name)
        return f"{self.source}:{self._members.get(file_name, file_name)}"

    def read(self, file_name: str) -> bytes | None:
        """The file's bytes, or None when the release does not hold it."""
        if self._folder is not None:
            path = self._folder / file_name
            return path.read_bytes() if path.is_file() else None
        member = self._members.get(file_name)
        if member is None:
            return None
        with zipfile.ZipFile(self.source) as archive:
            return archive.read(member)


def _release_folder(folder: Path) -> Path:
    """The folder itself, or its single subfolder holding the tables (an unzipped download)."""
    if any((folder / name).is_file() for name in _TABLE_NAMES):
        return folder
    candidates = [
        child
        for child in sorted(folder.iterdir())
        if child.is_dir() and (child / _DWA_REFERENCE.file_name).is_file()
    ]
    return candidates[0] if len(candidates) == 1 else folder


def _zip_members(source: Path) -> dict[str, str]:
    """Map each O*NET table name to its member in the zip; all must sit in one folder."""
    try:
        with zipfile.ZipFile(source) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{source}: cannot open the zip file ({error})") from error
    by_folder: dict[str, dict[str, str]] = {}
    for name in names:
        path = PurePosixPath(name)
        if name.endswith("/") or "__MACOSX" in path.parts:
            continue
        if path.name in _TABLE_NAMES or path.name in (README_FILE, TASK_RATINGS_FILE):
            by_folder.setdefault(str(path.parent), {})[path.name] = name
    folders = [f for f, files in by_folder.items() if _TABLE_NAMES & files.keys()]
    if not folders:
        raise DataError(
            f"{source}: the zip holds no O*NET tables (no 'DWA Reference.txt' etc.); "
            f"{ONET_DOWNLOAD_HINT}"
        )
    if len(folders) > 1:
        raise DataError(
            f"{source}: O*NET tables found in several folders of the zip ({', '.join(folders)}); "
            "keep one release per zip"
        )
    return by_folder[folders[0]]


def _decode_onet(raw: bytes, name: str) -> str:
    """O*NET text files are ASCII/UTF-8; some older releases are Windows-1252."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DataError(f"{name}: not UTF-8 or Windows-1252 text; re-download the 'text' release")


def _read_table(source: _Source, spec: _TableSpec) -> pd.DataFrame:
    name = source.display_name(spec.file_name)
    raw = source.read(spec.file_name)
    if raw is None:
        raise DataError(f"{name}: table file missing from the O*NET release; {ONET_DOWNLOAD_HINT}")
    text = _decode_onet(raw, name)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep="\t", dtype=str, keep_default_na=False, quoting=3
        )
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{name}: the file is empty") from error
    except pd.errors.ParserError as error:
        raise DataError(f"{name}: not a tab-separated O*NET table ({_one_line(error)})") from error
    return _select_columns(frame, spec.columns, name)


def _select_columns(frame: pd.DataFrame, columns: dict[str, str], name: str) -> pd.DataFrame:
    """Keep and rename the wanted columns, strip every value, refuse an empty table."""
    frame.columns = [str(column).strip() for column in frame.columns]
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(
            f"{name}: missing column(s) {', '.join(repr(c) for c in missing)}; "
            f"found {', '.join(repr(str(c)) for c in frame.columns)}"
        )
    if frame.empty:
        raise DataError(f"{name}: the table has no data rows")
    selected = frame[list(columns)].rename(columns=columns)
    for column in selected.columns:
        # Short rows leave NaN even with keep_default_na=False; CR survives in odd line endings.
        selected[column] = selected[column].fillna("").astype(str).str.strip()
    return selected.reset_index(drop=True)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def _read_version(source: _Source) -> str:
    raw = source.read(README_FILE)
    if raw is None:
        return "unknown"
    match = re.search(r"O\*NET\s+(\d+(?:\.\d+)*)\s+Database", raw.decode("cp1252", "replace"))
    return match.group(1) if match else "unknown"


# --------------------------------------------------------------------------------------------
# Checks


def _check_unique(frame: pd.DataFrame, column: str, label: str, name: str) -> None:
    duplicated = frame[column][frame[column].duplicated()]
    if not duplicated.empty:
        examples = ", ".join(repr(v) for v in duplicated.unique()[:3])
        raise DataError(
            f"{name}: duplicate {label}(s) {examples} ({len(duplicated)} repeated rows)"
        )


def _check_present(frame: pd.DataFrame, column: str, label: str, name: str) -> None:
    empty = frame.index[frame[column] == ""]
    if len(empty):
        raise DataError(
            f"{name}: empty {label} on data row {int(empty[0]) + 1} "
            f"({len(empty)} row(s) with an empty {label})"
        )


def _check_statements(
    frame: pd.DataFrame, id_column: str, text_column: str, label: str, name: str
) -> None:
    """Every statement is present and at most ``MAX_STATEMENT_CHARS`` long."""
    _check_present(frame, id_column, "ID", name)
    empty = frame[frame[text_column] == ""]
    if not empty.empty:
        raise DataError(
            f"{name}: empty {label} for ID {empty[id_column].iloc[0]!r} "
            f"({len(empty)} empty statement(s))"
        )
    lengths = frame[text_column].str.len()
    huge = frame[lengths > MAX_STATEMENT_CHARS]
    if not huge.empty:
        raise DataError(
            f"{name}: {label} for ID {huge[id_column].iloc[0]!r} is "
            f"{int(lengths[huge.index[0]]):,} characters long (limit {MAX_STATEMENT_CHARS:,}); "
            "a row or quote is probably broken"
        )


def _check_known(
    values: pd.Series, known: pd.Series, label: str, name: str, reference: str
) -> None:
    unknown = values[~values.isin(known)]
    if not unknown.empty:
        examples = ", ".join(repr(v) for v in unknown.unique()[:3])
        raise DataError(
            f"{name}: {unknown.nunique()} {label}(s) not in {reference}, e.g. {examples}"
        )


# --------------------------------------------------------------------------------------------
# Public API


def load_onet(source: Path) -> OnetTables:
    """Read and check an O*NET text release: a folder or the official ``db_XX_X_text.zip``.

    Needs ``DWA Reference``, ``IWA Reference``, ``Content Model Reference``, ``Task Statements``,
    ``Tasks to DWAs`` and ``Occupation Data``; the version comes from ``Read Me.txt`` when
    present. Raises ``DataError`` naming the file for a missing or malformed table, duplicate
    IDs, empty or over-long statements, and links to IDs the reference tables do not hold.
    """
    source = Path(source)
    reader = _Source(source)
    frames = {spec.file_name: _read_table(reader, spec) for spec in _TABLES}
    name = reader.display_name

    dwa_ref = frames[_DWA_REFERENCE.file_name]
    iwa_ref = frames[_IWA_REFERENCE.file_name]
    elements = frames[_CONTENT_MODEL.file_name]
    tasks = frames[_TASK_STATEMENTS.file_name]
    task_dwas = frames[_TASKS_TO_DWAS.file_name]
    occupations = frames[_OCCUPATION_DATA.file_name]

    dwa_name = name(_DWA_REFERENCE.file_name)
    _check_statements(dwa_ref, "dwa_id", "dwa_title", "DWA title", dwa_name)
    _check_unique(dwa_ref, "dwa_id", "DWA ID", dwa_name)
    iwa_name = name(_IWA_REFERENCE.file_name)
    _check_statements(iwa_ref, "iwa_id", "iwa_title", "IWA title", iwa_name)
    _check_unique(iwa_ref, "iwa_id", "IWA ID", iwa_name)
    _check_known(dwa_ref["iwa_id"], iwa_ref["iwa_id"], "IWA ID", dwa_name, iwa_name)
    model_name = name(_CONTENT_MODEL.file_name)
    _check_unique(elements, "element_id", "Element ID", model_name)
    _check_known(dwa_ref["gwa_id"], elements["element_id"], "Element ID", dwa_name, model_name)

    task_name = name(_TASK_STATEMENTS.file_name)
    _check_statements(tasks, "task_id", "task", "task statement", task_name)
    _check_unique(tasks, "task_id", "Task ID", task_name)
    tasks["task_type"] = tasks["task_type"].replace("", "n/a")

    occupation_name = name(_OCCUPATION_DATA.file_name)
    _check_present(occupations, "onetsoc_code", "O*NET-SOC Code", occupation_name)
    _check_unique(occupations, "onetsoc_code", "O*NET-SOC Code", occupation_name)
    _check_present(occupations, "title", "Title", occupation_name)
    _check_known(
        tasks["onetsoc_code"],
        occupations["onetsoc_code"],
        "O*NET-SOC Code",
        task_name,
        occupation_name,
    )

    link_name = name(_TASKS_TO_DWAS.file_name)
    _check_known(task_dwas["dwa_id"], dwa_ref["dwa_id"], "DWA ID", link_name, dwa_name)
    _check_known(task_dwas["task_id"], tasks["task_id"], "Task ID", link_name, task_name)

    dwas = dwa_ref.merge(iwa_ref[["iwa_id", "iwa_title"]], on="iwa_id", how="left")
    gwa_titles = elements.set_index("element_id")["element_name"]
    dwas["gwa_title"] = dwas["gwa_id"].map(gwa_titles)
    dwas = dwas[["dwa_id", "dwa_title", "iwa_id", "iwa_title", "gwa_id", "gwa_title"]]

    return OnetTables(
        version=_read_version(reader),
        dwas=dwas.reset_index(drop=True),
        tasks=tasks[["onetsoc_code", "task_id", "task", "task_type"]].reset_index(drop=True),
        task_dwas=task_dwas[["onetsoc_code", "task_id", "dwa_id"]].reset_index(drop=True),
        occupations=occupations[["onetsoc_code", "title", "description"]].reset_index(drop=True),
    )


_TASK_RATINGS = _TableSpec(
    TASK_RATINGS_FILE,
    {
        "O*NET-SOC Code": "onetsoc_code",
        "Task ID": "task_id",
        "Scale ID": "scale_id",
        "Category": "category",
        "Data Value": "data_value",
    },
)


def load_task_ratings(source: Path) -> pd.DataFrame | None:
    """The release's ``Task Ratings.txt`` (folder or official zip), or None when it has none.

    Returns onetsoc_code, task_id, scale_id (``IM`` importance 1-5, ``RT`` relevance 0-100,
    ``FT`` frequency category shares), category (``n/a`` except for FT) and data_value (float),
    one row per rating as O*NET publishes it. Raises ``DataError`` for a malformed file.
    """
    reader = _Source(Path(source))
    if reader.read(TASK_RATINGS_FILE) is None:
        return None
    frame = _read_table(reader, _TASK_RATINGS)
    frame["data_value"] = pd.to_numeric(frame["data_value"], errors="coerce")
    return frame


def dwa_items(tables: OnetTables) -> list[Item]:
    """One ``Item`` per DWA, in ``DWA Reference`` order; context names its IWA and GWA."""
    frame = tables.dwas
    return [
        Item(
            item_id=dwa_id,
            item_type="dwa",
            text=title,
            context=f"IWA: {iwa_title}; GWA: {gwa_title}",
        )
        for dwa_id, title, iwa_title, gwa_title in zip(
            frame["dwa_id"],
            frame["dwa_title"],
            frame["iwa_title"],
            frame["gwa_title"],
            strict=True,
        )
    ]


def task_items(tables: OnetTables) -> list[Item]:
    """One ``Item`` per O*NET task, in ``Task Statements`` order; context names the occupation."""
    titles = tables.occupations.set_index("onetsoc_code")["title"]
    frame = tables.tasks
    occupation_titles = frame["onetsoc_code"].map(titles).fillna("")
    return [
        Item(item_id=task_id, item_type="task", text=task, context=f"Occupation: {title}")
        for task_id, task, title in zip(
            frame["task_id"], frame["task"], occupation_titles, strict=True
        )
    ]


_ITEM_TYPES = ("dwa", "task", "custom")


def load_items(path: Path, item_type: str = "custom") -> list[Item]:
    """Read a user's statements from CSV (UTF-8), TSV or Parquet.

    Columns: ``id`` (or ``item_id``; ``item_id`` wins when both are present), ``text``, and
    optionally ``context``. Any language works (e.g. Chinese duty lines). Raises ``DataError``
    for unreadable or non-UTF-8 files, missing columns, no rows, empty/duplicate ids and
    empty or over-long texts.
    """
    if item_type not in _ITEM_TYPES:
        raise ConfigError(f"item type {item_type!r} is not one of {', '.join(_ITEM_TYPES)}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"items file {path} does not exist")
    return items_from_frame(_read_user_table(path), item_type, source=str(path))


def items_from_frame(
    frame: pd.DataFrame, item_type: str = "custom", *, source: str = "items"
) -> list[Item]:
    """Items from a table with ``id`` (or ``item_id``), ``text`` and optionally ``context``
    (values taken as text); the checks of :func:`load_items` apply, ``source`` names the table
    in messages. Example: ``items_from_frame(pd.DataFrame({"id": ["a"], "text": ["Lift."]}))``.
    """
    if item_type not in _ITEM_TYPES:
        raise ConfigError(f"item type {item_type!r} is not one of {', '.join(_ITEM_TYPES)}")
    frame = frame.set_axis([str(column).strip() for column in frame.columns], axis=1)
    if frame.columns.duplicated().any():
        raise DataError(f"{source}: duplicate column names")
    frame = frame.apply(_as_text) if len(frame.columns) else frame
    id_column = "item_id" if "item_id" in frame.columns else "id"
    wanted = {id_column: "item_id", "text": "text"}
    if "context" in frame.columns:
        wanted["context"] = "context"
    if id_column not in frame.columns:
        missing = ["id (or item_id)"]
        if "text" not in frame.columns:
            missing.append("text")
        raise DataError(
            f"{source}: missing column(s) {', '.join(missing)}; "
            f"found {', '.join(repr(c) for c in frame.columns)}"
        )
    items = _select_columns(frame, wanted, source)
    _check_statements(items, "item_id", "text", "text", source)
    _check_unique(items, "item_id", "item id", source)
    checked_type = cast(ItemType, item_type)  # validated against _ITEM_TYPES above
    contexts = items["context"] if "context" in items.columns else [""] * len(items)
    return [
        Item(item_id=item_id, item_type=checked_type, text=text, context=context)
        for item_id, text, context in zip(items["item_id"], items["text"], contexts, strict=True)
    ]


def _read_user_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except Exception as error:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"{path}: cannot read as Parquet ({_one_line(error)})") from error
        return frame.apply(_as_text)
    if suffix not in (".csv", ".tsv", ".txt"):
        raise DataError(
            f"{path}: unsupported items file type {suffix!r}; use .csv, .tsv or .parquet"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path}: not UTF-8 (undecodable byte at offset {error.start}); re-encode it as "
            "UTF-8, e.g. `iconv -f GB18030 -t UTF-8` for Chinese files saved by Excel"
        ) from error
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep="\t" if suffix == ".tsv" else ",",
            dtype=str,
            keep_default_na=False,
        )
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{path}: the file is empty") from error
    except pd.errors.ParserError as error:
        raise DataError(f"{path}: cannot parse as CSV ({_one_line(error)})") from error


def _as_text(column: pd.Series) -> pd.Series:
    """A Parquet column as strings; integral floats print without '.0', nulls become ''."""
    if pd.api.types.is_float_dtype(column):
        values = column.dropna()
        if bool((values == values.round()).all()):
            column = column.astype("Int64")
    return column.astype("string").fillna("").astype(str)


def select_items(
    items: Sequence[Item],
    *,
    ids: Sequence[str] | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> list[Item]:
    """Pick the items to rate, applying ``ids``, then ``sample``, then ``limit``.

    - ``ids``: exactly these items, in the given order (repeats dropped); an unknown id is a
      ``DataError``.
    - ``sample``: a random subset of that size drawn with ``numpy.random.default_rng(seed)``,
      kept in the order of the list it was drawn from (catalogue order, or the ``ids`` order);
      the same items, seed and size always give the same subset.
    - ``limit``: the first ``limit`` items of what remains.
    """
    for option, value in (("limit", limit), ("sample", sample)):
        if value is not None and value < 0:
            raise ConfigError(f"--{option} must be 0 or more, got {value}")
    selected = list(items)
    if ids is not None:
        by_id: dict[str, Item] = {}
        for item in selected:
            if item.item_id in by_id:
                raise DataError(f"item id {item.item_id!r} appears more than once in the catalogue")
            by_id[item.item_id] = item
        wanted = list(dict.fromkeys(str(i).strip() for i in ids))
        unknown = [i for i in wanted if i not in by_id]
        if unknown:
            examples = ", ".join(repr(i) for i in unknown[:5])
            raise DataError(f"{len(unknown)} unknown item id(s): {examples}")
        selected = [by_id[i] for i in wanted]
    if sample is not None and sample < len(selected):
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(len(selected), size=sample, replace=False))
        selected = [selected[int(i)] for i in chosen]
    if limit is not None:
        selected = selected[:limit]
    return selected


def example_occupations(
    tables: OnetTables, dwa_ids: Sequence[str], n: int = 3
) -> dict[str, list[str]]:
    """Up to ``n`` occupation titles per DWA, for showing a rater where an activity occurs.

    Occupations are ranked by how many of their tasks link to the DWA (``Tasks to DWAs``), most
    first, ties broken by title. A DWA with no linked task gets an empty list; an id not in
    ``tables.dwas`` is a ``DataError``. Keys follow the order of ``dwa_ids``.
    """
    if n < 0:
        raise ConfigError(f"number of example occupations must be 0 or more, got {n}")
    wanted = list(dict.fromkeys(dwa_ids))
    known = set(tables.dwas["dwa_id"])
    unknown = [i for i in wanted if i not in known]
    if unknown:
        examples = ", ".join(repr(i) for i in unknown[:5])
        raise DataError(f"{len(unknown)} DWA id(s) not in the O*NET DWA Reference: {examples}")
    links = tables.task_dwas[tables.task_dwas["dwa_id"].isin(wanted)]
    counts = (
        links.groupby(["dwa_id", "onetsoc_code"], sort=False)
        .size()
        .rename("tasks")
        .reset_index()
        .merge(tables.occupations[["onetsoc_code", "title"]], on="onetsoc_code", how="inner")
        .sort_values(["dwa_id", "tasks", "title"], ascending=[True, False, True], kind="stable")
    )
    top = counts.groupby("dwa_id", sort=False).head(n)
    titles = top.groupby("dwa_id", sort=False)["title"].agg(list).to_dict()
    return {dwa_id: titles.get(dwa_id, []) for dwa_id in wanted}
