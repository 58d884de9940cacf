"""Shared fixtures: where the reference data is, and an isolated state directory per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datadir import DATA_DIR

SHARED_DATA = DATA_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The reference data root (``../shared/data`` unless DWA_RATER_DATA_DIR says otherwise)."""
    if not (SHARED_DATA / "onet").is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def onet_dir(data_dir: Path) -> Path:
    return data_dir / "onet"


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never let a test read or write the user's real cache."""
    monkeypatch.setenv("DWA_RATER_HOME", str(tmp_path_factory.mktemp("home")))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under ``DWA_RATER_NO_SKIPS=1`` (set by ``.ci/run``) a skipped test fails the run.

    In CI a skip means a missing install step (no model, no Label Studio, no data), and a run
    that skips what it cannot do would pass on a machine that lacks something.
    """
    if os.environ.get("DWA_RATER_NO_SKIPS") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped and session.exitstatus == 0:
        if reporter is not None:
            reporter.write_line(
                f"DWA_RATER_NO_SKIPS=1: {len(skipped)} test(s) skipped; in CI every test must "
                "run (a skip means a missing install step)",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
