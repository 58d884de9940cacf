"""Ratings files in, estimate table and its manifest out (the only disk I/O of the package)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.estimate import EstimateOptions, EstimateResult, estimate_ratings
from dwa_rater.provenance import (
    collect_provenance,
    file_sha256,
    manifest_header,
    manifest_path_for,
    write_json_atomic,
    write_table_atomic,
)
from dwa_rater.store import read_ratings


@dataclass(frozen=True)
class EstimateRun:
    """What :func:`estimate_files` wrote."""

    result: EstimateResult
    table: Path
    manifest: Path


def read_selection_table(path: Path) -> pd.DataFrame:
    """A ``review select`` table (CSV with ``item_id``; ``reason``/``sampling_probability``)."""
    try:
        table = pd.read_csv(path, dtype={"item_id": str, "reason": str}, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read the selection table ({exc})") from exc
    if "item_id" not in table.columns:
        raise DataError(f"{path}: selection table lacks column 'item_id'")
    if "reason" not in table.columns and "sampling_probability" not in table.columns:
        raise DataError(f"{path}: selection table has neither 'reason' nor 'sampling_probability'")
    return table


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV or Parquet (by suffix), atomically."""
    return write_table_atomic(frame, path)


def estimate_files(
    paths: Sequence[Path],
    out: Path,
    options: EstimateOptions,
    selection_path: Path | None = None,
) -> EstimateRun:
    """Read ratings (and a selection table), estimate, write the table and its manifest.

    The manifest names the inputs (path, SHA-256, rows), the options, the gold sample the
    intervals rest on and the package version, so that every number can be traced.
    """
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"{out}: the estimate table must end in .csv or .parquet")
    if not paths:
        raise DataError("no ratings file given")
    frames = [read_ratings(p) for p in paths]
    ratings = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    selection = read_selection_table(selection_path) if selection_path is not None else None
    result = estimate_ratings(ratings, options, selection)
    write_table(result.table, out)
    inputs = [
        {"path": str(Path(p).resolve()), "sha256": file_sha256(Path(p)), "rows": len(f)}
        for p, f in zip(paths, frames, strict=True)
    ]
    manifest = {
        **manifest_header("dwa_rater estimates"),
        "table": {"path": str(out), "sha256": file_sha256(out), "columns": list(result.table)},
        "inputs": inputs,
        "selection": (
            {"path": str(selection_path.resolve()), "sha256": file_sha256(selection_path)}
            if selection_path is not None
            else None
        ),
        "options": {**asdict(options), "predicted": list(options.predicted)},
        "gold_sample": {
            "rater": options.gold,
            **result.summary(),
            "prompt_versions": _prompt_versions(ratings, [options.gold, *options.predicted]),
        },
        "notes": result.notes,
        "provenance": collect_provenance(ratings, list(paths)),
    }
    manifest_path = write_json_atomic(manifest_path_for(out), manifest)
    return EstimateRun(result=result, table=out, manifest=manifest_path)


def _prompt_versions(ratings: pd.DataFrame, raters: list[str]) -> dict[str, list[str]]:
    """Per rater: the distinct ``model prompt_name@prompt_version`` its rows name."""
    rows = ratings[ratings["rater"].isin(raters)]
    out: dict[str, list[str]] = {}
    for rater, group in rows.groupby("rater"):
        described = (
            group["model"].fillna("").astype(str)
            + " "
            + group["prompt_name"].fillna("").astype(str)
            + "@"
            + group["prompt_version"].fillna("").astype(str)
        )
        out[str(rater)] = sorted(set(described.str.strip().replace("@", "")) - {""})
    return out
