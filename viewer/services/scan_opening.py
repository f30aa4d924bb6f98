"""Opening a scan for the 3D view: asset URLs -> downloads into the cache -> mesh, without Qt.

Runs in a worker thread. Reports progress through a callback and checks ``is_cancelled`` between
chunks, so the GUI can drop a scan the user has already moved away from. A scan opened before is
re-opened from the cache's parsed-mesh sidecar with no HTTP request at all. Model files of
``out_of_process_bytes`` or more are parsed in a child process (``mesh_process``), which writes
that sidecar: parsing them here would hold the GIL long enough to freeze the GUI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from viewer.api.client import PrismClient
from viewer.assets.cache import AssetCache
from viewer.core.errors import AssetDownloadError, NotFoundError, ScanViewerError
from viewer.core.models import AssetType, AssetUrls
from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.sidecar import load_sidecar, save_sidecar
from viewer.services.mesh_process import OUT_OF_PROCESS_BYTES, MeshProcess, shared

log = logging.getLogger(__name__)

#: What the 3D view needs, in the order Prism's own app downloads them (texture, material, model).
BUNDLE_ASSETS = (AssetType.TEXTURE, AssetType.MATERIAL, AssetType.MODEL)


class Cancelled(Exception):
    """The caller no longer wants this scan (a newer selection won)."""


@dataclass(frozen=True)
class OpenProgress:
    phase: str  # "urls" | "download" | "load"
    done: int = 0  # bytes downloaded so far (phase "download")
    total: int | None = None  # bytes expected in all, when the server said
    message: str = ""


@dataclass(frozen=True)
class OpenedScan:
    scan_id: str
    mesh: BodyMesh
    folder: Path
    from_cache: bool


ProgressCallback = Callable[[OpenProgress], None]


def _never() -> bool:
    return False


class ScanOpener:
    def __init__(
        self,
        client: PrismClient,
        cache: AssetCache,
        *,
        mesh_process: MeshProcess | None = None,
        out_of_process_bytes: int = OUT_OF_PROCESS_BYTES,
    ) -> None:
        self.client = client
        self.cache = cache
        self.mesh_process = mesh_process or shared()
        self.out_of_process_bytes = out_of_process_bytes

    def open(
        self,
        scan_id: str,
        *,
        progress: ProgressCallback | None = None,
        is_cancelled: Callable[[], bool] = _never,
    ) -> OpenedScan:
        report = progress or (lambda _p: None)

        def check() -> None:
            if is_cancelled():
                raise Cancelled(scan_id)

        if self.cache.is_complete(scan_id):
            mesh = load_sidecar(self.cache.sidecar_path(scan_id))
            if mesh is not None:
                return OpenedScan(scan_id, mesh, self.cache.scan_dir(scan_id), from_cache=True)
            cached_model = self.cache.get(scan_id, AssetType.MODEL)
            if cached_model is not None:
                report(OpenProgress("load", message="Loading the cached model"))
                mesh = self._load_and_remember(scan_id, cached_model.path, is_cancelled)
                return OpenedScan(scan_id, mesh, self.cache.scan_dir(scan_id), from_cache=True)

        check()
        report(OpenProgress("urls", message="Asking for download links"))
        urls = self.client.get_asset_urls(scan_id)
        if urls.get(AssetType.MODEL) is None:
            raise NotFoundError("This scan has no model file (the body was not produced).")
        self._download_bundle(scan_id, urls, report, check)
        check()
        report(OpenProgress("load", message="Loading the model"))
        model = self.cache.get(scan_id, AssetType.MODEL)
        if model is None:  # evicted between download and load: only with an absurdly small budget
            raise ScanViewerError("The downloaded model was removed from the cache at once; "
                                  "raise the cache size limit.")
        mesh = self._load_and_remember(scan_id, model.path, is_cancelled)
        self.cache.mark_complete(scan_id)
        return OpenedScan(scan_id, mesh, self.cache.scan_dir(scan_id), from_cache=False)

    def _load_and_remember(
        self, scan_id: str, model_path: Path, is_cancelled: Callable[[], bool]
    ) -> BodyMesh:
        if self._is_large(model_path):
            opened = self.mesh_process.load(model_path, self.cache.sidecar_path(scan_id),
                                            assume_prism=True, is_cancelled=is_cancelled)
            if opened is None:
                raise Cancelled(scan_id)
            return opened
        mesh = load_mesh(model_path, assume_prism=True)
        try:
            save_sidecar(mesh, self.cache.sidecar_path(scan_id))
        except OSError as exc:  # a full disk must not stop the user from seeing the body
            log.warning("could not write the mesh sidecar for %s: %s", scan_id, exc)
        return mesh

    def _is_large(self, path: Path) -> bool:
        try:
            return path.stat().st_size >= self.out_of_process_bytes
        except OSError:
            return False  # load_mesh explains a missing or unreadable file

    def _download_bundle(self, scan_id: str, urls: AssetUrls, report: ProgressCallback,
                         check: Callable[[], None]) -> None:
        wanted = [a for a in BUNDLE_ASSETS if urls.get(a) and self.cache.get(scan_id, a) is None]
        done = 0
        total: int | None = 0
        downloads = []
        fresh_urls: AssetUrls | None = None
        self.cache.pinned.add(scan_id)
        try:
            for asset in wanted:
                check()
                url = urls.get(asset)
                try:
                    download = self.client.open_download(url)
                except AssetDownloadError as exc:
                    if not exc.expired:
                        raise
                    # Links expire: ask for fresh ones once, then give up with the error.
                    fresh_urls = fresh_urls or self.client.get_asset_urls(scan_id)
                    url = fresh_urls.get(asset)
                    if url is None:
                        raise
                    download = self.client.open_download(url)
                downloads.append((asset, download))
                if asset is AssetType.MODEL and (download.total or 0) >= self.out_of_process_bytes:
                    self.mesh_process.warm_up()  # the child starts while the bytes arrive
                if total is not None and download.total is not None:
                    total += download.total
                else:
                    total = None
            for asset, download in downloads:
                def on_bytes(n: int) -> None:
                    nonlocal done
                    done += n
                    check()
                    report(OpenProgress("download", done, total, f"Downloading {asset.value}"))

                try:
                    self.cache.store(scan_id, asset, download.chunks(), expected_size=download.total,
                                     etag=download.etag, on_bytes=on_bytes)
                except OSError as exc:
                    raise AssetDownloadError(f"Could not save the {asset.value}: {exc}") from exc
        finally:
            for _asset, download in downloads:
                download.close()
            self.cache.pinned.discard(scan_id)

    def fetch_preview(self, scan_id: str, *, allow_network: bool = True) -> Path | None:
        """The scan's preview image from the cache or the server; None when it has none."""
        cached = self.cache.get(scan_id, AssetType.PREVIEW_IMAGE)
        if cached is not None or not allow_network:
            return cached.path if cached else None
        try:
            url = self.client.get_asset_url(scan_id, AssetType.PREVIEW_IMAGE)
        except NotFoundError:
            return None
        try:
            download = self.client.open_download(url)
        except AssetDownloadError as exc:
            if not exc.expired:
                raise
            download = self.client.open_download(self.client.get_asset_url(scan_id, AssetType.PREVIEW_IMAGE))
        try:
            stored = self.cache.store(scan_id, AssetType.PREVIEW_IMAGE, download.chunks(),
                                      expected_size=download.total, etag=download.etag)
        finally:
            download.close()
        return stored.path
