"""QA > Check assets (Ctrl+I): the integrity report of the scan on display, in a side window.

The checks (``viewer.services.integrity``) run in the window's TaskRunner and their results are
cached beside the scan's files, so a second look is instant. The report names each check with
pass / warn / fail and one line of words; Copy puts the same text as ``--check`` on the clipboard.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.services.check_command import format_report, verdict
from viewer.services.integrity import ScanReport, Status, check_scan

STATUS_COLOURS = {Status.PASS: "#1e8e3e", Status.WARN: "#b06000", Status.FAIL: "#c5221f"}


class IntegrityDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Asset checks")
        self.resize(640, 420)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.title.setWordWrap(True)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Result", "Check", "Detail"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        self.copy_button.clicked.connect(self.copy_report)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.report: ScanReport | None = None

    def show_checking(self, scan_id: str) -> None:
        self.report = None
        self.title.setText(f"Checking the assets of scan {scan_id}\u2026")
        self.table.setRowCount(0)
        self.copy_button.setEnabled(False)

    def show_report(self, report: ScanReport) -> None:
        self.report = report
        self.copy_button.setEnabled(True)
        if report.error is not None:
            self.title.setText(f"Scan {report.scan_id} could not be checked: {report.error}")
            self.table.setRowCount(0)
            return
        self.title.setText(f"Scan {report.scan_id}: {verdict(report)}")
        self.table.setRowCount(len(report.checks))
        for row, check in enumerate(report.checks):
            status = QTableWidgetItem(check.status.value.upper())
            status.setForeground(QColor(STATUS_COLOURS[check.status]))
            font = status.font()
            font.setBold(True)
            status.setFont(font)
            self.table.setItem(row, 0, status)
            self.table.setItem(row, 1, QTableWidgetItem(check.name))
            self.table.setItem(row, 2, QTableWidgetItem(check.detail))
        self.table.resizeRowsToContents()

    def show_error(self, scan_id: str, message: str) -> None:
        self.title.setText(f"Scan {scan_id} could not be checked: {message}")
        self.table.setRowCount(0)

    def copy_report(self) -> None:
        if self.report is not None:
            QGuiApplication.clipboard().setText(format_report(self.report))

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]


class IntegrityView:
    """Owns the action and the dialog of one window."""

    def __init__(self, window: Any) -> None:
        self._window = window
        self.dialog = IntegrityDialog(window)
        self.action = QAction("Check &assets\u2026", window)
        self.action.setShortcut(QKeySequence("Ctrl+I"))
        self.action.triggered.connect(lambda _checked=False: self.check_current())
        window.addAction(self.action)
        qa = getattr(window, "qa", None)
        menu = getattr(qa, "qa_menu", None)
        if menu is not None:
            menu.addSeparator()
            menu.addAction(self.action)

    def check_current(self) -> None:
        window = self._window
        scan_id = window.details_scan_id
        if scan_id is None or window.session is None:
            window.statusBar().showMessage("Select a scan first: the checks look at its files.", 5000)
            return
        self.check(scan_id)

    def check(self, scan_id: str) -> None:
        window = self._window
        session = window.session
        self.dialog.show_checking(scan_id)
        self.dialog.show()
        self.dialog.raise_()
        window.runner.submit(lambda _task: check_scan(session, scan_id), group="integrity",
                             on_done=self._on_done,
                             on_error=lambda error: self.dialog.show_error(scan_id, str(error)))

    def _on_done(self, report: ScanReport) -> None:
        if self._window.details_scan_id in (None, report.scan_id):
            self.dialog.show_report(report)


def install(window: Any) -> IntegrityView:
    """Add QA > Check assets to ``window`` (a ``MainWindow``); returns the existing one if present."""
    existing = getattr(window, "integrity_view", None)
    return existing if existing is not None else IntegrityView(window)
