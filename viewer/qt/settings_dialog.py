"""Preferences: the cache's size limit and retention (scan files can identify people).

The dialog edits a copy of ``Settings``; the window applies and saves what it returns.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from viewer.core.settings import Settings


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, cache_size_bytes: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Preferences")
        self._settings = settings
        self.budget = QSpinBox()
        self.budget.setRange(100, 1_000_000)
        self.budget.setSingleStep(256)
        self.budget.setSuffix(" MB")
        self.budget.setValue(settings.cache_budget_mb)
        self.keep_forever = QCheckBox("Keep files until the size limit needs the room")
        self.retention = QSpinBox()
        self.retention.setRange(1, 3650)
        self.retention.setSuffix(" days")
        self.retention.setValue(int(settings.cache_retention_days or 30))
        self.keep_forever.setChecked(settings.cache_retention_days is None)
        self.retention.setEnabled(not self.keep_forever.isChecked())
        self.keep_forever.toggled.connect(lambda on: self.retention.setEnabled(not on))
        used = "unknown" if cache_size_bytes is None else f"{cache_size_bytes / 1e6:,.0f} MB"
        note = QLabel(f"Downloaded scans take {used} now. Scan files can identify people: keep them only "
                      "as long as you need them (File > Clear cache deletes them all).")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Cache size limit", self.budget)
        form.addRow("Delete scans unused for", self.retention)
        form.addRow("", self.keep_forever)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def result_settings(self) -> Settings:
        retention = None if self.keep_forever.isChecked() else float(self.retention.value())
        return replace(self._settings, cache_budget_mb=self.budget.value(), cache_retention_days=retention)
