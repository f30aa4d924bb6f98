"""The scan list as a Qt model: pages on demand, live re-polling, lazy thumbnails.

Rules:
- The model knows no HTTP. It is fed by callables that run in worker threads:
  ``page_source(cursor) -> ScanPage``, ``scan_source(scan_id) -> Scan``,
  ``thumbnail_source(scan_id) -> Path | None``.
- ``fetchMore`` never blocks and keeps at most one page request in flight. After a failed page the
  model stops asking (``canFetchMore`` is False) until ``retry()``, so a view cannot hammer a
  broken server.
- ``reset(page_source)`` starts over; results of the previous source (pages and polls) are dropped,
  even when they arrive later ("latest wins": every request carries the generation it was made in).
- Scans whose status is not final are re-polled on a timer; changed rows emit ``dataChanged``.
- Errors never escape into Qt: they become ``loadFailed(message)`` (poll errors only once per
  run of failures) and a log line.
- ``ThumbnailRole`` answers from memory and, on a miss, queues a background load: views ask for it
  only for rows they paint, which makes loading lazy.
- ``VerdictRole`` answers from ``verdict_source(scan_id) -> "A" | "R" | "F" | None`` (set by the QA
  panel); call ``verdicts_changed`` after a verdict is saved so the row repaints.
- ``load_all()`` keeps asking for the next page as soon as one arrives, until the source is
  exhausted, a page fails, ``cancel_load_all()`` or ``reset``; ``loadAllChanged`` tells when it
  starts and stops (``pageLoaded`` carries the progress).
- Call ``stop()`` before the task runner shuts down (the panel does it on close).
"""

from __future__ import annotations

import enum
import logging
from typing import Any, Callable, Sequence

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)

from viewer.core.errors import ScanViewerError
from viewer.core.formatting import device_name, format_time
from viewer.core.models import Scan, ScanPage
from viewer.qt.badges import status_text
from viewer.qt.tasks import Task, TaskRunner
from viewer.qt.thumbnails import ThumbnailCache, ThumbnailSource

log = logging.getLogger(__name__)

PageSource = Callable[[str | None], ScanPage]
ScanSource = Callable[[str], Scan]
VerdictSource = Callable[[str], str | None]

DEFAULT_POLL_INTERVAL_MS = 5000
DEFAULT_THUMBNAIL_SIZE = QSize(48, 64)

_Index = QModelIndex | QPersistentModelIndex


class ScanRoles(enum.IntEnum):
    ScanRole = Qt.ItemDataRole.UserRole + 1
    ScanIdRole = enum.auto()
    StatusRole = enum.auto()
    StatusTextRole = enum.auto()
    StageStatesRole = enum.auto()
    StageInfosRole = enum.auto()
    ThumbnailRole = enum.auto()
    UserTokenRole = enum.auto()
    CreatedAtRole = enum.auto()
    CreatedAtTextRole = enum.auto()
    DeviceRole = enum.auto()
    FilterTextRole = enum.auto()
    VerdictRole = enum.auto()


def error_message(error: BaseException, what: str) -> str:
    """Words for the user: our typed errors already have them; anything else gets a prefix."""
    if isinstance(error, ScanViewerError):
        return str(error)
    return f"{what}: {error or type(error).__name__}"


class ScanListModel(QAbstractListModel):
    pageLoaded = Signal(int)  # number of scans the page added
    loadingChanged = Signal(bool)
    loadFailed = Signal(str)
    loadAllChanged = Signal(bool)  # True: loading every page; False: stopped (done, failed or cancelled)

    def __init__(
        self,
        runner: TaskRunner,
        page_source: PageSource | None = None,
        scan_source: ScanSource | None = None,
        thumbnail_source: ThumbnailSource | None = None,
        *,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        thumbnail_size: QSize = DEFAULT_THUMBNAIL_SIZE,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._page_source = page_source
        self._scan_source = scan_source
        self._group = f"scan-list-{id(self):x}"
        self._thumbnails = ThumbnailCache(runner, thumbnail_source, thumbnail_size, parent=self)
        self._thumbnails.thumbnailReady.connect(self._on_thumbnail_ready)

        self._scans: list[Scan] = []
        self._rows: dict[str, int] = {}
        self._cursor: str | None = None
        self._seen_cursors: set[str] = set()
        self._exhausted = False
        self._error: str | None = None
        self._page_task: Task | None = None
        self._generation = 0
        self._poll_task: Task | None = None
        self._poll_failing = False
        self._verdict_source: VerdictSource | None = None
        self._loading_all = False

        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(poll_interval_ms)
        self._poll_timer.timeout.connect(self._poll)

    # -- Qt model API -----------------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._scans)

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        for role in ScanRoles:
            names[int(role)] = QByteArray(role.name[0].lower() + role.name[1:-4])
        return names

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._scans):
            return None
        scan = self._scans[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{format_time(scan.created_at)}  {scan.user_token or ''}  {status_text(scan.status)}"
        if role == ScanRoles.ScanRole:
            return scan
        if role == ScanRoles.ScanIdRole:
            return scan.id
        if role == ScanRoles.StatusRole:
            return scan.status
        if role == ScanRoles.StatusTextRole:
            return status_text(scan.status, scan.raw_status)
        if role == ScanRoles.StageStatesRole:
            return tuple(stage.state for stage in scan.assets.stages)
        if role == ScanRoles.StageInfosRole:
            return scan.assets.stages
        if role == ScanRoles.ThumbnailRole:
            return self._thumbnails.image(scan.id)
        if role == ScanRoles.UserTokenRole:
            return scan.user_token
        if role == ScanRoles.CreatedAtRole:
            return scan.created_at
        if role == ScanRoles.CreatedAtTextRole:
            return format_time(scan.created_at)
        if role == ScanRoles.DeviceRole:
            return device_name(scan.device_config_name)
        if role == ScanRoles.VerdictRole:
            return self._verdict_source(scan.id) if self._verdict_source is not None else None
        if role == ScanRoles.FilterTextRole:
            return " ".join((scan.id, scan.user_token or "", device_name(scan.device_config_name),
                             status_text(scan.status, scan.raw_status)))
        return None

    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:
        return (not parent.isValid() and self._page_source is not None
                and not self._exhausted and self._error is None)

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:
        if not self.canFetchMore(parent) or self._page_task is not None:
            return
        generation = self._generation
        task = self._runner.submit(
            _call_page_source, self._page_source, self._cursor, group=f"{self._group}:page",
            on_done=lambda page: self._on_page(generation, page),
            on_error=lambda error: self._on_page_error(generation, error),
        )
        if task.cancelled:  # runner already shut down
            return
        self._page_task = task
        self.loadingChanged.emit(True)

    # -- public API -------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._page_task is not None

    @property
    def error(self) -> str | None:
        """The last page error, until ``retry()`` or ``reset()``."""
        return self._error

    @property
    def exhausted(self) -> bool:
        """True when the source said there are no more pages."""
        return self._exhausted

    @property
    def thumbnails(self) -> ThumbnailCache:
        return self._thumbnails

    @property
    def poll_interval_ms(self) -> int:
        return self._poll_timer.interval()

    @poll_interval_ms.setter
    def poll_interval_ms(self, value: int) -> None:
        self._poll_timer.setInterval(value)

    @property
    def polling(self) -> bool:
        return self._poll_timer.isActive()

    def scan(self, row: int) -> Scan:
        return self._scans[row]

    def scans(self) -> tuple[Scan, ...]:
        return tuple(self._scans)

    def row_of(self, scan_id: str) -> int | None:
        return self._rows.get(scan_id)

    def index_of(self, scan_id: str) -> QModelIndex:
        row = self._rows.get(scan_id)
        return self.index(row, 0) if row is not None else QModelIndex()

    @property
    def page_source(self) -> PageSource | None:
        return self._page_source

    @property
    def loading_all(self) -> bool:
        return self._loading_all

    def load_all(self) -> None:
        """Load every remaining page in the background, one after the other."""
        if self._loading_all or not self.canFetchMore():
            return
        self._set_loading_all(True)
        self.fetchMore()

    def cancel_load_all(self) -> None:
        """Stop after the page in flight (which is still added when it arrives)."""
        self._set_loading_all(False)

    def set_verdict_source(self, source: VerdictSource | None) -> None:
        self._verdict_source = source
        self.verdicts_changed()

    def verdicts_changed(self, scan_ids: Sequence[str] | None = None) -> None:
        """Repaint the verdict of ``scan_ids`` (all rows when None)."""
        roles = [int(ScanRoles.VerdictRole)]
        if scan_ids is None:
            if self._scans:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._scans) - 1, 0), roles)
            return
        for scan_id in scan_ids:
            row = self._rows.get(scan_id)
            if row is not None:
                index = self.index(row, 0)
                self.dataChanged.emit(index, index, roles)

    def reset(self, page_source: PageSource | None) -> None:
        """Forget every scan and start loading from ``page_source``; older results are dropped."""
        self._generation += 1
        self._set_loading_all(False)
        self._runner.cancel_group(f"{self._group}:page")
        self._runner.cancel_group(f"{self._group}:poll")
        was_loading = self._page_task is not None
        self._page_task = None
        self._poll_task = None
        self._poll_failing = False
        self._poll_timer.stop()
        self.beginResetModel()
        self._page_source = page_source
        self._scans = []
        self._rows = {}
        self._cursor = None
        self._seen_cursors = set()
        self._exhausted = False
        self._error = None
        self.endResetModel()
        if was_loading:
            self.loadingChanged.emit(False)
        self.fetchMore()

    def set_sources(self, page_source: PageSource | None, scan_source: ScanSource | None,
                    thumbnail_source: ThumbnailSource | None) -> None:
        """Point the model at another server or user: new sources, everything reloaded."""
        self._scan_source = scan_source
        self._thumbnails.set_source(thumbnail_source)
        self.reset(page_source)

    @property
    def has_loaded(self) -> bool:
        """At least one page answered (possibly empty)."""
        return bool(self._scans) or self._exhausted

    def refresh(self) -> None:
        """Reload from the first page of the current source."""
        self.reset(self._page_source)

    def retry(self) -> None:
        """After ``loadFailed``: ask again for the page that failed."""
        self._error = None
        self.fetchMore()

    def stop(self) -> None:
        """Stop polling and drop running requests; call before the task runner shuts down."""
        self._generation += 1
        self._set_loading_all(False)
        self._poll_timer.stop()
        self._runner.cancel_group(f"{self._group}:page")
        self._runner.cancel_group(f"{self._group}:poll")
        self._thumbnails.clear()
        if self._page_task is not None:
            self._page_task = None
            self.loadingChanged.emit(False)
        self._poll_task = None

    # -- pages ------------------------------------------------------------------------------------

    def _on_page(self, generation: int, page: ScanPage) -> None:
        if generation != self._generation:
            return
        self._page_task = None
        fresh: list[Scan] = []
        for scan in page.results:
            if scan.id in self._rows:
                self._replace(scan)
            elif all(scan.id != other.id for other in fresh):
                fresh.append(scan)
        if page.cursor is None or not page.results:
            self._exhausted = True
        elif page.cursor in self._seen_cursors:
            log.warning("the scan list returned cursor %r twice; stopping there", page.cursor)
            self._exhausted = True
        else:
            self._seen_cursors.add(page.cursor)
            self._cursor = page.cursor
        if fresh:
            first = len(self._scans)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for offset, scan in enumerate(fresh):
                self._scans.append(scan)
                self._rows[scan.id] = first + offset
            self.endInsertRows()
        self._update_polling()
        self.loadingChanged.emit(False)
        self.pageLoaded.emit(len(fresh))
        if self._loading_all and generation == self._generation:
            if self.canFetchMore():
                self.fetchMore()
            else:
                self._set_loading_all(False)

    def _on_page_error(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._page_task = None
        self._error = error_message(error, "Could not load the list of scans")
        self._set_loading_all(False)
        log.warning("scan list page failed: %s", self._error, exc_info=not isinstance(error, ScanViewerError))
        self.loadingChanged.emit(False)
        self.loadFailed.emit(self._error)

    def _set_loading_all(self, value: bool) -> None:
        if value != self._loading_all:
            self._loading_all = value
            self.loadAllChanged.emit(value)

    # -- live updates -----------------------------------------------------------------------------

    def _pending_ids(self) -> list[str]:
        return [scan.id for scan in self._scans if not scan.status.is_final]

    def _update_polling(self) -> None:
        if self._scan_source is not None and self._pending_ids():
            if not self._poll_timer.isActive():
                self._poll_timer.start()
        else:
            self._poll_timer.stop()

    def _poll(self) -> None:
        pending = self._pending_ids()
        if not pending or self._scan_source is None:
            self._poll_timer.stop()
            return
        if self._poll_task is not None:  # the previous round is still running: skip this tick
            return
        generation = self._generation
        task = self._runner.submit(
            _call_scan_source, self._scan_source, pending, group=f"{self._group}:poll",
            on_done=lambda outcome: self._on_poll(generation, outcome),
            on_error=lambda error: self._on_poll(generation, ([], [error])),
        )
        if not task.cancelled:
            self._poll_task = task

    def _on_poll(self, generation: int, outcome: tuple[list[Scan], list[BaseException]]) -> None:
        if generation != self._generation:
            return
        self._poll_task = None
        scans, errors = outcome
        for scan in scans:
            self._replace(scan)
        if errors:
            message = error_message(errors[0], "Could not refresh a scan's status")
            log.warning("re-polling %d scan(s) failed: %s", len(errors), message)
            if not scans and not self._poll_failing:
                self._poll_failing = True
                self.loadFailed.emit(message)
        if scans:
            self._poll_failing = False
        self._update_polling()

    def _replace(self, scan: Scan) -> None:
        row = self._rows.get(scan.id)
        if row is None:
            return
        old = self._scans[row]
        if old == scan:
            return
        self._scans[row] = scan
        self._thumbnails.forget_missing(scan.id)
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)

    def _on_thumbnail_ready(self, scan_id: str) -> None:
        row = self._rows.get(scan_id)
        if row is not None:
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [int(ScanRoles.ThumbnailRole)])


def _call_page_source(task: Task, source: PageSource, cursor: str | None) -> ScanPage:
    return source(cursor)


def _call_scan_source(task: Task, source: ScanSource, scan_ids: list[str]) -> tuple[list[Scan], list[BaseException]]:
    """Re-read each scan in turn; one failure does not stop the others."""
    scans: list[Scan] = []
    errors: list[BaseException] = []
    for scan_id in scan_ids:
        if task.cancelled:
            break
        try:
            scans.append(source(scan_id))
        except Exception as exc:  # noqa: BLE001 - reported to the GUI as a value
            errors.append(exc)
    return scans, errors
