"""File > Export turntable…: a 360-degree MP4 or GIF of the body on screen, rendered in a child process.

``install(window)`` adds the menu item (Ctrl+Shift+T, enabled while a body is shown). The item
asks for the format, size and frames, then for the file name (suggested from the scan's date or
the local file's name, never the user token), and runs the export as a ``TurntableJob``: the body
is copied to a temporary sidecar in a worker of ``window.runner``, a child process renders and
encodes it (``viewer.services.turntable_process``) and a ``QTimer`` polls its progress, so the
window never waits. A window-modal ``QProgressDialog`` shows "frame N of M" and the elapsed time;
its Cancel stops the child before the next frame and no file is left. Closing the window stops a
running export.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from viewer.core.models import Scan
from viewer.mesh.mesh_data import BodyMesh
from viewer.qt.tasks import TaskRunner
from viewer.services.turntable import (
    DEFAULT_FPS,
    DEFAULT_FRAMES,
    DEFAULT_SIZE,
    Size,
    TurntableError,
    output_size,
)
from viewer.services.turntable_process import (
    TurntableCancelled,
    TurntableFailed,
    TurntableFinished,
    TurntableProcess,
    TurntableProgress,
    TurntableRequest,
)

log = logging.getLogger(__name__)

SHORTCUT = "Ctrl+Shift+T"
#: (label, suffix, file dialog filter)
FORMATS = (
    ("MP4 video", ".mp4", "MP4 video (*.mp4)"),
    ("GIF animation (at most 640 px)", ".gif", "GIF animation (*.gif)"),
)
SIZE_PRESETS: tuple[tuple[str, Size], ...] = (("1080p", (1920, 1080)), ("720p", (1280, 720)))
MIN_FRAMES, MAX_FRAMES = 12, 720


def install(window: Any) -> TurntableExport:
    """Add File > Export turntable… to ``window`` (a MainWindow); a second call returns the first."""
    existing = getattr(window, "turntable_export", None)
    if isinstance(existing, TurntableExport):
        return existing
    return TurntableExport(window)


def suggested_name(scan: Scan | None, mesh: BodyMesh | None, suffix: str) -> str:
    """A file name for the turntable: the scan's local date and time, or the local file's stem."""
    if scan is not None:
        if scan.created_at is not None:
            return f"turntable-{scan.created_at.astimezone():%Y-%m-%d-%H%M}{suffix}"
        return f"turntable{suffix}"
    if mesh is not None and mesh.source_path is not None:
        return f"{mesh.source_path.stem}-turntable{suffix}"
    return f"turntable{suffix}"


def format_elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


class TurntableJob(QObject):
    """One export: stage the body in a worker, run the child, poll it with a timer.

    Signals come from the event loop, never from inside ``start()``. Exactly one of ``finished``,
    ``failed`` and ``cancelled`` is emitted, unless ``shutdown()`` (the window closing) comes first.
    """

    #: frames done, frames in all
    progress = Signal(int, int)
    #: the written file, wall seconds since ``start()``
    finished = Signal(str, float)
    #: why nothing was written, in words for the user
    failed = Signal(str)
    cancelled = Signal()

    POLL_MS = 50

    def __init__(self, runner: TaskRunner, mesh: BodyMesh, request: TurntableRequest,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self._runner = runner
        self._mesh: BodyMesh | None = mesh
        self._process = TurntableProcess(request)
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._state = "new"  # -> "staging" -> "running" -> "done"
        self._cancel_requested = False
        self._started_at = 0.0

    @property
    def running(self) -> bool:
        return self._state in ("staging", "running")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started_at if self._started_at else 0.0

    def start(self) -> None:
        if self._state != "new":
            raise RuntimeError("a TurntableJob starts once")
        self._state = "staging"
        self._started_at = time.monotonic()
        process, mesh = self._process, self._mesh
        self._runner.submit(lambda _task: process.stage(mesh), on_done=self._on_staged,
                            on_error=self._on_stage_failed)

    def cancel(self) -> None:
        """Stop the export (the child stops before its next frame); ``cancelled`` follows."""
        if self._state == "staging":
            self._cancel_requested = True
        elif self._state == "running":
            self._process.cancel()

    def shutdown(self, timeout: float = 5.0) -> None:
        """For a closing window: cancel the child, wait for it ``timeout`` s, then terminate it; no
        signal follows."""
        self._state = "done"
        self._timer.stop()
        self._process.shutdown(timeout)

    def _on_staged(self, _result: None) -> None:
        self._mesh = None
        if self._state != "staging":
            return
        if self._cancel_requested:
            self._process.shutdown()
            self._end()
            self.cancelled.emit()
            return
        try:
            self._process.start()
        except OSError as exc:
            self._process.shutdown()
            self._end()
            self.failed.emit(f"the export process could not be started: {exc}")
            return
        self._state = "running"
        self._timer.start()

    def _on_stage_failed(self, error: BaseException) -> None:
        self._mesh = None
        if self._state != "staging":
            return
        self._process.shutdown()
        self._end()
        if isinstance(error, TurntableError):
            self.failed.emit(str(error))
        else:
            log.error("preparing the turntable export failed", exc_info=error)
            self.failed.emit(f"unexpected problem: {type(error).__name__}: {error}")

    def _poll(self) -> None:
        if self._state == "done":  # the outcome is in; the timer stays until the child has exited
            if self._process.exited:
                self._timer.stop()
            return
        for event in self._process.poll():
            if isinstance(event, TurntableProgress):
                self.progress.emit(event.done, event.total)
            elif isinstance(event, TurntableFinished):
                self._end()
                self.finished.emit(str(event.path), self.elapsed)
            elif isinstance(event, TurntableFailed):
                self._end()
                self.failed.emit(event.message)
            elif isinstance(event, TurntableCancelled):
                self._end()
                self.cancelled.emit()

    def _end(self) -> None:
        self._state = "done"


@dataclass(frozen=True)
class TurntableChoice:
    suffix: str  # ".mp4" or ".gif"
    frames: int
    size: Size  # the requested size; a GIF is made smaller by ``output_size``


class TurntableOptionsDialog(QDialog):
    """Format, size preset and number of frames, with what they give (pixels and seconds)."""

    def __init__(self, parent: QWidget | None = None, fps: float = DEFAULT_FPS) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export turntable")
        self._fps = fps
        self.format_box = QComboBox()
        for label, suffix, _filter in FORMATS:
            self.format_box.addItem(label, suffix)
        self.size_box = QComboBox()
        for label, (width, height) in SIZE_PRESETS:
            self.size_box.addItem(f"{label} ({width} \u00d7 {height})", (width, height))
        self.frames_box = QSpinBox()
        self.frames_box.setRange(MIN_FRAMES, MAX_FRAMES)
        self.frames_box.setSingleStep(12)
        self.frames_box.setValue(DEFAULT_FRAMES)
        self.summary = QLabel()
        form = QFormLayout()
        form.addRow("Format:", self.format_box)
        form.addRow("Size:", self.size_box)
        form.addRow("Frames (one turn):", self.frames_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export\u2026")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        for box in (self.format_box, self.size_box):
            box.currentIndexChanged.connect(self._update_summary)
        self.frames_box.valueChanged.connect(self._update_summary)
        self._update_summary()

    def choice(self) -> TurntableChoice:
        return TurntableChoice(self.format_box.currentData(), self.frames_box.value(), self.size_box.currentData())

    def _update_summary(self) -> None:
        choice = self.choice()
        width, height = output_size(Path("turntable" + choice.suffix), choice.size)
        self.summary.setText(f"{width} \u00d7 {height} pixels, {choice.frames / self._fps:.1f} s "
                             f"at {self._fps:g} frames per second")


class TurntableExport(QObject):
    """The menu item, the dialogs and the running export of one main window."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.job: TurntableJob | None = None
        self.progress_dialog: QProgressDialog | None = None
        #: the last failure message box (non-blocking), kept so it can be inspected and closed
        self.failure_box: QMessageBox | None = None
        self._scan: Scan | None = None
        self._folder: Path | None = None  # where the last turntable was saved
        self._frame = (0, 0)  # last progress: frames done, frames in all

        self.action = QAction("Export &turntable\u2026", window)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setStatusTip("Save a 360-degree turn of the body as an MP4 video or a GIF")
        self.action.triggered.connect(lambda _checked=False: self.ask_and_export())
        self.action.setEnabled(window.view_area.state == "body" and window.current_mesh is not None)
        file_menu = _file_menu(window)
        file_menu.insertAction(_last_separator(file_menu), self.action)  # keeps Quit last
        window.addAction(self.action)
        window.viewStateChanged.connect(lambda state: self.action.setEnabled(state == "body"))
        window.bodyShown.connect(self._on_body_shown)
        window.installEventFilter(self)

    # -- exporting ------------------------------------------------------------------------------

    def ask_and_export(self) -> None:
        """The options dialog, then the save dialog, then the export with its progress dialog."""
        if self._window.current_mesh is None:
            return
        options = TurntableOptionsDialog(self._window)
        accepted = options.exec() == QDialog.DialogCode.Accepted
        choice = options.choice()
        options.deleteLater()
        if not accepted:
            return
        file_filter = next(f for _label, suffix, f in FORMATS if suffix == choice.suffix)
        name = suggested_name(self._scan, self._window.current_mesh, choice.suffix)
        chosen, _ = QFileDialog.getSaveFileName(self._window, "Export turntable",
                                                str(self._default_folder() / name), file_filter)
        if not chosen:
            return
        path = Path(chosen)
        if path.suffix.lower() != choice.suffix:
            path = path.with_name(path.name + choice.suffix)
        self.export(path, frames=choice.frames, size=choice.size)

    def export(self, path: Path, *, frames: int = DEFAULT_FRAMES, size: Size = DEFAULT_SIZE,
               fps: float = DEFAULT_FPS) -> TurntableJob | None:
        """Export the body on screen to ``path`` (.mp4 or .gif) with a progress dialog; the job.

        None when there is no body or another export is running (the status bar says which).
        """
        mesh = self._window.current_mesh
        if mesh is None:
            self._window.statusBar().showMessage("Show a body first: the turntable turns it.", 6000)
            return None
        if self.job is not None and self.job.running:
            self._window.statusBar().showMessage("A turntable export is already running.", 6000)
            return None
        if self.job is not None:
            self.job.deleteLater()  # done; its child has exited or is reaped by the next start
        path = Path(path)
        self._folder = path.parent
        job = TurntableJob(self._window.runner, mesh, TurntableRequest(path, frames, size, fps), self)
        job.progress.connect(self._on_progress)
        job.finished.connect(self._on_finished)
        job.failed.connect(self._on_failed)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self._frame = (0, frames)
        self._show_progress_dialog(job)
        job.start()
        return job

    # -- progress and outcome -------------------------------------------------------------------

    def _show_progress_dialog(self, job: TurntableJob) -> None:
        dialog = QProgressDialog("Preparing the body\u2026", "Cancel", 0, job.request.frames, self._window)
        dialog.setWindowTitle("Export turntable")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(0)
        dialog.setMinimumWidth(360)
        dialog.setValue(0)
        dialog.canceled.connect(self._on_cancel_clicked)
        clock = QTimer(dialog)  # the elapsed time moves even while no frame arrives
        clock.setInterval(1000)
        clock.timeout.connect(self._update_label)
        clock.start()
        self.progress_dialog = dialog
        dialog.show()

    def _on_cancel_clicked(self) -> None:
        if self.job is not None and self.job.running:
            self.job.cancel()
            if self.progress_dialog is not None:
                self.progress_dialog.setLabelText("Cancelling\u2026")

    def _on_progress(self, done: int, total: int) -> None:
        self._frame = (done, total)
        if self.progress_dialog is not None:
            self.progress_dialog.setValue(done)
            self._update_label()

    def _update_label(self) -> None:
        dialog, job = self.progress_dialog, self.job
        if dialog is None or job is None or dialog.wasCanceled():
            return
        done, total = self._frame
        what = f"Rendering frame {done} of {total}" if done else "Starting the renderer\u2026"
        dialog.setLabelText(f"{what}\n{format_elapsed(job.elapsed)} elapsed")

    def _close_progress_dialog(self) -> None:
        dialog, self.progress_dialog = self.progress_dialog, None
        if dialog is not None:
            dialog.canceled.disconnect(self._on_cancel_clicked)  # closing it emits canceled
            dialog.hide()
            dialog.deleteLater()

    def _on_finished(self, path: str, seconds: float) -> None:
        self._close_progress_dialog()
        self._window.statusBar().showMessage(f"Turntable saved to {path} in {seconds:.1f} s", 15000)

    def _on_failed(self, message: str) -> None:
        self._close_progress_dialog()
        self._window.statusBar().showMessage("The turntable was not saved.", 8000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Turntable not saved",
                          f"The turntable could not be saved:\n{message}", QMessageBox.StandardButton.Ok,
                          self._window)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda _obj=None, b=box: self._forget_box(b))
        self.failure_box = box
        box.open()  # window-modal without a nested event loop

    def _forget_box(self, box: QMessageBox) -> None:
        if self.failure_box is box:
            self.failure_box = None

    def _on_cancelled(self) -> None:
        self._close_progress_dialog()
        self._window.statusBar().showMessage("Turntable export cancelled; no file was written.", 6000)

    # -- wiring ---------------------------------------------------------------------------------

    def _on_body_shown(self, scan: Scan | None, _mesh: BodyMesh) -> None:
        self._scan = scan

    def _default_folder(self) -> Path:
        if self._folder is not None and self._folder.is_dir():
            return self._folder
        movies = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.MoviesLocation)
        return Path(movies) if movies and Path(movies).is_dir() else Path.home()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self._window and event.type() == QEvent.Type.Close and self.job is not None:
            self.job.shutdown()
            self._close_progress_dialog()
        return False


def _file_menu(window: Any) -> QMenu:
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and action.text() == "&File":
            return menu
    return window.menuBar().addMenu("&File")


def _last_separator(menu: QMenu) -> QAction | None:
    """The separator before Quit: items inserted before it keep Quit last."""
    separators = [action for action in menu.actions() if action.isSeparator()]
    return separators[-1] if separators else None
