"""The exported DWA score table: what the indices read, with the provenance of every upstream run.

``dwa-rater export SCORES --out DIR`` turns a calibrated score table (written by ``dwa-rater
calibrate``, with its ``<SCORES>.manifest.json``) into three files in ``DIR``:

- ``dwa_scores.csv`` and ``dwa_scores.parquet``: the same table, one row per item, sorted by
  ``dwa_id``/``item_id``;
- ``provenance.json``: the schema below, the calibration settings and evaluation, the input
  ratings files (path, sha256), and every upstream rating run: each distinct (run_id, rater,
  model, prompt_name, prompt_version, prompt_sha256) in the input ratings with its row count,
  plus the run manifest ``runs/<run_id>.json`` found next to a ratings file, when there is one.

Schema of ``dwa_scores`` (probabilities and scores are on a 0-1 scale):

==============  =======  ==========================================================================
column          type     meaning
==============  =======  ==========================================================================
dwa_id          string   O*NET DWA ID (e.g. ``4.A.1.a.1.I01.D01``), the key; empty for an item
                         that is not a DWA (a task or custom statement)
item_id         string   the rated item's ID (equal to dwa_id for DWAs; the indices join on it)
alpha           float    expected exposure, E1 = 1 (Eloundou et al. 2023, section 3.3): p_E1
beta            float    expected exposure, E1 = 1, E2 = 0.5: p_E1 + 0.5 p_E2
gamma           float    expected exposure, E1 = E2 = 1: p_E1 + p_E2
score           float    0-1 exposure score on the beta scale (human: beta code of the human label;
                         calibrated: isotonic calibration of the raters' mean score; raw: the
                         raters' mean score; beta where no rater gave a score)
ci_low          float    lower end of the interval of ``score`` (bootstrap over the item's ratings)
ci_high         float    upper end of that interval
label           string   most probable class: E0, E1 or E2
p_E0            float    probability of E0 (no exposure)
p_E1            float    probability of E1 (direct exposure)
p_E2            float    probability of E2 (exposure with extra software)
source          string   human (adjudicated label), calibrated (fitted mapping) or raw (no mapping)
n_raters        int      LLM raters with a usable label for the item (the human not counted)
==============  =======  ==========================================================================

That is the table of the exposure rubric. A score table calibrated on another rubric's scale
(recorded as ``scale`` in the calibration manifest) exports one column per coding of that scale
in place of alpha/beta/gamma, ``score`` on its default coding, and one ``p_<label>`` per label
(:func:`export_schema`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dwa_rater.calibration.scale import (
    describe,
    is_default,
    or_default,
    probability_columns,
    scale_from_description,
    score_columns,
)
from dwa_rater.errors import DataError
from dwa_rater.provenance import (
    file_sha256,
    manifest_header,
    manifest_path_for,
    write_json_atomic,
    write_table_atomic,
)
from dwa_rater.rubric import RubricScale

#: Columns of the exported table, in order, with their type and meaning (see module doc).
EXPORT_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("dwa_id", "string", "O*NET DWA ID, the key; empty for an item that is not a DWA"),
    ("item_id", "string", "the rated item's ID (equal to dwa_id for DWAs)"),
    ("alpha", "float", "expected exposure with E1 = 1: p_E1 (0-1)"),
    ("beta", "float", "expected exposure with E1 = 1, E2 = 0.5: p_E1 + 0.5 p_E2 (0-1)"),
    ("gamma", "float", "expected exposure with E1 = E2 = 1: p_E1 + p_E2 (0-1)"),
    ("score", "float", "0-1 exposure score on the beta scale (see the module docstring)"),
    ("ci_low", "float", "lower end of the interval of score"),
    ("ci_high", "float", "upper end of the interval of score"),
    ("label", "string", "most probable class: E0, E1 or E2"),
    ("p_E0", "float", "probability of E0 (no exposure)"),
    ("p_E1", "float", "probability of E1 (direct exposure)"),
    ("p_E2", "float", "probability of E2 (exposure with extra software)"),
    ("source", "string", "human, calibrated or raw"),
    ("n_raters", "int", "LLM raters with a usable label for the item"),
)

#: Column names of the exported table, in order.
EXPORT_COLUMNS: tuple[str, ...] = tuple(name for name, _, _ in EXPORT_SCHEMA)


def export_schema(scale: RubricScale | None = None) -> tuple[tuple[str, str, str], ...]:
    """The exported columns (name, type, meaning) for a rubric's scale: :data:`EXPORT_SCHEMA`
    for the exposure rubric (or None); for another, its codings and ``p_<label>`` columns."""
    scale = or_default(scale)
    if is_default(scale):
        return EXPORT_SCHEMA
    codings = tuple(
        (
            name,
            "float",
            "expected code with "
            + ", ".join(f"{label} = {codes[label]:g}" for label in scale.order)
            + " (sum of p_<label> x code)",
        )
        for name, codes in scale.codings.items()
    )
    probabilities = tuple(
        (column, "float", f"probability of {label} ({scale.name_of(label)})")
        for label, column in zip(scale.labels, probability_columns(scale), strict=True)
    )
    return (
        EXPORT_SCHEMA[:2]
        + codings
        + (("score", "float", f"0-1 score on the {scale.default_coding} coding"),)
        + EXPORT_SCHEMA[6:8]
        + (("label", "string", f"most probable class: {', '.join(scale.labels)}"),)
        + probabilities
        + EXPORT_SCHEMA[12:]
    )


#: O*NET DWA IDs look like 4.A.1.a.1.I01.D01.
DWA_ID_PATTERN = re.compile(r"^4\.A\.[0-9A-Za-z.]+\.D\d+$")

_SOURCES = {"human", "calibrated", "raw"}


@dataclass(frozen=True)
class ExportResult:
    csv: Path
    parquet: Path
    provenance: Path
    n_items: int
    warnings: list[str] = field(default_factory=list)


def read_scores(path: Path, scale: RubricScale | None = None) -> pd.DataFrame:
    """Read a calibrated score table (CSV or Parquet) and check it against the columns of
    ``scale`` (None: the exposure rubric's)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: score table not found")
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"item_id": str, "label": str, "source": str})
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot read score table ({exc})") from exc
    missing = [c for c in score_columns(or_default(scale)) if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: not a calibrated score table, lacks {', '.join(missing)}")
    frame["item_id"] = frame["item_id"].astype(str)
    duplicated = frame["item_id"].duplicated()
    if duplicated.any():
        raise DataError(f"{path}: item {frame['item_id'][duplicated].iloc[0]} appears twice")
    bad_source = ~frame["source"].isin(_SOURCES)
    if bad_source.any():
        raise DataError(f"{path}: unknown source {frame['source'][bad_source].iloc[0]!r}")
    total = frame[list(probability_columns(or_default(scale)))].sum(axis=1)
    off = (total - 1.0).abs() > 1e-6
    if off.any():
        raise DataError(
            f"{path}: probabilities of item {frame['item_id'][off].iloc[0]} sum to "
            f"{float(total[off].iloc[0]):.6f}, not 1"
        )
    return frame


def export_table(
    scores: pd.DataFrame, scale: RubricScale | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """The exported table (:data:`EXPORT_COLUMNS`, or :func:`export_schema`'s columns for
    another rubric's ``scale``) from a score table, and warnings."""
    table = scores.copy()
    is_dwa = table["item_id"].str.match(DWA_ID_PATTERN)
    table["dwa_id"] = table["item_id"].where(is_dwa, None)
    notes = []
    if (~is_dwa).any():
        example = table.loc[~is_dwa, "item_id"].iloc[0]
        notes.append(
            f"{int((~is_dwa).sum())} item(s) are not DWA IDs (e.g. {example}); "
            "their dwa_id is empty"
        )
    table["n_raters"] = table["n_raters"].astype(np.int64)
    table = table.sort_values("item_id", kind="stable").reset_index(drop=True)
    return table[[name for name, _, _ in export_schema(scale)]], notes


def export_scores(scores_path: Path, out_dir: Path) -> ExportResult:
    """Write ``dwa_scores.csv``, ``dwa_scores.parquet`` and ``provenance.json`` into ``out_dir``.

    Needs the ``<SCORES>.manifest.json`` that ``calibrate`` wrote (it lists the upstream runs,
    and the rubric's scale when it is not the exposure rubric's).
    """
    scores_path = Path(scores_path)
    manifest_path = manifest_path_for(scores_path)
    scale = _recorded_scale(manifest_path)
    scores = read_scores(scores_path, scale)
    if not manifest_path.is_file():
        raise DataError(
            f"{manifest_path} not found: export needs the manifest `dwa-rater calibrate` writes "
            "next to the score table (it lists the upstream runs)"
        )
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{manifest_path}: unreadable manifest ({exc})") from exc
    table, warnings = export_table(scores, scale)
    schema = export_schema(scale)
    sha = file_sha256(scores_path)
    recorded = (manifest.get("scores") or {}).get("sha256")
    if recorded and recorded != sha:
        warnings.append(f"{scores_path} changed since `calibrate` wrote it (sha256 differs)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "dwa_scores.csv"
    parquet_path = out_dir / "dwa_scores.parquet"
    provenance_path = out_dir / "provenance.json"
    write_table_atomic(table, csv_path)
    write_table_atomic(table, parquet_path)
    provenance = {
        **manifest_header("dwa_rater DWA score table", time_key="exported_at"),
        "key": "dwa_id",
        "n_items": len(table),
        "files": {
            "csv": {"path": csv_path.name, "sha256": file_sha256(csv_path)},
            "parquet": {"path": parquet_path.name, "sha256": file_sha256(parquet_path)},
        },
        "schema": [
            {"name": name, "type": kind, "description": text} for name, kind, text in schema
        ],
        "scores": {"path": str(scores_path.resolve()), "sha256": sha},
        "calibration": {
            key: manifest.get(key)
            for key in (
                "created_at",
                "dwa_rater_version",
                "git_sha",
                "method",
                "human_rater",
                "llm_raters",
                "options",
                "sources",
                "latent_class",
                "training",
                "mapping",
                "evaluation",
                "warnings",
            )
        },
        **({} if scale is None else {"scale": describe(scale)}),
        "inputs": manifest.get("inputs", []),
        "upstream_runs": manifest.get("provenance", {}),
        "warnings": warnings,
    }
    write_json_atomic(provenance_path, provenance)
    return ExportResult(csv_path, parquet_path, provenance_path, len(table), warnings)


def _recorded_scale(manifest_path: Path) -> RubricScale | None:
    """The scale a calibration manifest recorded (None: the exposure rubric's, or no manifest)."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # export_scores reports a missing or unreadable manifest itself
    if not isinstance(manifest, dict):
        return None
    return scale_from_description(manifest.get("scale"))
