"""Serving a ``--data`` folder: defaults without scan.json, partial scan.json, measurements sources."""

from __future__ import annotations

import json

import pytest
import requests
import trimesh

from viewer.demo.catalog import DEFAULT_NATIVE_PIPELINE, LEGACY_NATIVE_PIPELINE
from viewer.demo.scan_store import ASSET_TYPES, DEFAULT_USER_TOKEN, ScanStore
from viewer.demo.server import DEMO_API_KEY, PrismStandInServer

AUTH = {"authorization": f"Bearer {DEMO_API_KEY}"}
PRISM_FILES = ("avatar.obj", "avatar.obj.mtl", "texture.png")


@pytest.fixture
def data_dir(tmp_path, shared_testdata, prism_openapi_path):
    """sample/: links to Prism's sample bundle, no scan.json; legacy/: scan.json + model.ply;
    given/: scan.json + measurements.json and no files at all."""
    source = shared_testdata / "prismlabs-prism-tools"
    sample = tmp_path / "sample"
    sample.mkdir()
    for name in PRISM_FILES:
        (sample / name).symlink_to(source / name)

    legacy = tmp_path / "legacy"
    legacy.mkdir()
    mesh = trimesh.load(source / "avatar.obj", force="mesh", process=False)
    trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(legacy / "model.ply")
    (legacy / "scan.json").write_text(json.dumps({
        "userToken": "ply-user",
        "assetConfigId": LEGACY_NATIVE_PIPELINE,
        "weight": {"value": 180, "unit": "lb"},
        "createdAt": "2024-01-02T03:04:05.000Z",
        "scanAssets": {"measurement": "failed"},
        "scanQuality": "good",
    }))

    given = tmp_path / "given"
    given.mkdir()
    spec = json.loads(prism_openapi_path.read_text())
    keys = spec["components"]["schemas"]["MeasurementDto"]["required"]
    (given / "measurements.json").write_text(json.dumps({key: 0.5 for key in keys}))
    (given / "scan.json").write_text(json.dumps({"status": "READY", "height": {"value": 70, "unit": "in"}}))
    return tmp_path


@pytest.fixture
def data_server(data_dir):
    with PrismStandInServer(ScanStore(data_dir)) as server:
        yield server


def _get(server, path: str, **params) -> requests.Response:
    return requests.get(server.base_url + path, headers=AUTH, params=params, timeout=30)


def test_a_folder_without_scan_json_gets_plausible_defaults(data_server):
    scan = _get(data_server, "/scans/sample").json()
    assert scan["id"] == "sample"
    assert scan["userToken"] == DEFAULT_USER_TOKEN
    assert scan["status"] == "READY"
    assert {scan["scanAssets"][s] for s in ("captureData", "body", "fittedBody", "measurement")} == {"succeeded"}
    assert scan["weight"] == {"value": 70.0, "unit": "kg"}
    assert scan["height"]["unit"] == "m" and scan["height"]["value"] == pytest.approx(1.709, abs=0.01)
    assert scan["deviceConfigName"] == "IPHONE_SCANNER"
    assert scan["assetConfigId"] == DEFAULT_NATIVE_PIPELINE

    measurements = _get(data_server, "/scans/sample/measurements")
    assert measurements.status_code == 200
    assert 0.5 < measurements.json()["waistFit"] < 1.5  # computed from the mesh, in metres
    assert scan["measurements"] == measurements.json()

    urls = _get(data_server, "/scans/sample/asset-urls").json()
    assert urls["model"] and urls["texture"] and urls["material"]
    assert urls["previewImage"] is None  # no preview.png in the folder
    assert _get(data_server, "/scans/sample/asset-urls/preview-image").status_code == 404
    downloaded = requests.get(urls["model"], timeout=30).content
    assert downloaded.startswith(b"# ") or b"\nv " in downloaded[:10000]


def test_scan_json_is_merged_over_the_defaults(data_server):
    scan = _get(data_server, "/scans/legacy").json()
    assert scan["userToken"] == "ply-user"
    assert scan["assetConfigId"] == LEGACY_NATIVE_PIPELINE
    assert scan["weight"] == {"value": pytest.approx(81.6, abs=0.1), "unit": "kg"}  # stored 180 lb
    assert scan["createdAt"] == "2024-01-02T03:04:05.000Z"
    assert scan["scanQuality"] == "good"  # fields the spec does not know pass through
    assert scan["scanAssets"]["measurement"] == "failed" and scan["scanAssets"]["body"] == "succeeded"
    assert scan["measurements"] is None
    assert _get(data_server, "/scans/legacy/measurements").status_code == 404
    urls = _get(data_server, "/scans/legacy/asset-urls").json()
    assert urls["model"].split("?")[0].endswith("/legacy/model.ply")
    assert urls["texture"] is None
    assert requests.get(urls["model"], timeout=30).content.startswith(b"ply")

    user = _get(data_server, "/users/ply-user").json()
    assert user["token"] == "ply-user" and user["id"] == scan["userId"]
    assert user["weight"] == scan["weight"]


def test_measurements_json_is_served_as_given(data_server):
    scan = _get(data_server, "/scans/given").json()
    assert scan["height"] == {"value": pytest.approx(1.778, abs=0.001), "unit": "m"}
    measurements = _get(data_server, "/scans/given/measurements").json()
    assert set(measurements.values()) == {0.5}
    assert set(_get(data_server, "/scans/given/asset-urls").json().values()) == {None}


def test_every_response_of_a_data_folder_matches_the_spec(data_server, prism_validate):
    page = _get(data_server, "/scans", limit=100).json()
    prism_validate("/scans", 200, page)
    assert {scan["id"] for scan in page["results"]} == {"sample", "legacy", "given"}
    for scan_id in ("sample", "legacy", "given"):
        for units in ("metric", "imperial"):
            response = _get(data_server, f"/scans/{scan_id}", **{"unit-system": units})
            prism_validate("/scans/{scanId}", response.status_code, response.json())
            response = _get(data_server, f"/scans/{scan_id}/measurements", **{"unit-system": units})
            prism_validate("/scans/{scanId}/measurements", response.status_code, response.json())
        response = _get(data_server, f"/scans/{scan_id}/scan-assets")
        prism_validate("/scans/{scanId}/scan-assets", response.status_code, response.json())
        response = _get(data_server, f"/scans/{scan_id}/asset-urls")
        prism_validate("/scans/{scanId}/asset-urls", response.status_code, response.json())
        for asset_type in ASSET_TYPES:
            response = _get(data_server, f"/scans/{scan_id}/asset-urls/{asset_type}")
            assert response.status_code in (200, 404)
            prism_validate("/scans/{scanId}/asset-urls/{assetType}", response.status_code, response.json())
    for token in (DEFAULT_USER_TOKEN, "ply-user"):
        response = _get(data_server, f"/users/{token}")
        assert response.status_code == 200
        prism_validate("/users/{token}", 200, response.json())


def test_folders_are_scans_and_hidden_folders_are_skipped(data_dir):
    (data_dir / ".partial").mkdir()
    assert set(ScanStore(data_dir).scan_ids) == {"sample", "legacy", "given"}


def test_a_missing_data_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        ScanStore(tmp_path / "absent")
