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


# --------------------------------------------------------------------- Prism stand-in server

@pytest.fixture(scope="session")
def demo_cache_dir(tmp_path_factory) -> Path:
    """A cache folder (like ``SCAN_VIEWER_CACHE_DIR``) that holds the generated demo scans."""
    return tmp_path_factory.mktemp("demo-cache")


@pytest.fixture(scope="session")
def demo_dataset(demo_cache_dir) -> Path:
    """The demo data folder for seed 0, generated once per test session, where the CLI finds it
    when ``SCAN_VIEWER_CACHE_DIR`` is ``demo_cache_dir``."""
    from viewer.demo.dataset import DEMO_SUBFOLDER, ensure_demo_dataset

    return ensure_demo_dataset(demo_cache_dir / DEMO_SUBFOLDER, seed=0)


@pytest.fixture(scope="session")
def demo_server(demo_dataset):
    """One stand-in server on the demo scans for the whole session: read-only use, no faults."""
    from viewer.demo.scan_store import ScanStore
    from viewer.demo.server import PrismStandInServer

    with PrismStandInServer(ScanStore(demo_dataset)) as server:
        yield server


@pytest.fixture
def make_demo_server(demo_dataset):
    """Factory for servers with their own options (``url_ttl``, ``clock``, ``progress_seconds``, ...),
    each on a fresh store (so demo times start now); all are stopped after the test."""
    from viewer.demo.scan_store import ScanStore
    from viewer.demo.server import PrismStandInServer

    servers = []

    def make(*, progress_seconds: float | None = None, store_clock=None, **options) -> PrismStandInServer:
        store_options = {"progress_seconds": progress_seconds}
        if store_clock is not None:
            store_options["clock"] = store_clock
        server = PrismStandInServer(ScanStore(demo_dataset, **store_options), **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def fresh_server(make_demo_server):
    """A stand-in server of its own for one test (inject faults into it freely)."""
    return make_demo_server()


@pytest.fixture(scope="session")
def prism_validate(prism_openapi_path):
    """``validate(path_template, status, body)``: check a response body against the schema that
    ``prism-openapi.json`` declares for that GET operation and status (which must be declared)."""
    import json

    from openapi_schema_validator import OAS30Validator

    spec = json.loads(prism_openapi_path.read_text(encoding="utf-8"))
    validators: dict[tuple[str, int], OAS30Validator] = {}

    def validate(path_template: str, status: int, body) -> None:
        key = (path_template, status)
        if key not in validators:
            responses = spec["paths"][path_template]["get"]["responses"]
            assert str(status) in responses, f"{status} is not a declared response of GET {path_template}"
            content = responses[str(status)]["content"]
            schema = next(iter(content.values()))["schema"]
            validators[key] = OAS30Validator({**schema, "components": spec["components"]})
        validators[key].validate(body)

    return validate
