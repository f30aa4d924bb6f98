"""On-disk cache of scan assets, keyed by scan id and asset type (never by URL: URLs expire).

Layout: ``<root>/scans/<scan id>/`` holds one scan's files under Prism's names, so the OBJ finds its
MTL (``mtllib avatar.obj.mtl``) and the MTL its texture (``map_Kd texture.png``), plus
``manifest.json`` (asset type -> file name, size, ETag) and the parsed-mesh sidecar.

Rules:
- Writes are atomic: bytes go to a temporary file in the same folder, which is renamed into place
  only when complete (and of the announced size). A cut download never leaves a file that looks
  complete, and the manifest only names files that were completed.
- The cache does not know HTTP: ``store`` takes an iterator of byte chunks.
- A size budget with least-recently-used eviction, per scan folder; the folder being written and
  any folder listed in ``pinned`` are never evicted. "Used" is the manifest's mtime, touched on reads.
- Safe to use from several worker threads: one lock guards manifests and eviction.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from viewer.core.atomic_files import write_json_atomic
from viewer.core.models import AssetType

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SIDECAR = "mesh.npz"
DEFAULT_BUDGET_BYTES = 2 * 1024**3

#: Prism's own file names inside a bundle (the model's name depends on its format, see ``model_filename``).
ASSET_FILENAMES = {
    AssetType.PREVIEW_IMAGE: "preview.png",
    AssetType.TEXTURE: "texture.png",
    AssetType.MATERIAL: "avatar.obj.mtl",
    AssetType.CANONICAL_BODY: "canonical-body.bin",
    AssetType.STRIPES: "stripes.bin",
    AssetType.CAPTURE_VIDEO: "capture-video.bin",
}

_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]")


def model_filename(head: bytes) -> str:
    """Name for a downloaded model from its first bytes.

    Prism sends OBJ (objTextureBased bundles) or PLY (singlePlyOnly and old scans); glTF binary is
    recognised too. Anything else is stored as ``avatar.obj`` and the loader says what it really is.
    """
    if head.lstrip()[:3].lower() == b"ply":
        return "model.ply"
    if head[:4] == b"glTF":
        return "model.glb"
    return "avatar.obj"


@dataclass(frozen=True)
class CachedAsset:
    path: Path
    size: int
    etag: str | None


class CacheWriteError(OSError):
    """A download could not be stored (short, disk full, permissions)."""


class AssetCache:
    def __init__(self, root: Path, budget_bytes: int = DEFAULT_BUDGET_BYTES,
                 retention_days: float | None = None) -> None:
        self.root = Path(root)
        self.budget_bytes = budget_bytes
        self.retention_days = retention_days
        self.pinned: set[str] = set()
        self._writing: dict[str, int] = {}  # scan folder name -> stores in progress
        self._lock = threading.RLock()
        (self.root / "scans").mkdir(parents=True, exist_ok=True)

    # -- locations ----------------------------------------------------------------------------

    def scan_dir(self, scan_id: str) -> Path:
        safe = _SAFE_ID.sub("_", scan_id)
        if safe in ("", ".", ".."):
            raise ValueError(f"Not a usable scan id: {scan_id!r}")
        return self.root / "scans" / safe

    def sidecar_path(self, scan_id: str) -> Path:
        return self.scan_dir(scan_id) / SIDECAR

    # -- manifest -----------------------------------------------------------------------------

    def _read_manifest(self, scan_id: str) -> dict:
        try:
            data = json.loads((self.scan_dir(scan_id) / MANIFEST).read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_manifest(self, scan_id: str, manifest: dict) -> None:
        folder = self.scan_dir(scan_id)
        write_json_atomic(folder / MANIFEST, manifest)

    def get(self, scan_id: str, asset: AssetType) -> CachedAsset | None:
        """The cached file for an asset, if complete on disk; touches the scan as recently used."""
        with self._lock:
            entry = self._read_manifest(scan_id).get(asset.value)
            if not isinstance(entry, dict):
                return None
            path = self.scan_dir(scan_id) / str(entry.get("file", ""))
            try:
                size = path.stat().st_size
            except OSError:
                return None
            if size != entry.get("size"):
                return None
            self.touch(scan_id)
            return CachedAsset(path, size, entry.get("etag"))

    def has_all(self, scan_id: str, assets: Iterable[AssetType]) -> bool:
        return all(self.get(scan_id, a) is not None for a in assets)

    def cached_assets(self, scan_id: str) -> set[AssetType]:
        manifest = self._read_manifest(scan_id)
        return {a for a in AssetType if a.value in manifest and self.get(scan_id, a) is not None}

    def touch(self, scan_id: str) -> None:
        manifest = self.scan_dir(scan_id) / MANIFEST
        try:
            os.utime(manifest)
        except OSError:
            pass

    # -- writing ------------------------------------------------------------------------------

    def store(
        self,
        scan_id: str,
        asset: AssetType,
        chunks: Iterable[bytes],
        *,
        expected_size: int | None = None,
        etag: str | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> CachedAsset:
        """Write an asset from byte chunks, atomically; returns the completed file.

        ``on_bytes`` is called with each chunk's length (for progress; it may raise to cancel).
        Raises ``CacheWriteError`` when the size does not match ``expected_size``; whatever the
        chunk iterator or ``on_bytes`` raises passes through, and no partial file remains.
        """
        folder = self.scan_dir(scan_id)
        with self._lock:
            self._writing[folder.name] = self._writing.get(folder.name, 0) + 1
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=folder)
        tmp = Path(tmp_name)
        written = 0
        head = b""
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    if not chunk:
                        continue
                    if len(head) < 512:
                        head += chunk[: 512 - len(head)]
                    out.write(chunk)
                    written += len(chunk)
                    if on_bytes is not None:
                        on_bytes(len(chunk))
                out.flush()
                os.fsync(out.fileno())
            if expected_size is not None and written != expected_size:
                raise CacheWriteError(
                    f"{asset.value}: received {written} bytes, expected {expected_size}")
            name = model_filename(head) if asset is AssetType.MODEL else ASSET_FILENAMES[asset]
            final = folder / name
            with self._lock:
                os.replace(tmp, final)
                manifest = self._read_manifest(scan_id)
                manifest[asset.value] = {"file": name, "size": written, "etag": etag,
                                         "stored": time.time()}
                if asset is AssetType.MODEL:
                    # a new model invalidates the parsed sidecar of the old one
                    self.sidecar_path(scan_id).unlink(missing_ok=True)
                    manifest.pop("complete", None)
                self._write_manifest(scan_id, manifest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            with self._lock:
                self._writing[folder.name] -= 1
                if not self._writing[folder.name]:
                    del self._writing[folder.name]
        self.evict(keep=scan_id)
        return CachedAsset(final, written, etag)

    def mark_complete(self, scan_id: str) -> None:
        """Record that every asset the scan's bundle has is cached (absent ones are known absent)."""
        with self._lock:
            manifest = self._read_manifest(scan_id)
            manifest["complete"] = True
            self._write_manifest(scan_id, manifest)

    def is_complete(self, scan_id: str) -> bool:
        return bool(self._read_manifest(scan_id).get("complete")) and self.get(scan_id, AssetType.MODEL) is not None

    # -- housekeeping -------------------------------------------------------------------------

    def _scan_dirs(self) -> list[Path]:
        try:
            return [p for p in (self.root / "scans").iterdir() if p.is_dir()]
        except OSError:
            return []

    def size_bytes(self) -> int:
        return sum(_tree_size(p) for p in self._scan_dirs())

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least-recently-used scan folders until under budget (and older than retention)."""
        removed: list[str] = []
        with self._lock:
            protected = {self.scan_dir(s).name for s in self.pinned | ({keep} if keep else set())}
            protected |= set(self._writing)  # never delete a folder another thread is writing into

            def last_used(folder: Path) -> float:
                # the manifest is touched on every read; a folder without one is as new as itself
                try:
                    return (folder / MANIFEST).stat().st_mtime
                except OSError:
                    try:
                        return folder.stat().st_mtime
                    except OSError:
                        return 0.0

            folders = sorted(self._scan_dirs(), key=last_used)
            if self.retention_days is not None:
                horizon = time.time() - self.retention_days * 86400
                for folder in list(folders):
                    if folder.name not in protected and last_used(folder) < horizon:
                        shutil.rmtree(folder, ignore_errors=True)
                        folders.remove(folder)
                        removed.append(folder.name)
            sizes = {f: _tree_size(f) for f in folders}
            total = sum(sizes.values())
            for folder in folders:
                if total <= self.budget_bytes:
                    break
                if folder.name in protected:
                    continue
                shutil.rmtree(folder, ignore_errors=True)
                total -= sizes[folder]
                removed.append(folder.name)
        if removed:
            log.info("cache evicted %d scan folder(s)", len(removed))
        return removed

    def clear(self) -> None:
        """Delete every cached scan (scan files can identify people)."""
        with self._lock:
            for folder in self._scan_dirs():
                shutil.rmtree(folder, ignore_errors=True)


def _tree_size(folder: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


