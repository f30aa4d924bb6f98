"""The scan list side panel: user-token box, filter, the list itself and a status line.

The panel does not build page sources: choosing a token emits ``userTokenChosen`` (several tokens
separated by commas emit ``userTokensChosen`` instead) and F5 emits ``refreshRequested``; the
main window (or the QA panel) turns them into ``model.reset(...)``/``model.refresh()``.
Recent tokens are handed in and read back (``recent_tokens``); the main window persists them.
Call ``shutdown()`` (or close the panel) before the task runner shuts down.

Filtering: the proxy (``ScanFilterProxy``) keeps a row when it contains the filter text *and*
matches the QA ``ScanFilter`` (``set_scan_filter``). Changing either never opens another scan: the
current scan stays selected while it is shown, and nothing is selected while it is hidden.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from viewer.core.models import Scan
from viewer.qt.badges import MUTED_TEXT, RED
from viewer.qt.scan_delegate import ROW_HEIGHT, ScanDelegate
from viewer.qt.scan_list_model import ScanListModel, ScanRoles
from viewer.services.merged_pages import parse_user_tokens
from viewer.services.scan_filters import DEFAULT_STUCK_AFTER, ScanFilter

MAX_RECENT_TOKENS = 12
_NAVIGATION_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


_HAS_FILTER_CHANGE = hasattr(QSortFilterProxyModel, "endFilterChange")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ScanFilterProxy(QSortFilterProxyModel):
    """The text filter (on ``FilterTextRole``) AND a QA ``ScanFilter`` over each row's scan.

    "Stuck" depends on the time: it is judged at the moment of the last ``set_scan_filter`` /
    ``refresh_time`` (the QA panel refreshes it every minute while it filters on it).
    """

    def __init__(self, parent: QObject | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        super().__init__(parent)
        self._scan_filter = ScanFilter()
        self._stuck_after = DEFAULT_STUCK_AFTER
        self._clock = clock
        self._now = clock()

    @property
    def scan_filter(self) -> ScanFilter:
        return self._scan_filter

    @property
    def stuck_after(self) -> timedelta:
        return self._stuck_after

    @property
    def now(self) -> datetime:
        """The moment "stuck" is judged at."""
        return self._now

    def set_scan_filter(self, scan_filter: ScanFilter, stuck_after: timedelta | None = None) -> None:
        self._change_filter(scan_filter, stuck_after or self._stuck_after)

    def refresh_time(self) -> None:
        self._change_filter(self._scan_filter, self._stuck_after)

    def _change_filter(self, scan_filter: ScanFilter, stuck_after: timedelta) -> None:
        if _HAS_FILTER_CHANGE:  # Qt >= 6.10: invalidateFilter() is deprecated
            self.beginFilterChange()
        self._scan_filter, self._stuck_after, self._now = scan_filter, stuck_after, self._clock()
        if _HAS_FILTER_CHANGE:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def accepts(self, scan: Scan) -> bool:
        """Whether the QA filter keeps ``scan`` (the text filter aside)."""
        return self._scan_filter.matches(scan, self._now, self._stuck_after)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not super().filterAcceptsRow(source_row, source_parent):
            return False
        if self._scan_filter.is_empty:
            return True
        scan = self.sourceModel().index(source_row, 0, source_parent).data(ScanRoles.ScanRole)
        return scan is not None and self.accepts(scan)


class ScanListPanel(QWidget):
    scanActivated = Signal(object)  # Scan: the current row changed (keyboard or mouse)
    currentScanUpdated = Signal(object)  # Scan: the current scan's data changed (re-poll, refresh)
    userTokenChosen = Signal(str)  # "" = no token (all scans the key may see)
    userTokensChosen = Signal(tuple)  # several tokens typed in the box, separated by commas
    scanFilterChanged = Signal(object)  # ScanFilter: set_scan_filter or select_scan changed it
    refreshRequested = Signal()

    def __init__(self, model: ScanListModel, *, recent_tokens: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._pending_select: str | None = None
        self._current_id: str | None = None
        self._chosen_token: str | None = None
        self._chosen_tokens: tuple[str, ...] = ()  # several users at once (user_token is then "")
        self._refiltering = False

        self._token_box = QComboBox(self)
        self._token_box.setEditable(True)
        self._token_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._token_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self._token_box.setMinimumContentsLength(12)
        self._token_box.lineEdit().setPlaceholderText("User token (empty: all users)")
        self._token_box.setToolTip("User token whose scans are listed (Ctrl+L). Press Enter to load.")
        self._token_box.lineEdit().returnPressed.connect(self._on_token_entered)
        self._token_box.textActivated.connect(self._choose_token)
        self.recent_tokens = list(recent_tokens)

        self._refresh_action = QAction("Refresh", self)
        self._refresh_action.setShortcut(QKeySequence("F5"))
        self._refresh_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._refresh_action.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self._refresh_action.setToolTip("Reload the list of scans (F5)")
        self._refresh_action.triggered.connect(self.refreshRequested)
        self.addAction(self._refresh_action)
        refresh_button = QToolButton(self)
        refresh_button.setDefaultAction(self._refresh_action)
        refresh_button.setAutoRaise(True)

        self._filter = QLineEdit(self)
        self._filter.setClearButtonEnabled(True)
        self._filter.setPlaceholderText("Filter by id, user, device or status (Ctrl+F)")
        self._filter.installEventFilter(self)

        self._proxy = ScanFilterProxy(self)
        self._proxy.setSourceModel(model)
        self._proxy.setFilterRole(int(ScanRoles.FilterTextRole))
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._proxy.setDynamicSortFilter(True)
        self._filter.textChanged.connect(self._on_filter_changed)

        self._view = QListView(self)
        self._view.setItemDelegate(ScanDelegate(self._view, model.thumbnails.size))
        self._view.setModel(self._proxy)
        # Our own selection model, held here: asking the view for its implicit one can return a
        # stale Python wrapper of another object that reused the address (seen as a QSurface).
        self._selection = QItemSelectionModel(self._proxy, self)
        self._view.setSelectionModel(self._selection)
        self._view.setUniformItemSizes(True)
        self._view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self._view.verticalScrollBar().setSingleStep(ROW_HEIGHT // 3)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._view.setMouseTracking(True)
        self._view.setMinimumWidth(340)
        self._view.setAccessibleName("Scans")
        self._selection.currentChanged.connect(self._on_current_changed)

        self._status = QLabel(self)
        self._status.setWordWrap(True)
        self._status.setContentsMargins(4, 2, 4, 2)
        # the same words, centred in the list while it is empty
        self._placeholder = QLabel(self._view.viewport())
        self._placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._placeholder.setWordWrap(True)
        self._placeholder.setContentsMargins(16, 16, 16, 16)
        self._view.viewport().installEventFilter(self)

        for key, target in ((QKeySequence("Ctrl+L"), self._token_box), (QKeySequence("Ctrl+F"), self._filter)):
            action = QAction(self)
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, w=target: self._focus(w))
            self.addAction(action)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self._token_box, 1)
        top.addWidget(refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self._filter)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._status)

        model.loadingChanged.connect(self._update_status)
        model.loadFailed.connect(self._update_status)
        model.pageLoaded.connect(self._on_page_loaded)
        model.modelAboutToBeReset.connect(self._on_about_to_reset)
        model.modelReset.connect(self._update_status)
        model.dataChanged.connect(self._on_data_changed)
        self._proxy.rowsInserted.connect(self._update_status)
        self._proxy.rowsRemoved.connect(self._update_status)
        self._update_status()

    # -- public API -------------------------------------------------------------------------------

    @property
    def model(self) -> ScanListModel:
        return self._model

    @property
    def view(self) -> QListView:
        return self._view

    @property
    def proxy(self) -> ScanFilterProxy:
        return self._proxy

    @property
    def scan_filter(self) -> ScanFilter:
        return self._proxy.scan_filter

    def set_scan_filter(self, scan_filter: ScanFilter, stuck_after: timedelta | None = None) -> None:
        """Show only the rows ``scan_filter`` keeps (with the text filter); emits ``scanFilterChanged``."""
        changed = scan_filter != self._proxy.scan_filter
        self._refilter(lambda: self._proxy.set_scan_filter(scan_filter, stuck_after))
        if changed:
            self.scanFilterChanged.emit(scan_filter)

    def refresh_filter_time(self) -> None:
        """Judge "stuck" again at the current time."""
        self._refilter(self._proxy.refresh_time)

    def add_widget(self, widget: QWidget, *, above_list: bool) -> None:
        """Put a widget (e.g. the QA bar) just above or just below the list."""
        layout = self.layout()
        position = layout.indexOf(self._view)
        layout.insertWidget(position if above_list else position + 1, widget)

    @property
    def token_box(self) -> QComboBox:
        return self._token_box

    @property
    def filter_edit(self) -> QLineEdit:
        return self._filter

    @property
    def status_text(self) -> str:
        return self._status.text()

    @property
    def refresh_action(self) -> QAction:
        return self._refresh_action

    @property
    def scan_count(self) -> int:
        """Scans loaded so far (whether or not the filter shows them)."""
        return self._model.rowCount()

    @property
    def recent_tokens(self) -> list[str]:
        """Most recent first."""
        return [self._token_box.itemText(i) for i in range(self._token_box.count())]

    @recent_tokens.setter
    def recent_tokens(self, tokens: Sequence[str]) -> None:
        text = self._token_box.currentText()
        unique = list(dict.fromkeys(t.strip() for t in tokens if t and t.strip()))[:MAX_RECENT_TOKENS]
        self._token_box.blockSignals(True)
        self._token_box.clear()
        self._token_box.addItems(unique)
        self._token_box.setEditText(text)
        self._token_box.blockSignals(False)

    @property
    def user_token(self) -> str:
        """The token whose scans are listed ("" = every scan the key may see, or several users)."""
        return self._chosen_token or ""

    @property
    def user_tokens(self) -> tuple[str, ...]:
        """Every token whose scans are listed (empty: all scans the key may see)."""
        if self._chosen_tokens:
            return self._chosen_tokens
        return (self._chosen_token,) if self._chosen_token else ()

    def visible_thumbnails_ready(self) -> bool:
        """Every row on screen has its thumbnail loaded or known to be missing."""
        viewport = self._view.viewport().rect()
        thumbnails = self._model.thumbnails
        for row in range(self._proxy.rowCount()):
            index = self._proxy.index(row, 0)
            rect = self._view.visualRect(index)
            if rect.top() > viewport.bottom():
                break
            if rect.intersects(viewport) and not thumbnails.is_settled(index.data(ScanRoles.ScanIdRole)):
                return False
        return True

    def set_user_token(self, token: str) -> None:
        """Show ``token`` as the current one (no signal); the caller resets the model itself."""
        self._chosen_token = token
        self._chosen_tokens = ()
        self._token_box.setEditText(token)

    def set_user_tokens(self, tokens: Sequence[str]) -> None:
        """Show several tokens as the listed users (no signal); the caller resets the model itself."""
        unique = tuple(dict.fromkeys(t.strip() for t in tokens if t and t.strip()))
        if len(unique) <= 1:
            self.set_user_token(unique[0] if unique else "")
            return
        self._chosen_token = None
        self._chosen_tokens = unique
        self._current_id = self._pending_select = None
        self._token_box.setEditText(", ".join(unique))

    def move_current(self, step: int) -> bool:
        """Select the row ``step`` rows below (negative: above) the current one in the filtered list.

        With no current row, +1 selects the first row and -1 the last. At the end of the loaded
        rows the next page is requested. Returns True when the selection moved.
        """
        rows = self._proxy.rowCount()
        current = self._selection.currentIndex()
        if not current.isValid():
            target = 0 if step > 0 else rows - 1
        else:
            target = max(0, min(rows - 1, current.row() + step))
            if step > 0 and current.row() + step >= rows and self._proxy.canFetchMore(QModelIndex()):
                self._proxy.fetchMore(QModelIndex())
            if target == current.row():
                return False
        if not 0 <= target < rows:
            return False
        index = self._proxy.index(target, 0)
        self._selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._view.scrollTo(index)
        return True

    def neighbour_scan(self, step: int = 1) -> Scan | None:
        """The scan ``step`` rows from the current one in the filtered list (None past the end)."""
        current = self._selection.currentIndex()
        if not current.isValid():
            return None
        row = current.row() + step
        if not 0 <= row < self._proxy.rowCount():
            return None
        return self._proxy.index(row, 0).data(ScanRoles.ScanRole)

    def select_scan(self, scan_id: str) -> bool:
        """Make ``scan_id`` current; if it is not loaded yet, keep loading pages until it is.

        Returns True when it was selected at once.
        """
        source_index = self._model.index_of(scan_id)
        if not source_index.isValid():
            self._pending_select = scan_id
            if not self._model.loading and self._model.canFetchMore():
                self._model.fetchMore()
            return False
        self._pending_select = None
        index = self._proxy.mapFromSource(source_index)
        if not index.isValid():  # hidden by the filters: the user asked for this scan, show it
            self._filter.clear()
            index = self._proxy.mapFromSource(source_index)
        if not index.isValid():
            self.set_scan_filter(ScanFilter())
            index = self._proxy.mapFromSource(source_index)
        self._selection.setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._view.scrollTo(index)
        return True

    def clear_current(self) -> None:
        """Select nothing (the window shows a scan that is not in the list); emits nothing."""
        self._current_id = self._pending_select = None
        self._refilter(lambda: None)

    def current_scan(self) -> Scan | None:
        index = self._view.currentIndex()
        return index.data(ScanRoles.ScanRole) if index.isValid() else None

    def shutdown(self) -> None:
        """Stop polling and background loads (before the task runner shuts down)."""
        self._model.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- token ------------------------------------------------------------------------------------

    def _on_token_entered(self) -> None:
        self._choose_token(self._token_box.currentText())

    def _choose_token(self, text: str) -> None:
        tokens = parse_user_tokens(text)
        if len(tokens) > 1:
            if tuple(tokens) != self._chosen_tokens:
                self.set_user_tokens(tokens)
                self.userTokensChosen.emit(tuple(tokens))
            return
        token = tokens[0] if tokens else ""
        if token == self._chosen_token and not self._chosen_tokens:
            return
        self._chosen_token = token
        self._chosen_tokens = ()
        self._current_id = self._pending_select = None  # another user's list: nothing to keep selected
        if token:
            self.recent_tokens = [token, *self.recent_tokens]
        self._token_box.setEditText(token)
        self.userTokenChosen.emit(token)

    # -- filter and keyboard ----------------------------------------------------------------------

    def _on_filter_changed(self, text: str) -> None:
        self._refilter(lambda: self._proxy.setFilterFixedString(text.strip()))

    def _refilter(self, change: Callable[[], None]) -> None:
        """Apply a filter change without opening another scan (see the module docstring)."""
        self._refiltering = True
        try:
            change()
            source_index = self._model.index_of(self._current_id) if self._current_id else QModelIndex()
            index = self._proxy.mapFromSource(source_index) if source_index.isValid() else QModelIndex()
            if index.isValid():
                if self._selection.currentIndex() != index:
                    self._selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            elif self._selection.currentIndex().isValid():
                self._selection.clear()
        finally:
            self._refiltering = False
        self._update_status()
        QTimer.singleShot(0, self, self._fetch_if_room)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._view.viewport() and event.type() == QEvent.Type.Resize:
            self._placeholder.setGeometry(self._view.viewport().rect())
        if (watched is self._filter and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() in _NAVIGATION_KEYS):
            # Up/Down in the filter move the list's selection; typing goes on in the filter
            QApplication.sendEvent(self._view, QKeyEvent(event.type(), event.key(), event.modifiers()))
            return True
        return super().eventFilter(watched, event)

    @staticmethod
    def _focus(widget: QWidget) -> None:
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if isinstance(widget, QComboBox):
            widget.lineEdit().selectAll()
        elif isinstance(widget, QLineEdit):
            widget.selectAll()

    # -- model events -----------------------------------------------------------------------------

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        scan = current.data(ScanRoles.ScanRole) if current.isValid() else None
        if scan is None or self._refiltering:
            return
        self._pending_select = None
        if scan.id != self._current_id:
            self._current_id = scan.id
            self.scanActivated.emit(scan)
        else:
            self.currentScanUpdated.emit(scan)

    def _on_about_to_reset(self) -> None:
        # keep the selection across a refresh: select the same scan again once it is back
        if self._pending_select is None and self._current_id is not None:
            self._pending_select = self._current_id

    def _on_page_loaded(self, _count: int) -> None:
        if self._pending_select is not None:
            self.select_scan(self._pending_select)
        self._update_status()
        QTimer.singleShot(0, self, self._fetch_if_room)

    def _on_data_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Sequence[int] = ()) -> None:
        if self._current_id is None or (roles and int(ScanRoles.ScanRole) not in roles):
            return
        row = self._model.row_of(self._current_id)
        if row is not None and top_left.row() <= row <= bottom_right.row():
            current = self._view.currentIndex()
            if current.isValid() and current.data(ScanRoles.ScanIdRole) == self._current_id:
                self.currentScanUpdated.emit(self._model.scan(row))

    def _fetch_if_room(self) -> None:
        """Load the next page while the view's last row is visible (Qt only asks on scroll/insert)."""
        if self._model.loading or not self._proxy.canFetchMore(QModelIndex()):
            return
        rows = self._proxy.rowCount()
        if rows == 0 or self._view.viewport().rect().intersects(
                self._view.visualRect(self._proxy.index(rows - 1, 0))):
            self._proxy.fetchMore(QModelIndex())

    def _update_status(self, *_args: object) -> None:
        model = self._model
        shown, loaded = self._proxy.rowCount(), model.rowCount()
        error = model.error
        if error:
            text, colour = f"Could not load scans: {error}", RED.darker(110).name()
        elif model.loading:
            text, colour = ("Loading scans…" if loaded == 0 else f"{loaded} scans, loading more…"), ""
        elif loaded == 0:
            text, colour = ("No scans for this user." if self._chosen_token else "No scans."), ""
        elif shown == 0:
            text = self._filter.text().strip()
            if not self._proxy.scan_filter.is_empty:
                text, colour = ("No loaded scans match the QA filters" + (f" and “{text}”." if text else ".")), ""
            else:
                text, colour = f"No scans match “{text}”.", ""
        else:
            more = "" if model.exhausted else "+"
            total = f"{loaded}{more} scan{'s' if loaded != 1 else ''}"
            text, colour = (total if shown == loaded else f"{shown} of {total} shown"), ""
        style = f"color: {colour or MUTED_TEXT.name()};"
        self._status.setText(text)
        self._status.setStyleSheet(style)
        self._placeholder.setText(text)
        self._placeholder.setStyleSheet(style)
        self._placeholder.setVisible(shown == 0)
        self._status.setVisible(shown > 0)
