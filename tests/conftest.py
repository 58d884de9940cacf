"""Shared fixtures: where the reference data is, and an isolated state directory per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DWA_RATER_DATA_DIR", REPO.parent / "shared" / "data"))


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
