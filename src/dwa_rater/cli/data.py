"""``dwa-rater data``: list the reference-data sources, fetch and convert them, verify them."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dwa_rater.cli.progress import output_console
from dwa_rater.data.download import MIRROR_ENV, apply_mirror, display_url
from dwa_rater.data.fetch import FileCheck, fetch_sources, source_status, verify_sources
from dwa_rater.data.registry import SOURCES, source_names, with_requirements
from dwa_rater.errors import ConfigError
from dwa_rater.paths import DATA_DIR_ENV, resolve_data_dest, resolve_data_dir

data_app = typer.Typer(
    help="Reference data: list the sources, fetch and convert them, verify them. "
    "Sources, licences and attribution: docs/data.md.",
    no_args_is_help=True,
)


def _size(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:,.1f} MB"


@data_app.command("list")
def list_sources(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help=f"Show what is present here (default: ${DATA_DIR_ENV})."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the registry as JSON.")] = False,
) -> None:
    """The sources: name, files, size, checksums, licence, and what a data folder holds."""
    folder = data_dir or (Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None)
    states: dict[str, str] = {}
    if folder is not None and folder.is_dir():
        for name in source_names():
            states[name] = source_status(verify_sources(folder, [name]))
    if as_json:
        rows = [
            {
                "name": s.name,
                "title": s.title,
                "licence": s.licence,
                "citation": s.citation,
                "used_for": s.used_for,
                "files": [
                    {"url": f.url, "path": f.relative_path, "size": f.size, "sha256": f.sha256}
                    for f in s.files
                ],
                "outputs": list(s.outputs),
                "requires": list(s.requires),
                "attribution": s.attribution,
                "notes": list(s.notes),
                **({"status": states[s.name]} if s.name in states else {}),
            }
            for s in SOURCES
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table(title="reference-data sources (docs/data.md)")
    for column in ("name", "files", "size", "checksums", "licence", "what"):
        table.add_column(column)
    if states:
        table.add_column(f"in {folder}")
    for s in SOURCES:
        checksums = "pinned" if s.pinned else "recorded on first download"
        if not s.pinned and any(f.pinned for f in s.files):
            checksums = "pinned, some recorded"
        row = [s.name, str(len(s.files)), _size(s.size), checksums, s.licence, s.title]
        if states:
            row.append(states[s.name])
        table.add_row(*row)
    output_console().print(table)


@data_app.command("fetch")
def fetch(
    names: Annotated[
        list[str] | None,
        typer.Argument(help=f"Source names ({', '.join(source_names())})."),
    ] = None,
    all_sources: Annotated[bool, typer.Option("--all", help="Fetch every source.")] = False,
    dest: Annotated[
        Path | None,
        typer.Option("--dest", help=f"Data folder to fill (default: ${DATA_DIR_ENV})."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even when the files are present.")
    ] = False,
    accept_new: Annotated[
        bool,
        typer.Option(
            "--accept-new",
            help="Record a new checksum for a file the publisher replaced (unpinned files only).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the URLs (after the mirror) and target paths; fetch nothing."
        ),
    ] = False,
) -> None:
    """Download sources, check size and SHA-256, convert them to the tables the tool reads.

    DWA_RATER_DATA_MIRROR (an http(s) URL) replaces the scheme and host of every source URL. A
    file whose size or checksum differs is refused and nothing of that source is kept.
    """
    chosen = source_names() if all_sources else list(names or [])
    if not chosen:
        raise ConfigError(f"name a source ({', '.join(source_names())}) or pass --all")
    target = resolve_data_dest(dest, os.environ)
    mirror = os.environ.get(MIRROR_ENV) or None
    if dry_run:
        for source in with_requirements(chosen):
            for remote in source.files:
                pin = remote.sha256 or "recorded on first download"
                typer.echo(
                    f"{source.name}\t{display_url(apply_mirror(remote.url, mirror))}\t"
                    f"{target / remote.relative_path}\t{_size(remote.size)}\t{pin}"
                )
        return
    # Progress lines only on a terminal: piped, a failure prints exactly one line.
    report = (lambda message: typer.echo(message, err=True)) if sys.stderr.isatty() else None
    kwargs = {"report": report} if report is not None else {}
    results = fetch_sources(
        chosen, target, mirror=mirror, force=force, accept_new=accept_new, **kwargs
    )
    for result in results:
        parts = []
        if result.downloaded:
            parts.append(f"{len(result.downloaded)} file(s) downloaded and verified")
        if result.kept:
            parts.append(f"{len(result.kept)} already present and verified")
        if result.outputs:
            parts.append(f"{len(result.outputs)} table(s) converted")
        typer.echo(f"{result.source}: {', '.join(parts) or 'nothing to do'}")
    typer.echo(f"data in {target} (licences and attribution: docs/data.md)")


@data_app.command("verify")
def verify(
    names: Annotated[
        list[str] | None, typer.Argument(help="Sources to check (default: all).")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help=f"Data folder to check (default: ${DATA_DIR_ENV})."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one record per file as JSON.")
    ] = False,
) -> None:
    """Check the files present against their pinned or recorded size and SHA-256.

    Exits 1 when a present file differs; missing files are counted, not failures.
    """
    folder = resolve_data_dir(data_dir, os.environ)
    checks = verify_sources(folder, names or None)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(check) for check in checks], indent=2))
        if any(check.status == "mismatch" for check in checks):
            raise typer.Exit(1)
        return
    table = Table(title=f"data in {folder}")
    for column in ("source", "status", "ok", "missing", "unrecorded", "differing"):
        table.add_column(column)
    by_source: dict[str, list[FileCheck]] = {}
    for check in checks:
        by_source.setdefault(check.source, []).append(check)
    for name, group in by_source.items():
        count = {s: sum(c.status == s for c in group) for s in ("ok", "missing", "unrecorded")}
        bad = [c for c in group if c.status == "mismatch"]
        table.add_row(
            name,
            source_status(group),
            str(count["ok"]),
            str(count["missing"]),
            str(count["unrecorded"]),
            str(len(bad)),
        )
    console = output_console()
    console.print(table)
    mismatches = [c for c in checks if c.status == "mismatch"]
    for check in mismatches:
        typer.echo(f"differs: {check.path} ({check.detail})", err=True)
    if mismatches:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Mount ``data`` (list, fetch, verify)."""
    app.add_typer(data_app, name="data")
