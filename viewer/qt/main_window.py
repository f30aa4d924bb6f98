"""The main window: scan list on the left, the body in the centre, details on the right.

Threading: every request, download, mesh load and mesh-to-VTK conversion runs in the window's
``TaskRunner``; callbacks run on the GUI thread and only then touch widgets or the plotter.
Opening a scan is one task group ("open"): a newer selection cancels the older one, whose result
is dropped, so the latest selection always wins.

Start-up order (the window must appear at once): the window shows; then the connection is made
in a worker (starting the demo server may generate the demo set); then the 3D view is created
(importing VTK takes about a second) and warmed up, so the first click does not pay for it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QSplitter,
)

from viewer import __version__
from viewer.core.errors import (
    AuthenticationError,
    ForbiddenError,
    MeshLoadError,
    NotFoundError,
    PrismApiError,
    ScanViewerError,
)
from viewer.core.formatting import failure_summary, why_not_viewable
from viewer.core.models import Scan, StageState, UnitSystem
from viewer.core.secrets import KeyStore
from viewer.core.server_choice import ServerTarget
from viewer.core.settings import Settings, save_settings
from viewer.qt.details_pane import DetailsPane
from viewer.qt.scan_list_model import ScanListModel
from viewer.qt.scan_list_panel import ScanListPanel
from viewer.qt.tasks import Task, TaskRunner
from viewer.qt.view_area import ViewArea
from viewer.services.scan_opening import Cancelled, OpenProgress
from viewer.services.session import ServerSession, connect

log = logging.getLogger(__name__)

LOCAL_FILE_FILTER = "3D models (*.obj *.ply *.glb *.gltf *.stl);;All files (*)"
LOCAL_SUFFIXES = {".obj", ".ply", ".glb", ".gltf", ".stl"}


#: pyvista must be imported by one thread at a time: a second thread importing it meanwhile can
#: see the half-initialised module ("module 'pyvista' has no attribute 'Texture'").
_IMPORT_3D_LOCK = threading.Lock()


def _import_3d_modules(_task: Task | None = None) -> None:
    with _IMPORT_3D_LOCK:
        import viewer.qt.body_view  # noqa: F401 - pyvista, pyvistaqt and VTK, off the GUI thread
    import viewer.mesh.loader  # noqa: F401 - trimesh, so the first scan opened does not pay for it


def _prepare_body(task: Task, mesh: Any) -> Any:
    """Worker side of showing a mesh: build the VTK data so the GUI thread only adds an actor."""
    with _IMPORT_3D_LOCK:
        from viewer.mesh.polydata import body_to_polydata

    if task.cancelled:
        raise Cancelled("prepare")
    return body_to_polydata(mesh)


def _image(path: Path | None) -> QImage | None:
    if path is None:
        return None
    image = QImage(str(path))
    return None if image.isNull() else image


class MainWindow(QMainWindow):
    #: emitted once the first page is listed, its visible thumbnails loaded and the --scan shown
    settled = Signal()
    #: the view area changed what it shows: "body", "error", "loading" or "message"
    viewStateChanged = Signal(str)
    #: the 3D view exists (it is created after the window shows); argument: the BodyView
    bodyViewReady = Signal(object)
    #: a body is on screen: (Scan or None for a local file, BodyMesh)
    bodyShown = Signal(object, object)

    def __init__(self, target: ServerTarget, api_key: str | None, settings: Settings,
                 keys: KeyStore, *, user_token: str | None = None, initial_scan: str | None = None,
                 remember_geometry: bool = True) -> None:
        super().__init__()
        self.target = target
        self._api_key = api_key
        self.settings = settings
        self.keys = keys
        self.session: ServerSession | None = None
        self.runner = TaskRunner(self, max_threads=4)
        self._initial_scan = initial_scan
        self._current: Scan | None = None
        self._body_view: Any = None  # viewer.qt.body_view.BodyView, created after the window shows
        self._pending_body: tuple[Scan | None, Any, Any, str | None] | None = None
        #: the BodyMesh on screen (None when no body is shown)
        self.current_mesh: Any = None
        self._poster_for: str | None = None  # scan id whose preview image is in _poster_image
        self._poster_image: QImage | None = None
        self._remember_geometry = remember_geometry
        self.restored_geometry = False
        self._closed = False
        self.last_render_seconds: float | None = None

        self.setWindowTitle(f"Scan Viewer \u2014 {target.label}")
        self.setAcceptDrops(True)
        self.scan_list = ScanListPanel(ScanListModel(self.runner),
                                       recent_tokens=list(settings.recent_user_tokens))
        if user_token:
            self.scan_list.set_user_token(user_token)
        self.view_area = ViewArea()
        self.details = DetailsPane(unit_system=UnitSystem(settings.unit_system))
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.scan_list)
        self.splitter.addWidget(self.view_area)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([380, 640, 300])
        self.setCentralWidget(self.splitter)

        self._server_label = QLabel()
        self._server_label.setObjectName("serverBadge")
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(220)
        self._progress.hide()
        self.statusBar().addPermanentWidget(self._progress)
        self.statusBar().addPermanentWidget(self._server_label)
        self._show_server_badge()
        self._build_menus()

        self.scan_list.scanActivated.connect(self.open_scan)
        self.scan_list.userTokenChosen.connect(self._on_user_token)
        self.scan_list.refreshRequested.connect(self.refresh)
        self.scan_list.currentScanUpdated.connect(self._on_current_scan_updated)
        self.scan_list.model.loadFailed.connect(self._on_list_failed)
        self.scan_list.model.pageLoaded.connect(self._on_page_loaded)
        self.details.unitSystemChanged.connect(self._on_units_changed)
        self._settle_checks: list[Callable[[], bool]] = []
        self._settled_emitted = False
        from viewer.qt import view_controls  # views, display, orientation, image export

        self.view_controls = view_controls.install(self)
        from viewer.qt import (
            qa_panel,  # filters, open by id, several users, triage and verdicts
        )

        self.qa = qa_panel.install(self)
        from viewer.qt import (
            compare_window,  # compare two scans: linked views, heatmap, changes
        )

        self.compare = compare_window.install(self)
        from viewer.qt import integrity_view  # QA > Check assets

        self.integrity_view = integrity_view.install(self)
        from viewer.qt import (  # rings on the body, distances
            distance_tool,
            measurement_overlay,
        )

        self.measurement_overlay = measurement_overlay.install(self)
        self.distance_tool = distance_tool.install(self)
        from viewer.qt import (
            presentation,  # full screen, turntable, measurement cards, scan cycle
        )

        self.presentation = presentation.install(self)
        from viewer.qt import (
            turntable_export,  # File > Export turntable (in a child process)
        )

        self.turntable_export = turntable_export.install(self)
        if remember_geometry:
            self._restore_geometry()

    @property
    def body_view(self) -> Any:
        """The 3D view, or None until it has been created after the window showed."""
        return self._body_view

    @property
    def details_scan_id(self) -> str | None:
        return self._current.id if self._current is not None else None

    # -- start-up -----------------------------------------------------------------------------

    def start(self) -> None:
        """Called once the window is visible: connect, then build and warm up the 3D view.

        VTK's modules are imported in a worker (about a second of work that would otherwise hold
        the GUI thread and delay the first page); only the widget is created on the GUI thread.
        """
        QTimer.singleShot(0, self._connect)
        self.runner.submit(_import_3d_modules, group="import-3d",
                           on_done=lambda _r: self._create_body_view(),
                           on_error=lambda _e: self._create_body_view())

    def _create_body_view(self) -> None:
        if self._closed or self._body_view is not None:
            return
        started = time.perf_counter()
        from viewer.qt.body_view import (
            BodyView,  # already imported by _import_3d_modules
        )

        self._body_view = BodyView(self.view_area)
        self.view_area.set_body_widget(self._body_view)
        self._body_view.rendered.connect(self._on_rendered)
        self.bodyViewReady.emit(self._body_view)
        log.info("3D view created in %.2f s", time.perf_counter() - started)
        QTimer.singleShot(0, self._warm_up)

    def _warm_up(self) -> None:
        if self._body_view is None or self._closed:
            return
        started = time.perf_counter()
        self._body_view.warm_up()
        log.info("3D view warmed up in %.2f s", time.perf_counter() - started)
        if self._pending_body is not None:
            pending, self._pending_body = self._pending_body, None
            self._show_prepared(*pending)

    def _connect(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if not self.target.is_demo and not self._api_key:
            self._show_need_key(f"No API key for {self.target.label}.")
            return
        what = "Starting the demo server (the first start generates the demo scans)" \
            if self.target.is_demo else f"Connecting to {self.target.label}"
        self.statusBar().showMessage(what + "\u2026")
        self.view_area.show_loading(what + "\u2026")
        self.runner.submit(lambda _t: connect(self.target, self._api_key, self.settings),
                           group="connect", on_done=self._on_connected, on_error=self._on_connect_failed)

    def _on_connected(self, session: ServerSession) -> None:
        if self._closed:
            session.close()
            return
        self.session = session
        self.statusBar().showMessage(f"Connected to {self.target.label} ({session.base_url})", 5000)
        self.view_area.show_message("Select a scan", "Pick a scan in the list to see its body.")
        self._load_list()
        if self._initial_scan:
            self.scan_list.select_scan(self._initial_scan)
            self.runner.submit(lambda _t, sid=self._initial_scan: session.client.get_scan(sid),
                               group="initial-scan", on_done=self._on_initial_scan,
                               on_error=lambda e: self._show_open_error(None, e))

    def _on_initial_scan(self, scan: Scan) -> None:
        if self._current is None or self._current.id != scan.id:
            self.open_scan(scan)

    def _on_connect_failed(self, error: BaseException) -> None:
        self.statusBar().clearMessage()
        if isinstance(error, (AuthenticationError, ForbiddenError)):
            self._show_need_key(str(error))
            return
        self.view_area.show_error("Cannot connect", str(error) or type(error).__name__,
                                  actions=[("Retry", self._connect)])
        self.viewStateChanged.emit("error")
        self._maybe_settle()

    def _page_source(self) -> Callable[[str | None], Any]:
        session = self.session
        tokens = self.scan_list.user_tokens
        if len(tokens) > 1:  # several users at once: their pages merged newest first
            from viewer.services.merged_pages import MergedPageSource

            return MergedPageSource.for_tokens(
                tokens, lambda t, c: session.client.list_scans_page(t, cursor=c, limit=25), page_size=25)
        token = self.scan_list.user_token or None

        def page(cursor: str | None) -> Any:
            return session.client.list_scans_page(token, cursor=cursor, limit=25)

        return page

    # -- list ---------------------------------------------------------------------------------

    def _load_list(self) -> None:
        session = self.session
        self.scan_list.model.set_sources(page_source=self._page_source(),
                                         scan_source=session.client.get_scan,
                                         thumbnail_source=session.opener.fetch_preview)

    def refresh(self) -> None:
        if self.session is None:
            self._connect()
            return
        self.scan_list.model.refresh()

    def _on_user_token(self, token: str) -> None:
        if token:
            self.settings = self.settings.with_recent_token(token)
            self._save_settings()
        if self.session is not None:
            self._load_list()

    def _on_current_scan_updated(self, scan: Scan) -> None:
        """The selected scan changed on the server (re-poll): follow it."""
        if self._current is None or scan.id != self._current.id:
            return
        was_viewable = why_not_viewable(self._current) is None
        self._current = scan
        self.details.show_scan(scan)
        if not was_viewable and why_not_viewable(scan) is None:
            self.open_scan(scan)  # it just became ready: show the body
        elif scan.assets.state("measurement") is StageState.SUCCEEDED and self.details.measurement_rows == []:
            self._fetch_measurements(scan)

    def _on_list_failed(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)
        if self._current is None:
            actions = [("Retry", self.refresh)]
            if "API key" in message:
                actions.append(("Enter API key\u2026", self.ask_for_key))
            self.view_area.show_error("The scan list could not be loaded", message, actions=actions)
            self.viewStateChanged.emit("error")
        self._maybe_settle()

    def _on_page_loaded(self, _count: int) -> None:
        self._maybe_settle()

    # -- opening a scan -----------------------------------------------------------------------

    def open_scan(self, scan: Scan) -> None:
        """Show a scan: facts and preview at once, then the body when it has loaded."""
        if self.session is None:
            return
        self._current = scan
        self.current_mesh = None
        self.details.show_scan(scan)
        self._fetch_measurements(scan)
        if self._poster_for != scan.id:
            self._poster_for, self._poster_image = scan.id, None
        preview = self._poster_image
        reason = why_not_viewable(scan)
        if reason is not None:
            self.runner.cancel_group("open")
            self._hide_progress()
            failed = scan.assets.failed_stage is not None or scan.status.name == "FAILED"
            title = "Scan failed" if failed else "Scan not ready"
            self.view_area.show_error(title, reason, preview, actions=[("Refresh", lambda: self._reopen(scan))]) \
                if failed else self.view_area.show_message(title, reason, preview)
            self.viewStateChanged.emit(self.view_area.state)
            self._fetch_preview_for_poster(scan)
            self._maybe_settle()
            return
        self.view_area.show_loading("Loading the body\u2026", "", preview)
        self.viewStateChanged.emit("loading")
        if preview is None:
            self._fetch_preview_for_poster(scan)
        session = self.session

        def work(task: Task) -> tuple[Any, Any]:
            opened = session.opener.open(scan.id, progress=task.report, is_cancelled=lambda: task.cancelled)
            task.report(OpenProgress("prepare", message="Preparing the 3D view"))
            return opened, _prepare_body(task, opened.mesh)

        self.runner.submit(work, group="open",
                           on_done=lambda result: self._on_opened(scan, result),
                           on_error=lambda error: self._show_open_error(scan, error),
                           on_progress=self._on_open_progress)

    def _reopen(self, scan: Scan) -> None:
        if self.session is None:
            return
        self.runner.submit(lambda _t: self.session.client.get_scan(scan.id), group="reopen",
                           on_done=self.open_scan, on_error=lambda e: self._show_open_error(scan, e))

    def _fetch_preview_for_poster(self, scan: Scan) -> None:
        session = self.session

        def done(image: QImage | None) -> None:
            if self._current is None or self._current.id != scan.id:
                return
            self._poster_for, self._poster_image = scan.id, image
            if image is not None and self.view_area.state != "body":
                self.view_area.set_image(image)

        # the PNG is read and decoded in the worker too (QImage, unlike QPixmap, is thread-safe)
        self.runner.submit(lambda _t: _image(session.opener.fetch_preview(scan.id)), group="poster",
                           on_done=done, on_error=lambda e: log.info("no preview for %s: %s", scan.id, e))

    def _fetch_measurements(self, scan: Scan) -> None:
        if scan.assets.state("measurement") is not StageState.SUCCEEDED:
            note = {
                StageState.FAILED: "The measurement stage failed: no measurements.",
                StageState.STARTED: "Measurements are being computed\u2026",
            }.get(scan.assets.state("measurement"), "No measurements yet.")
            self.details.show_measurements(scan.id, scan.measurements, note if scan.measurements is None else "")
            return
        session = self.session
        self.runner.submit(
            lambda _t: session.client.get_measurements(scan.id), group="measurements",
            on_done=lambda m: self.details.show_measurements(scan.id, m),
            on_error=lambda e: self.details.show_measurements(scan.id, None, f"Measurements unavailable: {e}"),
        )

    def _on_open_progress(self, progress: OpenProgress) -> None:
        if progress.phase == "download":
            self.view_area.set_progress(progress.done, progress.total, progress.message)
            self._progress.show()
            if progress.total:
                self._progress.setRange(0, 1000)
                self._progress.setValue(int(1000 * progress.done / progress.total))
            else:
                self._progress.setRange(0, 0)
        else:
            self.view_area.set_progress(0, None, progress.message)

    def _hide_progress(self) -> None:
        self._progress.hide()

    def _on_opened(self, scan: Scan, result: tuple[Any, Any]) -> None:
        opened, prepared = result
        self._hide_progress()
        banners = []
        failure = failure_summary(scan)
        if failure:
            banners.append(failure)
        if not opened.mesh.is_textured and opened.mesh.vertex_colors is None:
            banners.append("No texture: the body is shown plain.")
        banners.extend(opened.mesh.warnings)
        source = "from the cache" if opened.from_cache else "downloaded"
        self.statusBar().showMessage(
            f"{scan.id}: {opened.mesh.n_faces:,} faces, {opened.mesh.height:.2f} m tall, {source}", 8000)
        self._show_prepared(scan, opened.mesh, prepared, "  ".join(banners) or None)

    def _show_prepared(self, scan: Scan | None, mesh: Any, prepared: Any, banner: str | None) -> None:
        if self._body_view is None:
            self._pending_body = (scan, mesh, prepared, banner)
            return
        self._body_view.show_body(prepared)
        self.current_mesh = mesh
        self.view_area.show_body(banner)
        self.viewStateChanged.emit("body")
        self.bodyShown.emit(scan, mesh)
        self._maybe_settle()

    def _on_rendered(self, seconds: float) -> None:
        self.last_render_seconds = seconds

    def _show_open_error(self, scan: Scan | None, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            return
        self._hide_progress()
        preview = self._poster_image if scan is not None and self._poster_for == scan.id else None
        retry = [("Retry", lambda: self.open_scan(scan))] if scan else []
        if isinstance(error, MeshLoadError):
            title, text = "The model file cannot be shown", f"{Path(str(error.path)).name}: {error.reason}"
        elif isinstance(error, (AuthenticationError, ForbiddenError)):
            title, text = "API key not accepted", str(error)
            retry.append(("Enter API key\u2026", self.ask_for_key))
        elif isinstance(error, NotFoundError):
            title, text = "Not found", str(error)
        elif isinstance(error, PrismApiError) and error.transient:
            title, text = "The server cannot be reached", str(error)
        elif isinstance(error, ScanViewerError):
            title, text = "The scan cannot be opened", str(error)
        else:
            log.error("unexpected error opening a scan", exc_info=error)
            title, text = "The scan cannot be opened", f"Unexpected problem: {type(error).__name__}: {error}"
        self.view_area.show_error(title, text, preview, actions=retry)
        self.viewStateChanged.emit("error")
        self._maybe_settle()

    # -- local files --------------------------------------------------------------------------

    def open_local_file(self, path: Path | None = None) -> None:
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Open a 3D model", "", LOCAL_FILE_FILTER)
            if not name:
                return
            path = Path(name)
        self._current = None
        self.current_mesh = None
        self.details.show_scan(None)
        self.view_area.show_loading(f"Loading {path.name}\u2026")

        def work(task: Task) -> tuple[Any, Any]:
            from viewer.mesh.loader import load_mesh

            mesh = load_mesh(path)
            return mesh, _prepare_body(task, mesh)

        def done(result: tuple[Any, Any]) -> None:
            mesh, prepared = result
            note = f"{path.name}: up axis {mesh.source_up_axis} ({mesh.orientation_reason})"
            if mesh.units is None:
                note += "; units unknown"
            self.statusBar().showMessage(note, 10000)
            self._show_prepared(None, mesh, prepared, "  ".join(mesh.warnings) or None)

        self.runner.submit(work, group="open", on_done=done,
                           on_error=lambda e: self._show_open_error(None, e))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if urls and any(Path(u.toLocalFile()).suffix.lower() in LOCAL_SUFFIXES for u in urls):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in LOCAL_SUFFIXES:
                event.acceptProposedAction()
                self.open_local_file(path)
                return

    # -- keys and settings --------------------------------------------------------------------

    def _show_need_key(self, why: str) -> None:
        self.view_area.show_error("An API key is needed", f"{why} Enter the key Prism issued for "
                                  f"{self.target.label}, or start with --demo to see demo scans.",
                                  actions=[("Enter API key\u2026", self.ask_for_key)])
        self.viewStateChanged.emit("error")
        self._maybe_settle()

    def ask_for_key(self) -> None:
        if self.target.is_demo:
            QMessageBox.information(self, "Demo data", "The demo server needs no key.")
            return
        key, ok = QInputDialog.getText(self, "API key", f"API key for {self.target.label}:",
                                       QLineEdit.EchoMode.Password)
        key = key.strip()
        if not ok or not key:
            return
        kept = self.keys.set(self.target.keyring_service, key)
        self.statusBar().showMessage("Key saved in the system keyring." if kept
                                     else "No system keyring: the key lasts for this session.", 8000)
        self._api_key = key
        self._connect()

    def clear_cache(self) -> None:
        if self.session is None:
            return
        answer = QMessageBox.question(
            self, "Clear cache", "Delete every downloaded scan file from this computer?\n"
            "Scan files can identify people; they will be downloaded again when opened.")
        if answer == QMessageBox.StandardButton.Yes:
            self.runner.submit(lambda _t: self.session.cache.clear(), group="cache",
                               on_done=lambda _r: self.statusBar().showMessage("Cache cleared.", 5000))

    def show_preferences(self) -> None:
        """Cache limit and retention; the cache's current size is measured in a worker first."""
        from viewer.qt.settings_dialog import SettingsDialog

        def open_dialog(size: int | None) -> None:
            dialog = SettingsDialog(self.settings, size, self)
            if dialog.exec() != SettingsDialog.DialogCode.Accepted:
                return
            self.settings = dialog.result_settings()
            self._save_settings()
            if self.session is not None:
                cache = self.session.cache
                cache.budget_bytes = self.settings.cache_budget_mb * 1024 * 1024
                cache.retention_days = self.settings.cache_retention_days
                self.runner.submit(lambda _t: cache.evict(), group="cache")

        if self.session is None:
            open_dialog(None)
            return
        cache = self.session.cache
        self.runner.submit(lambda _t: cache.size_bytes(), group="cache-size", on_done=open_dialog,
                           on_error=lambda _e: open_dialog(None))

    def _on_units_changed(self, unit_system: str) -> None:
        self.settings = replace(self.settings, unit_system=unit_system)
        self._save_settings()

    def _save_settings(self) -> None:
        try:
            save_settings(self.settings)
        except OSError as exc:
            self.statusBar().showMessage(f"Settings not saved: {exc}", 8000)

    def _show_server_badge(self) -> None:
        colours = {"demo": "#1a73e8", "sandbox": "#b06000", "production": "#c5221f"}
        colour = colours.get(self.target.name, "#5f6368")
        self._server_label.setText(self.target.label)
        self._server_label.setToolTip(f"Server: {self.target.base_url or 'local demo server'}")
        self._server_label.setStyleSheet(
            f"QLabel#serverBadge {{ color: white; background: {colour}; border-radius: 4px;"
            " padding: 2px 8px; font-weight: 600; }")

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&Open model file\u2026", self.open_local_file, QKeySequence.StandardKey.Open)
        self._add_action(file_menu, "&Refresh list", self.refresh, QKeySequence(Qt.Key.Key_F5))
        file_menu.addSeparator()
        self._add_action(file_menu, "Enter API &key\u2026", self.ask_for_key, None)
        self._add_action(file_menu, "&Clear cache\u2026", self.clear_cache, None)
        self._add_action(file_menu, "&Preferences\u2026", self.show_preferences, QKeySequence("Ctrl+,"))
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view_menu = self.menuBar().addMenu("&View")
        self._add_action(view_menu, "Switch &units (cm / in)", self.details.toggle_units, QKeySequence("Ctrl+U"))
        help_menu = self.menuBar().addMenu("&Help")
        shortcuts = self._add_action(help_menu, "&Keyboard shortcuts", self._show_shortcuts,
                                     QKeySequence(Qt.Key.Key_F1))
        shortcuts.setShortcuts([QKeySequence(Qt.Key.Key_F1), QKeySequence("?")])
        self._add_action(help_menu, "&About Scan Viewer", self._show_about, None)

    def top_menu(self, title: str) -> QMenu:
        """The menu-bar menu called ``title`` (e.g. "&Tools"), created just before Help if missing.

        Features attach their actions here, so two of them asking for "Tools" share one menu.
        """
        bar = self.menuBar()
        wanted = title.replace("&", "")
        help_action = None
        for action in bar.actions():
            name = action.text().replace("&", "")
            if action.menu() is not None and name == wanted:
                return action.menu()
            if name == "Help":
                help_action = action
        menu = QMenu(title, bar)
        if help_action is not None:
            bar.insertMenu(help_action, menu)
        else:
            bar.addMenu(menu)
        return menu

    def _add_action(self, menu: Any, text: str, slot: Callable[[], None], shortcut: Any) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.addAction(action)
        return action

    def _show_shortcuts(self) -> None:
        from viewer.qt import view_controls

        rows = [("Up / Down", "Previous / next scan"), ("F5", "Refresh the list"),
                ("Ctrl+L", "User token box"), ("Ctrl+F", "Filter the list"),
                ("Ctrl+O", "Open a model file"), ("Ctrl+U", "Switch cm / in"),
                ("Ctrl+,", "Preferences"), ("Mouse drag", "Turn the body (stays upright)"),
                ("Wheel", "Zoom"), ("F1 or ?", "This list"), ("Ctrl+Q", "Quit")]
        rows += view_controls.shortcut_rows()
        from viewer.qt.qa_panel import SHORTCUTS as QA_SHORTCUTS

        rows += list(QA_SHORTCUTS)
        rows.append(("Ctrl+I", "Check the assets of the scan on display"))
        rows.append(("Ctrl+Shift+T", "Export a turntable video (MP4 or GIF)"))
        from viewer.qt.presentation import SHORTCUTS as PRESENTATION_SHORTCUTS

        rows += list(PRESENTATION_SHORTCUTS)
        rows += [("D", "Measure distances: click two points on the body"), ("Shift+D", "Clear distances"),
                 ("Esc", "Leave the distance tool; hide the measurement ring")]
        text = "<table>" + "".join(f"<tr><td><b>{k}</b></td><td style='padding-left:16px'>{v}</td></tr>"
                                   for k, v in rows) + "</table>"
        QMessageBox.information(self, "Keyboard shortcuts", text)

    def _show_about(self) -> None:
        QMessageBox.about(self, "About Scan Viewer",
                          f"Scan Viewer {__version__}\nServer: {self.target.label}"
                          f" ({self.session.base_url if self.session else 'not connected'})")

    # -- screenshot mode support --------------------------------------------------------------

    def add_settle_check(self, check: Callable[[], bool]) -> None:
        self._settle_checks.append(check)

    def _maybe_settle(self) -> None:
        if self._settled_emitted or not self._settle_checks:
            return
        if all(check() for check in self._settle_checks):
            self._settled_emitted = True
            self.settled.emit()

    # -- geometry and shutdown ----------------------------------------------------------------

    def _qsettings(self) -> QSettings:
        from viewer.core.paths import config_dir

        return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)

    def _restore_geometry(self) -> None:
        qs = self._qsettings()
        geometry = qs.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restored_geometry = self.restoreGeometry(geometry)
        state = qs.value("splitter")
        if isinstance(state, QByteArray):
            self.splitter.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._closed:
            self._closed = True
            if self._remember_geometry:
                qs = self._qsettings()
                qs.setValue("geometry", self.saveGeometry())
                qs.setValue("splitter", self.splitter.saveState())
                qs.sync()
            self.settings = replace(self.settings, last_server=self.target.name,
                                    recent_user_tokens=tuple(self.scan_list.recent_tokens))
            self._save_settings()
            self.scan_list.shutdown()
            self.runner.shutdown()
            from viewer.services import mesh_process

            mesh_process.shutdown()  # the child process that parses large files
            if self._body_view is not None:
                self._body_view.close_view()
            if self.session is not None:
                self.session.close()
                self.session = None
        super().closeEvent(event)
