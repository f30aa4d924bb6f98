"""The QA workflow in the scan list: filters with counts, "load all", open by id, several users,
and triage (J/K to move, A/R/F to give a verdict with an optional note).

``install(window)`` adds everything to a ``MainWindow`` through its public API: a QA section above
the list (scan-id field, "Users…", "Load all", the filter bar), a note field below it, a QA menu,
File > Export verdicts…, and the keys.

Rules:
- Single-letter keys are window shortcuts; a focused text field takes its typed letters first
  (Qt's shortcut override), and the slots check again, so typing never triggers them.
- A verdict is confirmed by Enter in the note field; the status line says "saved" only after the
  SQLite commit returned (see ``viewer.services.verdicts``).
- After the current scan changes, the next scan in the filtered list is downloaded and cached in a
  single low-priority worker of its own ("latest wins"), so moving on with J shows it at once.
- Slow work (requests, exports) runs in ``window.runner``; the list's "load all" uses the model's
  own paging; the prefetch worker is stopped before the window closes its session.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from viewer.core.errors import BadRequestError, NotFoundError
from viewer.core.formatting import why_not_viewable
from viewer.core.models import Scan
from viewer.qt.badges import MUTED_TEXT, RED
from viewer.qt.qa_filter_bar import QaFilterBar
from viewer.qt.tasks import Task, TaskRunner
from viewer.services.merged_pages import MergedPageSource, parse_user_tokens
from viewer.services.scan_filters import ScanFilter, count_scans
from viewer.services.scan_opening import Cancelled
from viewer.services.verdicts import (
    Verdict,
    VerdictRecord,
    VerdictStore,
    export_verdicts,
)

log = logging.getLogger(__name__)

USERS_PAGE_SIZE = 25
PREFETCH_DELAY_MS = 300
CLOCK_REFRESH_MS = 60_000
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_VERDICT_KEYS = {Verdict.ACCEPT: "A", Verdict.REJECT: "R", Verdict.FLAG: "F"}

#: (keys, what they do): for the window's keyboard help.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("J / K", "Next / previous scan in the filtered list"),
    ("A / R / F", "Accept / reject / flag the scan (Enter saves, Esc cancels)"),
    ("Ctrl+Shift+O", "Open a scan by id"),
)


def scan_id_from_text(text: str) -> str:
    """The scan id in pasted text: the first UUID in it (a ticket line, a URL), else the text itself."""
    match = _UUID.search(text)
    return match.group(0) if match else text.strip()


def _typing_in_text_field() -> bool:
    widget = QApplication.focusWidget()
    if isinstance(widget, (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)):
        return not (isinstance(widget, QLineEdit) and widget.isReadOnly())
    return isinstance(widget, QComboBox) and widget.isEditable()


def _lower_thread_priority() -> None:
    """Make the calling worker thread yield to the GUI and to the scan being opened."""
    QThread.currentThread().setPriority(QThread.Priority.LowestPriority)  # Windows, macOS
    if sys.platform.startswith("linux"):  # Qt's priorities do nothing there: raise the thread's nice value
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError as exc:
            log.debug("could not lower the prefetch thread's priority: %s", exc)


def _prefetch(task: Task, opener: Any, scan_id: str) -> str:
    _lower_thread_priority()
    opener.open(scan_id, is_cancelled=lambda: task.cancelled)
    return scan_id


class _NoteBar(QFrame):
    """The small note field shown after A / R / F: Enter confirms, Esc cancels."""

    confirmed = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.prompt = QLabel(self)
        self.prompt.setWordWrap(True)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Note (optional)")
        self.edit.setClearButtonEnabled(True)
        self.edit.returnPressed.connect(self.confirmed)
        self.edit.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addWidget(self.prompt)
        layout.addWidget(self.edit)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() == Qt.Key.Key_Escape):
            self.cancelled.emit()
            return True
        return super().eventFilter(watched, event)


class _UsersDialog(QDialog):
    """Paste user tokens or import them from a text/CSV file (one per line, or the first column)."""

    def __init__(self, tokens: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Scans of several users")
        self.edit = QPlainTextEdit(self)
        self.edit.setPlaceholderText("One user token per line")
        self.edit.setPlainText("\n".join(tokens))
        explain = QLabel("The API cannot list users: paste their tokens, or import a text or CSV file "
                         "(one token per line, or the first column).", self)
        explain.setWordWrap(True)
        import_button = QPushButton("Import file…", self)
        import_button.clicked.connect(self._import)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.addButton(import_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.edit, 1)
        layout.addWidget(buttons)
        self.resize(420, 320)

    def tokens(self) -> list[str]:
        return parse_user_tokens(self.edit.toPlainText())

    def _import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import user tokens", "",
                                              "Text or CSV (*.txt *.csv);;All files (*)")
        if not name:
            return
        try:
            text = Path(name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.edit.setPlainText(f"# could not read {name}: {exc}")
            return
        self.edit.setPlainText("\n".join(parse_user_tokens(text)))


class QaPanel(QObject):
    """The QA tools of one window (see the module docstring); built by ``install``."""

    verdictSaved = Signal(object)  # VerdictRecord, after it is on disk
    scanOpenedById = Signal(object)  # Scan

    def __init__(self, window: Any, *, store: VerdictStore | None = None,
                 preferences_path: Path | None = None, prefetch_delay_ms: int = PREFETCH_DELAY_MS) -> None:
        super().__init__(window)
        self._window = window
        self._panel = window.scan_list
        self._model = self._panel.model
        self._pending_verdict: tuple[Scan, Verdict] | None = None
        self._opened_by_id: Scan | None = None
        self._unknown_reported = False
        self._closed = False

        self.bar = QaFilterBar(preferences_path)
        self._store_error: str | None = None
        if store is None:
            try:
                store = VerdictStore(reviewer=self.bar.preferences.reviewer)
            except (sqlite3.Error, OSError) as exc:
                log.error("the verdict store cannot be opened: %s", exc)
                self._store_error = str(exc)
        self.store = store
        self._verdicts: dict[str, Verdict] = store.verdicts_by_scan() if store is not None else {}
        self._model.set_verdict_source(self._verdict_letter)

        self._build_widgets()
        self._build_actions()
        self._panel.set_scan_filter(self.bar.scan_filter, self.bar.stuck_after)

        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(0)
        self._counts_timer.timeout.connect(self._update_counts)
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(CLOCK_REFRESH_MS)
        self._clock_timer.timeout.connect(self._on_clock)
        self._clock_timer.start()
        self._prefetcher = TaskRunner(self, max_threads=1)
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.setInterval(prefetch_delay_ms)
        self._prefetch_timer.timeout.connect(self.prefetch_next)

        self.bar.filterChanged.connect(self._on_filter_edited)
        self.bar.stuckAfterChanged.connect(self._on_stuck_after)
        self._panel.scanFilterChanged.connect(self._on_panel_filter)
        self._panel.userTokensChosen.connect(self.show_users)
        self._panel.scanActivated.connect(lambda _scan: self._prefetch_timer.start())
        self._model.rowsInserted.connect(self._schedule_counts)
        self._model.modelReset.connect(self._on_model_reset)
        self._model.dataChanged.connect(self._schedule_counts)
        self._model.pageLoaded.connect(self._on_page_loaded)
        self._model.loadAllChanged.connect(self._on_load_all_changed)
        window.installEventFilter(self)
        self._update_counts()

    # -- widgets ----------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        self.id_field = QLineEdit()
        self.id_field.setPlaceholderText("Open scan id (Ctrl+Shift+O)")
        self.id_field.setClearButtonEnabled(True)
        self.id_field.setToolTip("Paste a scan id (or a ticket line containing one) and press Enter")
        self.id_field.returnPressed.connect(lambda: self.open_scan_id(self.id_field.text()))
        self.users_button = QPushButton("Users…")
        self.users_button.setToolTip("List the scans of several users at once")
        self.users_button.clicked.connect(self.ask_for_users)
        self.load_all_button = QPushButton("Load all")
        self.load_all_button.setToolTip("Load every page of the list (for counts over all scans)")
        self.load_all_button.clicked.connect(self.toggle_load_all)
        self._progress = QProgressBar()
        self._progress.setRange(0, 0)
        self._progress.setMaximumHeight(6)
        self._progress.setTextVisible(False)
        self._progress.hide()
        self._message = QLabel()
        self._message.setWordWrap(True)
        self._message.hide()

        tools = QHBoxLayout()
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.id_field, 1)
        tools.addWidget(self.users_button)
        tools.addWidget(self.load_all_button)
        section = QWidget()
        layout = QVBoxLayout(section)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(tools)
        layout.addWidget(self._progress)
        layout.addWidget(self._message)
        layout.addWidget(self.bar)
        self.section = section
        self._panel.add_widget(section, above_list=True)

        self._note_bar = _NoteBar()
        self._note_bar.confirmed.connect(self.confirm_verdict)
        self._note_bar.cancelled.connect(self.cancel_verdict)
        self._panel.add_widget(self._note_bar, above_list=False)

    @property
    def note_edit(self) -> QLineEdit:
        return self._note_bar.edit

    @property
    def note_visible(self) -> bool:
        return self._note_bar.isVisible()

    @property
    def message_text(self) -> str:
        return self._message.text()

    def _say(self, text: str, *, error: bool = False, status_ms: int = 0) -> None:
        self._message.setText(text)
        self._message.setStyleSheet(f"color: {(RED.darker(110) if error else MUTED_TEXT).name()};")
        self._message.setVisible(bool(text))
        if text and status_ms:
            self._window.statusBar().showMessage(text, status_ms)

    # -- actions and menus ------------------------------------------------------------------------

    def _build_actions(self) -> None:
        window = self._window
        menu = QMenu("&QA", window)
        self.actions: dict[str, QAction] = {}

        def add(name: str, text: str, slot: Callable[[], None], key: str | None = None) -> QAction:
            action = QAction(text, window)
            if key:
                action.setShortcut(QKeySequence(key))
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False: slot())
            menu.addAction(action)
            window.addAction(action)
            self.actions[name] = action
            return action

        add("next", "&Next scan", lambda: self._unless_typing(lambda: self.move(1)), "J")
        add("previous", "&Previous scan", lambda: self._unless_typing(lambda: self.move(-1)), "K")
        menu.addSeparator()
        for verdict, key in _VERDICT_KEYS.items():
            add(verdict.value, f"{verdict.label}…",
                lambda v=verdict: self._unless_typing(lambda: self.begin_verdict(v)), key)
        add("clear-verdict", "&Clear verdict", self.clear_verdict)
        add("reviewer", "Reviewer &name…", self.ask_for_reviewer)
        menu.addSeparator()
        add("open-id", "&Open scan by id…", self.focus_id_field, "Ctrl+Shift+O")
        add("users", "Scans of several &users…", self.ask_for_users)
        add("load-all", "&Load all pages", self.toggle_load_all)
        menu.addSeparator()
        add("export", "&Export verdicts…", self.ask_and_export)

        bar = window.menuBar()
        help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        if help_action is not None:
            bar.insertMenu(help_action, menu)
        else:
            bar.addMenu(menu)
        self.qa_menu = menu
        self._add_to_file_menu(self.actions["export"])

    def _add_to_file_menu(self, export: QAction) -> None:
        """File > Export verdicts…, before the separator that precedes Quit."""
        bar = self._window.menuBar()
        file_menu = next((a.menu() for a in bar.actions() if a.text().replace("&", "") == "File"), None)
        if file_menu is None:
            return
        actions = file_menu.actions()
        quit_at = next((i for i, a in enumerate(actions) if a.text().replace("&", "") == "Quit"), len(actions))
        if quit_at > 0 and actions[quit_at - 1].isSeparator():
            file_menu.insertAction(actions[quit_at - 1], export)
        elif quit_at < len(actions):
            file_menu.insertAction(actions[quit_at], export)
        else:
            file_menu.addAction(export)

    @staticmethod
    def _unless_typing(slot: Callable[[], None]) -> None:
        if not _typing_in_text_field():
            slot()

    # -- filters and counts -----------------------------------------------------------------------

    def _on_filter_edited(self, scan_filter: ScanFilter) -> None:
        self._panel.set_scan_filter(scan_filter, self.bar.stuck_after)
        self._update_counts()

    def _on_stuck_after(self, stuck_after: timedelta) -> None:
        self._panel.set_scan_filter(self._panel.scan_filter, stuck_after)
        self._update_counts()

    def _on_panel_filter(self, scan_filter: ScanFilter) -> None:
        self.bar.set_filter(scan_filter)
        self._schedule_counts()

    def _on_clock(self) -> None:
        if self._panel.scan_filter.stuck:
            self._panel.refresh_filter_time()
        self._schedule_counts()

    def _schedule_counts(self, *_args: Any) -> None:
        self._counts_timer.start()

    def _update_counts(self) -> None:
        proxy = self._panel.proxy
        self.bar.set_counts(count_scans(self._model.scans(), proxy.scan_filter, proxy.now, proxy.stuck_after))

    def _on_model_reset(self) -> None:
        self._unknown_reported = False
        self._schedule_counts()

    # -- load all ---------------------------------------------------------------------------------

    def toggle_load_all(self) -> None:
        """Start loading every page, or cancel a load in progress."""
        if self._model.loading_all:
            self._model.cancel_load_all()
            self._say(f"Stopped loading: {self._model.rowCount()} scans loaded.", status_ms=5000)
        elif self._model.canFetchMore():
            self._model.load_all()
        else:
            self._say(self._model.error or f"All {self._model.rowCount()} scans are loaded.",
                      error=bool(self._model.error), status_ms=5000)

    def _on_load_all_changed(self, loading: bool) -> None:
        self.load_all_button.setText("Cancel" if loading else "Load all")
        self.load_all_button.setToolTip("Stop loading pages" if loading
                                        else "Load every page of the list (for counts over all scans)")
        self._progress.setVisible(loading)
        if loading:
            self._say(f"Loading every page… {self._model.rowCount()} scans so far.")
        elif self._model.exhausted:
            self._say(f"All {self._model.rowCount()} scans are loaded.", status_ms=5000)

    def _on_page_loaded(self, _count: int) -> None:
        if self._model.loading_all:
            self._say(f"Loading every page… {self._model.rowCount()} scans so far.")
        source = self._model.page_source
        if isinstance(source, MergedPageSource) and source.unknown_tokens and not self._unknown_reported:
            self._unknown_reported = True
            self._say("The server knows no user " + ", ".join(f"“{t}”" for t in source.unknown_tokens) + ".",
                      error=True, status_ms=10000)

    # -- several users ----------------------------------------------------------------------------

    def ask_for_users(self) -> None:
        dialog = _UsersDialog(self._panel.user_tokens, self._window)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.show_users(dialog.tokens())

    def show_users(self, tokens: Any) -> None:
        """List the scans of every token in ``tokens``, merged newest first."""
        tokens = list(dict.fromkeys(t.strip() for t in tokens if t and t.strip()))
        session = self._window.session
        if not tokens:
            return
        if session is None:
            self._say("Not connected yet: try again in a moment.", error=True)
            return
        client = session.client
        source = MergedPageSource.for_tokens(
            tokens, lambda token, cursor: client.list_scans_page(token, cursor=cursor, limit=USERS_PAGE_SIZE),
            page_size=USERS_PAGE_SIZE)
        self._panel.set_user_tokens(tokens)
        self._say(f"Scans of {len(tokens)} users." if len(tokens) > 1 else "")
        self._model.set_sources(source, client.get_scan, session.opener.fetch_preview)

    # -- open by id -------------------------------------------------------------------------------

    def focus_id_field(self) -> None:
        """Ctrl+Shift+O: focus the id field, pasting an id from the clipboard when it is empty."""
        if not self.id_field.text().strip():
            clipboard = QGuiApplication.clipboard().text()
            if _UUID.search(clipboard or ""):
                self.id_field.setText(scan_id_from_text(clipboard))
        self.id_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.id_field.selectAll()

    def open_scan_id(self, text: str) -> None:
        scan_id = scan_id_from_text(text)
        session = self._window.session
        if not scan_id:
            self._say("Paste a scan id first.", error=True)
            return
        if session is None:
            self._say("Not connected yet: try again in a moment.", error=True)
            return
        self._say(f"Opening scan {scan_id}…")
        self._window.runner.submit(lambda _task: session.client.get_scan(scan_id), group="qa-open-id",
                                   on_done=self._on_scan_fetched,
                                   on_error=lambda error: self._on_scan_fetch_failed(scan_id, error))

    def _on_scan_fetched(self, scan: Scan) -> None:
        self._opened_by_id = scan
        if self._model.index_of(scan.id).isValid():
            self._say("")
            self._panel.select_scan(scan.id)
            if self._window.details_scan_id != scan.id:
                self._window.open_scan(scan)
        else:
            self._panel.clear_current()
            self._window.open_scan(scan)
            self._say(f"Scan {scan.id} ({scan.user_token or 'no user token'}) is not in the loaded list.")
        self.scanOpenedById.emit(scan)

    def _on_scan_fetch_failed(self, scan_id: str, error: BaseException) -> None:
        if isinstance(error, (NotFoundError, BadRequestError)):
            text = f"No scan with id “{scan_id}” on {self._window.target.label}."
        else:
            text = f"Could not open scan “{scan_id}”: {error}"
        self._say(text, error=True, status_ms=10000)

    # -- triage -----------------------------------------------------------------------------------

    def move(self, step: int) -> bool:
        """J / K: the next / previous scan in the filtered list (the window opens it)."""
        if self._pending_verdict is not None:
            self.cancel_verdict()
        return self._panel.move_current(step)

    def prefetch_next(self) -> None:
        """Download and cache the scan after the current one (latest wins)."""
        session = self._window.session
        upcoming = self._panel.neighbour_scan(1)
        if self._closed or session is None or upcoming is None or why_not_viewable(upcoming) is not None:
            return
        if session.cache.is_complete(upcoming.id):
            return
        self._prefetcher.submit(_prefetch, session.opener, upcoming.id, group="prefetch",
                                on_done=lambda scan_id: log.info("prefetched scan %s", scan_id),
                                on_error=self._on_prefetch_failed)

    @staticmethod
    def _on_prefetch_failed(error: BaseException) -> None:
        if not isinstance(error, Cancelled):
            log.info("prefetching the next scan failed: %s", error)

    def _triage_scan(self) -> Scan | None:
        scan = self._panel.current_scan()
        if scan is None and self._opened_by_id is not None and \
                self._window.details_scan_id == self._opened_by_id.id:
            scan = self._opened_by_id
        return scan

    def begin_verdict(self, verdict: Verdict) -> bool:
        """A / R / F: ask for an optional note; the verdict is saved by ``confirm_verdict`` (Enter)."""
        if self.store is None:
            self._say(f"Verdicts cannot be saved: {self._store_error}", error=True)
            return False
        scan = self._triage_scan()
        if scan is None:
            self._say("Select a scan first.", error=True)
            return False
        self._pending_verdict = (scan, verdict)
        earlier = self.store.get(scan.id)
        self._note_bar.prompt.setText(
            f"<b>{verdict.label}</b> scan {scan.id[:8]} ({scan.user_token or 'no user token'}): "
            "Enter saves, Esc cancels")
        self._note_bar.edit.setText(earlier.note if earlier is not None else "")
        self._note_bar.show()
        self._note_bar.edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self._note_bar.edit.selectAll()
        return True

    def confirm_verdict(self) -> VerdictRecord | None:
        """Save the pending verdict with the note typed so far; None when nothing was saved."""
        if self._pending_verdict is None or self.store is None:
            return None
        scan, verdict = self._pending_verdict
        row = self._model.row_of(scan.id)
        latest = self._model.scan(row) if row is not None else scan
        try:
            record = self.store.set(latest, verdict, self._note_bar.edit.text())
        except sqlite3.Error as exc:
            log.error("saving a verdict failed: %s", exc)
            self._say(f"The verdict was NOT saved: {exc}", error=True, status_ms=10000)
            return None
        self._pending_verdict = None
        self._verdicts[scan.id] = verdict
        self._model.verdicts_changed([scan.id])
        self._note_bar.hide()
        self._panel.view.setFocus(Qt.FocusReason.OtherFocusReason)
        note = f" ({record.note})" if record.note else ""
        self._say(f"Saved: {verdict.label} for scan {scan.id[:8]}{note}.", status_ms=5000)
        self.verdictSaved.emit(record)
        return record

    def cancel_verdict(self) -> None:
        if self._pending_verdict is None:
            return
        self._pending_verdict = None
        self._note_bar.hide()
        self._panel.view.setFocus(Qt.FocusReason.OtherFocusReason)
        self._say("No verdict given.")

    def clear_verdict(self) -> None:
        scan = self._triage_scan()
        if scan is None or self.store is None:
            return
        try:
            removed = self.store.remove(scan.id)
        except sqlite3.Error as exc:
            self._say(f"The verdict was not removed: {exc}", error=True)
            return
        self._verdicts.pop(scan.id, None)
        self._model.verdicts_changed([scan.id])
        self._say(f"Verdict of scan {scan.id[:8]} removed." if removed else "That scan has no verdict.")

    def _verdict_letter(self, scan_id: str) -> str | None:
        verdict = self._verdicts.get(scan_id)
        return verdict.letter if verdict is not None else None

    def ask_for_reviewer(self) -> None:
        if self.store is None:
            return
        name, ok = QInputDialog.getText(self._window, "Reviewer", "Name recorded with your verdicts:",
                                        text=self.store.reviewer)
        if ok and name.strip():
            self.store.reviewer = name.strip()
            self.bar.set_reviewer(self.store.reviewer)

    # -- export -----------------------------------------------------------------------------------

    def ask_and_export(self) -> None:
        if self.store is None:
            self._say(f"No verdicts: {self._store_error}", error=True)
            return
        default = str(Path.home() / f"verdicts-{date.today().isoformat()}.csv")
        name, chosen = QFileDialog.getSaveFileName(self._window, "Export verdicts", default,
                                                   "CSV (*.csv);;JSON (*.json)")
        if not name:
            return
        path = Path(name)
        if path.suffix.lower() not in (".csv", ".json"):
            path = path.with_name(path.name + (".json" if "json" in chosen.lower() else ".csv"))
        self.export_to(path)

    def export_to(self, path: Path) -> None:
        """Write every verdict to ``path`` (CSV, or JSON for ``.json``) in the background."""
        if self.store is None:
            return
        records = self.store.all()
        self._window.runner.submit(
            lambda _task: export_verdicts(records, path), group="qa-export",
            on_done=lambda _r: self._say(f"Exported {len(records)} verdicts to {path}.", status_ms=8000),
            on_error=lambda error: self._say(f"The export failed: {error}", error=True, status_ms=10000))

    # -- shutdown ---------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Close:
            self.shutdown()
        return super().eventFilter(watched, event)

    def shutdown(self) -> None:
        """Stop timers and the prefetch worker and close the verdict store (before the session closes)."""
        if self._closed:
            return
        self._closed = True
        self._clock_timer.stop()
        self._prefetch_timer.stop()
        self._counts_timer.stop()
        self._model.cancel_load_all()
        self._prefetcher.shutdown()
        if self.store is not None:
            self.store.close()


def install(window: Any) -> QaPanel:
    """Add the QA tools to ``window`` (a ``MainWindow``); call once, from its constructor."""
    return QaPanel(window)
