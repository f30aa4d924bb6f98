"""The scan list side panel: user-token box, filter, the list itself and a status line.

The panel does not build page sources: choosing a token emits ``userTokenChosen`` and F5 emits
``refreshRequested``; the main window turns them into ``model.reset(...)``/``model.refresh()``.
Recent tokens are handed in and read back (``recent_tokens``); the main window persists them.
Call ``shutdown()`` (or close the panel) before the task runner shuts down.
"""

from __future__ import annotations

from typing import Sequence

from PySide6.QtCore import (
    QItemSelectionModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
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

MAX_RECENT_TOKENS = 12
_NAVIGATION_KEYS = {Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp, Qt.Key.Key_PageDown}


class ScanListPanel(QWidget):
    scanActivated = Signal(object)  # Scan: the current row changed (keyboard or mouse)
    currentScanUpdated = Signal(object)  # Scan: the current scan's data changed (re-poll, refresh)
    userTokenChosen = Signal(str)  # "" = no token (all scans the key may see)
    refreshRequested = Signal()

    def __init__(self, model: ScanListModel, *, recent_tokens: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._pending_select: str | None = None
        self._current_id: str | None = None
        self._chosen_token: str | None = None

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

        self._proxy = QSortFilterProxyModel(self)
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
    def proxy(self) -> QSortFilterProxyModel:
        return self._proxy

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
        """The token whose scans are listed ("" = every scan the key may see)."""
        return self._chosen_token or ""

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
        self._token_box.setEditText(token)

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
        if not index.isValid():  # hidden by the filter: the user asked for this scan, show it
            self._filter.clear()
            index = self._proxy.mapFromSource(source_index)
        self._selection.setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self._view.scrollTo(index)
        return True

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
        token = text.strip()
        if token == self._chosen_token:
            return
        self._chosen_token = token
        self._current_id = self._pending_select = None  # another user's list: nothing to keep selected
        if token:
            self.recent_tokens = [token, *self.recent_tokens]
        self._token_box.setEditText(token)
        self.userTokenChosen.emit(token)

    # -- filter and keyboard ----------------------------------------------------------------------

    def _on_filter_changed(self, text: str) -> None:
        self._proxy.setFilterFixedString(text.strip())
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
        if scan is None:
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
            text, colour = f"No scans match “{self._filter.text().strip()}”.", ""
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
