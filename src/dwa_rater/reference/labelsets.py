"""Published human and model labels into the long ratings table.

Two layouts are read:

- ``eloundou``: ``full_labelset.tsv`` of Eloundou, Manning, Mishkin & Rock (2024), "GPTs are
  GPTs", *Science* 384(6702), repository ``openai/GPTs-are-GPTs`` (MIT licence). One row per
  O*NET task statement (O*NET 27.x task ids) with the aggregated human label
  (``human_exposure_agg``), GPT-4's label on the paper's rubric (``gpt4_exposure``) and on its
  alternative rubric (``gpt4_exposure_alt_rubric``). They become the raters ``human``,
  ``gpt4`` and ``gpt4_alt``; ``item_type`` is ``task``, ``item_id`` the Task ID as an integer
  string, plus ``onetsoc_code``, ``task_type`` (Core/Supplemental as given) and
  ``occupation_title``. The file is read unchanged (the unnamed index column included).
- ``wide``: any table with an id column (``item_id`` or ``id``), optionally ``item_text`` (or
  ``text``) and other metadata, and one column per rater holding labels (E0/E1/E2, any case)
  or numeric 0-1 scores.

Every row carries its provenance: ``model`` and ``prompt_name``/``prompt_version`` say whose
judgement it is, ``endpoint`` names the source, ``run_id`` ties it to the import's manifest, and
the extra columns ``source_file`` and ``source_sha256`` identify the file read.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.provenance import file_sha256
from dwa_rater.schemas import RATING_COLUMNS

ImportFormat = Literal["eloundou", "wide"]
#: Labels of the Eloundou et al. release (the scale of the ``exposure`` rubric).
EXPOSURE_LABELS: tuple[str, ...] = ("E0", "E1", "E2")
IMPORT_FORMATS: tuple[str, ...] = ("eloundou", "wide")

#: Columns of the Eloundou et al. release the importer needs (others are ignored).
ELOUNDOU_COLUMNS: dict[str, str] = {
    "O*NET-SOC Code": "onetsoc_code",
    "Task ID": "task_id",
    "Task": "item_text",
    "Task Type": "task_type",
    "Title": "occupation_title",
}

#: Release column -> (rater, model, prompt version) of the imported ratings.
ELOUNDOU_RATERS: dict[str, tuple[str, str, str]] = {
    "human_exposure_agg": ("human", "human annotators (aggregated)", "paper-rubric"),
    "gpt4_exposure": ("gpt4", "gpt-4", "paper-rubric"),
    "gpt4_exposure_alt_rubric": ("gpt4_alt", "gpt-4", "alternative-rubric"),
}

#: Extra columns of an imported ratings table, after the canonical ones.
LABELSET_EXTRA_COLUMNS: tuple[str, ...] = (
    "onetsoc_code",
    "task_type",
    "occupation_title",
    "source_file",
    "source_sha256",
)

#: Columns of a wide table that are never raters.
WIDE_METADATA: frozenset[str] = frozenset(
    {
        "item_id",
        "id",
        "item_text",
        "text",
        "item_type",
        "context",
        "onetsoc_code",
        "task_type",
        "occupation_title",
        "title",
    }
)


@dataclass
class ImportResult:
    """A long ratings table and what the import noticed."""

    ratings: pd.DataFrame
    source_sha256: str
    run_id: str
    counts: dict[str, int]
    notes: list[str] = field(default_factory=list)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: label file not found")
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from exc


def _read_table(path: Path, separator: str | None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            return pd.read_parquet(path).astype("string")
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise DataError(f"{path}: cannot read as Parquet ({exc})") from exc
    text = _read_text(path)
    sep = separator or ("\t" if suffix in (".tsv", ".tab") or "\t" in text[:2000] else ",")
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot parse as a table ({exc})") from exc


def task_id_string(value: str) -> str | None:
    """``"8823.0"`` -> ``"8823"``: the release stores Task IDs as floats. None when empty;
    DataError when not a whole number."""
    text = str(value).strip()
    if not text or text.lower() == "nan":
        return None
    try:
        number = float(text)
    except ValueError as exc:
        raise DataError(f"Task ID {text!r} is not a number") from exc
    if not number.is_integer() or number < 0:
        raise DataError(f"Task ID {text!r} is not a whole number")
    return str(int(number))


def _clean_label(values: pd.Series) -> pd.Series:
    labels = values.astype("string").str.strip().str.upper()
    return labels.mask(labels.isin(["", "NAN", "NONE", "NA"]), pd.NA)


def _long_frame(
    base: pd.DataFrame,
    raters: Sequence[tuple[str, str, str, str, str]],
    item_type: str,
    source: Path,
    sha256: str,
    run_id: str,
) -> pd.DataFrame:
    """Stack one frame per rater: (column, rater, model, prompt_name, prompt_version)."""
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    parts = []
    for column, rater, model, prompt_name, prompt_version in raters:
        values = base[column]
        numeric = pd.to_numeric(values, errors="coerce")
        is_score = values.notna() & numeric.notna()
        labels = values.mask(is_score, pd.NA)
        part = pd.DataFrame(
            {
                "item_id": base["item_id"],
                "item_type": item_type,
                "item_text": base.get("item_text", pd.Series(pd.NA, index=base.index)),
                "rater": rater,
                "model": model,
                "endpoint": f"file:{source.name}",
                "prompt_name": prompt_name,
                "prompt_version": prompt_version,
                "sample": 0,
                "status": "ok",
                "label": labels,
                "score": numeric.where(is_score),
                "cached": False,
                "run_id": run_id,
                "created_at": created,
            }
        )
        for extra in LABELSET_EXTRA_COLUMNS[:3]:
            if extra in base.columns:
                part[extra] = base[extra]
        part["source_file"] = source.name
        part["source_sha256"] = sha256
        parts.append(part[values.notna()])
    frame = pd.concat(parts, ignore_index=True)
    for column in RATING_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    extras = [c for c in LABELSET_EXTRA_COLUMNS if c in frame.columns]
    return frame[list(RATING_COLUMNS) + extras]


def _run_id(sha256: str) -> str:
    return "import-" + sha256[:12]


def import_eloundou(path: Path | str) -> ImportResult:
    """Read the Eloundou et al. (2024) ``full_labelset.tsv`` into a long ratings table.

    Labels are copied as given (stripped, upper-case); a row with an empty label for a rater
    gives no row for that rater. Rows without a Task ID are skipped and counted in ``notes``.
    """
    path = Path(path)
    table = _read_table(path, "\t")
    missing = [c for c in (*ELOUNDOU_COLUMNS, *ELOUNDOU_RATERS) if c not in table.columns]
    if missing:
        raise DataError(
            f"{path}: not the Eloundou et al. label set (missing column(s) "
            f"{', '.join(repr(c) for c in missing)}); use --format wide for other tables"
        )
    base = table[list(ELOUNDOU_COLUMNS)].rename(columns=ELOUNDOU_COLUMNS)
    try:
        base["item_id"] = [task_id_string(v) for v in base["task_id"]]
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    notes: list[str] = []
    no_id = base["item_id"].isna()
    if no_id.any():
        notes.append(f"{int(no_id.sum())} row(s) without a Task ID were skipped")
    for column in ("onetsoc_code", "item_text", "task_type", "occupation_title"):
        text = base[column].astype("string").str.strip()
        base[column] = text.mask(text == "", pd.NA)
    for column in ELOUNDOU_RATERS:
        base[column] = _clean_label(table[column])
        bad = base[column].notna() & ~base[column].isin(EXPOSURE_LABELS)
        if bad.any():
            first = base.loc[bad, column].iloc[0]
            raise DataError(
                f"{path}: column {column!r} holds {first!r}, not one of "
                f"{', '.join(EXPOSURE_LABELS)} ({int(bad.sum())} row(s))"
            )
    base = base[~no_id].reset_index(drop=True)
    duplicated = base.duplicated(["item_id", "onetsoc_code"]).sum()
    if duplicated:
        notes.append(f"{int(duplicated)} repeated (Task ID, occupation) row(s) kept as given")
    sha256 = file_sha256(path)
    run_id = _run_id(sha256)
    raters = [
        (column, rater, model, "eloundou-2024", version)
        for column, (rater, model, version) in ELOUNDOU_RATERS.items()
    ]
    frame = _long_frame(base, raters, "task", path, sha256, run_id)
    counts = {
        rater: int((frame["rater"] == rater).sum()) for rater, _, _ in ELOUNDOU_RATERS.values()
    }
    return ImportResult(frame, sha256, run_id, counts, notes)


def import_wide(
    path: Path | str,
    *,
    raters: Sequence[str] | None = None,
    item_type: str = "task",
    separator: str | None = None,
) -> ImportResult:
    """Read a wide label table (one column per rater) into a long ratings table.

    ``raters`` chooses the rater columns (default: every column that is not metadata, see
    :data:`WIDE_METADATA`). Cells holding a number go to ``score`` (it must be within 0-1),
    others to ``label`` (upper-cased; E0/E1/E2 are checked by the commands that need them).
    """
    path = Path(path)
    table = _read_table(path, separator)
    table.columns = [str(c).strip() for c in table.columns]
    id_column = "item_id" if "item_id" in table.columns else "id"
    if id_column not in table.columns:
        raise DataError(f"{path}: no id column (item_id or id)")
    chosen = list(raters) if raters else [c for c in table.columns if c not in WIDE_METADATA]
    chosen = [c for c in chosen if c and not c.startswith("Unnamed")]
    unknown = [c for c in chosen if c not in table.columns]
    if unknown:
        raise ConfigError(f"{path}: no column(s) {', '.join(unknown)} to read as raters")
    if not chosen:
        raise DataError(f"{path}: no rater column besides the metadata columns")
    base = pd.DataFrame({"item_id": table[id_column].astype("string").str.strip()})
    if (base["item_id"].isna() | (base["item_id"] == "")).any():
        raise DataError(f"{path}: empty id in column {id_column!r}")
    text_column = "item_text" if "item_text" in table.columns else "text"
    if text_column in table.columns:
        base["item_text"] = table[text_column]
    for extra in LABELSET_EXTRA_COLUMNS[:3]:
        if extra in table.columns:
            base[extra] = table[extra]
    for column in chosen:
        values = _clean_label(table[column])
        numeric = pd.to_numeric(values, errors="coerce")
        off = numeric.notna() & ((numeric < 0) | (numeric > 1))
        if off.any():
            raise DataError(
                f"{path}: rater column {column!r} holds the score {float(numeric[off].iloc[0])}, "
                "outside 0-1"
            )
        base[f"rater::{column}"] = values
    sha256 = file_sha256(path)
    run_id = _run_id(sha256)
    specs = [(f"rater::{c}", c, c, "imported", path.stem) for c in chosen]
    frame = _long_frame(base, specs, item_type, path, sha256, run_id)
    counts = {c: int((frame["rater"] == c).sum()) for c in chosen}
    return ImportResult(frame, sha256, run_id, counts, [])


def import_labels(
    path: Path | str, import_format: str, *, raters: Sequence[str] | None = None
) -> ImportResult:
    """Dispatch on ``import_format`` (:data:`IMPORT_FORMATS`)."""
    if import_format == "eloundou":
        if raters:
            raise ConfigError("--rater columns apply to --format wide only")
        return import_eloundou(path)
    if import_format == "wide":
        return import_wide(path, raters=raters)
    raise ConfigError(f"unknown format {import_format!r} (use {', '.join(IMPORT_FORMATS)})")


#: Wide column of :func:`eloundou_tasks` for each imported rater (the release's own names).
ELOUNDOU_WIDE: dict[str, str] = {rater: column for column, (rater, _, _) in ELOUNDOU_RATERS.items()}


def eloundou_tasks(path: Path | str) -> pd.DataFrame:
    """One row per task of the release, read by :func:`import_eloundou` (the one reader).

    Columns: ``item_id``, ``item_text``, ``onetsoc_code``, ``task_type``, ``core_weight`` (2 for
    Core tasks, 1 otherwise: the paper's occupation weighting) and the release's label columns
    (``human_exposure_agg``, ``gpt4_exposure``, ``gpt4_exposure_alt_rubric``; empty when the
    release has no label). A repeated (Task ID, occupation) row appears once.
    """
    ratings = import_eloundou(path).ratings
    keys = ["item_id", "onetsoc_code"]
    first = ratings.drop_duplicates(keys)[[*keys, "item_text", "task_type"]]
    wide = (
        ratings.drop_duplicates([*keys, "rater"])
        .pivot(index=keys, columns="rater", values="label")
        .rename(columns=ELOUNDOU_WIDE)
        .reset_index()
    )
    out = first.merge(wide, on=keys, how="left").reset_index(drop=True)
    is_core = out["task_type"].astype("string").fillna("").eq("Core").astype(bool)
    out["core_weight"] = is_core.map({True: 2.0, False: 1.0}).astype(float)
    for column in ELOUNDOU_WIDE.values():
        out[column] = out[column].astype("string").fillna("") if column in out else ""
    columns = ["item_id", "item_text", "onetsoc_code", "task_type", "core_weight"]
    return out[columns + list(ELOUNDOU_WIDE.values())]


def eloundou_ratings(tasks: pd.DataFrame) -> pd.DataFrame:
    """Long rows (item_id, item_type, item_text, rater, model, label, status, onetsoc_code,
    task_type, core_weight) from :func:`eloundou_tasks`; empty labels are left out."""
    frames = []
    for rater, column in ELOUNDOU_WIDE.items():
        part = tasks[["item_id", "item_text", "onetsoc_code", "task_type", "core_weight"]].copy()
        part.insert(1, "item_type", "task")
        part.insert(3, "rater", rater)
        part.insert(4, "model", column)
        part["label"] = tasks[column]
        part["status"] = "ok"
        frames.append(part[part["label"] != ""])
    return pd.concat(frames, ignore_index=True)
