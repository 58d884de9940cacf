"""The record of what ``dwa-rater data fetch`` put into a data directory: ``fetched.json``.

One entry per source: when it was fetched, by which version of the tool, each publisher's file
(its canonical URL, never a mirror's, size, SHA-256, whether that was pinned or recorded on
first download) and each converted table (size, SHA-256). ``verify`` checks the files against
it; files whose publisher does not fix their bytes are checked against the hash recorded here.
The file is rewritten atomically (a temporary file, then ``os.replace``), together with
``ATTRIBUTION.md``: the licence, citation and required attribution of each source present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dwa_rater.errors import DataError
from dwa_rater.provenance import manifest_header, write_text_atomic

MANIFEST_NAME = "fetched.json"
ATTRIBUTION_NAME = "ATTRIBUTION.md"
FORMAT = 1


def manifest_path(dest: Path) -> Path:
    return dest / MANIFEST_NAME


def read_manifest(dest: Path) -> dict[str, Any]:
    """The manifest of ``dest`` (``{"format": 1, "sources": {...}}``), empty when absent."""
    path = manifest_path(dest)
    if not path.is_file():
        return {"format": FORMAT, "sources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(
            f"{path}: unreadable fetch record ({error}); move it away and re-fetch"
        ) from error
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise DataError(f"{path}: not a dwa-rater fetch record; move it away and re-fetch")
    return data


def recorded_files(manifest: dict[str, Any], source: str) -> dict[str, dict[str, Any]]:
    """Recorded publisher's files and converted tables of ``source``, keyed by relative path."""
    entry = manifest["sources"].get(source, {})
    records: dict[str, dict[str, Any]] = {}
    for kind in ("files", "outputs"):
        for record in entry.get(kind, []):
            if isinstance(record, dict) and isinstance(record.get("path"), str):
                records[record["path"]] = record
    return records


def write_manifest(dest: Path, manifest: dict[str, Any]) -> Path:
    """Write the manifest atomically, and ``ATTRIBUTION.md`` from it; returns the manifest."""
    document = {**manifest, **manifest_header("data_fetch", time_key="updated_at")}
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_text_atomic(dest / ATTRIBUTION_NAME, attribution_text(manifest))
    return write_text_atomic(manifest_path(dest), text)


def attribution_text(manifest: dict[str, Any]) -> str:
    """Licence, citation and required attribution of every source fetched into the folder."""
    lines = [
        "# Data in this folder: licences, citations, attribution",
        "",
        "Written by `dwa-rater data fetch` from `fetched.json`; see docs/data.md of dwa_rater.",
    ]
    for name, entry in sorted(manifest["sources"].items()):
        lines += ["", f"## {name}: {entry.get('title', '')}", ""]
        lines.append(f"- Licence: {entry.get('licence', 'not recorded')}")
        if entry.get("citation"):
            lines.append(f"- Cite: {entry['citation']}")
        if entry.get("attribution"):
            lines.append(f"- Required attribution: {entry['attribution']}")
        urls = [f.get("url") for f in entry.get("files", []) if isinstance(f, dict)]
        lines.extend(f"- From: {url}" for url in urls if url)
    return "\n".join(lines) + "\n"
