"""The reference commands on files: label sets in, ratings tables and DWA references out.

Each output gets ``<OUT>.manifest.json`` beside it (:mod:`dwa_rater.provenance`): inputs with
their SHA-256, counts, notes, package version and git sha.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dwa_rater.errors import ConfigError
from dwa_rater.provenance import file_sha256, manifest_header, manifest_path_for, write_json_atomic
from dwa_rater.reference.dwa import DwaReference, dwa_reference
from dwa_rater.reference.labelsets import ImportResult, import_labels
from dwa_rater.reference.rater import reference_from_frame
from dwa_rater.store import read_ratings, write_ratings

_TABLE_SUFFIXES = (".csv", ".parquet")


def _check_out(out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in _TABLE_SUFFIXES:
        raise ConfigError(f"{out}: the output must end in .csv or .parquet")
    return out


@dataclass(frozen=True)
class ImportRun:
    result: ImportResult
    out: Path
    manifest: Path


def import_label_file(
    path: Path, import_format: str, out: Path, *, raters: Sequence[str] | None = None
) -> ImportRun:
    """Import a label file into a long ratings table at ``out`` (CSV or Parquet)."""
    out = _check_out(out)
    result = import_labels(path, import_format, raters=raters)
    write_ratings(result.ratings, out)
    manifest = manifest_header("dwa_rater imported labels")
    manifest.update(
        {
            "run_id": result.run_id,
            "format": import_format,
            "source": {"path": str(Path(path).resolve()), "sha256": result.source_sha256},
            "out": {"path": str(out), "sha256": file_sha256(out), "rows": len(result.ratings)},
            "ratings_per_rater": result.counts,
            "notes": result.notes,
        }
    )
    if import_format == "eloundou":
        manifest["citation"] = (
            "Eloundou, Manning, Mishkin & Rock (2024), GPTs are GPTs: Labor market impact "
            "potential of LLMs, Science 384(6702); data: openai/GPTs-are-GPTs (MIT licence)"
        )
    return ImportRun(result, out, write_json_atomic(manifest_path_for(out), manifest))


@dataclass(frozen=True)
class DwaReferenceRun:
    reference: DwaReference
    out: Path
    manifest: Path


def dwa_reference_file(
    labels_path: Path, onet_source: Path, out: Path, *, rater: str = "human"
) -> DwaReferenceRun:
    """Carry ``rater``'s task labels in ``labels_path`` to the DWAs of an O*NET release."""
    from dwa_rater.catalog import load_onet

    out = _check_out(out)
    frame = read_ratings(labels_path)
    reference = reference_from_frame(frame, rater, source=str(labels_path))
    labels = pd.DataFrame(
        {
            "item_id": list(reference.item_ids),
            "item_text": list(reference.texts),
            "label": [("E0", "E1", "E2")[k] for k in reference.labels],
        }
    )
    tables = load_onet(Path(onet_source))
    result = dwa_reference(labels, tables.tasks, tables.task_dwas, tables.dwas, tables.version)
    write_ratings(result.table, out)
    manifest = manifest_header("dwa_rater DWA-level reference")
    manifest.update(
        {
            "labels": {
                "path": str(Path(labels_path).resolve()),
                "sha256": file_sha256(Path(labels_path)),
                "rater": rater,
            },
            "onet_source": str(onet_source),
            "out": {"path": str(out), "sha256": file_sha256(out), "rows": len(result.table)},
            "coverage": result.coverage,
        }
    )
    return DwaReferenceRun(result, out, write_json_atomic(manifest_path_for(out), manifest))
