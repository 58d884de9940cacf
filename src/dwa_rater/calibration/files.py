"""The ``calibrate`` command on files: read ratings, calibrate, write the score table, its
manifest (inputs and outputs with their SHA-256, run summary, provenance) and the report."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.calibration.combine import (
    SCORE_COLUMNS,
    CalibrationOptions,
    CalibrationResult,
    calibrate_ratings,
    normalise_labels,
)
from dwa_rater.calibration.evaluate import occupation_weights
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.store import read_ratings


@dataclass(frozen=True)
class CalibrationRun:
    """What :func:`calibrate_files` wrote."""

    result: CalibrationResult
    scores: Path
    manifest: Path
    report: Path | None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_scores(frame: pd.DataFrame, path: Path) -> Path:
    """Write a score table as CSV or Parquet (by suffix), atomically."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ConfigError(f"{path}: score table must end in .csv or .parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    if suffix == ".parquet":
        frame.to_parquet(temporary, index=False)
    else:
        frame.to_csv(temporary, index=False, lineterminator="\n")
    os.replace(temporary, path)
    return path


def manifest_path_for(scores: Path) -> Path:
    """``<SCORES>.manifest.json`` next to the score table."""
    return scores.with_name(scores.name + ".manifest.json")


def calibrate_files(
    paths: Sequence[Path],
    out: Path,
    options: CalibrationOptions,
    *,
    report_dir: Path | None = None,
    onet_source: Path | None = None,
) -> CalibrationRun:
    """Read ratings files, calibrate, write the score table, its manifest and the report.

    With ``onet_source`` (an O*NET release), the evaluation adds occupation-level metrics
    through Tasks to DWAs (:func:`.evaluate.occupation_weights`).
    """
    from dwa_rater import __version__
    from dwa_rater.export import collect_provenance
    from dwa_rater.runs import git_sha

    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"{out}: score table must end in .csv or .parquet")
    if not paths:
        raise DataError("no ratings file given")
    frames = []
    for path in paths:
        frame = read_ratings(path)
        normalise_labels(frame, str(path))  # fails early, naming the file
        frames.append(frame)
    ratings = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    groups = None
    if onet_source is not None:
        from dwa_rater.catalog import load_onet

        tables = load_onet(Path(onet_source))
        groups = occupation_weights(tables.task_dwas, ratings["item_id"].astype(str).unique())
    result = calibrate_ratings(ratings, options, groups)
    if groups is not None and groups.empty:
        result.notes.append("no rated item is linked to an occupation in the O*NET release")
    write_scores(result.scores, out)
    manifest_path = manifest_path_for(out)
    manifest = {
        "kind": "dwa_rater calibrated scores",
        "created_at": datetime.now(UTC).isoformat(),
        "dwa_rater_version": __version__,
        "git_sha": git_sha(Path(__file__).resolve().parent),
        "python": platform.python_version(),
        "scores": {"path": str(out), "sha256": file_sha256(out), "columns": list(SCORE_COLUMNS)},
        "inputs": [
            {"path": str(Path(p).resolve()), "sha256": file_sha256(Path(p)), "rows": len(f)}
            for p, f in zip(paths, frames, strict=True)
        ],
        "onet_source": str(onet_source) if onet_source is not None else None,
        **result.summary(),
        "provenance": collect_provenance(ratings, paths),
    }
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    temporary = manifest_path.with_name(f".{manifest_path.name}.tmp")
    temporary.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=_json_default), encoding="utf-8"
    )
    os.replace(temporary, manifest_path)
    report = None
    if report_dir is not None:
        from dwa_rater.report.calibration import write_calibration_report

        report = write_calibration_report(result, Path(report_dir))
    return CalibrationRun(result=result, scores=out, manifest=manifest_path, report=report)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA:
        return None
    return str(value)
