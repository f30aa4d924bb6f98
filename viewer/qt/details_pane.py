"""The details pane: who and what a scan is, each stage's state and time, and its measurements.

Shows what it is given; fetching measurements is the main window's job (in a worker). The unit
switch (metric / imperial) only re-formats values already here: no new request.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.core.formatting import (
    STATE_WORDS,
    device_name,
    failure_summary,
    format_measurement,
    format_time,
)
from viewer.core.models import Measurements, Scan, StageState, UnitSystem

PIPELINES = {
    "25f6d3a6-a634-40c3-8452-0342bee242d0": "Default native pipeline",
    "ee651a9e-6de1-4621-a5c9-5d31ca874718": "Default web pipeline",
    "c979ab6b-e46b-4c1c-89e1-bb02435b5cbf": "Legacy native pipeline",
}

STATE_COLOURS = {
    StageState.SUCCEEDED: "#1e8e3e",
    StageState.STARTED: "#b06000",
    StageState.FAILED: "#c5221f",
    StageState.NONE: "#80868b",
    StageState.UNKNOWN: "#7b1fa2",
}


def _selectable(label: QLabel) -> QLabel:
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class DetailsPane(QWidget):
    unitSystemChanged = Signal(str)  # "metric" | "imperial"

    def __init__(self, parent: QWidget | None = None, unit_system: UnitSystem = UnitSystem.METRIC) -> None:
        super().__init__(parent)
        self._scan: Scan | None = None
        self._measurements: Measurements | None = None
        self._unit_system = unit_system

        self._title = QLabel("No scan selected")
        font = self._title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setWeight(QFont.Weight.DemiBold)
        self._title.setFont(font)
        self._failure = QLabel()
        self._failure.setWordWrap(True)
        self._failure.setStyleSheet("color: #c5221f; font-weight: 600;")
        self._failure.hide()

        self._fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        for key, label in (("id", "Scan id"), ("user", "User"), ("device", "Device"),
                           ("status", "Status"), ("created", "Created"), ("updated", "Updated"),
                           ("height", "Height"), ("weight", "Weight"), ("pipeline", "Pipeline")):
            value = _selectable(QLabel("\u2014"))
            self._fields[key] = value
            form.addRow(label, value)

        stages_title = QLabel("Pipeline stages")
        stages_title.setStyleSheet("font-weight: 600; margin-top: 6px;")
        self._stages = QLabel()
        self._stages.setTextFormat(Qt.TextFormat.RichText)
        self._stages.setWordWrap(True)

        units_row = QHBoxLayout()
        measurements_title = QLabel("Measurements")
        measurements_title.setStyleSheet("font-weight: 600;")
        units_row.addWidget(measurements_title)
        units_row.addStretch(1)
        self._metric = QRadioButton("cm")
        self._imperial = QRadioButton("in")
        self._metric.setToolTip("Metric units (Ctrl+U switches)")
        self._imperial.setToolTip("Imperial units (Ctrl+U switches)")
        group = QButtonGroup(self)
        group.addButton(self._metric)
        group.addButton(self._imperial)
        (self._metric if unit_system is UnitSystem.METRIC else self._imperial).setChecked(True)
        self._metric.toggled.connect(self._on_units_toggled)
        units_row.addWidget(self._metric)
        units_row.addWidget(self._imperial)

        self._table = QTableWidget(0, 2)
        self._table.setHorizontalHeaderLabels(["Measurement", "Value"])
        self._table.verticalHeader().hide()
        self._table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self._table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self._table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self._table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self._table.setAlternatingRowColors(True)
        self._table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._measurement_note = QLabel()
        self._measurement_note.setStyleSheet("color: #5f6368;")
        self._measurement_note.setWordWrap(True)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._failure)
        layout.addLayout(form)
        layout.addWidget(stages_title)
        layout.addWidget(self._stages)
        layout.addWidget(line)
        layout.addLayout(units_row)
        layout.addWidget(self._measurement_note)
        layout.addWidget(self._table, 1)
        self.setMinimumWidth(260)

    # -- public -------------------------------------------------------------------------------

    @property
    def unit_system(self) -> UnitSystem:
        return self._unit_system

    def set_unit_system(self, unit_system: UnitSystem) -> None:
        (self._metric if unit_system is UnitSystem.METRIC else self._imperial).setChecked(True)

    def toggle_units(self) -> None:
        self.set_unit_system(UnitSystem.IMPERIAL if self._unit_system is UnitSystem.METRIC
                             else UnitSystem.METRIC)

    def show_scan(self, scan: Scan | None) -> None:
        """Show a scan's facts; measurements are cleared until ``show_measurements``."""
        same_scan = scan is not None and self._scan is not None and scan.id == self._scan.id
        self._scan = scan
        if not same_scan:
            self._measurements = None
        if scan is None:
            self._title.setText("No scan selected")
            for value in self._fields.values():
                value.setText("\u2014")
            self._stages.clear()
            self._failure.hide()
            self._render_measurements()
            return
        created = format_time(scan.created_at)
        self._title.setText(f"Scan of {created}")
        self._fields["id"].setText(scan.id)
        self._fields["user"].setText(scan.user_token or "\u2014")
        self._fields["device"].setText(device_name(scan.device_config_name))
        status = scan.status.value.title() if scan.status.name != "UNKNOWN" else f"Unknown ({scan.raw_status!r})"
        self._fields["status"].setText(status)
        self._fields["created"].setText(created)
        self._fields["updated"].setText(format_time(scan.updated_at))
        self._fields["height"].setText(str(scan.height) if scan.height else "\u2014")
        self._fields["weight"].setText(str(scan.weight) if scan.weight else "\u2014")
        self._fields["pipeline"].setText(PIPELINES.get(scan.asset_config_id or "", scan.asset_config_id or "\u2014"))
        rows = []
        for stage in scan.assets.stages:
            colour = STATE_COLOURS[stage.state]
            word = STATE_WORDS[stage.state]
            if stage.state is StageState.UNKNOWN and stage.raw_state is not None:
                word = f"unknown ({stage.raw_state})"
            when = format_time(stage.updated_at, short=True) if stage.updated_at else ""
            rows.append(f"<tr><td>{stage.label}</td><td style='color:{colour}; font-weight:600; "
                        f"padding-left:10px'>{word}</td><td style='color:#5f6368; padding-left:10px'>"
                        f"{when}</td></tr>")
        self._stages.setText("<table>" + "".join(rows) + "</table>")
        failure = failure_summary(scan)
        self._failure.setText(failure or "")
        self._failure.setVisible(failure is not None)
        if not same_scan and scan.measurements is not None:
            self._measurements = scan.measurements
        self._render_measurements()

    def show_measurements(self, scan_id: str, measurements: Measurements | None, note: str = "") -> None:
        if self._scan is None or self._scan.id != scan_id:
            return  # an answer for a scan that is no longer shown
        self._measurements = measurements
        self._render_measurements(note)

    @property
    def measurements(self) -> Measurements | None:
        """The API measurements on display (in the unit system they were fetched in), if any."""
        return self._measurements

    @property
    def measurement_rows(self) -> list[tuple[str, str]]:
        """(label, formatted value) as shown, for tests and export."""
        return [(self._table.item(r, 0).text(), self._table.item(r, 1).text())
                for r in range(self._table.rowCount())]

    # -- internals ----------------------------------------------------------------------------

    def _on_units_toggled(self, metric_checked: bool) -> None:
        self._unit_system = UnitSystem.METRIC if metric_checked else UnitSystem.IMPERIAL
        self._render_measurements()
        self.unitSystemChanged.emit(self._unit_system.value)

    def _render_measurements(self, note: str = "") -> None:
        self._table.setRowCount(0)
        m = self._measurements
        if m is None:
            self._measurement_note.setText(note or ("No measurements for this scan." if self._scan else ""))
            self._measurement_note.setVisible(bool(self._measurement_note.text()))
            return
        self._measurement_note.setVisible(bool(note))
        self._measurement_note.setText(note)
        rows = list(m)
        self._table.setRowCount(len(rows))
        grey = QColor("#5f6368")
        for row, (key, label, value) in enumerate(rows):
            name = QTableWidgetItem(label)
            name.setData(Qt.ItemDataRole.UserRole, key)
            name.setToolTip(key)
            shown = QTableWidgetItem(format_measurement(key, value, m.unit_system, self._unit_system))
            shown.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not key.endswith("Fit"):
                shown.setForeground(grey)
            self._table.setItem(row, 0, name)
            self._table.setItem(row, 1, shown)
