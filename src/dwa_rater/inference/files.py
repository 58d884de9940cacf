"""Ratings files in, estimate table and its manifest out (the only disk I/O of the package)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from dwa_rater.calibration.files import file_sha256
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.inference.estimate import EstimateOptions, EstimateResult, estimate_ratings
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
    """Write a table as CSV or Parquet (by suffix), atomically (temporary file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(temporary, index=False)
    else:
        frame.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, path)
    return path


def manifest_path_for(table: Path) -> Path:
    """``<TABLE>.manifest.json`` next to the estimate table."""
    return table.with_name(table.name + ".manifest.json")


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
    from dwa_rater import __version__
    from dwa_rater.runs import git_sha

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
        "kind": "dwa_rater estimates",
        "created_at": datetime.now(UTC).isoformat(),
        "dwa_rater_version": __version__,
        "git_sha": git_sha(Path(__file__).resolve().parent),
        "python": platform.python_version(),
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
    }
    manifest_path = manifest_path_for(out)
    temporary = manifest_path.with_name(f".{manifest_path.name}.tmp")
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(temporary, manifest_path)
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
