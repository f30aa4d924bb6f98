"""The Prism client against the real local server over HTTP, including injected faults."""

from __future__ import annotations

import pytest
import requests

from viewer.api.client import PrismClient
from viewer.api.retry import RetryPolicy
from viewer.core.errors import (
    AssetDownloadError,
    AuthenticationError,
    BadRequestError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)
from viewer.core.models import AssetType, ScanStatus, StageState, UnitSystem
from viewer.demo.catalog import SCENARIOS, demo_scan_id
from viewer.demo.server import DEMO_API_KEY


class SleepRecorder:
    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_client(server, **kw) -> PrismClient:
    kw.setdefault("sleep", SleepRecorder())
    kw.setdefault("retry", RetryPolicy(max_attempts=4, random=lambda: 0.5))
    return PrismClient(server.base_url, kw.pop("api_key", DEMO_API_KEY), **kw)


def test_lists_every_demo_scan_across_pages(demo_server):
    client = make_client(demo_server)
    pages = list(client.iter_scan_pages(page_size=5))
    ids = [s.id for p in pages for s in p.results]
    assert len(pages) == -(-len(SCENARIOS) // 5)
    assert sorted(ids) == sorted(demo_scan_id(s.name) for s in SCENARIOS)
    created = [s.created_at for p in pages for s in p.results]
    assert created == sorted(created, reverse=True)  # default order: newest first
    asc = [s.id for s in client.iter_scans(order="asc", page_size=100)]
    assert asc == ids[::-1] or sorted(asc) == sorted(ids)


def test_user_token_scopes_the_list(demo_server):
    client = make_client(demo_server)
    scans = list(client.iter_scans("demo-kim"))
    assert scans and all(s.user_token == "demo-kim" for s in scans)
    expected = {demo_scan_id(s.name) for s in SCENARIOS if s.user_token == "demo-kim"}
    assert {s.id for s in scans} == expected


def test_never_asks_for_more_than_100(demo_server):
    client = make_client(demo_server)
    page = client.list_scans_page(limit=1000)  # clamped, so the server does not answer 400
    assert len(page.results) == len(SCENARIOS)


def test_scan_states_parse(demo_server):
    client = make_client(demo_server)
    failed = client.get_scan(demo_scan_id("failed-body"))
    assert failed.status is ScanStatus.FAILED and failed.assets.state("body") is StageState.FAILED
    created = client.get_scan(demo_scan_id("created"))
    assert created.assets.state("captureData") is StageState.NONE
    assets = client.get_scan_assets(demo_scan_id("processing"))
    assert assets.state("body") is StageState.STARTED


def test_asset_urls_single_and_all(demo_server):
    client = make_client(demo_server)
    scan_id = demo_scan_id("ready")
    urls = client.get_asset_urls(scan_id)
    assert urls.get(AssetType.MODEL).startswith(demo_server.asset_base_url)
    single = client.get_asset_url(scan_id, AssetType.TEXTURE)
    assert single.startswith(demo_server.asset_base_url)
    with pytest.raises(NotFoundError):
        client.get_asset_url(demo_scan_id("legacy-ply"), AssetType.TEXTURE)
    with pytest.raises(NotFoundError):
        client.get_scan("no-such-scan")


def test_measurements_and_user(demo_server):
    client = make_client(demo_server)
    metric = client.get_measurements(demo_scan_id("ready"))
    imperial = client.get_measurements(demo_scan_id("ready"), UnitSystem.IMPERIAL)
    assert 0.5 < metric.get("chestFit") < 1.5
    assert imperial.get("chestFit") == pytest.approx(metric.get("chestFit") / 0.0254, rel=1e-3)
    user = client.get_user("demo-sam")
    assert user.token == "demo-sam" and user.height.value > 1.5


def test_wrong_key_is_an_authentication_error(demo_server):
    client = make_client(demo_server, api_key="wrong")
    with pytest.raises(AuthenticationError) as info:
        client.list_scans_page()
    assert info.value.status == 401
    assert client._sleep.calls == []  # 401 is not retried


def test_bad_parameter_is_a_bad_request(demo_server):
    client = make_client(demo_server)
    with pytest.raises(BadRequestError):
        client.list_scans_page(cursor="not-a-cursor")


def test_500_then_200_is_retried(fresh_server):
    fresh_server.faults.add(r"^/scans$", 500, times=2, target="api")
    client = make_client(fresh_server)
    page = client.list_scans_page()
    assert page.results
    assert len(client._sleep.calls) == 2


def test_429_honours_retry_after(fresh_server):
    fresh_server.faults.add(r"^/scans/", 429, times=1, headers={"Retry-After": "7"}, target="api")
    client = make_client(fresh_server)
    client.get_scan(demo_scan_id("ready"))
    assert client._sleep.calls == [7.0]


def test_persistent_503_gives_up_with_server_error(fresh_server):
    fresh_server.faults.add(r"^/scans$", 503, times=None, target="api")
    client = make_client(fresh_server)
    with pytest.raises(ServerError) as info:
        client.list_scans_page()
    assert info.value.status == 503 and info.value.transient
    assert len(client._sleep.calls) == 3  # 4 attempts


def test_long_retry_after_is_reported_not_slept(fresh_server):
    fresh_server.faults.add(r"^/scans$", 429, times=None, headers={"Retry-After": "3600"}, target="api")
    client = make_client(fresh_server)
    with pytest.raises(RateLimitedError) as info:
        client.list_scans_page()
    assert info.value.retry_after == 3600 and client._sleep.calls == []


def test_timeout_is_a_network_error_after_retries(fresh_server):
    fresh_server.faults.add(r"^/users/", None, times=None, delay_s=0.6, target="api")
    client = make_client(fresh_server, timeout=(2.0, 0.2), retry=RetryPolicy(max_attempts=2, random=lambda: 0))
    with pytest.raises(NetworkError) as info:
        client.get_user("demo-sam")
    assert "in time" in str(info.value)
    assert len(client._sleep.calls) == 1


def test_connection_refused_is_a_network_error():
    with socket_free_port() as port:
        pass
    client = PrismClient(f"http://127.0.0.1:{port}", "k", sleep=SleepRecorder(),
                         retry=RetryPolicy(max_attempts=2, random=lambda: 0))
    with pytest.raises(NetworkError) as info:
        client.list_scans_page()
    assert "cannot reach" in str(info.value)


def test_non_json_body_is_a_bad_response(fresh_server):
    from viewer.core.errors import BadResponseError

    fresh_server.faults.add(r"^/scans/", 200, body="<html>maintenance</html>", target="api")
    with pytest.raises(BadResponseError):
        make_client(fresh_server).get_scan(demo_scan_id("ready"))


def test_download_sends_no_key_and_checks_length(demo_server):
    client = make_client(demo_server)
    url = client.get_asset_url(demo_scan_id("ready"), AssetType.TEXTURE)
    download = client.open_download(url)
    data = b"".join(download.chunks())
    assert download.total == len(data) and data.startswith(b"\x89PNG")
    assert "authorization" not in {k.lower() for k in download.response.request.headers}
    # the server refuses a request that carries a key, as S3 does
    assert requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5).status_code == 400


def test_expired_url_is_reported_as_expired(make_demo_server):
    now = [1_000_000.0]
    server = make_demo_server(url_ttl=10, clock=lambda: now[0])
    client = make_client(server)
    url = client.get_asset_url(demo_scan_id("ready"), AssetType.MODEL)
    now[0] += 11
    with pytest.raises(AssetDownloadError) as info:
        client.open_download(url)
    assert info.value.expired and info.value.status == 403


def test_truncated_download_is_detected(fresh_server):
    client = make_client(fresh_server)
    url = client.get_asset_url(demo_scan_id("ready"), AssetType.TEXTURE)
    fresh_server.faults.add(r"texture", None, truncate_to=1000, target="assets")
    download = client.open_download(url)
    with pytest.raises(AssetDownloadError):
        b"".join(download.chunks())


class socket_free_port:
    def __enter__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


def test_after_retries_run_out_the_next_failures_are_fast_until_a_success(fresh_server):
    fault = fresh_server.faults.add(r"^/scans", 503, times=None, target="api")
    client = make_client(fresh_server)
    with pytest.raises(ServerError):
        client.list_scans_page()
    assert len(client._sleep.calls) == 3  # the first caller sits through the backoff
    with pytest.raises(ServerError):
        client.get_scan(demo_scan_id("ready"))
    assert len(client._sleep.calls) == 3  # the next one learns at once that the server is failing
    fresh_server.faults.clear()
    assert fault.hits >= 5
    client.get_scan(demo_scan_id("ready"))  # the server is back: a success ...
    fresh_server.faults.add(r"^/scans$", 500, times=1, target="api")
    client.list_scans_page()  # ... and retries work again
    assert len(client._sleep.calls) == 4
