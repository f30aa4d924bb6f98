"""Pre-signed asset URLs on the second listener, and injected faults on both listeners."""

from __future__ import annotations

import hashlib
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests

from viewer.demo import catalog
from viewer.demo.server import DEMO_API_KEY

AUTH = {"authorization": f"Bearer {DEMO_API_KEY}"}
READY_ID = catalog.demo_scan_id("ready")


class ManualClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _asset_url(server, scan_id: str, asset_type: str) -> str:
    response = requests.get(f"{server.base_url}/scans/{scan_id}/asset-urls/{asset_type}", headers=AUTH, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _s3_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"] == "application/xml"
    text = response.text
    return text[text.index("<Code>") + 6:text.index("</Code>")]


def test_a_presigned_url_serves_the_file_from_another_origin(demo_server, demo_dataset):
    url = _asset_url(demo_server, READY_ID, "model")
    parts = urlsplit(url)
    assert url.startswith(demo_server.asset_base_url)
    assert demo_server.asset_base_url != demo_server.base_url
    assert parts.path == f"/{READY_ID}/avatar.obj"
    query = parse_qs(parts.query)
    assert int(query["X-Expires"][0]) > time.time() + 200  # default lifetime 300 s
    assert len(query["X-Signature"][0]) >= 32

    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    expected = (demo_dataset / READY_ID / "avatar.obj").read_bytes()
    assert response.content == expected
    assert response.headers["Content-Length"] == str(len(expected))
    assert response.headers["ETag"] == f'"{hashlib.md5(expected).hexdigest()}"'
    assert response.headers["Content-Type"] == "model/obj"


@pytest.mark.parametrize("asset_type, content_type", [
    ("preview-image", "image/png"), ("texture", "image/png"), ("material", "model/mtl"),
])
def test_content_types(demo_server, asset_type, content_type):
    response = requests.get(_asset_url(demo_server, READY_ID, asset_type), timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    if content_type == "image/png":
        assert response.content.startswith(b"\x89PNG")


def test_head_gives_the_headers_without_a_body(demo_server, demo_dataset):
    url = _asset_url(demo_server, catalog.demo_scan_id("large"), "model")
    response = requests.head(url, timeout=30)
    assert response.status_code == 200
    assert response.content == b""
    size = (demo_dataset / catalog.demo_scan_id("large") / "avatar.obj").stat().st_size
    assert int(response.headers["Content-Length"]) == size
    assert response.headers["ETag"].startswith('"')


def test_a_large_file_streams_completely(demo_server, demo_dataset):
    scan_id = catalog.demo_scan_id("large")
    path = demo_dataset / scan_id / "avatar.obj"
    digest = hashlib.md5()
    received = 0
    with requests.get(_asset_url(demo_server, scan_id, "model"), stream=True, timeout=60) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            received += len(chunk)
    assert received == path.stat().st_size
    assert f'"{digest.hexdigest()}"' == response.headers["ETag"]


def test_legacy_ply_is_served_as_binary(demo_server):
    url = _asset_url(demo_server, catalog.demo_scan_id("legacy-ply"), "model")
    assert urlsplit(url).path.endswith("/model.ply")
    response = requests.get(url, timeout=30)
    assert response.content.startswith(b"ply\n")
    assert response.headers["Content-Type"] == "application/octet-stream"


def test_writing_to_the_asset_host_is_refused(demo_server):
    url = _asset_url(demo_server, READY_ID, "material")
    response = requests.put(url, data=b"overwrite", timeout=30)
    assert response.status_code == 405
    assert _s3_code(response) == "MethodNotAllowed"
    assert requests.get(url, timeout=30).content.startswith(b"#")


def test_if_none_match_answers_304(demo_server):
    url = _asset_url(demo_server, READY_ID, "material")
    etag = requests.head(url, timeout=30).headers["ETag"]
    response = requests.get(url, headers={"If-None-Match": etag}, timeout=30)
    assert response.status_code == 304 and response.content == b""


def test_url_expires_after_its_lifetime(make_demo_server):
    clock = ManualClock(time.time())
    server = make_demo_server(url_ttl=60, clock=clock)
    url = _asset_url(server, READY_ID, "preview-image")
    assert requests.get(url, timeout=30).status_code == 200
    clock.now += 59
    assert requests.get(url, timeout=30).status_code == 200
    clock.now += 2
    response = requests.get(url, timeout=30)
    assert response.status_code == 403
    assert _s3_code(response) == "AccessDenied"
    assert "expired" in response.text
    # a URL asked for now works again
    assert requests.get(_asset_url(server, READY_ID, "preview-image"), timeout=30).status_code == 200


def test_url_expires_in_real_time_with_a_tiny_ttl(make_demo_server):
    server = make_demo_server(url_ttl=0.5)
    url = _asset_url(server, READY_ID, "material")
    expires = int(parse_qs(urlsplit(url).query)["X-Expires"][0])
    time.sleep(max(0.0, expires - time.time()) + 0.2)
    assert requests.get(url, timeout=30).status_code == 403


@pytest.mark.parametrize("tamper", ["signature", "expiry", "path", "missing"])
def test_a_tampered_url_is_403(demo_server, tamper):
    url = _asset_url(demo_server, READY_ID, "texture")
    query = parse_qs(urlsplit(url).query)
    if tamper == "signature":
        signature = query["X-Signature"][0]
        bad = _with_query(url, **{"X-Signature": ("0" if signature[0] != "0" else "1") + signature[1:]})
    elif tamper == "expiry":
        bad = _with_query(url, **{"X-Expires": str(int(query["X-Expires"][0]) + 3600)})
    elif tamper == "path":
        bad = url.replace("/texture.png", "/avatar.obj")
    else:
        bad = url.split("?")[0]
    response = requests.get(bad, timeout=30)
    assert response.status_code == 403
    assert _s3_code(response) == "SignatureDoesNotMatch"


def test_a_signed_url_cannot_reach_another_scan(demo_server):
    url = _asset_url(demo_server, READY_ID, "texture")
    other = catalog.demo_scan_id("ready-tall")
    assert requests.get(url.replace(READY_ID, other), timeout=30).status_code == 403


def test_sending_the_api_key_to_the_asset_host_is_400(demo_server):
    url = _asset_url(demo_server, READY_ID, "texture")
    response = requests.get(url, headers=AUTH, timeout=30)
    assert response.status_code == 400
    assert _s3_code(response) == "InvalidArgument"


# ----------------------------------------------------------------------------- fault injection


def test_an_injected_api_fault_answers_once_then_recovers(fresh_server):
    fault = fresh_server.faults.add(r"^/scans$", status=503, times=1, headers={"Retry-After": "1"})
    first = requests.get(f"{fresh_server.base_url}/scans", headers=AUTH, timeout=30)
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"
    assert first.json() == {"statusCode": 503, "message": "Service Unavailable", "error": "Service Unavailable"}
    assert requests.get(f"{fresh_server.base_url}/scans", headers=AUTH, timeout=30).status_code == 200
    assert fault.hits == 1


def test_a_fault_with_a_custom_body_and_repeat_count(fresh_server):
    fresh_server.faults.add("/users/", status=429, times=2, body={"statusCode": 429, "message": "slow down"},
                            target="api")
    codes = [requests.get(f"{fresh_server.base_url}/users/demo-alex", headers=AUTH, timeout=30).status_code
             for _ in range(3)]
    assert codes == [429, 429, 200]


def test_a_fault_only_hits_its_target_listener(fresh_server):
    url = _asset_url(fresh_server, READY_ID, "material")
    fresh_server.faults.add("avatar", status=500, times=None, target="assets")
    assert requests.get(url, timeout=30).status_code == 500
    assert requests.get(url, timeout=30).status_code == 500
    assert _asset_url(fresh_server, READY_ID, "model")  # the API is not affected
    fresh_server.faults.clear()
    assert requests.get(url, timeout=30).status_code == 200


def test_a_delayed_answer(fresh_server):
    fresh_server.faults.add("/scan-assets$", status=None, delay_s=0.4)
    started = time.perf_counter()
    response = requests.get(f"{fresh_server.base_url}/scans/{READY_ID}/scan-assets", headers=AUTH, timeout=30)
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        fresh_server.faults.add("/scan-assets$", status=None, delay_s=1.0)
        requests.get(f"{fresh_server.base_url}/scans/{READY_ID}/scan-assets", headers=AUTH, timeout=0.3)


def test_a_truncated_asset_download_fails_on_the_client(fresh_server, demo_dataset):
    url = _asset_url(fresh_server, READY_ID, "model")
    full_size = (demo_dataset / READY_ID / "avatar.obj").stat().st_size
    fresh_server.faults.add(r"\.obj$", status=None, truncate_to=1000, target="assets")
    received = bytearray()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with requests.get(url, stream=True, timeout=30) as response:
            assert int(response.headers["Content-Length"]) == full_size
            for chunk in response.iter_content(100):
                received += chunk
    assert len(received) == 1000
    # the next download is complete again
    assert len(requests.get(url, timeout=30).content) == full_size


def test_a_truncated_api_answer(fresh_server):
    fresh_server.faults.add("^/scans$", status=None, truncate_to=10, target="api")
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(f"{fresh_server.base_url}/scans", headers=AUTH, timeout=30)
