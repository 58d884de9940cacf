"""Converters that move publishers' bytes unchanged: the O*NET zip's tables, renamed copies.

A converter takes the publisher's files (``{file name: path}``) and the data directory (for
tables of other sources it builds on) and returns the converted tables as
``{path relative to the data directory: bytes}``; the caller writes them atomically.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

from dwa_rater.catalog import load_onet
from dwa_rater.data.registry import ONET_TABLE_FILES
from dwa_rater.errors import DataError

#: ``converter(publisher's files by name, data directory) -> {relative path: bytes}``.
Converter = Callable[[Mapping[str, Path], Path], dict[str, bytes]]

#: Tables the tool cannot work without; the others (Task Ratings, Scales, Read Me ...) are
#: extracted when the release holds them.
ONET_REQUIRED: frozenset[str] = frozenset(
    {
        "Content Model Reference.txt",
        "DWA Reference.txt",
        "IWA Reference.txt",
        "Occupation Data.txt",
        "Task Statements.txt",
        "Tasks to DWAs.txt",
    }
)


def original(files: Mapping[str, Path], name: str) -> Path:
    """The publisher's file called ``name``; a ``DataError`` when the fetch did not provide it."""
    try:
        return files[name]
    except KeyError:
        raise DataError(f"converter input {name!r} is missing") from None


def onet_text_release(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """The O*NET tables from the official text-release zip, bytes unchanged, into ``onet/``.

    The zip holds one folder (``db_30_1_text/``) of tab-separated files; those listed in
    :data:`~dwa_rater.data.registry.ONET_TABLE_FILES` are extracted, the required ones must be
    there, and the release must pass :func:`dwa_rater.catalog.load_onet`'s checks (unique IDs,
    links that resolve). Returns ``{"onet/<file>": bytes}``.
    """
    (zip_name,) = [name for name in files if name.endswith(".zip")] or [""]
    path = original(files, zip_name)
    try:
        with zipfile.ZipFile(path) as archive:
            members: dict[str, str] = {}
            for member in archive.namelist():
                pure = PurePosixPath(member)
                if member.endswith("/") or "__MACOSX" in pure.parts:
                    continue
                if pure.name in ONET_TABLE_FILES:
                    if pure.name in members:
                        raise DataError(
                            f"{path.name}: {pure.name!r} appears twice in the zip "
                            f"({members[pure.name]}, {member}); keep one release per zip"
                        )
                    members[pure.name] = member
            missing = sorted(ONET_REQUIRED - members.keys())
            if missing:
                raise DataError(
                    f"{path.name}: not an O*NET text release (missing {', '.join(missing)})"
                )
            tables = {f"onet/{name}": archive.read(member) for name, member in members.items()}
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(f"{path.name}: cannot open the zip file ({error})") from error
    load_onet(path)
    return tables


def _renamed(source_name: str, target: str) -> Converter:
    """A converter that copies one publisher's file under the name the tool reads."""

    def convert(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
        return {target: original(files, source_name).read_bytes()}

    convert.__doc__ = f"``{source_name}`` copied unchanged to ``{target}``."
    return convert


copy_task_summary = _renamed(
    "task_level_with_freq_importance_relevance.csv",
    "onet/supplementary/task_ratings_summary_onet29.3.csv",
)
copy_ilo_2023 = _renamed(
    "Gmyrek_Berg_Bescond - ISCO 4digit scores.csv",
    "exposure/ilo_gmyrek/gmyrek_berg_bescond_2023_isco4digit.csv",
)


def copy_nesta(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    """Nesta's ESCO-O*NET crosswalk and licence under the names the tool uses, unchanged."""
    return {
        "crosswalks/nesta_esco_onet_crosswalk_Nov2020.csv": original(
            files, "esco_onet_crosswalk_Nov2020.csv"
        ).read_bytes(),
        "exposure/nesta_mcc_sml/LICENSE-nesta-MIT.txt": original(files, "LICENSE").read_bytes(),
    }
