"""Packaging: package data from the top-level folders, user overrides, declared imports,
dependency ranges and the lock, example config files, logging, ``--version``."""

from __future__ import annotations

import fnmatch
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import dwa_rater
from dwa_rater import resources
from dwa_rater.cli.logs import LevelFilter, configure_logging
from dwa_rater.config import load_raters
from dwa_rater.errors import ConfigError, PromptError
from dwa_rater.paths import resolve_annotations_dir, resolve_prompts_dir
from dwa_rater.prompts import DEFAULT_PROMPTS_DIR, list_prompts, load_prompt
from dwa_rater.review.labeling import reference_config_text
from dwa_rater.study.config import load_study_config
from dwa_rater.testing.fake_openai import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _script(name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- package data --------------------------------------------------------------------------


def test_package_data_links_to_the_top_level_folders() -> None:
    """One copy of every rubric: the package's folder is the repository's, not a duplicate."""
    data = REPO / "src" / "dwa_rater" / "_data"
    assert (data / "prompts").resolve() == (REPO / "prompts").resolve()
    for name in (*resources.ANNOTATION_FILES, "wording"):
        assert (data / "annotations" / name).resolve() == (REPO / "annotations" / name).resolve()


def test_package_data_globs_cover_every_shipped_file() -> None:
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["dwa_rater"]
    shipped = [
        f"_data/prompts/{p.relative_to(REPO / 'prompts')}"
        for p in (REPO / "prompts").rglob("*")
        if p.is_file()
    ]
    shipped += [f"_data/annotations/{name}" for name in resources.ANNOTATION_FILES]
    shipped += [
        f"_data/annotations/wording/{p.name}" for p in (REPO / "annotations" / "wording").iterdir()
    ]
    uncovered = [path for path in shipped if not any(fnmatch.fnmatch(path, g) for g in globs)]
    assert not uncovered
    # dated Label Studio exports in annotations/ are the user's, never package data
    assert not any("*.json" in g or g.endswith("annotations/**") for g in globs)


def test_resources_are_read_through_importlib() -> None:
    assert resources.packaged_prompts_dir() == DEFAULT_PROMPTS_DIR
    assert {name for name, _ in list_prompts()} >= {"exposure", "ilo"}
    # the shipped labelling config is the one the review step generates
    assert resources.annotation_text("labeling_config.xml") == reference_config_text()
    assert "E2" in resources.annotation_text("guidelines.md")
    with pytest.raises(ConfigError, match="unknown annotation file"):
        resources.annotation_text("export-1.json")


def test_no_source_tree_paths_in_the_package() -> None:
    offenders = []
    for path in (REPO / "src" / "dwa_rater").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"parents\[\d\]", text):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


# --- a user's prompts folder ----------------------------------------------------------------


def _copy_rubric(source: Path, target: Path, system_suffix: str = "") -> None:
    target.mkdir(parents=True)
    for name in ("manifest.toml", "user.md"):
        (target / name).write_text((source / name).read_text(encoding="utf-8"), encoding="utf-8")
    system = (source / "system.md").read_text(encoding="utf-8") + system_suffix
    (target / "system.md").write_text(system, encoding="utf-8")


def test_user_folder_overrides_and_extends_the_shipped_rubrics(tmp_path: Path) -> None:
    shipped = DEFAULT_PROMPTS_DIR / "exposure" / "v1"
    _copy_rubric(shipped, tmp_path / "exposure" / "v1", "\nOne more sentence.\n")
    _copy_rubric(shipped, tmp_path / "exposure" / "v2")
    manifest = tmp_path / "exposure" / "v2" / "manifest.toml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('version = "v1"', 'version = "v2"'),
        encoding="utf-8",
    )
    ours = load_prompt("exposure", "v1", tmp_path)
    assert ours.sha256 != load_prompt("exposure", "v1").sha256
    assert ours.system.endswith("One more sentence.\n")
    assert load_prompt("exposure", prompts_dir=tmp_path).version == "v2"  # highest version
    assert load_prompt("ilo", prompts_dir=tmp_path).sha256 == load_prompt("ilo").sha256
    assert ("exposure", "v2") in list_prompts(tmp_path)
    with pytest.raises(PromptError, match="does not exist"):
        list_prompts(tmp_path / "missing")


def test_prompts_and_annotations_folders_resolve(tmp_path: Path) -> None:
    assert resolve_prompts_dir(None, {}) == DEFAULT_PROMPTS_DIR
    assert resolve_prompts_dir(None, {"DWA_RATER_PROMPTS_DIR": str(tmp_path)}) == tmp_path
    assert resolve_prompts_dir(tmp_path, {"DWA_RATER_PROMPTS_DIR": "/elsewhere"}) == tmp_path
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_prompts_dir(tmp_path / "missing", {})
    assert resolve_annotations_dir(None, {}) == Path("annotations")
    assert resolve_annotations_dir(None, {"DWA_RATER_ANNOTATIONS_DIR": "/a"}) == Path("/a")


# --- dependencies ----------------------------------------------------------------------------


def test_imports_are_declared_and_declarations_used() -> None:
    assert _script("check_imports").problems() == []  # type: ignore[attr-defined]


def test_library_dependencies_are_ranges_and_the_lock_pins_them() -> None:
    core = PYPROJECT["project"]["dependencies"]
    assert not [r for r in core if "==" in r]
    lock = (REPO / "constraints.txt").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", lock, re.MULTILINE))
    pins = {re.sub(r"[-_.]+", "-", k).lower(): v for k, v in pins.items()}
    for requirement in core:
        name = re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]
        assert re.sub(r"[-_.]+", "-", name).lower() in pins, f"{name} is not in constraints.txt"


def test_version_has_one_source() -> None:
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "dwa_rater.__version__"
    }


# --- example config files --------------------------------------------------------------------


def test_example_raters_file_loads() -> None:
    specs = load_raters(REPO / "docs" / "raters.toml")
    assert [s.name for s in specs] == ["gpt-4o-mini-exposure", "qwen-ilo", "embedded-exposure"]
    assert specs[0].resolved_base_url == "https://api.openai.com/v1" and specs[0].samples == 3
    assert specs[1].rubric == "ilo" and specs[0].rubric == "exposure@v1"
    assert specs[2].is_embedded and specs[2].concurrency == 1
    for spec in specs:
        load_prompt(*spec.rubric.split("@")) if "@" in spec.rubric else load_prompt(spec.rubric)


def test_example_study_file_loads() -> None:
    config = load_study_config(REPO / "docs" / "study.toml")
    assert [r.name for r in config.panel()] == ["gpt-4o-mini-exposure", "gpt-4o-mini-ilo"]
    assert config.study.sample == 200 and config.review.mode == "blind"
    assert config.indices.ai_method == "entropy"


# --- logging and the version -----------------------------------------------------------------


def test_library_leaves_other_loggers_alone() -> None:
    code = (
        "import logging, dwa_rater.llm.client, dwa_rater.runs; "
        "print(logging.getLogger('instructor').level, logging.getLogger().handlers)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "0 []", done.stderr
    ours = logging.getLogger("dwa_rater")
    assert any(isinstance(h, logging.NullHandler) for h in ours.handlers)


def _record(name: str, level: int) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, "m", None, None)


def test_level_filter_separates_our_records_from_others() -> None:
    quiet = LevelFilter(logging.INFO, logging.WARNING, ("instructor",), logging.CRITICAL + 1)
    assert quiet.filter(_record("dwa_rater.runs", logging.INFO))
    assert not quiet.filter(_record("dwa_rater.runs", logging.DEBUG))
    assert not quiet.filter(_record("httpx", logging.INFO))
    assert quiet.filter(_record("httpx", logging.WARNING))
    assert not quiet.filter(_record("instructor.retry", logging.ERROR))
    assert not quiet.filter(_record("dwa_rater_other", logging.INFO - 1))


def test_configure_logging_replaces_its_own_handlers(tmp_path: Path) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging(1, tmp_path / "a.log")
        configure_logging(0, None)
        mine = [h for h in root.handlers if h not in before]
        assert len(mine) == 1 and not isinstance(mine[0], logging.FileHandler)
        with pytest.raises(ConfigError, match="cannot write the log file"):
            configure_logging(0, Path("/proc/no/such/dir/x.log"))
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def test_cli_version_verbose_and_log_file(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DWA_RATER_HOME": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dwa_rater", *args], capture_output=True, text=True, env=env
        )

    version = cli("--version")
    assert (
        version.returncode == 0 and version.stdout.strip() == f"dwa-rater {dwa_rater.__version__}"
    )
    items = tmp_path / "items.csv"
    items.write_text("id,text\na,Write reports.\n", encoding="utf-8")
    log = tmp_path / "logs" / "run.log"
    with FakeOpenAIServer() as server:
        done = cli(
            "-v", "--log-file", str(log), "rate", "--items", str(items), "--base-url",
            server.base_url, "--model", "fake-model", "--out", str(tmp_path / "r.csv"),
            "--no-progress",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "INFO dwa_rater.runs: run " in done.stderr  # -v: our info records on stderr
    assert "rubric exposure@v1 (sha256 " in done.stderr and "prompts shipped" in done.stderr
    text = log.read_text(encoding="utf-8")
    assert re.search(r"^\d{4}-\d\d-\d\d .* INFO dwa_rater\.runs .*completed", text, re.MULTILINE)
    quiet = cli("rate", "--items", str(items), "--base-url", "http://127.0.0.1:9/v1",
                "--model", "m", "--out", str(tmp_path / "q.csv"), "--no-progress")  # fmt: skip
    assert quiet.returncode == 2 and "INFO" not in quiet.stderr


def test_git_sha_is_the_packages_own_checkout(tmp_path: Path) -> None:
    from dwa_rater.provenance import git_sha

    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert git_sha() == head.stdout.strip()
    assert git_sha(tmp_path) is None  # not a checkout


def test_cli_takes_a_user_prompts_folder(tmp_path: Path) -> None:
    shipped = DEFAULT_PROMPTS_DIR / "exposure" / "v1"
    _copy_rubric(shipped, tmp_path / "prompts" / "demo" / "v1")
    manifest = tmp_path / "prompts" / "demo" / "v1" / "manifest.toml"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace('name = "exposure"', 'name = "demo"'),
        encoding="utf-8",
    )
    items = tmp_path / "items.csv"
    items.write_text("id,text\na,Write reports.\n", encoding="utf-8")
    base = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DWA_RATER_HOME": str(tmp_path)}
    args = [sys.executable, "-m", "dwa_rater", "rate", "--items", str(items), "--rubric", "demo",
            "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--dry-run",
            "--out", str(tmp_path / "r.csv")]  # fmt: skip
    env = {**base, "DWA_RATER_PROMPTS_DIR": str(tmp_path / "prompts")}
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout
    without = subprocess.run(args, capture_output=True, text=True, env=base)
    assert without.returncode == 2 and "unknown rubric 'demo'" in without.stderr
    missing = subprocess.run(
        [*args, "--prompts-dir", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        env=base,
    )
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: prompts folder {tmp_path / 'nowhere'} does not exist"


def test_cli_hands_out_the_annotators_files(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    shown = subprocess.run(
        [sys.executable, "-m", "dwa_rater", "review", "guidelines"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert shown.returncode == 0
    assert shown.stdout == (REPO / "annotations" / "guidelines.md").read_text(encoding="utf-8")
    written = subprocess.run(
        [sys.executable, "-m", "dwa_rater", "review", "guidelines", "--out", str(tmp_path / "a")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert written.returncode == 0, written.stderr
    for name in resources.ANNOTATION_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (REPO / "annotations" / name).read_bytes()


def test_stderr_handler_follows_a_swapped_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from dwa_rater.cli.logs import StderrHandler

    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    handler.emit(_record("dwa_rater.x", logging.WARNING))
    monkeypatch.setattr(sys, "stderr", second)
    handler.emit(_record("dwa_rater.x", logging.WARNING))
    assert first.getvalue() == second.getvalue() == "WARNING dwa_rater.x: m\n"
