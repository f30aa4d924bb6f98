"""Scan preview thumbnails: loaded lazily in workers, scaled there as ``QImage``, kept in memory.

Rules:
- ``image(scan_id)`` never blocks: it answers from memory or queues a load and returns None;
  ``thumbnailReady(scan_id)`` says when to ask again.
- The worker calls ``source(scan_id) -> Path | None`` (the source does any download and disk
  caching) and scales the PNG into a ``QImage``. A ``QPixmap`` is never made off the GUI thread.
- At most ``max_loading`` loads run at once so thumbnails never starve page loads of workers;
  waiting requests are served newest first (the rows the user looks at now) and the oldest are
  dropped when too many wait.
- A scan with no preview or a failed load is remembered as missing until ``forget_missing(scan_id)``
  (the list calls it when a scan changes, e.g. its capture stage finished).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage

from viewer.qt.tasks import Task, TaskRunner

log = logging.getLogger(__name__)

ThumbnailSource = Callable[[str], "Path | None"]

_MISSING = object()


def load_scaled_image(path: Path, size: QSize) -> QImage | None:
    """Read an image file and fit it into ``size`` keeping its aspect ratio (safe in any thread)."""
    image = QImage(str(path))
    if image.isNull():
        return None
    return image.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)


class ThumbnailCache(QObject):
    """In-memory LRU of scaled previews, fed by background loads."""

    thumbnailReady = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        source: ThumbnailSource | None,
        size: QSize,
        *,
        capacity: int = 400,
        max_loading: int = 2,
        max_waiting: int = 64,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._source = source
        self._size = QSize(size)
        self._capacity = capacity
        self._max_loading = max_loading
        self._max_waiting = max_waiting
        self._images: OrderedDict[str, object] = OrderedDict()  # scan id -> QImage or _MISSING
        self._loading: dict[str, Task] = {}
        self._waiting: list[str] = []  # newest last

    @property
    def size(self) -> QSize:
        return QSize(self._size)

    def image(self, scan_id: str) -> QImage | None:
        """The thumbnail if loaded; otherwise None, and a load is queued unless known missing."""
        cached = self._images.get(scan_id)
        if cached is not None:
            self._images.move_to_end(scan_id)
            return None if cached is _MISSING else cached  # type: ignore[return-value]
        if self._source is not None:
            self._enqueue(scan_id)
        return None

    def set_source(self, source: ThumbnailSource | None) -> None:
        """Load from another source (another server); drops everything loaded so far."""
        self.clear()
        self._source = source

    def is_settled(self, scan_id: str) -> bool:
        """True when the thumbnail is loaded or known to be missing (nothing more will arrive)."""
        return scan_id in self._images and scan_id not in self._loading

    def forget_missing(self, scan_id: str) -> None:
        """If the scan had no preview, look again at the next ``image`` (it may have one now)."""
        if self._images.get(scan_id) is _MISSING:
            del self._images[scan_id]

    def clear(self) -> None:
        """Drop every image and every queued or running load."""
        for task in self._loading.values():
            task.cancel()
        self._loading.clear()
        self._waiting.clear()
        self._images.clear()

    @property
    def loading_count(self) -> int:
        return len(self._loading)

    def _enqueue(self, scan_id: str) -> None:
        if scan_id in self._loading:
            return
        if scan_id in self._waiting:
            self._waiting.remove(scan_id)
        self._waiting.append(scan_id)
        if len(self._waiting) > self._max_waiting:
            del self._waiting[0]
        self._start_next()

    def _start_next(self) -> None:
        while self._waiting and len(self._loading) < self._max_loading:
            scan_id = self._waiting.pop()
            task = self._runner.submit(
                self._load, scan_id, self._source, QSize(self._size),
                on_done=lambda image, sid=scan_id: self._finished(sid, image),
                on_error=lambda error, sid=scan_id: self._failed(sid, error),
            )
            if task.cancelled:  # the runner is shut down
                self._waiting.clear()
                return
            self._loading[scan_id] = task

    @staticmethod
    def _load(task: Task, scan_id: str, source: ThumbnailSource, size: QSize) -> QImage | None:
        path = source(scan_id)
        if path is None or task.cancelled:
            return None
        return load_scaled_image(Path(path), size)

    def _finished(self, scan_id: str, image: QImage | None) -> None:
        self._loading.pop(scan_id, None)
        self._remember(scan_id, image if image is not None else _MISSING)
        if image is not None:
            self.thumbnailReady.emit(scan_id)
        self._start_next()

    def _failed(self, scan_id: str, error: BaseException) -> None:
        self._loading.pop(scan_id, None)
        log.warning("no thumbnail for scan %s: %s", scan_id, error)
        self._remember(scan_id, _MISSING)
        self._start_next()

    def _remember(self, scan_id: str, value: object) -> None:
        self._images[scan_id] = value
        self._images.move_to_end(scan_id)
        while len(self._images) > self._capacity:
            self._images.popitem(last=False)
