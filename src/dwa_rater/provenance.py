"""Provenance for everything the tool writes: file hashes, the git sha, manifests, atomic writes.

One place for the pieces every writer needs, so that every manifest carries the same header
(kind, time, package version, git sha, Python) and every file appears whole or not at all
(written to a temporary file beside it, then renamed over it).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dwa_rater import __version__

#: Columns that identify one upstream rating run and configuration in a ratings table.
RUN_COLUMNS: tuple[str, ...] = (
    "run_id",
    "rater",
    "model",
    "prompt_name",
    "prompt_version",
    "prompt_sha256",
)


def file_sha256(path: Path | str) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def git_sha(directory: Path | None = None) -> str | None:
    """The checkout's HEAD commit, or None outside a git checkout (an installed wheel).

    Without ``directory``, the package's own checkout: a wheel installed into a virtualenv that
    lives inside some other git repository gets None, not that repository's commit.
    """
    where = directory or Path(__file__).resolve().parent
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        if result.returncode == 0:
            toplevel, sha = result.stdout.splitlines()[:2]
            if directory is None and (Path(toplevel) / "src" / "dwa_rater").resolve() != where:
                return None
            return sha
    return None


def now_utc() -> str:
    return datetime.now(UTC).isoformat()


def manifest_header(kind: str, *, time_key: str = "created_at") -> dict[str, Any]:
    """The fields every manifest opens with: what it is, when, and which code wrote it."""
    return {
        "kind": kind,
        time_key: now_utc(),
        "dwa_rater_version": __version__,
        "git_sha": git_sha(),
        "python": platform.python_version(),
    }


def write_atomic(path: Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(temporary)`` and rename the result over ``path`` (same folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        writer(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json_atomic(path: Path, document: Mapping[str, Any]) -> Path:
    """Write a JSON document (numpy values and paths allowed) atomically, indented, UTF-8."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=_json_default)
    return write_text_atomic(path, text)


def write_table_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as CSV or Parquet by suffix, atomically."""
    if Path(path).suffix.lower() == ".parquet":
        return write_atomic(path, lambda p: frame.to_parquet(p, index=False))
    return write_atomic(path, lambda p: frame.to_csv(p, index=False, lineterminator="\n"))


def manifest_path_for(table: Path) -> Path:
    """``<TABLE>.manifest.json`` next to a table the tool wrote (e.g. a score table)."""
    return table.with_name(table.name + ".manifest.json")


def collect_provenance(ratings: pd.DataFrame, paths: Sequence[Path | str]) -> dict[str, Any]:
    """Every upstream run in ``ratings``: distinct run/rater/model/prompt combinations with row
    counts, and each run's manifest from a ``runs/`` folder next to one of ``paths``."""
    frame = ratings.copy()
    for column in RUN_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    keys = frame[list(RUN_COLUMNS)].astype("string").fillna("")
    counted = keys.groupby(list(RUN_COLUMNS), sort=True).size().reset_index(name="n_rows")
    runs = [
        {**{c: (row[c] or None) for c in RUN_COLUMNS}, "n_rows": int(row["n_rows"])}
        for _, row in counted.iterrows()
    ]
    folders = list(dict.fromkeys(Path(p).resolve().parent / "runs" for p in paths))
    manifests: dict[str, Any] = {}
    missing: list[str] = []
    for run_id in sorted({str(r["run_id"]) for r in runs if r["run_id"]}):
        found = next(
            (f / f"{run_id}.json" for f in folders if (f / f"{run_id}.json").is_file()), None
        )
        if found is None:
            missing.append(run_id)
            continue
        try:
            manifests[run_id] = {
                "path": str(found),
                "manifest": json.loads(found.read_text(encoding="utf-8")),
            }
        except (OSError, json.JSONDecodeError) as exc:
            manifests[run_id] = {"path": str(found), "error": f"unreadable manifest: {exc}"}
    return {"runs": runs, "manifests": manifests, "missing_manifests": missing}
