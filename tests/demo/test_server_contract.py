"""Every endpoint of the stand-in server, for every demo scan, against prism-openapi.json."""

from __future__ import annotations

import requests

from viewer.demo import catalog
from viewer.demo.scan_store import ASSET_STAGE, ASSET_TYPES
from viewer.demo.server import DEMO_API_KEY

AUTH = {"authorization": f"Bearer {DEMO_API_KEY}", "accept": "application/json;v=1"}


def _get(server, path: str, **params) -> requests.Response:
    return requests.get(server.base_url + path, headers=AUTH, params=params, timeout=30)


def _all_scans(server) -> list[dict]:
    scans, cursor = [], None
    while True:
        params = {"limit": 100} if cursor is None else {"limit": 100, "cursor": cursor}
        page = _get(server, "/scans", **params).json()
        scans += page["results"]
        cursor = page["pageInfo"]["cursor"]
        if cursor is None:
            return scans


def test_every_endpoint_of_every_demo_scan_matches_the_spec(demo_server, prism_validate):
    scans = _all_scans(demo_server)
    assert len(scans) == len(catalog.SCENARIOS)
    for scan in scans:
        scan_id = scan["id"]
        for units in ("metric", "imperial"):
            response = _get(demo_server, f"/scans/{scan_id}", **{"unit-system": units})
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/json;v=1"
            prism_validate("/scans/{scanId}", 200, response.json())

            response = _get(demo_server, f"/scans/{scan_id}/measurements", **{"unit-system": units})
            prism_validate("/scans/{scanId}/measurements", response.status_code, response.json())
            measured = scan["scanAssets"]["measurement"] == "succeeded"
            assert response.status_code == (200 if measured else 404), scan_id

        response = _get(demo_server, f"/scans/{scan_id}/scan-assets")
        assert response.status_code == 200
        prism_validate("/scans/{scanId}/scan-assets", 200, response.json())
        assert response.json() == scan["scanAssets"]

        response = _get(demo_server, f"/scans/{scan_id}/asset-urls")
        assert response.status_code == 200
        urls = response.json()
        prism_validate("/scans/{scanId}/asset-urls", 200, urls)

        for asset_type, key in ASSET_TYPES.items():
            response = _get(demo_server, f"/scans/{scan_id}/asset-urls/{asset_type}")
            prism_validate("/scans/{scanId}/asset-urls/{assetType}", response.status_code, response.json())
            if urls[key] is None:
                assert response.status_code == 404, (scan_id, asset_type)
            else:
                assert response.status_code == 200, (scan_id, asset_type)
                assert isinstance(response.json(), str) and response.json().startswith(demo_server.asset_base_url)
                # a URL only exists once the stage producing it has succeeded
                assert scan["scanAssets"][ASSET_STAGE[key]] == "succeeded", (scan_id, asset_type)

    for person in catalog.USERS:
        for units in ("metric", "imperial"):
            response = _get(demo_server, f"/users/{person.token}", **{"unit-system": units})
            assert response.status_code == 200
            prism_validate("/users/{token}", 200, response.json())
        response = _get(demo_server, "/scans", userToken=person.token)
        assert response.status_code == 200
        prism_validate("/scans", 200, response.json())


def test_list_pages_match_the_spec_in_both_unit_systems(demo_server, prism_validate):
    for units in ("metric", "imperial"):
        response = _get(demo_server, "/scans", limit=3, order="asc", **{"unit-system": units})
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json;v=1"
        prism_validate("/scans", 200, response.json())


def test_error_bodies_match_the_spec(demo_server, prism_validate):
    scan_id = catalog.demo_scan_id("ready")
    cases = [
        ("/scans", {}, {"authorization": "Bearer wrong"}, 401),
        (f"/scans/{scan_id}", {}, {}, 401),
        ("/scans", {"limit": "many"}, AUTH, 400),
        ("/scans", {"order": "sideways"}, AUTH, 400),
        (f"/scans/{scan_id}", {"unit-system": "cubits"}, AUTH, 400),
        ("/scans/{scanId}/asset-urls/{assetType}", {}, AUTH, 400),
        ("/scans/no-such-scan", {}, AUTH, 404),
        ("/users/no-such-user", {}, AUTH, 404),
        ("/scans", {"userToken": "no-such-user"}, AUTH, 404),
    ]
    templates = {
        "/scans": "/scans",
        f"/scans/{scan_id}": "/scans/{scanId}",
        "/scans/no-such-scan": "/scans/{scanId}",
        "/users/no-such-user": "/users/{token}",
        "/scans/{scanId}/asset-urls/{assetType}": "/scans/{scanId}/asset-urls/{assetType}",
    }
    for path, params, headers, status in cases:
        url_path = path.replace("{scanId}", scan_id).replace("{assetType}", "hologram")
        response = requests.get(demo_server.base_url + url_path, params=params, headers=headers, timeout=30)
        assert response.status_code == status, (path, params)
        body = response.json()
        assert body["statusCode"] == status
        prism_validate(templates[path], status, body)
