"""Fixtures shared by every test module.

``../shared/bodyscan-testdata`` is read in place, never copied: tests that need it skip where it is
absent, except in CI (``CI=true``), where its absence fails them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"


def _need_shared(path: Path) -> Path:
    if path.exists():
        return path
    message = f"shared test data not found at {path}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: ../shared must be beside the checkout)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """``../shared/bodyscan-testdata``."""
    return _need_shared(SHARED_DIR / "bodyscan-testdata")


@pytest.fixture(scope="session")
def prism_openapi_path() -> Path:
    """``../shared/prism-api/prism-openapi.json``."""
    return _need_shared(SHARED_DIR / "prism-api" / "prism-openapi.json")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Point the app's cache, data and settings at a per-test temporary tree."""
    root = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("SCAN_VIEWER_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("SCAN_VIEWER_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("SCAN_VIEWER_CONFIG_DIR", str(root / "config"))
