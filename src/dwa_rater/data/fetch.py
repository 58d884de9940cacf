"""Fetch sources into a data directory, convert them, record them; verify what is present.

A fetch of one source is all or nothing: every publisher's file is downloaded into a staging
folder inside the destination (same filesystem), checked against its pinned (or recorded) size
and SHA-256, converted there, and only then moved into place with ``os.replace``; the record in
``fetched.json`` is written last. Any failure removes the staging folder, so a refused file
leaves nothing behind, and no download cache is kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from dwa_rater import __version__
from dwa_rater.data.converters import CONVERTERS
from dwa_rater.data.download import (
    ChecksumError,
    apply_mirror,
    check_file,
    download,
)
from dwa_rater.data.manifest import read_manifest, recorded_files, write_manifest
from dwa_rater.data.registry import SOURCES, RemoteFile, Source, get_source, with_requirements
from dwa_rater.errors import DataError
from dwa_rater.provenance import file_sha256

Report = Callable[[str], None]
STAGING_PREFIX = ".dwa-rater-fetch-"


@dataclass(frozen=True)
class FetchResult:
    """What one source's fetch did: files downloaded, files already present, tables written."""

    source: str
    downloaded: tuple[str, ...]
    kept: tuple[str, ...]
    outputs: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.downloaded or self.outputs)


def _quiet(message: str) -> None:
    """The default reporter: say nothing."""


def fetch_sources(
    names: Sequence[str],
    dest: Path,
    *,
    mirror: str | None = None,
    force: bool = False,
    accept_new: bool = False,
    report: Report = _quiet,
) -> list[FetchResult]:
    """Fetch the named sources (and the sources they require) into ``dest``.

    ``mirror`` replaces the scheme and host of every URL (see
    :func:`~dwa_rater.data.download.apply_mirror`). Files already present and matching are kept
    unless ``force``; ``accept_new`` records a new SHA-256 for an unpinned file whose
    publisher replaced it (otherwise that is refused). Raises ``DataError`` (``ChecksumError``
    for a size or checksum mismatch) for the first source that fails; sources fetched before
    it stay, the failing one leaves nothing.
    """
    return fetch_all(
        with_requirements(list(names)),
        dest,
        mirror=mirror,
        force=force,
        accept_new=accept_new,
        report=report,
    )


def fetch_all(
    sources: Sequence[Source],
    dest: Path,
    *,
    mirror: str | None = None,
    force: bool = False,
    accept_new: bool = False,
    report: Report = _quiet,
) -> list[FetchResult]:
    """Fetch ``sources`` in order into ``dest``, creating it; see :func:`fetch_sources`.

    When a source fails, the folders this call created and left empty are removed again.
    """
    apply_mirror("https://example.org/", mirror)  # a malformed mirror fails before any work
    created = _make_dirs(dest)
    results: list[FetchResult] = []
    try:
        with _exclusive(dest):
            _remove_stale_staging(dest)
            for source in sources:
                results.append(
                    fetch_source(
                        source,
                        dest,
                        mirror=mirror,
                        force=force,
                        accept_new=accept_new,
                        report=report,
                    )
                )
    except BaseException:
        _remove_empty(created)
        raise
    return results


@contextlib.contextmanager
def _exclusive(dest: Path) -> Iterator[None]:
    """Hold an exclusive lock on the folder itself (no lock file is left behind), so that two
    fetches into one data folder cannot interleave their moves and records."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: no locking
        yield
        return
    descriptor = os.open(dest, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                f"another `dwa-rater data fetch` is writing to {dest}; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(descriptor)


def _remove_stale_staging(dest: Path) -> None:
    """Staging folders left by a fetch that was killed (the caller holds the folder's lock)."""
    for leftover in dest.glob(f"{STAGING_PREFIX}*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def _make_dirs(path: Path) -> list[Path]:
    """Create ``path`` and missing parents; return those created, deepest first."""
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    if path.exists() and not path.is_dir():
        raise DataError(f"{path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty(folders: Sequence[Path]) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def fetch_source(
    source: Source,
    dest: Path,
    *,
    mirror: str | None = None,
    force: bool = False,
    accept_new: bool = False,
    report: Report = _quiet,
) -> FetchResult:
    """Fetch one source into ``dest`` (which must exist); see :func:`fetch_sources`."""
    manifest = read_manifest(dest)
    recorded = recorded_files(manifest, source.name)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dest))
    try:
        inputs: dict[str, Path] = {}
        staged: dict[str, Path] = {}  # relative path -> staged file
        file_records: list[dict[str, Any]] = []
        kept: list[str] = []
        for remote in source.files:
            label = f"{source.name}: {remote.relative_path}"
            final = dest / remote.relative_path
            size, sha256 = _expected(remote, recorded)
            if final.is_file() and not force:
                try:
                    measured = check_file(final, size, sha256, label)
                except ChecksumError as error:
                    raise ChecksumError(
                        f"{error}; the file at {final} is not the publisher's: move it away "
                        "or pass --force to download it again"
                    ) from None
                inputs[remote.file_name] = final
                kept.append(remote.relative_path)
                file_records.append(_file_record(remote, *measured, mirror=None))
                continue
            url = apply_mirror(remote.url, mirror)
            target = staging / remote.relative_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shown_size = f" ({size / 1e6:,.1f} MB)" if size else ""
            report(f"{source.name}: downloading {remote.file_name}{shown_size}")
            if remote.pinned or not accept_new:
                try:
                    got = download(url, target, size=size, sha256=sha256, label=label)
                except ChecksumError as error:
                    if remote.pinned:
                        raise
                    raise ChecksumError(
                        f"{error} (recorded on first download; if the publisher replaced the "
                        "file, pass --accept-new to record the new one)"
                    ) from None
            else:
                got = download(url, target, size=None, sha256=None, label=label)
            inputs[remote.file_name] = target
            staged[remote.relative_path] = target
            file_records.append(_file_record(remote, got.size, got.sha256, mirror=mirror))

        outputs = _convert(source, inputs, dest, staging, recorded, changed=bool(staged))
        staged.update(outputs)
        for relative, path in staged.items():
            final = dest / relative
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
        output_records = [
            {"path": relative, "size": (dest / relative).stat().st_size, "sha256": digest}
            for relative, digest in _output_digests(source, dest, outputs, recorded)
        ]
        if staged or source.name not in manifest["sources"]:
            manifest["sources"][source.name] = {
                "title": source.title,
                "licence": source.licence,
                "citation": source.citation,
                "attribution": source.attribution,
                "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "tool_version": __version__,
                "files": file_records,
                "outputs": output_records,
            }
            write_manifest(dest, manifest)
        if not staged:
            report(f"{source.name}: up to date")
        return FetchResult(
            source.name,
            tuple(r for r in staged if r not in outputs),
            tuple(kept),
            tuple(outputs),
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _expected(
    remote: RemoteFile, recorded: dict[str, dict[str, Any]]
) -> tuple[int | None, str | None]:
    """The size and SHA-256 a file must have: pinned, else recorded on first download."""
    if remote.pinned:
        return remote.size, remote.sha256
    record = recorded.get(remote.relative_path, {})
    size = record.get("size")
    sha256 = record.get("sha256")
    return (
        size if isinstance(size, int) else None,
        sha256 if isinstance(sha256, str) else None,
    )


def _file_record(
    remote: RemoteFile, size: int, sha256: str, *, mirror: str | None
) -> dict[str, Any]:
    # The canonical URL only: a mirror's address may carry credentials.
    return {
        "path": remote.relative_path,
        "url": remote.url,
        "size": size,
        "sha256": sha256,
        "pinned": remote.pinned,
        "via_mirror": bool(mirror),
    }


def _convert(
    source: Source,
    inputs: dict[str, Path],
    dest: Path,
    staging: Path,
    recorded: dict[str, dict[str, Any]],
    *,
    changed: bool,
) -> dict[str, Path]:
    """Run the source's converter into ``staging`` when anything changed or an output is
    missing or differs from its record; returns ``{relative path: staged file}``."""
    if source.converter is None:
        return {}
    if not changed and all(
        _output_matches(dest / relative, recorded.get(relative)) for relative in source.outputs
    ):
        return {}
    tables = CONVERTERS[source.converter](inputs, dest)
    unexpected = sorted(set(tables) - set(source.outputs))
    if unexpected:
        raise DataError(
            f"{source.name}: converter {source.converter} wrote {', '.join(unexpected)}, "
            "which the registry does not list"
        )
    staged: dict[str, Path] = {}
    for relative, content in tables.items():
        path = staging / "converted" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        staged[relative] = path
    return staged


def _output_matches(path: Path, record: dict[str, Any] | None) -> bool:
    if not path.is_file():
        return False
    if record is None:
        return True
    return path.stat().st_size == record.get("size") and file_sha256(path) == record.get("sha256")


def _output_digests(
    source: Source, dest: Path, written: dict[str, Path], recorded: dict[str, dict[str, Any]]
) -> list[tuple[str, str]]:
    digests = []
    for relative in source.outputs:
        path = dest / relative
        if not path.is_file():
            continue
        record = recorded.get(relative)
        if relative not in written and record and isinstance(record.get("sha256"), str):
            digests.append((relative, str(record["sha256"])))
        else:
            digests.append((relative, file_sha256(path)))
    return digests


# --------------------------------------------------------------------------------------------
# Verify

Status = Literal["ok", "missing", "mismatch", "unrecorded"]


@dataclass(frozen=True)
class FileCheck:
    """One file's state: ``ok`` (matches its pin or record), ``missing``, ``mismatch``
    (size or SHA-256 differ; ``detail`` says how) or ``unrecorded`` (present, nothing to check
    it against)."""

    source: str
    path: str
    kind: Literal["original", "converted"]
    status: Status
    detail: str = ""


def verify_sources(dest: Path, names: Sequence[str] | None = None) -> list[FileCheck]:
    """Check every file of the named sources (all when None) present under ``dest``."""
    return check_sources([get_source(name) for name in names] if names else list(SOURCES), dest)


def check_sources(sources: Sequence[Source], dest: Path) -> list[FileCheck]:
    """Check each file of ``sources`` under ``dest`` against its pin or its record."""
    manifest = read_manifest(dest) if dest.is_dir() else {"sources": {}}
    checks: list[FileCheck] = []
    for source in sources:
        recorded = recorded_files(manifest, source.name)
        for remote in source.files:
            size, sha256 = _expected(remote, recorded)
            checks.append(_check(source.name, dest, remote.relative_path, "original", size, sha256))
        entry = manifest["sources"].get(source.name)
        for relative in source.outputs:
            if entry is not None and relative not in recorded and not (dest / relative).exists():
                continue  # an optional table (e.g. Task Ratings) the publisher's file lacked
            record = recorded.get(relative, {})
            size = record.get("size") if isinstance(record.get("size"), int) else None
            digest = record.get("sha256") if isinstance(record.get("sha256"), str) else None
            checks.append(_check(source.name, dest, relative, "converted", size, digest))
    return checks


def _check(
    source: str,
    dest: Path,
    relative: str,
    kind: Literal["original", "converted"],
    size: int | None,
    sha256: str | None,
) -> FileCheck:
    path = dest / relative
    if not path.is_file():
        return FileCheck(source, relative, kind, "missing")
    if size is None and sha256 is None:
        return FileCheck(source, relative, kind, "unrecorded", "no pinned or recorded checksum")
    try:
        check_file(path, size, sha256, relative)
    except ChecksumError as error:
        detail = str(error).split(": ", 1)[-1]
        return FileCheck(source, relative, kind, "mismatch", detail)
    return FileCheck(source, relative, kind, "ok")


def source_status(checks: Sequence[FileCheck]) -> str:
    """One word for a source's files: complete, partial, absent or damaged."""
    states = {check.status for check in checks}
    if "mismatch" in states:
        return "damaged"
    if states == {"missing"}:
        return "absent"
    if "missing" in states:
        return "partial"
    return "complete"
