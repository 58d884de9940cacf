"""Reference data: the registry of sources, download and verification, converters.

``dwa-rater data list|fetch|verify`` is the command line over :func:`fetch_sources` and
:func:`verify_sources`; ``docs/data.md`` documents the sources, licences and attribution.
"""

from __future__ import annotations

from dwa_rater.data.fetch import FetchResult, FileCheck, fetch_sources, verify_sources
from dwa_rater.data.registry import SOURCES, RemoteFile, Source, get_source, source_names

__all__ = [
    "SOURCES",
    "FetchResult",
    "FileCheck",
    "RemoteFile",
    "Source",
    "fetch_sources",
    "get_source",
    "source_names",
    "verify_sources",
]
