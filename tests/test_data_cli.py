"""``dwa-rater data`` end to end: the installed command against a loopback mirror.

The held-out check in miniature: ``DWA_RATER_DATA_MIRROR=http://127.0.0.1:PORT dwa-rater data
fetch eloundou-2023 --dest DIR`` from a mirror serving a tampered copy exits non-zero with one
line and leaves no file. (The success path with the real release bytes cannot run offline; it
runs on fixture sources in test_data_fetch.py.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dwa_rater.cli.main import main
from dwa_rater.data.registry import get_source
from dwa_rater.testing.fake_mirror import FakeMirror, url_path

SRC = Path(__file__).resolve().parents[1] / "src"


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DWA_RATER_DATA")}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "dwa_rater", "data", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    """The CLI in this process (same entry point, error handling and exit codes)."""
    for name in ("DWA_RATER_DATA_DIR", "DWA_RATER_DATA_MIRROR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["dwa-rater", "data", *args])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def mirror() -> Iterator[FakeMirror]:
    with FakeMirror({}) as server:
        yield server


def test_tampered_eloundou_release_is_refused_by_the_command(
    tmp_path: Path, mirror: FakeMirror
) -> None:
    """In a subprocess, as a user runs it."""
    files = get_source("eloundou-2023").files
    mirror.files = {url_path(f.url): b"x" * (f.size or 0) for f in files}
    dest = tmp_path / "data"
    result = run_cli(
        "fetch",
        "eloundou-2023",
        "--dest",
        str(dest),
        env={"DWA_RATER_DATA_MIRROR": mirror.mirror_url},
        cwd=tmp_path,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: eloundou-2023: "), result.stderr
    assert "SHA-256" in lines[0] and "refused" in lines[0]
    assert result.stdout == ""
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("tamper", ["same size", "other size", "one of two"])
def test_tampered_eloundou_release_is_refused_with_one_line(
    tmp_path: Path,
    mirror: FakeMirror,
    tamper: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    labelset, occupations = get_source("eloundou-2023").files
    if tamper == "same size":
        mirror.files = {url_path(f.url): b"x" * (f.size or 0) for f in (labelset, occupations)}
    elif tamper == "other size":
        mirror.files = {url_path(f.url): b"tampered\n" for f in (labelset, occupations)}
    else:
        # the first file cannot be served right offline; serve it truncated, the second missing
        mirror.files = {url_path(labelset.url): b"task\n"}
    dest = tmp_path / "data"
    code, out, err = run_main(
        monkeypatch,
        capsys,
        "fetch",
        "eloundou-2023",
        "--dest",
        str(dest),
        env={"DWA_RATER_DATA_MIRROR": mirror.mirror_url},
    )
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: eloundou-2023: "), err
    assert out == ""
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert mirror.requested[0] == url_path(labelset.url)


def test_fetch_needs_a_source_and_a_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        code, _, err = run_main(monkeypatch, capsys, *args, env=env)
        return code, err

    code, err = run("fetch", "--dest", str(tmp_path))
    assert code == 2 and "name a source" in err
    code, err = run("fetch", "eloundou-2023")
    assert code == 2 and "pass --dest or set DWA_RATER_DATA_DIR" in err
    code, err = run("fetch", "no-such-source", "--dest", str(tmp_path))
    assert code == 2 and "known sources: onet" in err
    code, err = run(
        "fetch", "eloundou-2023", "--dest", str(tmp_path), env={"DWA_RATER_DATA_MIRROR": "ftp://x"}
    )
    assert code == 2 and "DWA_RATER_DATA_MIRROR must be an http(s) URL" in err
    assert list(tmp_path.iterdir()) == []


def test_dry_run_prints_urls_after_the_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(
        monkeypatch,
        capsys,
        "fetch",
        "crosswalks",
        "--dry-run",
        "--dest",
        str(tmp_path),
        env={"DWA_RATER_DATA_MIRROR": "https://user:pw@mirror.example.org/m"},
    )
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert lines[0][:2] == [
        "onet",
        "https://mirror.example.org/m/dl_files/database/db_30_1_text.zip",
    ]
    assert lines[0][4] == "recorded on first download"
    assert [line[0] for line in lines] == ["onet", "crosswalks", "crosswalks", "crosswalks"]
    assert "pw" not in out
    assert list(tmp_path.iterdir()) == []


def test_list_and_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "list", "--json")
    assert code == 0
    rows = json.loads(out)
    eloundou = next(r for r in rows if r["name"] == "eloundou-2023")
    assert eloundou["licence"] == "MIT"
    assert [f["size"] for f in eloundou["files"]] == [3_893_248, 126_022]
    folder = tmp_path / "telework"
    folder.mkdir()
    (folder / "occupations_workathome.csv").write_text("changed\n")
    code, out, err = run_main(
        monkeypatch, capsys, "verify", "dingel-neiman", "--data-dir", str(tmp_path)
    )
    assert code == 1
    assert "differs: telework/occupations_workathome.csv (size 8 bytes, expected 45,011)" in err
    code, out, _ = run_main(
        monkeypatch, capsys, "verify", "eloundou-2023", "--data-dir", str(tmp_path)
    )
    assert code == 0 and "absent" in out
    code, out, _ = run_main(
        monkeypatch, capsys, "verify", "dingel-neiman", "--json", "--data-dir", str(tmp_path)
    )
    assert code == 1
    assert [(r["path"], r["status"]) for r in json.loads(out)] == [
        ("telework/occupations_workathome.csv", "mismatch"),
        ("telework/onet_teleworkable_blscodes.csv", "missing"),
    ]
    code, _, err = run_main(monkeypatch, capsys, "verify", "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2 and "does not exist" in err


#: Where the shared data folder keeps a publisher's file under another name.
SHARED_NAMES = {
    "crosswalks/isco_soc_crosswalk.xls": "crosswalks/bls_isco08_soc2010_crosswalk.xls",
    "crosswalks/soc_2010_to_2018_crosswalk.xlsx": "crosswalks/bls_soc2010_soc2018_crosswalk.xlsx",
    "crosswalks/2010_to_2019_soc_crosswalk.csv": "crosswalks/onetsoc2010_to_onetsoc2019.csv",
}


def test_fetch_through_a_mirror_reproduces_the_data_folder(
    tmp_path: Path,
    mirror: FakeMirror,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A mirror serving the publishers' files: the fetched folder holds what the tool reads."""
    import zipfile

    onet_zip = tmp_path / "db_30_1_text.zip"
    with zipfile.ZipFile(onet_zip, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((data_dir / "onet").glob("*.txt")):
            archive.write(path, f"db_30_1_text/{path.name}")
    names = ["felten-aioe", "dingel-neiman", "crosswalks"]
    for name in ["onet", *names]:
        for remote in get_source(name).files:
            if name == "onet":
                mirror.files[url_path(remote.url)] = onet_zip.read_bytes()
                continue
            shared = data_dir / SHARED_NAMES.get(remote.relative_path, remote.relative_path)
            mirror.files[url_path(remote.url)] = shared.read_bytes()
    dest = tmp_path / "fetched"
    env = {"DWA_RATER_DATA_MIRROR": mirror.mirror_url, "DWA_RATER_DATA_DIR": str(dest)}
    code, out, err = run_main(monkeypatch, capsys, "fetch", *names, env=env)
    assert code == 0, err
    assert "crosswalks: 3 file(s) downloaded and verified, 4 table(s) converted" in out
    for name in names:
        for relative in get_source(name).outputs:
            assert (dest / relative).read_bytes() == (data_dir / relative).read_bytes(), relative
    assert (dest / "onet" / "DWA Reference.txt").read_bytes() == (
        data_dir / "onet" / "DWA Reference.txt"
    ).read_bytes()
    assert (dest / "onet" / "db_30_1_text.zip").read_bytes() == onet_zip.read_bytes()
    assert [p for p in dest.iterdir() if p.name.startswith(".")] == []
    code, out, err = run_main(
        monkeypatch, capsys, "verify", "onet", *names, "--data-dir", str(dest)
    )
    assert code == 0, err
    assert "differing" in out and "complete" in out
    # a second fetch sends no request
    mirror.requested.clear()
    code, out, _ = run_main(monkeypatch, capsys, "fetch", *names, env=env)
    assert code == 0 and mirror.requested == []
