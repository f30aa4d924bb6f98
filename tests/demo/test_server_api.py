"""The stand-in API over real HTTP: auth, parameters, errors, pagination, units, users."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from viewer.demo import catalog
from viewer.demo.scan_store import KG_TO_LB, M_TO_IN
from viewer.demo.server import DEMO_API_KEY, start_demo_server

AUTH = {"authorization": f"Bearer {DEMO_API_KEY}", "accept": "application/json;v=1",
        "content-type": "application/json"}
READY_ID = catalog.demo_scan_id("ready")
UNAUTHORIZED = {"statusCode": 401, "message": "Unauthorized", "error": "Unauthorized"}


def _get(server, path: str, headers=AUTH, **params) -> requests.Response:
    return requests.get(server.base_url + path, headers=headers, params=params, timeout=30)


@pytest.mark.parametrize("headers", [
    {},
    {"authorization": "Bearer not-the-key"},
    {"authorization": DEMO_API_KEY},
    {"authorization": f"Basic {DEMO_API_KEY}"},
])
@pytest.mark.parametrize("path", ["/scans", f"/scans/{READY_ID}", f"/scans/{READY_ID}/asset-urls",
                                  f"/scans/{READY_ID}/asset-urls/model", "/users/demo-alex"])
def test_missing_or_wrong_key_is_401_with_a_nest_body(demo_server, path, headers):
    response = _get(demo_server, path, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["Content-Type"] == "application/json;v=1"


def test_a_custom_key_replaces_the_demo_key(make_demo_server):
    server = make_demo_server(api_key="partner-secret")
    assert _get(server, "/scans").status_code == 401
    assert _get(server, "/scans", headers={"authorization": "Bearer partner-secret"}).status_code == 200


def test_the_bearer_scheme_is_case_insensitive(demo_server):
    assert _get(demo_server, "/scans", headers={"authorization": f"bearer {DEMO_API_KEY}"}).status_code == 200


@pytest.mark.parametrize("path", [
    "/scans/00000000-0000-0000-0000-000000000000",
    "/scans/nope/scan-assets",
    "/scans/nope/asset-urls",
    "/scans/nope/asset-urls/model",
    "/scans/nope/measurements",
    "/users/nobody",
    "/no-such-route",
])
def test_unknown_ids_users_and_routes_are_404(demo_server, path):
    response = _get(demo_server, path)
    assert response.status_code == 404
    assert response.json()["statusCode"] == 404
    assert response.json()["error"] == "Not Found"


def test_other_methods_are_refused_like_nest(demo_server):
    response = requests.post(f"{demo_server.base_url}/scans", headers=AUTH, json={"userToken": "x"}, timeout=30)
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "Cannot POST /scans", "error": "Not Found"}


def test_a_missing_single_asset_is_404_never_200_null(demo_server):
    scan_id = catalog.demo_scan_id("no-texture")
    urls = _get(demo_server, f"/scans/{scan_id}/asset-urls").json()
    assert urls["texture"] is None and urls["model"] is not None and urls["material"] is not None
    assert _get(demo_server, f"/scans/{scan_id}/asset-urls/texture").status_code == 404
    assert _get(demo_server, f"/scans/{scan_id}/asset-urls/model").status_code == 200


@pytest.mark.parametrize("params, message", [
    ({"limit": "abc"}, "limit must be an integer number"),
    ({"limit": "0"}, "limit must not be less than 1"),
    ({"limit": "101"}, "limit must not be greater than 100"),
    ({"limit": "-5"}, "limit must be an integer number"),
    ({"order": "random"}, "order must be one of the following values: asc, desc"),
    ({"unit-system": "cubits"}, "unit-system must be one of the following values: metric, imperial"),
    ({"cursor": "garbage"}, "cursor is invalid"),
    ({"userToken": "demo-alex", "token": "demo-sam"}, "userToken and token must be the same when both are given"),
])
def test_bad_list_parameters_are_400_with_a_message_array(demo_server, params, message):
    response = _get(demo_server, "/scans", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad Request" and body["statusCode"] == 400
    assert body["message"] == [message]


def test_several_bad_parameters_are_all_reported(demo_server):
    body = _get(demo_server, "/scans", limit="x", order="y").json()
    assert len(body["message"]) == 2


def test_a_tampered_cursor_is_400(demo_server):
    cursor = _get(demo_server, "/scans", limit=1).json()["pageInfo"]["cursor"]
    assert cursor is not None
    body, mac = cursor.split(".")
    tampered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    assert _get(demo_server, "/scans", limit=1, cursor=tampered).status_code == 400
    # a cursor of a descending listing does not continue an ascending one
    assert _get(demo_server, "/scans", limit=1, order="asc", cursor=cursor).status_code == 400


def test_unknown_asset_type_is_400_and_other_endpoints_check_units(demo_server):
    response = _get(demo_server, f"/scans/{READY_ID}/asset-urls/hologram")
    assert response.status_code == 400
    assert response.json()["message"][0].startswith("assetType must be one of the following values: preview-image")
    for path in (f"/scans/{READY_ID}", f"/scans/{READY_ID}/measurements", "/users/demo-alex"):
        assert _get(demo_server, path, **{"unit-system": "furlongs"}).status_code == 400


def test_an_other_api_version_or_body_type_is_refused(demo_server):
    wrong_version = {**AUTH, "accept": "application/json;v=2"}
    assert _get(demo_server, "/scans", headers=wrong_version).status_code == 400
    wrong_type = {**AUTH, "content-type": "text/plain"}
    assert _get(demo_server, "/scans", headers=wrong_type).status_code == 400
    bare = {"authorization": AUTH["authorization"]}
    assert _get(demo_server, "/scans", headers=bare).status_code == 200


def _scan_key(scan: dict) -> tuple[str, str]:
    return scan["createdAt"], scan["id"]


def _walk(server, limit: int, order: str | None, **params) -> list[dict]:
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit, **params}
        if order is not None:
            query["order"] = order
        if cursor is not None:
            query["cursor"] = cursor
        response = _get(server, "/scans", **query)
        assert response.status_code == 200
        page = response.json()
        assert len(page["results"]) <= limit
        seen += page["results"]
        cursor = page["pageInfo"]["cursor"]
        pages += 1
        assert pages <= 100
        if cursor is None:
            return seen
        assert len(page["results"]) == limit  # only the last page may be short


@pytest.mark.parametrize("limit", [1, 5, 100])
@pytest.mark.parametrize("order", ["asc", "desc", None])
def test_pagination_visits_every_scan_once_in_order(demo_server, limit, order):
    scans = _walk(demo_server, limit, order)
    ids = [scan["id"] for scan in scans]
    assert len(ids) == len(set(ids)), "a scan was listed twice"
    assert set(ids) == {catalog.demo_scan_id(s.name) for s in catalog.SCENARIOS}
    keys = [_scan_key(scan) for scan in scans]
    assert keys == sorted(keys, reverse=(order != "asc"))  # default order: newest first


def test_ties_in_created_at_are_broken_by_id_across_pages(demo_server):
    scans = _walk(demo_server, 1, "asc")
    created = [scan["createdAt"] for scan in scans]
    assert len(created) != len(set(created)), "the catalog is meant to hold a createdAt tie"


def test_default_limit_is_20_and_last_page_has_a_null_cursor(demo_server):
    page = _get(demo_server, "/scans").json()
    assert len(page["results"]) == min(20, len(catalog.SCENARIOS))
    if len(catalog.SCENARIOS) <= 20:
        assert page["pageInfo"]["cursor"] is None


@pytest.mark.parametrize("parameter", ["userToken", "token"])
def test_a_user_token_restricts_the_list_to_that_user(demo_server, parameter):
    for person in catalog.USERS:
        scans = _walk(demo_server, 2, "desc", **{parameter: person.token})
        expected = {catalog.demo_scan_id(s.name) for s in catalog.SCENARIOS if s.user_token == person.token}
        assert {scan["id"] for scan in scans} == expected
        assert all(scan["userToken"] == person.token for scan in scans)


def test_without_a_user_token_every_users_scans_are_listed(demo_server):
    tokens = {scan["userToken"] for scan in _walk(demo_server, 100, None)}
    assert tokens == {person.token for person in catalog.USERS}
    assert len(tokens) >= 3


def test_imperial_converts_weight_height_and_lengths(demo_server):
    metric = _get(demo_server, f"/scans/{READY_ID}").json()
    imperial = _get(demo_server, f"/scans/{READY_ID}", **{"unit-system": "imperial"}).json()
    assert metric["weight"]["unit"] == "kg" and imperial["weight"]["unit"] == "lb"
    assert metric["height"]["unit"] == "m" and imperial["height"]["unit"] == "in"
    assert imperial["weight"]["value"] == pytest.approx(metric["weight"]["value"] * KG_TO_LB, abs=0.06)
    assert imperial["height"]["value"] == pytest.approx(metric["height"]["value"] * M_TO_IN, abs=0.06)
    m_values = _get(demo_server, f"/scans/{READY_ID}/measurements").json()
    in_values = _get(demo_server, f"/scans/{READY_ID}/measurements", **{"unit-system": "imperial"}).json()
    assert in_values["waistFit"] == pytest.approx(m_values["waistFit"] * M_TO_IN, abs=0.01)
    assert in_values["waistToHipRatio"] == m_values["waistToHipRatio"]
    assert imperial["measurements"] == in_values
    assert imperial["bodyfat"]["fatMass"] == pytest.approx(metric["bodyfat"]["fatMass"] * KG_TO_LB, abs=0.01)
    user = _get(demo_server, "/users/demo-alex", **{"unit-system": "imperial"}).json()
    assert user["weight"]["unit"] == "lb" and user["height"]["unit"] == "in"
    assert user["targetWeight"]["unit"] == "lb"


def test_measurements_are_metres_and_match_the_body(demo_server):
    person = catalog.user("demo-alex")
    scan = _get(demo_server, f"/scans/{READY_ID}").json()
    assert scan["height"] == {"value": person.height_m, "unit": "m"}
    values = scan["measurements"]
    assert 0.55 < values["waistFit"] < 1.2
    assert 0.7 < values["hipsFit"] < 1.4
    assert 0.25 < values["neckFit"] < 0.5
    tall = _get(demo_server, f"/scans/{catalog.demo_scan_id('ready-tall')}/measurements").json()
    petite = _get(demo_server, f"/scans/{catalog.demo_scan_id('ready-petite')}/measurements").json()
    assert tall["waistFit"] > values["waistFit"] > petite["waistFit"]


def test_users_match_their_scans(demo_server):
    for person in catalog.USERS:
        user = _get(demo_server, f"/users/{person.token}").json()
        assert user["token"] == person.token and user["sex"] == person.sex
        assert user["height"] == {"value": person.height_m, "unit": "m"}
        scans = _walk(demo_server, 100, "desc", userToken=person.token)
        assert all(scan["userId"] == user["id"] for scan in scans)
        assert all(scan["height"]["value"] == person.height_m for scan in scans)
        assert user["weight"] == scans[0]["weight"]  # the latest scan's weight


def test_scan_ids_are_deterministic_per_seed():
    assert catalog.demo_scan_id("ready") == catalog.demo_scan_id("ready", seed=0)
    assert catalog.demo_scan_id("ready", seed=1) != catalog.demo_scan_id("ready")
    with pytest.raises(KeyError):
        catalog.demo_scan_id("no-such-scenario")


def test_latency_delays_every_answer(make_demo_server):
    server = make_demo_server(latency_ms=300)
    started = time.perf_counter()
    assert _get(server, "/users/demo-alex").status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_start_demo_server_uses_the_cached_data_set(demo_dataset):
    server = start_demo_server(seed=0, dataset_root=demo_dataset.parent, api_key="in-process")
    try:
        response = requests.get(f"{server.base_url}/scans/{READY_ID}", headers={"authorization": "Bearer in-process"},
                                timeout=30)
        assert response.status_code == 200
    finally:
        server.stop()


def test_stop_ends_idle_connections_threads_and_sockets(make_demo_server):
    before = set(threading.enumerate())
    server = make_demo_server()
    session = requests.Session()
    assert session.get(f"{server.base_url}/users/demo-alex", headers=AUTH, timeout=30).status_code == 200
    url = session.get(f"{server.base_url}/scans/{READY_ID}/asset-urls/material", headers=AUTH, timeout=30).json()
    assert session.get(url, timeout=30).status_code == 200  # keep-alive connections stay open on both listeners
    base_url, asset_url = server.base_url, server.asset_base_url
    started = time.perf_counter()
    server.stop()
    assert time.perf_counter() - started < 3
    assert set(threading.enumerate()) - before == set()  # accept loops and connection threads ended
    for address in (base_url, asset_url):
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(address + "/scans", timeout=5)
    session.close()
