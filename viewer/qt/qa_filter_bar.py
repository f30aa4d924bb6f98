"""The QA filter bar: one control per filter kind, counts beside each choice, saved filters.

It also keeps the QA preferences file (saved filters, stuck threshold, reviewer's name).

The bar only edits a ``ScanFilter`` (``filterChanged``) and the stuck threshold
(``stuckAfterChanged``); applying them to the list is the QA panel's job. Counts come in through
``set_counts`` (computed over the scans loaded so far) and appear as "(n)" after each choice.
Named filters and the threshold are saved at once to the QA preferences file (JSON, atomic).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from viewer.core.formatting import STATE_WORDS, device_name
from viewer.core.models import STAGE_LABELS, STAGES, ScanStatus, StageState
from viewer.qt.badges import MUTED_TEXT, status_text
from viewer.services.scan_filters import (
    FILTERABLE_STATES,
    FilterCounts,
    QaPreferences,
    ScanFilter,
    load_preferences,
    save_preferences,
)
from viewer.services.scan_filters import preferences_path as default_preferences_path

log = logging.getLogger(__name__)

_NO_DATE = QDate(2000, 1, 1)  # the date edits' minimum: shown as "any"
_STATUSES = (ScanStatus.READY, ScanStatus.PROCESSING, ScanStatus.FAILED, ScanStatus.CREATED, ScanStatus.UNKNOWN)


def _with_count(text: str, count: int | None) -> str:
    return text if count is None else f"{text} ({count})"


class QaFilterBar(QWidget):
    filterChanged = Signal(object)  # ScanFilter
    stuckAfterChanged = Signal(object)  # timedelta

    def __init__(self, preferences_path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._preferences_path = preferences_path or default_preferences_path()
        self._preferences = load_preferences(self._preferences_path)
        self._counts: FilterCounts | None = None
        self._filter = ScanFilter()

        self._toggle = QToolButton(self)
        self._toggle.setText("QA filters")
        self._toggle.setCheckable(True)
        self._toggle.setChecked(True)
        self._toggle.setAutoRaise(True)
        self._toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._toggle.setArrowType(Qt.ArrowType.DownArrow)
        self._toggle.toggled.connect(self._on_toggled)
        self._summary = QLabel(self)
        self._summary.setStyleSheet(f"color: {MUTED_TEXT.name()};")
        self._clear = QPushButton("Clear", self)
        self._clear.setToolTip("Show every scan again")
        self._clear.clicked.connect(lambda: self.set_filter(ScanFilter(), notify=True))

        self._stage = QComboBox(self)
        self._stage.setToolTip("A pipeline stage in a given state")
        self._stage.addItem("Any stage state", None)
        for stage in STAGES:
            for state in FILTERABLE_STATES:
                self._stage.addItem(f"{STAGE_LABELS[stage]} {STATE_WORDS[state]}", _stage_key(stage, state))
        self._status = QComboBox(self)
        self._status.setToolTip("The scan's status")
        self._status.addItem("Any status", None)
        for status in _STATUSES:
            self._status.addItem(status_text(status), status.value)
        self._device = QComboBox(self)
        self._device.setToolTip("The scanning device")
        self._device.addItem("Any device", None)
        self._user = QComboBox(self)
        self._user.setToolTip("The user (token) who scanned")
        self._user.addItem("Any user", None)
        self._from = self._date_edit("Created on or after this day")
        self._to = self._date_edit("Created on or before this day")
        self._failed = QCheckBox("Failed anywhere", self)
        self._failed.setToolTip("A stage failed or the scan's status is Failed")
        self._stuck = QCheckBox("Stuck", self)
        self._stuck_minutes = QSpinBox(self)
        self._stuck_minutes.setRange(1, 7 * 24 * 60)
        self._stuck_minutes.setSuffix(" min")
        self._stuck_minutes.setValue(max(1, round(self._preferences.stuck_after.total_seconds() / 60)))
        self._stuck_minutes.setToolTip("A stage is stuck when it has been running longer than this")
        self._update_stuck_tooltip()

        self._saved = QComboBox(self)
        self._saved.setToolTip("Apply a saved filter")
        self._save = QPushButton("Save…", self)
        self._save.setToolTip("Save the current filter under a name")
        self._delete = QPushButton("Delete", self)
        self._delete.setToolTip("Delete the chosen saved filter")
        self._fill_saved()

        for combo in (self._stage, self._status, self._device, self._user):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(10)
            combo.currentIndexChanged.connect(self._on_edited)
        for edit in (self._from, self._to):
            edit.dateChanged.connect(self._on_edited)
        self._failed.toggled.connect(self._on_edited)
        self._stuck.toggled.connect(self._on_edited)
        self._stuck_minutes.valueChanged.connect(self._on_stuck_minutes)
        self._saved.activated.connect(self._on_saved_chosen)
        self._save.clicked.connect(self._ask_name_and_save)
        self._delete.clicked.connect(self._delete_chosen)

        header = QHBoxLayout()
        header.setContentsMargins(0, 0, 0, 0)
        header.addWidget(self._toggle)
        header.addWidget(self._summary, 1)
        header.addWidget(self._clear)
        self._body = QWidget(self)
        grid = QGridLayout(self._body)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        grid.addWidget(self._stage, 0, 0, 1, 2)
        grid.addWidget(self._status, 0, 2, 1, 2)
        grid.addWidget(self._device, 1, 0, 1, 2)
        grid.addWidget(self._user, 1, 2, 1, 2)
        grid.addWidget(QLabel("From", self._body), 2, 0)
        grid.addWidget(self._from, 2, 1)
        grid.addWidget(QLabel("to", self._body), 2, 2)
        grid.addWidget(self._to, 2, 3)
        toggles = QHBoxLayout()
        toggles.addWidget(self._failed)
        toggles.addWidget(self._stuck)
        toggles.addWidget(self._stuck_minutes)
        toggles.addStretch(1)
        grid.addLayout(toggles, 3, 0, 1, 4)
        saved = QHBoxLayout()
        saved.addWidget(self._saved, 1)
        saved.addWidget(self._save)
        saved.addWidget(self._delete)
        grid.addLayout(saved, 4, 0, 1, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self._body)
        self._update_summary()

    # -- public API -------------------------------------------------------------------------------

    @property
    def scan_filter(self) -> ScanFilter:
        return self._filter

    @property
    def stuck_after(self) -> timedelta:
        return timedelta(minutes=self._stuck_minutes.value())

    @property
    def preferences(self) -> QaPreferences:
        return self._preferences

    @property
    def saved_names(self) -> list[str]:
        return list(self._preferences.saved)

    @property
    def summary_text(self) -> str:
        return self._summary.text()

    def choice_texts(self, kind: str) -> list[str]:
        """The item texts (with counts) of one control: "stage", "status", "device" or "user"."""
        combo = {"stage": self._stage, "status": self._status, "device": self._device, "user": self._user}[kind]
        return [combo.itemText(i) for i in range(combo.count())]

    def toggle_texts(self) -> tuple[str, str]:
        return self._failed.text(), self._stuck.text()

    def set_filter(self, scan_filter: ScanFilter, *, notify: bool = False) -> None:
        """Show ``scan_filter`` in the controls; emit ``filterChanged`` only when ``notify``."""
        blockers = [QSignalBlocker(w) for w in self._editors()]
        self._select(self._stage, _stage_key(scan_filter.stage, scan_filter.stage_state)
                     if scan_filter.stage and scan_filter.stage_state else None)
        self._select(self._status, scan_filter.status.value if scan_filter.status else None)
        self._ensure_item(self._device, scan_filter.device, device_name(scan_filter.device))
        self._select(self._device, scan_filter.device)
        self._ensure_item(self._user, scan_filter.user_token, scan_filter.user_token or "")
        self._select(self._user, scan_filter.user_token)
        self._from.setDate(_qdate(scan_filter.created_from))
        self._to.setDate(_qdate(scan_filter.created_to))
        self._failed.setChecked(scan_filter.failed_anywhere)
        self._stuck.setChecked(scan_filter.stuck)
        del blockers
        changed = scan_filter != self._filter
        self._filter = scan_filter
        self._update_summary()
        if notify and changed:
            self.filterChanged.emit(scan_filter)

    def set_counts(self, counts: FilterCounts) -> None:
        """Show how many loaded scans each choice keeps, and how many the whole filter keeps."""
        self._counts = counts
        blockers = [QSignalBlocker(w) for w in self._editors()]
        for i in range(1, self._stage.count()):
            stage, state = _parse_stage_key(self._stage.itemData(i))
            self._stage.setItemText(i, _with_count(f"{STAGE_LABELS[stage]} {STATE_WORDS[state]}",
                                                   counts.stage_states.get((stage, state), 0)))
        for i in range(1, self._status.count()):
            status = ScanStatus(self._status.itemData(i))
            self._status.setItemText(i, _with_count(status_text(status), counts.statuses.get(status, 0)))
        self._fill_dynamic(self._device, {k: v for k, v in counts.devices.items() if k}, device_name)
        self._fill_dynamic(self._user, {k: v for k, v in counts.users.items() if k}, str)
        self._failed.setText(_with_count("Failed anywhere", counts.failed_anywhere))
        self._stuck.setText(_with_count("Stuck", counts.stuck))
        del blockers
        self._update_summary()

    def save_current_as(self, name: str) -> None:
        """Save the current filter under ``name`` (replacing one of that name) and persist it."""
        name = name.strip()
        if not name:
            return
        self._set_preferences(self._preferences.with_saved(name, self._filter))
        self._fill_saved(select=name)

    def apply_saved(self, name: str) -> None:
        scan_filter = self._preferences.saved.get(name)
        if scan_filter is not None:
            self.set_filter(scan_filter, notify=True)

    def delete_saved(self, name: str) -> None:
        if name in self._preferences.saved:
            self._set_preferences(self._preferences.without(name))
            self._fill_saved()

    def set_reviewer(self, name: str | None) -> None:
        """Remember the reviewer's name with the QA preferences (None: the OS user name)."""
        self._set_preferences(replace(self._preferences, reviewer=(name or "").strip() or None))

    def set_expanded(self, expanded: bool) -> None:
        self._toggle.setChecked(expanded)

    # -- editing ----------------------------------------------------------------------------------

    def _editors(self) -> list[QWidget]:
        return [self._stage, self._status, self._device, self._user, self._from, self._to, self._failed,
                self._stuck]

    def _on_edited(self, *_args: Any) -> None:
        stage_key, status = self._stage.currentData(), self._status.currentData()
        stage, state = _parse_stage_key(stage_key) if stage_key else (None, None)
        scan_filter = ScanFilter(
            stage=stage,
            stage_state=state,
            failed_anywhere=self._failed.isChecked(),
            stuck=self._stuck.isChecked(),
            status=ScanStatus(status) if status else None,
            device=self._device.currentData(),
            user_token=self._user.currentData(),
            created_from=_day(self._from.date()),
            created_to=_day(self._to.date()),
        )
        if scan_filter != self._filter:
            self._filter = scan_filter
            self._update_summary()
            self.filterChanged.emit(scan_filter)

    def _on_stuck_minutes(self, minutes: int) -> None:
        self._update_stuck_tooltip()
        self._set_preferences(replace(self._preferences, stuck_after=timedelta(minutes=minutes)))
        self.stuckAfterChanged.emit(timedelta(minutes=minutes))

    def _on_toggled(self, expanded: bool) -> None:
        self._body.setVisible(expanded)
        self._toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)

    def _update_stuck_tooltip(self) -> None:
        self._stuck.setToolTip(f"A stage has been running for more than {self._stuck_minutes.value()} min")

    def _update_summary(self) -> None:
        counts = self._counts
        active = not self._filter.is_empty
        if counts is None:
            text = "filtering" if active else ""
        elif active:
            text = f"{counts.matching} of {counts.total} loaded match"
        else:
            text = f"{counts.total} loaded"
        self._summary.setText(text)
        self._clear.setEnabled(active)

    # -- saved filters ----------------------------------------------------------------------------

    def _fill_saved(self, select: str | None = None) -> None:
        with QSignalBlocker(self._saved):
            self._saved.clear()
            self._saved.addItem("Saved filters…" if self._preferences.saved else "No saved filters", None)
            for name in self._preferences.saved:
                self._saved.addItem(name, name)
            index = self._saved.findData(select) if select is not None else 0
            self._saved.setCurrentIndex(max(0, index))
        self._delete.setEnabled(bool(self._preferences.saved))

    def _on_saved_chosen(self, index: int) -> None:
        name = self._saved.itemData(index)
        if name is not None:
            self.apply_saved(name)

    def _ask_name_and_save(self) -> None:
        current = self._saved.currentData() or ""
        name, ok = QInputDialog.getText(self, "Save filter", "Name of this filter:", text=current)
        if ok:
            self.save_current_as(name)

    def _delete_chosen(self) -> None:
        name = self._saved.currentData()
        if name is not None:
            self.delete_saved(name)

    def _set_preferences(self, preferences: QaPreferences) -> None:
        self._preferences = preferences
        try:
            save_preferences(preferences, self._preferences_path)
        except OSError as exc:
            log.warning("could not save the QA filters: %s", exc)

    # -- helpers ----------------------------------------------------------------------------------

    def _date_edit(self, tooltip: str) -> QDateEdit:
        edit = QDateEdit(self)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setMinimumDate(_NO_DATE)
        edit.setSpecialValueText("any day")
        edit.setDate(_NO_DATE)
        edit.setToolTip(tooltip + " (the earliest date means any day)")
        return edit

    @staticmethod
    def _select(combo: QComboBox, data: Any) -> None:
        index = combo.findData(data) if data is not None else 0
        combo.setCurrentIndex(max(0, index))

    @staticmethod
    def _ensure_item(combo: QComboBox, data: str | None, text: str) -> None:
        if data is not None and combo.findData(data) < 0:
            combo.addItem(text, data)

    def _fill_dynamic(self, combo: QComboBox, counts: dict[str, int], label: Any) -> None:
        """Rebuild a combo's choices from the values seen (keeping the chosen one, even at 0)."""
        chosen = combo.currentData()
        keys = sorted(set(counts) | ({chosen} if chosen else set()), key=lambda k: str(label(k)).lower())
        while combo.count() > 1:
            combo.removeItem(1)
        for key in keys:
            combo.addItem(_with_count(str(label(key)), counts.get(key, 0)), key)
        self._select(combo, chosen)


def _stage_key(stage: str, state: StageState) -> str:
    """Combo item data must be plain strings: Qt compares them in ``findData``."""
    return f"{stage}:{state.value}"


def _parse_stage_key(key: str) -> tuple[str, StageState]:
    stage, state = key.split(":")
    return stage, StageState(state)


def _day(value: QDate) -> date | None:
    return None if value == _NO_DATE else date(value.year(), value.month(), value.day())


def _qdate(value: date | None) -> QDate:
    return _NO_DATE if value is None else QDate(value.year, value.month, value.day)
