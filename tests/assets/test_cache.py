"""The asset cache: atomic writes, names, manifest, LRU eviction."""

import os
import time

import pytest

from viewer.assets.cache import AssetCache, CacheWriteError, model_filename
from viewer.core.models import AssetType


def chunks(data: bytes, size: int = 7):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_store_uses_prism_names_and_reads_back(tmp_path):
    cache = AssetCache(tmp_path)
    obj = b"mtllib avatar.obj.mtl\nv 0 0 0\n"
    stored = cache.store("s1", AssetType.MODEL, chunks(obj), expected_size=len(obj), etag='"e1"')
    cache.store("s1", AssetType.MATERIAL, [b"newmtl material_0\nmap_Kd texture.png\n"])
    assert stored.path.name == "avatar.obj" and stored.path.read_bytes() == obj
    assert cache.get("s1", AssetType.MATERIAL).path.name == "avatar.obj.mtl"
    assert cache.get("s1", AssetType.MODEL).etag == '"e1"'
    assert cache.get("s1", AssetType.TEXTURE) is None
    assert cache.cached_assets("s1") == {AssetType.MODEL, AssetType.MATERIAL}
    assert stored.path.parent == cache.scan_dir("s1")


def test_model_name_follows_content():
    assert model_filename(b"ply\nformat binary_little_endian 1.0\n") == "model.ply"
    assert model_filename(b"glTF\x02\x00\x00\x00") == "model.glb"
    assert model_filename(b"# OBJ\nv 1 2 3\n") == "avatar.obj"


def test_short_download_leaves_nothing_that_looks_complete(tmp_path):
    cache = AssetCache(tmp_path)
    with pytest.raises(CacheWriteError):
        cache.store("s1", AssetType.TEXTURE, chunks(b"x" * 50), expected_size=100)
    assert cache.get("s1", AssetType.TEXTURE) is None
    assert not any(p.name == "texture.png" for p in cache.scan_dir("s1").iterdir())
    assert not [p for p in cache.scan_dir("s1").iterdir() if p.name.startswith(".part-")]


def test_broken_iterator_and_cancel_leave_no_partial_file(tmp_path):
    cache = AssetCache(tmp_path)

    def broken():
        yield b"abc"
        raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        cache.store("s1", AssetType.MODEL, broken())

    def cancel(_n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.store("s1", AssetType.MODEL, chunks(b"v 0 0 0\n" * 10), on_bytes=cancel)
    assert list(cache.scan_dir("s1").iterdir()) == []


def test_file_changed_on_disk_is_not_trusted(tmp_path):
    cache = AssetCache(tmp_path)
    stored = cache.store("s1", AssetType.TEXTURE, [b"12345"])
    stored.path.write_bytes(b"12")
    assert cache.get("s1", AssetType.TEXTURE) is None


def test_lru_eviction_keeps_recent_and_pinned(tmp_path):
    cache = AssetCache(tmp_path, budget_bytes=11_000)
    for i, scan in enumerate(["old", "mid", "new"]):
        cache.store(scan, AssetType.TEXTURE, [b"x" * 3000])
        past = time.time() - 1000 + i * 100
        os.utime(cache.scan_dir(scan) / "manifest.json", (past, past))
    cache.get("old", AssetType.TEXTURE)  # reading makes "old" the most recently used
    cache.pinned.add("mid")
    cache.store("big", AssetType.TEXTURE, [b"x" * 4000])
    assert cache.get("new", AssetType.TEXTURE) is None  # least recently used, not pinned
    assert cache.get("mid", AssetType.TEXTURE) is not None
    assert cache.get("old", AssetType.TEXTURE) is not None
    assert cache.get("big", AssetType.TEXTURE) is not None
    assert cache.size_bytes() <= 11_000


def test_retention_and_clear(tmp_path):
    cache = AssetCache(tmp_path, retention_days=1)
    cache.store("stale", AssetType.TEXTURE, [b"x"])
    long_ago = time.time() - 3 * 86400
    os.utime(cache.scan_dir("stale") / "manifest.json", (long_ago, long_ago))
    cache.store("fresh", AssetType.TEXTURE, [b"y"])
    assert cache.get("stale", AssetType.TEXTURE) is None
    cache.clear()
    assert cache.get("fresh", AssetType.TEXTURE) is None and cache.size_bytes() == 0


def test_completeness_is_reset_by_a_new_model(tmp_path):
    cache = AssetCache(tmp_path)
    cache.store("s", AssetType.MODEL, [b"v 0 0 0\n"])
    cache.mark_complete("s")
    assert cache.is_complete("s")
    cache.sidecar_path("s").write_bytes(b"sidecar")
    cache.store("s", AssetType.MODEL, [b"v 1 1 1\n"])
    assert not cache.is_complete("s") and not cache.sidecar_path("s").exists()


def test_odd_scan_ids_stay_inside_the_cache(tmp_path):
    cache = AssetCache(tmp_path)
    assert cache.scan_dir("../../etc").parent == tmp_path / "scans"
    with pytest.raises(ValueError):
        cache.scan_dir("..")
