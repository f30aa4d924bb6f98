"""Pipeline states of the demo scans: consistent with their assets, stuck, and progressing over time."""

from __future__ import annotations

import time
from datetime import datetime

import requests

from viewer.demo import catalog
from viewer.demo.server import DEMO_API_KEY

AUTH = {"authorization": f"Bearer {DEMO_API_KEY}"}


def _get(server, path: str) -> requests.Response:
    return requests.get(server.base_url + path, headers=AUTH, timeout=30)


def _scan(server, name: str) -> dict:
    response = _get(server, f"/scans/{catalog.demo_scan_id(name)}")
    assert response.status_code == 200
    return response.json()


def _urls(server, name: str) -> dict:
    return _get(server, f"/scans/{catalog.demo_scan_id(name)}/asset-urls").json()


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ManualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_catalog_covers_every_situation():
    assert len(catalog.SCENARIOS) >= 12
    assert len({s.user_token for s in catalog.SCENARIOS}) >= 3
    ready = [s for s in catalog.SCENARIOS if s.status == "READY" and s.progression_s is None
             and all(state == "succeeded" for state in s.stages.values())]
    heights = {catalog.user(s.user_token).height_m for s in ready}
    assert min(heights) <= 1.50 and max(heights) >= 1.95
    assert {catalog.user(s.user_token).build for s in ready} == {"female", "male"}
    assert len({s.girth for s in ready}) >= 4
    assert {s.asset_config_id for s in catalog.SCENARIOS} == {
        catalog.DEFAULT_NATIVE_PIPELINE, catalog.DEFAULT_WEB_PIPELINE, catalog.LEGACY_NATIVE_PIPELINE}


def test_ready_scans_have_every_asset_of_their_bundle(demo_server):
    scan = _scan(demo_server, "ready")
    assert scan["status"] == "READY"
    assert all(scan["scanAssets"][stage] == "succeeded"
               for stage in ("captureData", "body", "fittedBody", "measurement"))
    urls = _urls(demo_server, "ready")
    assert all(urls[key] for key in ("previewImage", "model", "texture", "material"))
    assert urls["stripes"] is None and urls["captureVideo"] is None
    assert scan["measurements"] is not None and scan["bodyfat"]["bodyfatPercentage"] > 0


def test_processing_created_and_failed_scans(demo_server):
    processing = _scan(demo_server, "processing")
    assert processing["status"] == "PROCESSING" and processing["scanAssets"]["body"] == "started"
    assert processing["measurements"] is None
    urls = _urls(demo_server, "processing")
    assert urls["previewImage"] is not None and urls["model"] is None

    created = _scan(demo_server, "created")
    assert created["status"] == "CREATED"
    assert created["scanAssets"]["captureData"] is None and created["scanAssets"]["captureDataUpdatedAt"] is None
    assert set(_urls(demo_server, "created").values()) == {None}

    failed = _scan(demo_server, "failed-body")
    assert failed["status"] == "FAILED" and failed["scanAssets"]["body"] == "failed"
    urls = _urls(demo_server, "failed-body")
    assert urls["model"] is None and urls["previewImage"] is not None

    fitted = _scan(demo_server, "failed-fitted-body")
    assert fitted["scanAssets"]["fittedBody"] == "failed" and _urls(demo_server, "failed-fitted-body")["model"]

    measurement = _scan(demo_server, "failed-measurement")
    assert measurement["scanAssets"]["measurement"] == "failed" and measurement["measurements"] is None
    response = _get(demo_server, f"/scans/{catalog.demo_scan_id('failed-measurement')}/measurements")
    assert response.status_code == 404


def test_the_stuck_scan_started_its_stage_more_than_an_hour_ago(demo_server):
    scan = _scan(demo_server, "stuck")
    assets = scan["scanAssets"]
    assert scan["status"] == "PROCESSING" and assets["body"] == "started"
    age = time.time() - _time(assets["bodyUpdatedAt"]).timestamp()
    assert age > 3600
    recent = _scan(demo_server, "processing")["scanAssets"]
    assert time.time() - _time(recent["bodyUpdatedAt"]).timestamp() < 3600


def test_bundle_variants(demo_server):
    legacy = _scan(demo_server, "legacy-ply")
    assert legacy["assetConfigId"] == catalog.LEGACY_NATIVE_PIPELINE
    urls = _urls(demo_server, "legacy-ply")
    assert urls["model"].split("?")[0].endswith("/model.ply")
    assert urls["texture"] is None and urls["material"] is None and urls["previewImage"]

    urls = _urls(demo_server, "no-texture")
    assert urls["texture"] is None and urls["model"] and urls["material"]
    material = requests.get(urls["material"], timeout=30).text
    assert "map_Kd texture.png" in material  # names a texture that does not exist

    urls = _urls(demo_server, "not-a-mesh")
    body = requests.get(urls["model"], timeout=30).content
    assert body.startswith(b"<?xml") and b"<Error><Code>AccessDenied</Code>" in body
    assert _scan(demo_server, "not-a-mesh")["status"] == "READY"


def test_timestamps_are_relative_to_the_server_start(make_demo_server):
    clock = ManualClock(1_700_000_000.0)
    server = make_demo_server(store_clock=clock)
    scan = _scan(server, "ready")
    assert _time(scan["createdAt"]).timestamp() == clock.now - catalog.scenario("ready").created_before_start_s
    assert _time(scan["updatedAt"]) >= _time(scan["createdAt"])
    assets = scan["scanAssets"]
    stage_times = [_time(assets[f"{stage}UpdatedAt"]) for stage in ("captureData", "body", "fittedBody", "measurement")]
    assert stage_times == sorted(stage_times)
    assert scan["createdAt"].endswith("Z")


def test_the_progressing_scan_changes_state_over_time(make_demo_server):
    clock = ManualClock(1_700_000_000.0)
    server = make_demo_server(store_clock=clock, progress_seconds=10)
    seen = []
    for elapsed in (0.0, 2.0, 6.0, 8.5, 10.0, 100.0):
        clock.now = 1_700_000_000.0 + elapsed
        scan = _scan(server, "progressing")
        urls = _urls(server, "progressing")
        states = tuple(scan["scanAssets"][stage] for stage in ("captureData", "body", "fittedBody", "measurement"))
        seen.append((scan["status"], states))
        assert (urls["previewImage"] is not None) == (states[0] == "succeeded")
        assert (urls["model"] is not None) == (states[1] == "succeeded")
        assert (scan["measurements"] is not None) == (states[3] == "succeeded")
        measurements = _get(server, f"/scans/{catalog.demo_scan_id('progressing')}/measurements")
        assert measurements.status_code == (200 if states[3] == "succeeded" else 404)
    assert seen == [
        ("PROCESSING", ("started", None, None, None)),
        ("PROCESSING", ("succeeded", "started", None, None)),
        ("PROCESSING", ("succeeded", "succeeded", "started", None)),
        ("PROCESSING", ("succeeded", "succeeded", "succeeded", "started")),
        ("READY", ("succeeded",) * 4),
        ("READY", ("succeeded",) * 4),
    ]


def test_the_progressing_scan_progresses_in_real_time(make_demo_server):
    server = make_demo_server(progress_seconds=1.0)
    assert _scan(server, "progressing")["status"] == "PROCESSING"
    time.sleep(1.1)
    scan = _scan(server, "progressing")
    assert scan["status"] == "READY"
    assert _time(scan["scanAssets"]["measurementUpdatedAt"]) >= _time(scan["createdAt"])
