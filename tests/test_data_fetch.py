"""Tests of fetch and verify against a loopback mirror (nothing leaves 127.0.0.1).

Sources here are built from fixture bytes (their pins are the fixtures' hashes) except where a
refusal is tested, which works with the real registry entries: any served bytes but the
publisher's are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from dwa_rater.data import download
from dwa_rater.data.download import ChecksumError
from dwa_rater.data.fetch import (
    STAGING_PREFIX,
    check_sources,
    fetch_all,
    fetch_source,
    fetch_sources,
    source_status,
    verify_sources,
)
from dwa_rater.data.manifest import MANIFEST_NAME, read_manifest
from dwa_rater.data.registry import RemoteFile, Source, get_source
from dwa_rater.errors import DataError
from dwa_rater.testing.fake_mirror import FakeMirror, url_path

BASE = "https://raw.githubusercontent.com/example/data/0123456789abcdef0123456789abcdef01234567"
TABLE_A = b"code,value\nA,1\nB,2\n"
TABLE_B = b"code\tlabel\r\nA\tE1\r\n"


def pinned(name: str, data: bytes, folder: str = "exposure/example") -> RemoteFile:
    return RemoteFile(f"{BASE}/{name}", folder, len(data), hashlib.sha256(data).hexdigest())


def example_source(**changes: object) -> Source:
    fields: dict[str, object] = {
        "name": "example",
        "title": "Example tables",
        "files": (pinned("a.csv", TABLE_A), pinned("b%20c.tsv", TABLE_B)),
        "licence": "MIT",
        "citation": "Example (2024)",
        "used_for": "tests",
    }
    fields.update(changes)
    return Source(**fields)  # type: ignore[arg-type]


@pytest.fixture
def mirror() -> Iterator[FakeMirror]:
    with FakeMirror({}) as server:
        yield server


def serve(server: FakeMirror, files: Mapping[str, bytes]) -> None:
    server.files = {url_path(f"{BASE}/{name}"): data for name, data in files.items()}


def all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_bytes_arrive_unchanged_under_their_original_names(
    tmp_path: Path, mirror: FakeMirror
) -> None:
    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    dest = tmp_path / "data"
    dest.mkdir()
    result = fetch_source(example_source(), dest, mirror=mirror.mirror_url)
    assert (dest / "exposure/example/a.csv").read_bytes() == TABLE_A
    assert (dest / "exposure/example/b c.tsv").read_bytes() == TABLE_B
    assert result.downloaded == ("exposure/example/a.csv", "exposure/example/b c.tsv")
    assert mirror.requested == [
        url_path(f"{BASE}/a.csv"),
        url_path(f"{BASE}/b%20c.tsv"),
    ]
    record = read_manifest(dest)["sources"]["example"]
    assert [(f["path"], f["sha256"], f["pinned"]) for f in record["files"]] == [
        ("exposure/example/a.csv", hashlib.sha256(TABLE_A).hexdigest(), True),
        ("exposure/example/b c.tsv", hashlib.sha256(TABLE_B).hexdigest(), True),
    ]
    assert record["files"][0]["url"] == f"{BASE}/a.csv"  # the canonical URL, not the mirror's
    attribution = (dest / "ATTRIBUTION.md").read_text()
    assert "## example: Example tables" in attribution
    assert "- Licence: MIT\n- Cite: Example (2024)\n" in attribution
    assert not [p for p in dest.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_second_fetch_downloads_nothing(tmp_path: Path, mirror: FakeMirror) -> None:
    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    mirror.requested.clear()
    result = fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    assert mirror.requested == []
    assert result.downloaded == () and len(result.kept) == 2


@pytest.mark.parametrize(
    "served",
    [
        {"a.csv": TABLE_A.replace(b"1", b"9"), "b%20c.tsv": TABLE_B},  # same size, other bytes
        {"a.csv": TABLE_A + b"C,3\n", "b%20c.tsv": TABLE_B},  # longer
        {"a.csv": TABLE_A[:-2], "b%20c.tsv": TABLE_B},  # shorter
        {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B.upper()},  # the second file tampered
    ],
)
def test_a_tampered_file_leaves_nothing(
    tmp_path: Path, mirror: FakeMirror, served: dict[str, bytes]
) -> None:
    serve(mirror, served)
    dest = tmp_path / "new" / "data"
    with pytest.raises(ChecksumError) as caught:
        fetch_all([example_source()], dest, mirror=mirror.mirror_url)
    message = str(caught.value)
    assert "\n" not in message and "example: exposure/example/" in message
    assert all_files(tmp_path) == []
    assert not dest.exists()  # the folders the fetch created are gone too


def test_real_eloundou_pins_refuse_other_bytes(tmp_path: Path, mirror: FakeMirror) -> None:
    source = get_source("eloundou-2023")
    same_size = {url_path(f.url): b"\0" * (f.size or 0) for f in source.files}
    mirror.files = same_size
    dest = tmp_path / "data"
    with pytest.raises(ChecksumError, match=r"SHA-256 .* expected 094378905e"):
        fetch_sources(["eloundou-2023"], dest, mirror=mirror.mirror_url)
    assert all_files(tmp_path) == []
    # a wrong length is refused from the Content-Length header, before the body is read
    mirror.files = {url_path(f.url): b"tampered" for f in source.files}
    with pytest.raises(ChecksumError, match="announces 8 bytes, expected 3,893,248"):
        fetch_sources(["eloundou-2023"], dest, mirror=mirror.mirror_url)
    assert all_files(tmp_path) == []


def test_existing_folder_keeps_its_other_files_after_a_refusal(
    tmp_path: Path, mirror: FakeMirror
) -> None:
    (tmp_path / "onet").mkdir()
    (tmp_path / "onet" / "mine.txt").write_text("kept")
    serve(mirror, {"a.csv": b"bad", "b%20c.tsv": TABLE_B})
    with pytest.raises(ChecksumError):
        fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    assert all_files(tmp_path) == [tmp_path / "onet" / "mine.txt"]


def test_http_errors_are_one_line(tmp_path: Path, mirror: FakeMirror) -> None:
    serve(mirror, {"a.csv": TABLE_A})
    with pytest.raises(DataError, match=r"b%20c.tsv answered HTTP 404") as caught:
        fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    assert "\n" not in str(caught.value)
    assert all_files(tmp_path) == []


def test_unreachable_mirror_is_retried_then_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.01)
    with FakeMirror({}) as server:
        url = server.mirror_url  # a port nobody listens on once the server stops
    with pytest.raises(DataError, match=r"cannot download http://127\.0\.0\.1"):
        fetch_source(example_source(), tmp_path, mirror=url)
    assert all_files(tmp_path) == []


def test_a_changed_file_present_is_refused_and_kept(tmp_path: Path, mirror: FakeMirror) -> None:
    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    edited = tmp_path / "exposure/example/a.csv"
    edited.write_bytes(b"edited\n")
    with pytest.raises(ChecksumError, match="--force"):
        fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    assert edited.read_bytes() == b"edited\n"
    fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url, force=True)
    assert edited.read_bytes() == TABLE_A


def test_unpinned_file_is_recorded_on_first_download(tmp_path: Path, mirror: FakeMirror) -> None:
    source = example_source(files=(RemoteFile(f"{BASE}/release.zip", "onet"),))
    serve(mirror, {"release.zip": b"first release"})
    fetch_source(source, tmp_path, mirror=mirror.mirror_url)
    record = read_manifest(tmp_path)["sources"]["example"]["files"][0]
    assert record["sha256"] == hashlib.sha256(b"first release").hexdigest()
    assert record["pinned"] is False
    # the publisher replaces the file in place: refused against the recorded hash...
    serve(mirror, {"release.zip": b"second release"})
    with pytest.raises(ChecksumError, match="--accept-new"):
        fetch_source(source, tmp_path, mirror=mirror.mirror_url, force=True)
    assert (tmp_path / "onet/release.zip").read_bytes() == b"first release"
    # ...unless the user accepts the new one
    fetch_source(source, tmp_path, mirror=mirror.mirror_url, force=True, accept_new=True)
    record = read_manifest(tmp_path)["sources"]["example"]["files"][0]
    assert record["sha256"] == hashlib.sha256(b"second release").hexdigest()
    assert verify_sources_for(source, tmp_path) == {"onet/release.zip": "ok"}


def verify_sources_for(source: Source, dest: Path) -> dict[str, str]:
    return {check.path: check.status for check in check_sources([source], dest)}


def upper_converter(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
    return {"exposure/example/a_upper.csv": files["a.csv"].read_bytes().upper()}


def test_converter_output_is_written_recorded_and_verified(
    tmp_path: Path, mirror: FakeMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        __import__("dwa_rater.data.converters", fromlist=["CONVERTERS"]).CONVERTERS,
        "upper",
        upper_converter,
    )
    source = example_source(
        files=(pinned("a.csv", TABLE_A),),
        outputs=("exposure/example/a_upper.csv",),
        converter="upper",
    )
    serve(mirror, {"a.csv": TABLE_A})
    result = fetch_source(source, tmp_path, mirror=mirror.mirror_url)
    assert result.outputs == ("exposure/example/a_upper.csv",)
    converted = tmp_path / "exposure/example/a_upper.csv"
    assert converted.read_bytes() == TABLE_A.upper()
    assert verify_sources_for(source, tmp_path) == {
        "exposure/example/a.csv": "ok",
        "exposure/example/a_upper.csv": "ok",
    }
    converted.write_bytes(b"changed")
    assert verify_sources_for(source, tmp_path)["exposure/example/a_upper.csv"] == "mismatch"
    # a fetch regenerates a converted table that no longer matches its record
    mirror.requested.clear()
    fetch_source(source, tmp_path, mirror=mirror.mirror_url)
    assert mirror.requested == []
    assert converted.read_bytes() == TABLE_A.upper()


def test_failing_converter_leaves_nothing(
    tmp_path: Path, mirror: FakeMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(files: Mapping[str, Path], dest: Path) -> dict[str, bytes]:
        raise DataError("a.csv: not the expected layout")

    monkeypatch.setitem(
        __import__("dwa_rater.data.converters", fromlist=["CONVERTERS"]).CONVERTERS,
        "broken",
        broken,
    )
    source = example_source(
        files=(pinned("a.csv", TABLE_A),), outputs=("x/y.csv",), converter="broken"
    )
    serve(mirror, {"a.csv": TABLE_A})
    with pytest.raises(DataError, match="not the expected layout"):
        fetch_source(source, tmp_path, mirror=mirror.mirror_url)
    assert all_files(tmp_path) == []


def test_verify_reports_present_missing_and_differing_files(tmp_path: Path) -> None:
    folder = tmp_path / "telework"
    folder.mkdir()
    checks = verify_sources(tmp_path, ["dingel-neiman"])
    assert {c.status for c in checks} == {"missing"}
    assert source_status(checks) == "absent"
    (folder / "occupations_workathome.csv").write_text("onetsoccode,title,teleworkable\n")
    checks = verify_sources(tmp_path, ["dingel-neiman"])
    assert [c.status for c in checks] == ["mismatch", "missing"]
    assert "size" in checks[0].detail
    assert source_status(checks) == "damaged"


def test_verify_accepts_the_shared_byte_copies(data_dir: Path) -> None:
    checks = verify_sources(data_dir, ["dingel-neiman", "microsoft-working-with-ai"])
    assert {c.status for c in checks} == {"ok"}


def test_mirror_credentials_are_not_recorded(tmp_path: Path, mirror: FakeMirror) -> None:
    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    with_user = mirror.mirror_url.replace("http://", "http://user:s3cret@")
    fetch_source(example_source(), tmp_path, mirror=with_user)
    assert mirror.authorizations == ["Basic dXNlcjpzM2NyZXQ="] * 2
    text = (tmp_path / MANIFEST_NAME).read_text()
    assert "s3cret" not in text and "127.0.0.1" not in text
    assert json.loads(text)["sources"]["example"]["files"][0]["via_mirror"] is True


def test_a_second_fetch_into_the_same_folder_waits_its_turn(
    tmp_path: Path, mirror: FakeMirror
) -> None:
    import fcntl
    import os

    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        with pytest.raises(DataError, match="another `dwa-rater data fetch` is writing"):
            fetch_all([example_source()], tmp_path, mirror=mirror.mirror_url)
    finally:
        os.close(descriptor)
    assert mirror.requested == []
    stale = tmp_path / f"{STAGING_PREFIX}killed"
    stale.mkdir()
    (stale / "partial.csv").write_bytes(b"A,")
    fetch_all([example_source()], tmp_path, mirror=mirror.mirror_url)
    assert not stale.exists()
    assert (tmp_path / "exposure/example/a.csv").read_bytes() == TABLE_A


def test_a_loopback_mirror_bypasses_environment_proxies(
    tmp_path: Path, mirror: FakeMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("no_proxy", "")
    serve(mirror, {"a.csv": TABLE_A, "b%20c.tsv": TABLE_B})
    fetch_source(example_source(), tmp_path, mirror=mirror.mirror_url)
    assert (tmp_path / "exposure/example/a.csv").read_bytes() == TABLE_A
