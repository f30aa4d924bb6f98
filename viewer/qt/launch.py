"""Start the Qt application for an ``AppConfig``; the screenshot mode lives here too.

Screenshot mode (``--screenshot PATH``): wait until the window has finished loading (the first page
listed with its visible thumbnails, and the ``--scan`` rendered in 3D or its error shown in place),
save a PNG of the whole window, say on stderr what was shown, exit 0; exit 1 with a message when
that does not happen within the time limit.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from viewer.app import AppConfig
from viewer.core.secrets import KeyStore
from viewer.qt.main_window import MainWindow
from viewer.qt.resources import resource_path
from viewer.qt.style import apply_style


def _make_app() -> QApplication:
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM") \
            and os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"  # the 3D view needs a real GL context (HEADLESS.md)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Scan Viewer")
    app.setOrganizationName("scan-viewer")
    app.setDesktopFileName("scan-viewer")
    icon = resource_path("icons/scan-viewer.svg")
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    apply_style(app)
    return app


class ScreenshotController:
    def __init__(self, app: QApplication, window: MainWindow, path: Path, timeout_s: float,
                 scan_id: str | None) -> None:
        self.app, self.window, self.path, self.scan_id = app, window, path, scan_id
        self.exit_code = 1
        self._started = time.monotonic()
        window.add_settle_check(self._list_ready)
        window.add_settle_check(self._scan_ready)
        window.settled.connect(self._on_settled)
        window.viewStateChanged.connect(lambda _state: window._maybe_settle())
        window.scan_list.model.thumbnails.thumbnailReady.connect(lambda _id: window._maybe_settle())
        self._timer = QTimer(window)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self._timer.start(int(timeout_s * 1000))

    def _list_ready(self) -> bool:
        model = self.window.scan_list.model
        if model.error:
            return True
        return model.has_loaded and self.window.scan_list.visible_thumbnails_ready()

    def _scan_ready(self) -> bool:
        if self.scan_id is None:
            return True
        return self.window.view_area.state in ("body", "error", "message") and (
            self.window.details_scan_id == self.scan_id or self.window.view_area.state == "error")

    def _on_settled(self) -> None:
        QTimer.singleShot(400, self._save)  # let the last paint land

    def _save(self) -> None:
        self._timer.stop()
        try:
            self._write_png()
        except Exception as exc:  # noqa: BLE001 - batch mode: say what went wrong, exit non-zero
            print(f"scan-viewer: the screenshot failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            self.exit_code = 1
        self.window.close()
        self.app.exit(self.exit_code)

    def _write_png(self) -> None:
        window = self.window
        if window.body_view is not None and window.view_area.state == "body":
            window.body_view.plotter.render()
        image = window.grab()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(self.path), "PNG"):
            print(f"scan-viewer: could not write {self.path}", file=sys.stderr)
            self.exit_code = 1
        else:
            shown = window.view_area.state
            what = "rendered the body in 3D" if shown == "body" else \
                f"showed {shown}: {window.view_area.message_text!r}"
            rows = window.scan_list.model.rowCount()
            print(f"scan-viewer: screenshot {self.path} ({image.width()}x{image.height()}): "
                  f"{rows} scans listed; {what}; after {time.monotonic() - self._started:.1f} s",
                  file=sys.stderr)
            self.exit_code = 0

    def _on_timeout(self) -> None:
        print(f"scan-viewer: the window did not finish loading within the time limit; "
              f"showing {self.window.view_area.state!r}: {self.window.view_area.message_text!r}",
              file=sys.stderr)
        self.exit_code = 1
        self.window.close()
        self.app.exit(1)


def run_gui(config: AppConfig, keys: KeyStore) -> int:
    app = _make_app()
    window = MainWindow(config.target, config.key.key, config.settings, keys,
                        user_token=config.user_token, initial_scan=config.scan_id,
                        remember_geometry=config.screenshot is None)
    if config.window_size:
        window.resize(*config.window_size)
    elif not window.restored_geometry:
        window.resize(1440, 900)
    controller = None
    if config.screenshot is not None:
        controller = ScreenshotController(app, window, config.screenshot, config.screenshot_timeout_s,
                                          config.scan_id)
    window.show()
    window.start()
    code = app.exec()
    return controller.exit_code if controller is not None else code
