"""Tests of the data-source registry and mirror rewriting (dwa_rater.data.registry, download)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from dwa_rater.data.converters import CONVERTERS
from dwa_rater.data.download import apply_mirror
from dwa_rater.data.registry import SOURCES, get_source, source_names, with_requirements
from dwa_rater.errors import ConfigError

ELOUNDOU = "https://raw.githubusercontent.com/openai/GPTs-are-GPTs/0471612fef3cc22b74fb884d27bff9dbd3770582/data"


def test_eloundou_release_is_pinned_as_the_issue_gives_it() -> None:
    source = get_source("eloundou-2023")
    assert [(f.url, f.size, f.sha256) for f in source.files] == [
        (
            f"{ELOUNDOU}/full_labelset.tsv",
            3_893_248,
            "094378905e1f3349e50a9a83dc69643a2ef227954d611c8316a46da08cb3d8de",
        ),
        (
            f"{ELOUNDOU}/occ_level.csv",
            126_022,
            "40c74f53de40aec91c0017d80690cbba915f83a8bb414bcf2f884692f1749acb",
        ),
    ]
    assert source.licence == "MIT"
    assert [f.relative_path for f in source.files] == [
        "exposure/eloundou_2023/full_labelset.tsv",
        "exposure/eloundou_2023/occ_level.csv",
    ]


def test_registry_is_consistent() -> None:
    names = source_names()
    assert len(names) == len(set(names))
    for wanted in (
        "onet",
        "dingel-neiman",
        "felten-aioe",
        "felten-lm-aioe",
        "webb",
        "microsoft-working-with-ai",
        "ilo-2023",
        "ilo-2025",
        "crosswalks",
        "eloundou-2023",
    ):
        assert wanted in names
    paths = [f.relative_path for s in SOURCES for f in s.files] + [
        o for s in SOURCES for o in s.outputs
    ]
    assert len(paths) == len(set(paths)), "two sources write the same file"
    for source in SOURCES:
        assert source.licence and source.citation and source.used_for
        assert (source.converter is None) == (not source.outputs)
        assert source.converter is None or source.converter in CONVERTERS
        for remote in source.files:
            assert remote.url.startswith("https://")
            assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
            assert (remote.size is None) == (remote.sha256 is None)
        for required in source.requires:
            get_source(required)


def test_pins_match_the_byte_copies_in_the_data_folder(data_dir: Path) -> None:
    """Where the shared folder holds a publisher's file under its own name, the pin is its hash."""
    compared = 0
    for source in SOURCES:
        for remote in source.files:
            path = data_dir / remote.relative_path
            if remote.pinned and path.is_file():
                data = path.read_bytes()
                assert len(data) == remote.size, remote.relative_path
                assert hashlib.sha256(data).hexdigest() == remote.sha256, remote.relative_path
                compared += 1
    assert compared >= 15


def test_unknown_source_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known sources: onet, "):
        get_source("onet-31")


def test_requirements_come_first_and_once() -> None:
    order = [s.name for s in with_requirements(["crosswalks", "onet", "eloundou-2023"])]
    assert order == ["onet", "crosswalks", "eloundou-2023"]


@pytest.mark.parametrize(
    ("mirror", "expected"),
    [
        (None, f"{ELOUNDOU}/occ_level.csv"),
        ("", f"{ELOUNDOU}/occ_level.csv"),
        (
            "http://127.0.0.1:8123",
            "http://127.0.0.1:8123/openai/GPTs-are-GPTs/0471612fef3cc22b74fb884d27bff9dbd3770582/data/occ_level.csv",
        ),
        (
            "https://mirror.example.org/dwa/",
            "https://mirror.example.org/dwa/openai/GPTs-are-GPTs/0471612fef3cc22b74fb884d27bff9dbd3770582/data/occ_level.csv",
        ),
    ],
)
def test_mirror_replaces_scheme_and_host(mirror: str | None, expected: str) -> None:
    assert apply_mirror(f"{ELOUNDOU}/occ_level.csv", mirror) == expected


def test_mirror_keeps_percent_encoding() -> None:
    url = get_source("ilo-2023").files[0].url
    mirrored = apply_mirror(url, "http://127.0.0.1:9")
    assert mirrored.endswith("/Gmyrek_Berg_Bescond%20-%20ISCO%204digit%20scores.csv")
    assert (
        get_source("ilo-2023").files[0].file_name == "Gmyrek_Berg_Bescond - ISCO 4digit scores.csv"
    )


@pytest.mark.parametrize("mirror", ["ftp://host/x", "127.0.0.1:8000", "http://"])
def test_malformed_mirror_is_a_config_error(mirror: str) -> None:
    with pytest.raises(ConfigError, match="DWA_RATER_DATA_MIRROR"):
        apply_mirror(f"{ELOUNDOU}/occ_level.csv", mirror)


def test_mirror_credentials_never_appear_in_the_error() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_mirror(f"{ELOUNDOU}/occ_level.csv", "ftp://user:secret@host/x")
    assert "secret" not in str(caught.value)
