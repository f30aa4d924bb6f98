"""Compare two scans: side by side with linked cameras or overlaid, a displacement heatmap, and
the change of every measurement.

The pair: the scan shown in the main window plus one picked in a small dialog (by default the
same person's previous scan). The earlier scan is "first", the later "second"; the heatmap sits
on the second body and says how far it lies outside (red) or inside (blue) the first
(``viewer.mesh.compare``). Values within ± the tolerance are drawn neutral (white).

Threading: both scans are opened (``session.opener.open``) and turned into VTK data in the main
window's ``TaskRunner``, and so is the heatmap; the GUI thread only adds actors and renders.
Each compare window uses its own task groups and drops late results once closed.

Cameras: both views share one ``vtkCamera``; whenever one view renders, the other renders too,
so turning or zooming either moves both. Closing the compare window (or the main window) closes
both plotters.

VTK is imported only when a compare window is built, never by ``install``, so the main window's
start-up does not pay for it.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QRadioButton,
    QSlider,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.core.formatting import (
    METRES_PER_INCH,
    format_measurement,
    format_time,
    why_not_viewable,
)
from viewer.core.models import (
    LENGTH_MEASUREMENTS,
    MEASUREMENT_LABELS,
    Measurements,
    Scan,
    ScanStatus,
    StageState,
    UnitSystem,
)

if TYPE_CHECKING:
    from viewer.mesh.compare import Displacement
    from viewer.mesh.mesh_data import BodyMesh
    from viewer.qt.tasks import Task

log = logging.getLogger(__name__)

#: the tolerance slider: 0 to 20 mm in steps of 0.5 mm (the slider counts tenths of a millimetre)
TOLERANCE_MAX_MM = 20.0
DEFAULT_TOLERANCE_MM = 2.0
_SLIDER_STEPS_PER_MM = 10

SCALAR_BAR_TITLE = "mm"
HEATMAP_ARRAY = "displacement_mm"
_LUT_COLOURS = 256
_OVERLAY_RGB = (0.15, 0.25, 0.55)
#: extra width framed on each side of the bodies, as a fraction of their width
_LEGEND_ROOM = 0.12

_window_numbers = itertools.count(1)


# --- choosing the pair ---------------------------------------------------------------------------


def default_partner(current: Scan, scans: Sequence[Scan]) -> Scan | None:
    """The scan to compare ``current`` with: the same person's latest earlier scan, else their
    nearest other scan in time, else None. Only scans with a body count, and finished (READY)
    scans win over those with a body whose later stages failed."""
    def same_person(scan: Scan) -> bool:
        return bool((current.user_token and scan.user_token == current.user_token)
                    or (current.user_id and scan.user_id == current.user_id))

    theirs = [s for s in scans if s.id != current.id and same_person(s) and why_not_viewable(s) is None]
    finished = [s for s in theirs if s.status is ScanStatus.READY]
    return _closest_before(current, finished) or _closest_before(current, theirs)


def _closest_before(current: Scan, scans: Sequence[Scan]) -> Scan | None:
    """The latest of ``scans`` made before ``current``, else the nearest in time, else the first."""
    if not scans:
        return None
    dated = [s for s in scans if s.created_at is not None]
    if current.created_at is None or not dated:
        return scans[0]
    earlier = [s for s in dated if s.created_at < current.created_at]
    if earlier:
        return max(earlier, key=lambda s: s.created_at)
    return min(dated, key=lambda s: abs(s.created_at - current.created_at))


def in_time_order(a: Scan, b: Scan) -> tuple[Scan, Scan]:
    """(earlier, later) when both dates are known, else (a, b) as given."""
    if a.created_at is not None and b.created_at is not None and b.created_at < a.created_at:
        return b, a
    return a, b


def scan_caption(scan: Scan) -> str:
    """One line naming a scan: date, person and a short id."""
    who = scan.user_token or scan.user_id or "unknown user"
    return f"{format_time(scan.created_at)} \u00b7 {who} \u00b7 {scan.id[:8]}"


class PairDialog(QDialog):
    """Pick the scan to compare the current one with, among the listed scans."""

    def __init__(self, current: Scan, scans: Sequence[Scan], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare with\u2026")
        self.list = QListWidget()
        partner = default_partner(current, scans)
        for scan in scans:
            if scan.id == current.id:
                continue
            item = QListWidgetItem(scan_caption(scan))
            item.setData(Qt.ItemDataRole.UserRole, scan)
            reason = why_not_viewable(scan)
            if reason is not None:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setToolTip(reason)
            self.list.addItem(item)
            if partner is not None and scan.id == partner.id:
                self.list.setCurrentItem(item)
        if self.list.currentItem() is None:
            enabled = [self.list.item(r) for r in range(self.list.count())
                       if self.list.item(r).flags() & Qt.ItemFlag.ItemIsEnabled]
            if enabled:
                self.list.setCurrentItem(enabled[0])
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Compare <b>{scan_caption(current)}</b> with:"))
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(460, 360)

    def selected_scan(self) -> Scan | None:
        item = self.list.currentItem()
        if item is None or not item.flags() & Qt.ItemFlag.ItemIsEnabled:
            return None
        return item.data(Qt.ItemDataRole.UserRole)


# --- measurement differences ---------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurementChange:
    key: str
    label: str
    first: str
    second: str
    change: str
    #: second - first in the API's units (metres for lengths), None when one side lacks it
    delta: float | None


def measurement_changes(first: Measurements | None, second: Measurements | None,
                        unit_system: UnitSystem) -> list[MeasurementChange]:
    """One row per measurement either scan has, in display order, values and change shown in
    ``unit_system`` (lengths in cm or in, signed)."""
    rows: dict[str, tuple[str, float | None, float | None]] = {}
    for index, measurements in enumerate((first, second)):
        if measurements is None:
            continue
        for key, label, value in measurements:
            metric = _to_metric(key, value, measurements.unit_system)
            entry = rows.get(key, (label, None, None))
            rows[key] = (label, metric, entry[2]) if index == 0 else (label, entry[1], metric)
    order = {key: index for index, key in enumerate(MEASUREMENT_LABELS)}
    changes = []
    for key in sorted(rows, key=lambda k: order.get(k, len(order))):
        label, a, b = rows[key]
        delta = b - a if a is not None and b is not None else None
        changes.append(MeasurementChange(
            key, label,
            format_measurement(key, a, UnitSystem.METRIC, unit_system) if a is not None else "\u2014",
            format_measurement(key, b, UnitSystem.METRIC, unit_system) if b is not None else "\u2014",
            _format_change(key, delta, unit_system) if delta is not None else "\u2014",
            delta,
        ))
    return changes


def _to_metric(key: str, value: float, source: UnitSystem) -> float:
    return value * METRES_PER_INCH if key in LENGTH_MEASUREMENTS and source is UnitSystem.IMPERIAL else value


def _format_change(key: str, delta: float, unit_system: UnitSystem) -> str:
    if key in LENGTH_MEASUREMENTS:
        if unit_system is UnitSystem.METRIC:
            return f"{delta * 100:+.1f} cm"
        return f"{delta / METRES_PER_INCH:+.1f} in"
    return f"{delta:+.3g}"


# --- installing ----------------------------------------------------------------------------------


def install(window: Any) -> "CompareLauncher":
    """Add "Compare with…" to ``window`` (a MainWindow); a second call returns the first launcher."""
    existing = getattr(window, "compare", None)
    if isinstance(existing, CompareLauncher):
        return existing
    return CompareLauncher(window)


class CompareLauncher(QObject):
    """The menu action, the pair dialog, and the open compare windows of one main window."""

    #: a compare window was opened: the CompareWindow
    compareOpened = Signal(object)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self.windows: list[CompareWindow] = []
        self.action = QAction("Co&mpare with\u2026", window)
        self.action.setStatusTip("Compare the shown scan with another one: side by side, overlaid, "
                                 "a displacement heatmap and measurement changes")
        self.action.triggered.connect(lambda _checked=False: self.ask_and_compare())
        _menu_for(window).addAction(self.action)
        window.addAction(self.action)
        window.installEventFilter(self)

    def current_scan(self) -> Scan | None:
        """The scan whose details the main window shows (None for a local file or nothing)."""
        scan_id = self._window.details_scan_id
        if scan_id is None:
            return None
        listed = next((s for s in self._window.scan_list.model.scans() if s.id == scan_id), None)
        return listed or self._window.scan_list.current_scan()

    def make_dialog(self) -> PairDialog | None:
        current = self.current_scan()
        if current is None or self._window.session is None:
            self._window.statusBar().showMessage("Select a scan first: it is compared with another.", 6000)
            return None
        return PairDialog(current, self._window.scan_list.model.scans(), self._window)

    def ask_and_compare(self) -> None:
        dialog = self.make_dialog()
        if dialog is None:
            return
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        partner = dialog.selected_scan() if accepted else None
        dialog.deleteLater()
        current = self.current_scan()
        if partner is not None and current is not None:
            self.compare(current, partner)

    def compare(self, a: Scan, b: Scan) -> "CompareWindow":
        """Open a compare window for ``a`` and ``b`` (put in time order)."""
        first, second = in_time_order(a, b)
        compare = CompareWindow(self._window, first, second)
        compare.closed.connect(lambda: self._forget(compare))
        self.windows.append(compare)
        compare.show()
        compare.start()
        self.compareOpened.emit(compare)
        return compare

    def close_all(self) -> None:
        for compare in list(self.windows):
            compare.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self._window and event.type() == QEvent.Type.Close:
            self.close_all()
        return False

    def _forget(self, compare: "CompareWindow") -> None:
        if compare in self.windows:
            self.windows.remove(compare)
            compare.deleteLater()


def _menu_for(window: Any) -> QMenu:
    """The QA menu when the window has one, else a Tools menu (created before Help)."""
    qa = getattr(window, "qa", None)
    if getattr(qa, "qa_menu", None) is not None:
        qa.qa_menu.addSeparator()
        return qa.qa_menu
    return window.top_menu("&Tools")


# --- the compare window --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """One opened scan: its mesh and the data its view shows."""

    mesh: BodyMesh
    prepared: Any  # viewer.mesh.polydata.PreparedBody
    surface: Any  # pv.PolyData of the whole body (overlay and heatmap)


@dataclass(frozen=True)
class _Heatmap:
    displacement: Displacement
    surface: Any  # pv.PolyData of the second body with HEATMAP_ARRAY


class CompareWindow(QWidget):
    """Two scans side by side (or overlaid), the heatmap on the second, measurement changes."""

    #: the window closed (its plotters are closed)
    closed = Signal()
    #: both bodies are on screen
    bodiesShown = Signal()
    #: the heatmap is on screen
    heatmapShown = Signal()
    #: loading or comparing failed: the message
    failed = Signal(str)

    def __init__(self, window: Any, first: Scan, second: Scan) -> None:
        super().__init__(window, Qt.WindowType.Window)
        from viewer.qt.body_view import (
            BodyView,  # VTK: only once a comparison is asked for
        )

        self._window = window
        self.first_scan, self.second_scan = first, second
        self._groups = f"compare-{next(_window_numbers)}"
        self._closed = False
        self._sides: dict[str, _Side] = {}
        self._measurements: dict[str, Measurements | None] = {}
        self.heatmap: _Heatmap | None = None
        self._heatmap_actor: Any = None
        self._overlay_actor: Any = None
        self._lookup_table: Any = None
        self._link: _CameraLink | None = None

        dated = first.created_at is not None and second.created_at is not None
        self.first_title, self.second_title = ("Earlier", "Later") if dated else ("First", "Second")
        self.setWindowTitle(f"Compare \u2014 {first.id[:8]} and {second.id[:8]}")

        self.first_view = BodyView(self)
        self.second_view = BodyView(self)
        self.first_label = QLabel(f"<b>{self.first_title}</b>: {scan_caption(first)}")
        self.second_label = QLabel(f"<b>{self.second_title}</b>: {scan_caption(second)}")
        self.status = QLabel("Loading both scans\u2026")
        self.status.setWordWrap(True)

        self.side_by_side = QRadioButton("Side by side")
        self.overlay = QRadioButton("Overlay")
        self.side_by_side.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.side_by_side)
        modes.addButton(self.overlay)
        self.overlay.toggled.connect(lambda _on: self._apply_mode())
        self.heatmap_box = QCheckBox("Displacement heatmap")
        self.heatmap_box.setChecked(True)
        self.heatmap_box.setEnabled(False)
        self.heatmap_box.toggled.connect(lambda _on: self._apply_mode())
        self.tolerance_slider = QSlider(Qt.Orientation.Horizontal)
        self.tolerance_slider.setRange(0, int(TOLERANCE_MAX_MM * _SLIDER_STEPS_PER_MM))
        self.tolerance_slider.setSingleStep(5)
        self.tolerance_slider.setPageStep(10)
        self.tolerance_slider.setValue(int(DEFAULT_TOLERANCE_MM * _SLIDER_STEPS_PER_MM))
        self.tolerance_slider.setMaximumWidth(180)
        self.tolerance_slider.setToolTip("Differences within \u00b1 this many millimetres are shown white")
        self.tolerance_label = QLabel()
        self.tolerance_slider.valueChanged.connect(lambda _v: self._on_tolerance())
        self.note = QLabel()
        self.note.setStyleSheet("color: #5f6368")

        controls = QHBoxLayout()
        for widget in (self.side_by_side, self.overlay, self.heatmap_box, QLabel("Tolerance \u00b1"),
                       self.tolerance_slider, self.tolerance_label):
            controls.addWidget(widget)
        controls.addStretch(1)

        views = QWidget()
        grid = QGridLayout(views)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.first_label, 0, 0)
        grid.addWidget(self.second_label, 0, 1)
        grid.addWidget(self.first_view, 1, 0)
        grid.addWidget(self.second_view, 1, 1)
        grid.setRowStretch(1, 1)

        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Measurement", self.first_title, self.second_title, "Change"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumWidth(340)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(views)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setSizes([860, 360])
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)
        self._on_tolerance()
        self.resize(1240, 760)
        window.details.unitSystemChanged.connect(self._fill_table)

    # -- public state (tests, the launcher) ---------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self._closed

    @property
    def tolerance_mm(self) -> float:
        return self.tolerance_slider.value() / _SLIDER_STEPS_PER_MM

    def set_tolerance_mm(self, value: float) -> None:
        self.tolerance_slider.setValue(round(value * _SLIDER_STEPS_PER_MM))

    @property
    def heatmap_range(self) -> tuple[float, float] | None:
        """The heatmap's colour range (mm) as drawn, None before it is shown."""
        if self._lookup_table is None:
            return None
        low, high = self._lookup_table.scalar_range
        return float(low), float(high)

    @property
    def heatmap_actor(self) -> Any:
        return self._heatmap_actor

    @property
    def overlay_actor(self) -> Any:
        return self._overlay_actor

    @property
    def measurement_rows(self) -> list[tuple[str, str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(4))  # type: ignore[misc]
                for r in range(self.table.rowCount())]

    # -- loading ------------------------------------------------------------------------------

    def start(self) -> None:
        """Open both scans and fetch their measurements (in the window's task runner)."""
        session = self._window.session
        runner = self._window.runner
        for name, scan in (("first", self.first_scan), ("second", self.second_scan)):
            runner.submit(_open_side, session, scan.id, group=f"{self._groups}-{name}",
                          on_done=lambda side, n=name: self._on_side(n, side),
                          on_error=self._on_error)
            if scan.assets.state("measurement") is StageState.SUCCEEDED:
                runner.submit(lambda _t, sid=scan.id: session.client.get_measurements(sid),
                              group=f"{self._groups}-{name}-measurements",
                              on_done=lambda m, n=name: self._on_measurements(n, m),
                              on_error=lambda e, n=name: self._on_measurements(n, None, str(e)))
            else:
                self._on_measurements(name, scan.measurements)

    def _on_side(self, name: str, side: _Side) -> None:
        if self._closed:
            return
        self._sides[name] = side
        if len(self._sides) < 2:
            return
        first, second = self._sides["first"], self._sides["second"]
        self.first_view.show_body(first.prepared)
        self.second_view.show_body(second.prepared)
        self._link = _CameraLink(self.first_view.plotter, self.second_view.plotter)
        self._frame()
        self.status.setText("Comparing the surfaces\u2026")
        self.bodiesShown.emit()
        self._window.runner.submit(_compute_heatmap, first.mesh, second.mesh, group=f"{self._groups}-heatmap",
                                   on_done=self._on_heatmap, on_error=self._on_error)

    def _on_heatmap(self, heatmap: _Heatmap) -> None:
        if self._closed:
            return
        import pyvista as pv

        from viewer.mesh.compare import diverging_colours

        self.heatmap = heatmap
        offset = heatmap.displacement.first_offset
        for actor in self.first_view.body_actors:
            actor.position = tuple(float(v) for v in offset)
        plotter = self.second_view.plotter
        self._lookup_table = pv.LookupTable(values=diverging_colours(_LUT_COLOURS, 1.0, 0.0))
        self._heatmap_actor = plotter.add_mesh(
            heatmap.surface, scalars=HEATMAP_ARRAY, cmap=self._lookup_table, smooth_shading=False,
            interpolation="gouraud", ambient=0.3, diffuse=0.75, specular=0.0, reset_camera=False, render=False,
            scalar_bar_args=dict(title=SCALAR_BAR_TITLE, n_labels=5, fmt="%.0f", vertical=True,
                                 position_x=0.88, position_y=0.25, width=0.07, height=0.5, color="black",
                                 title_font_size=14, label_font_size=12),
        )
        self._overlay_actor = plotter.add_mesh(
            self._sides["first"].surface, style="wireframe", color=_OVERLAY_RGB, opacity=0.35, line_width=1,
            lighting=False, reset_camera=False, render=False)
        self._overlay_actor.position = tuple(float(v) for v in offset)
        self.heatmap_box.setEnabled(True)
        displacement = heatmap.displacement
        self.note.setText(f"Heatmap on the {self.second_title.lower()} body relative to the "
                          f"{self.first_title.lower()} one, outward positive; "
                          f"{displacement.alignment_note}; computed in {displacement.seconds:.2f} s")
        self.status.setText("")
        self._update_heatmap_colours()
        self._frame()
        self._apply_mode()
        self.heatmapShown.emit()

    def _on_measurements(self, name: str, measurements: Measurements | None, error: str = "") -> None:
        if self._closed:
            return
        if error:
            log.info("measurements of the %s scan unavailable: %s", name, error)
        self._measurements[name] = measurements
        if len(self._measurements) == 2:
            self._fill_table()

    def _on_error(self, error: BaseException) -> None:
        from viewer.services.scan_opening import Cancelled

        if self._closed or isinstance(error, Cancelled):
            return
        message = f"The comparison failed: {error}"
        log.info("%s", message)
        self.status.setText(message)
        self.failed.emit(message)

    # -- display ------------------------------------------------------------------------------

    def _fill_table(self) -> None:
        if self._closed or len(self._measurements) < 2:
            return
        changes = measurement_changes(self._measurements["first"], self._measurements["second"],
                                      self._window.details.unit_system)
        self.table.setRowCount(len(changes))
        for row, change in enumerate(changes):
            cells = (change.label, change.first, change.second, change.change)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(Qt.ItemDataRole.UserRole, change.key)
                else:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if column == 3 and change.delta:
                    item.setForeground(QColor("#b40426" if change.delta > 0 else "#3b4cc0"))
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def _on_tolerance(self) -> None:
        self.tolerance_label.setText(f"{self.tolerance_mm:.1f} mm")
        self._update_heatmap_colours()
        if self._heatmap_actor is not None:
            self.second_view.plotter.render()

    def _update_heatmap_colours(self) -> None:
        if self.heatmap is None or self._lookup_table is None:
            return
        from viewer.mesh.compare import diverging_colours, heatmap_limit_mm

        limit = heatmap_limit_mm(self.heatmap.displacement.per_render_vertex_mm, self.tolerance_mm)
        self._lookup_table.values = diverging_colours(_LUT_COLOURS, limit, self.tolerance_mm)
        self._lookup_table.scalar_range = (-limit, limit)
        self._heatmap_actor.mapper.scalar_range = (-limit, limit)

    def _apply_mode(self) -> None:
        """Show what the mode and the heatmap box ask for, then render both views."""
        if self._closed:
            return
        overlaid = self.overlay.isChecked()
        heat = self._heatmap_actor is not None and self.heatmap_box.isChecked()
        self.first_view.setVisible(not overlaid)
        self.first_label.setVisible(not overlaid)
        if self._heatmap_actor is not None:
            self._heatmap_actor.visibility = heat
            self._overlay_actor.visibility = overlaid
            self.second_view.plotter.scalar_bars[SCALAR_BAR_TITLE].SetVisibility(heat)
        for actor in self.second_view.body_actors:
            actor.visibility = not heat
        self.second_label.setText(
            f"<b>{self.second_title}</b>: {scan_caption(self.second_scan)}"
            + (f" <i>(with the {self.first_title.lower()} body as wireframe)</i>" if overlaid else ""))
        self.second_view.plotter.render()
        if not overlaid:
            self.first_view.plotter.render()

    def _frame(self) -> None:
        """Frame both bodies from the front (the camera is shared, so both views follow)."""
        from viewer.mesh.scene import frame_front

        first, second = self._sides["first"].prepared.bounds, self._sides["second"].prepared.bounds
        offset = self.heatmap.displacement.first_offset if self.heatmap is not None else np.zeros(3)
        low = np.minimum(np.array(first[0::2]) + offset, second[0::2])
        high = np.maximum(np.array(first[1::2]) + offset, second[1::2])
        room = _LEGEND_ROOM * (high[0] - low[0])  # both sides, so the legend never covers a hand
        low[0], high[0] = low[0] - room, high[0] + room
        bounds = tuple(float(v) for pair in zip(low, high) for v in pair)
        frame_front(self.second_view.plotter, bounds)  # type: ignore[arg-type]
        self.first_view.plotter.reset_camera_clipping_range()
        self.second_view.plotter.render()

    # -- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self._closed:
            self._closed = True
            runner = self._window.runner
            for suffix in ("first", "second", "first-measurements", "second-measurements", "heatmap"):
                runner.cancel_group(f"{self._groups}-{suffix}")
            try:
                self._window.details.unitSystemChanged.disconnect(self._fill_table)
            except (RuntimeError, TypeError):  # the main window is already gone
                pass
            if self._link is not None:
                self._link.unlink()
            self.first_view.close_view()
            self.second_view.close_view()
            self.closed.emit()
        super().closeEvent(event)


class _CameraLink:
    """Two plotters sharing one camera: a render of either renders the other too."""

    def __init__(self, leader: Any, follower: Any) -> None:
        self._plotters = (leader, follower)
        follower.renderer.camera = leader.renderer.camera
        self._busy = False
        self._observers = [
            (plotter.render_window, plotter.render_window.AddObserver("EndEvent", self._follow(other)))
            for plotter, other in ((leader, follower), (follower, leader))
        ]

    def _follow(self, other: Any) -> Any:
        def on_rendered(_caller: Any, _event: str) -> None:
            if self._busy or other.render_window is None or not other.isVisible():
                return
            self._busy = True
            try:
                other.renderer.ResetCameraClippingRange()
                other.render_window.Render()
            finally:
                self._busy = False

        return on_rendered

    def unlink(self) -> None:
        for window, tag in self._observers:
            if window is not None:
                window.RemoveObserver(tag)
        self._observers = []


# --- worker side ---------------------------------------------------------------------------------


def _open_side(task: Task, session: Any, scan_id: str) -> _Side:
    """Open a scan and build its VTK data (worker thread)."""
    from viewer.mesh.polydata import body_to_polydata
    from viewer.services.scan_opening import Cancelled

    opened = session.opener.open(scan_id, is_cancelled=lambda: task.cancelled)
    if task.cancelled:
        raise Cancelled(scan_id)
    return _Side(opened.mesh, body_to_polydata(opened.mesh), _surface(opened.mesh))


def _compute_heatmap(task: Task, first: BodyMesh, second: BodyMesh) -> _Heatmap:
    """Displacements of the second body from the first and its coloured surface (worker thread)."""
    from viewer.mesh.compare import CompareCancelled, compare_bodies
    from viewer.services.scan_opening import Cancelled

    try:
        displacement = compare_bodies(first, second, is_cancelled=lambda: task.cancelled)
    except CompareCancelled as exc:
        raise Cancelled("compare") from exc
    surface = _surface(second)
    surface.point_data[HEATMAP_ARRAY] = displacement.per_render_vertex_mm
    surface.point_data.active_scalars_name = HEATMAP_ARRAY
    return _Heatmap(displacement, surface)


def _surface(mesh: BodyMesh) -> Any:
    """The whole body as one surface with smooth normals (no texture)."""
    import pyvista as pv

    from viewer.mesh.polydata import smooth_point_normals

    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    surface = pv.PolyData.from_regular_faces(vertices, faces)
    surface.point_data.active_normals = smooth_point_normals(vertices, faces, mesh.source_vertex_index)
    return surface
