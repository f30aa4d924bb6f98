"""Opening scans through the real server: downloads, cache, sidecar, expiry, cancellation."""

from __future__ import annotations

import pytest

from viewer.api.client import PrismClient
from viewer.api.retry import RetryPolicy
from viewer.assets.cache import AssetCache
from viewer.core.errors import AssetDownloadError, MeshLoadError, NotFoundError
from viewer.core.models import AssetType
from viewer.demo.catalog import demo_scan_id
from viewer.demo.server import DEMO_API_KEY
from viewer.services.scan_opening import Cancelled, ScanOpener


def opener_for(server, tmp_path) -> ScanOpener:
    client = PrismClient(server.base_url, DEMO_API_KEY, sleep=lambda _s: None,
                         retry=RetryPolicy(max_attempts=3, random=lambda: 0))
    return ScanOpener(client, AssetCache(tmp_path / "cache"))


def count_requests(server):
    """Count requests per listener by wrapping the fault injector's lookup (a real hook, no mock)."""
    seen = {"api": 0, "assets": 0}
    original = server.faults.take

    def take(listener, path):
        seen[listener] += 1
        return original(listener, path)

    server.faults.take = take
    return seen


def test_open_downloads_bundle_then_reopens_with_no_request(demo_server, tmp_path):
    opener = opener_for(demo_server, tmp_path)
    progress = []
    opened = opener.open(demo_scan_id("ready"), progress=progress.append)
    assert not opened.from_cache and opened.mesh.is_textured
    assert {p.name for p in opened.folder.iterdir()} >= {"avatar.obj", "avatar.obj.mtl", "texture.png", "mesh.npz"}
    downloads = [p for p in progress if p.phase == "download"]
    assert downloads and downloads[-1].done == downloads[-1].total
    assert 1.45 < opened.mesh.height < 2.0  # upright, metres

    seen = count_requests(demo_server)
    again = opener.open(demo_scan_id("ready"))
    assert again.from_cache and seen == {"api": 0, "assets": 0}
    assert again.mesh.n_faces == opened.mesh.n_faces and again.mesh.is_textured


def test_ply_only_scan_opens_untextured_with_colours(demo_server, tmp_path):
    opened = opener_for(demo_server, tmp_path).open(demo_scan_id("legacy-ply"))
    assert opened.mesh.texture is None and opened.mesh.vertex_colors is not None
    assert (opened.folder / "model.ply").exists()


def test_missing_texture_still_opens_plain(demo_server, tmp_path):
    opened = opener_for(demo_server, tmp_path).open(demo_scan_id("no-texture"))
    assert not opened.mesh.is_textured and opened.mesh.n_faces > 1000


def test_not_a_mesh_is_a_mesh_load_error_naming_the_file(demo_server, tmp_path):
    with pytest.raises(MeshLoadError) as info:
        opener_for(demo_server, tmp_path).open(demo_scan_id("not-a-mesh"))
    assert "avatar.obj" in str(info.value) and "XML" in info.value.reason


def test_failed_body_has_no_model(demo_server, tmp_path):
    with pytest.raises(NotFoundError):
        opener_for(demo_server, tmp_path).open(demo_scan_id("failed-body"))


def test_expired_links_are_fetched_again_once(make_demo_server, tmp_path):
    server = make_demo_server()
    server.faults.add(r"avatar\.obj$", 403, times=1, target="assets")
    opened = opener_for(server, tmp_path).open(demo_scan_id("ready"))
    assert opened.mesh.n_faces > 1000


def test_cut_download_leaves_no_model_and_next_try_works(fresh_server, tmp_path):
    opener = opener_for(fresh_server, tmp_path)
    fresh_server.faults.add(r"avatar\.obj$", None, truncate_to=2000, target="assets")
    with pytest.raises(AssetDownloadError):
        opener.open(demo_scan_id("ready"))
    assert opener.cache.get(demo_scan_id("ready"), AssetType.MODEL) is None
    assert opener.open(demo_scan_id("ready")).mesh.n_faces > 1000


def test_cancel_between_chunks(demo_server, tmp_path):
    opener = opener_for(demo_server, tmp_path)
    calls = []

    def cancelled() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        opener.open(demo_scan_id("large"), is_cancelled=cancelled)
    assert not opener.cache.is_complete(demo_scan_id("large"))


def test_preview_is_fetched_and_cached(demo_server, tmp_path):
    opener = opener_for(demo_server, tmp_path)
    path = opener.fetch_preview(demo_scan_id("failed-body"))
    assert path is not None and path.read_bytes().startswith(b"\x89PNG")
    assert opener.fetch_preview(demo_scan_id("created")) is None  # no capture, no preview
