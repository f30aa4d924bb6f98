"""Draws the selected measurement's ring on the body, labelled with the API's and the mesh's values.

Selecting a circumference in the details pane's table draws where it is taken on the body in the
3D view (see ``viewer.mesh.ring_placement`` for where each ring goes and why), with a label that
gives the API's value, the value measured on the mesh and their difference, in the pane's units.
A status-bar line compares the body's height on the mesh with the height the user declared.

Rules:
- The rings of a mesh and the API's values of a scan are computed / fetched in one worker task
  (group ``"measurement-rings"``: latest selection wins) and cached for the body on screen; the
  GUI thread only adds the actors. A result for a body no longer on screen is dropped.
- Importing this module does not import pyvista / VTK (the window shows before they load).
- The ring disappears when the selection is cleared, on Esc (the key is not consumed, so it may
  also end a tool), when another body is shown and whenever the view leaves the body.
- When the table is rebuilt (cm/in switch, measurements fetched again) the ring's row is selected
  again, so the ring stays and its label follows the units.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel

from viewer.core.errors import PrismApiError
from viewer.core.formatting import METRES_PER_INCH
from viewer.core.models import (
    LENGTH_MEASUREMENTS,
    MEASUREMENT_LABELS,
    Measurements,
    Quantity,
    Scan,
    UnitSystem,
)
from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.ring_placement import BodyRings, PlacedRing, place_rings
from viewer.qt.tasks import Task

log = logging.getLogger(__name__)

#: a saturated magenta: on no skin tone, texture or background of the viewer
RING_RGB = (255, 0, 200)
RING_LINE_WIDTH = 6  # pixels, drawn as a shaded tube
#: how far the drawn ring stands off the surface, as a fraction of stature (about 5 mm on 1.75 m)
RING_CLEARANCE = 0.003
LABEL_FONT_SIZE = 14
_TASK_GROUP = "measurement-rings"
_PLACING_MESSAGE = "Placing the measurement rings on this body\u2026"
_METRES_PER_UNIT = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": METRES_PER_INCH}


def format_length(metres: float, units: UnitSystem, signed: bool = False) -> str:
    """A length in cm or in with one decimal, like the details pane; ``signed`` adds + or -."""
    value = round(metres * 100 if units is UnitSystem.METRIC else metres / METRES_PER_INCH, 1) + 0.0  # no "-0.0"
    unit = "cm" if units is UnitSystem.METRIC else "in"
    return f"{value:+.1f} {unit}" if signed else f"{value:.1f} {unit}"


def ring_label(key: str, mesh_metres: float, api_metres: float | None, units: UnitSystem) -> str:
    """The label drawn at a ring: name, API value, mesh value, difference (mesh minus API)."""
    lines = [MEASUREMENT_LABELS.get(key, key)]
    if api_metres is None:
        return "\n".join(lines + ["API: not available", f"Mesh: {format_length(mesh_metres, units)}"])
    return "\n".join(lines + [f"API: {format_length(api_metres, units)}",
                              f"Mesh: {format_length(mesh_metres, units)}",
                              f"Difference: {format_length(mesh_metres - api_metres, units, signed=True)}"])


def height_text(mesh: BodyMesh, declared: Quantity | None, units: UnitSystem) -> str:
    """The body's height on the mesh next to the height the user declared for the scan."""
    if mesh.units is None:
        return f"Height on the mesh: {mesh.height:.3g} (units unknown)"
    measured = f"Height on the mesh: {format_length(mesh.height, units)}"
    if declared is None:
        return f"{measured}, none declared"
    scale = _METRES_PER_UNIT.get(declared.unit.strip().lower())
    if scale is None:
        return f"{measured}, declared {declared}"
    declared_m = declared.value * scale
    return (f"{measured}, declared {format_length(declared_m, units)} "
            f"({format_length(mesh.height - declared_m, units, signed=True)})")


@dataclass(frozen=True)
class _BodyData:
    """What the rings of the body on screen need: where they go and the scan's API values."""

    mesh: BodyMesh
    rings: BodyRings
    api: Measurements | None


class MeasurementOverlay(QObject):
    """Owns the ring and label actors in the 3D view and the height line in the status bar."""

    #: a ring is on screen: its API key
    ringShown = Signal(str)
    #: no ring is on screen any more
    ringCleared = Signal()

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._table = window.details._table
        self._scan: Scan | None = None
        self._mesh: BodyMesh | None = None
        self._data: _BodyData | None = None
        self._shown_key: str | None = None
        self._wanted_key: str | None = None  # asked for, maybe still being computed
        self._ring_actor: Any = None
        self._label_actor: Any = None
        self._label_text = ""
        self._reselect_key: str | None = None
        self._rows_rebuilt = False

        self._height_label = QLabel()
        self._height_label.setObjectName("meshHeight")
        self._height_label.setToolTip("The body's height measured on the mesh, and the height the user declared")
        self._height_label.hide()
        window.statusBar().addPermanentWidget(self._height_label)

        self._table.itemSelectionChanged.connect(self._on_selection_changed)
        self._table.model().rowsRemoved.connect(self._on_rows_removed)
        window.details.unitSystemChanged.connect(self._on_units_changed)
        window.bodyShown.connect(self._on_body_shown)
        window.viewStateChanged.connect(self._on_view_state)
        window.installEventFilter(self)

    # -- public -------------------------------------------------------------------------------

    @property
    def shown_key(self) -> str | None:
        return self._shown_key

    @property
    def ring_actor(self) -> Any:
        """The ring's actor in the 3D view (None when no ring is shown)."""
        return self._ring_actor

    @property
    def label_text(self) -> str:
        """The text of the label drawn at the ring ("" when no ring is shown)."""
        return self._label_text

    @property
    def height_line(self) -> str:
        """The status-bar line comparing the height on the mesh with the declared one ("" when hidden)."""
        return self._height_label.text() if self._height_label.isVisible() else ""

    def show_ring(self, key: str) -> None:
        """Draw the ring of ``key`` on the body on screen (computed in a worker the first time)."""
        if key not in LENGTH_MEASUREMENTS:
            self.clear()
            self._window.statusBar().showMessage(
                f"{MEASUREMENT_LABELS.get(key, key)} is not a circumference: nothing to draw on the body.", 5000)
            return
        mesh, scan = self._mesh, self._scan
        if mesh is None or scan is None or self._window.details_scan_id != scan.id:
            self.clear()
            return
        self._wanted_key = key
        if self._data is not None and self._data.mesh is mesh:
            self._draw(key, self._data)
            return
        session = self._window.session
        shown = self._window.details.measurements  # already fetched by the window: no second request
        if shown is not None and shown.unit_system is UnitSystem.METRIC:
            scan = replace(scan, measurements=shown)

        def work(task: Task) -> _BodyData:
            rings = place_rings(mesh.vertices, mesh.faces)
            return _BodyData(mesh, rings, _fetch_api_values(session, scan))

        self._window.statusBar().showMessage(_PLACING_MESSAGE)
        self._window.runner.submit(work, group=_TASK_GROUP,
                                   on_done=lambda data: self._on_computed(key, data),
                                   on_error=self._on_failed)

    def clear(self) -> None:
        """Remove the ring and its label from the view."""
        self._window.runner.cancel_group(_TASK_GROUP)
        self._clear_placing_message()
        had_ring = self._remove_actors()
        self._shown_key = self._wanted_key = self._reselect_key = None
        self._label_text = ""
        if had_ring:
            self._render()
            self.ringCleared.emit()

    # -- reactions ----------------------------------------------------------------------------

    def _selected_key(self) -> str | None:
        rows = self._table.selectionModel().selectedRows(0)
        return rows[0].data(Qt.ItemDataRole.UserRole) if rows else None

    def _on_selection_changed(self) -> None:
        key = self._selected_key()
        if key is not None:
            self._reselect_key = None
            self.show_ring(key)
            return
        chosen = self._shown_key or self._wanted_key
        self.clear()
        if chosen is not None:  # perhaps the table is being rebuilt: select the row again once it is
            self._reselect_key, self._rows_rebuilt = chosen, False
            QTimer.singleShot(0, self._reselect_after_rebuild)

    def _on_rows_removed(self) -> None:
        self._rows_rebuilt = True

    def _reselect_after_rebuild(self) -> None:
        key, self._reselect_key = self._reselect_key, None
        if key is None or not self._rows_rebuilt or self._selected_key() is not None:
            return
        for row in range(self._table.rowCount()):
            item = self._table.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == key:
                self._table.selectRow(row)
                return

    def _on_units_changed(self, _unit_system: str) -> None:
        if self._mesh is not None:
            self._update_height()

    def _on_body_shown(self, scan: Scan | None, mesh: BodyMesh) -> None:
        self.clear()
        self._scan, self._mesh = scan, mesh
        if self._data is not None and self._data.mesh is not mesh:
            self._data = None
        self._update_height()
        key = self._selected_key()
        if key is not None:  # a row chosen while the body was loading
            self.show_ring(key)

    def _on_view_state(self, state: str) -> None:
        if state != "body":
            self.clear()
            self._scan = self._mesh = None
            self._height_label.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if (watched is self._window and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Escape
                and self._shown_key is not None):
            self._table.clearSelection()
            self.clear()
        return False  # never consumed: Esc may mean something to other parts too

    def _on_computed(self, key: str, data: _BodyData) -> None:
        self._clear_placing_message()
        if data.mesh is not self._mesh:
            return  # another body is on screen now
        self._data = data
        if self._wanted_key == key:
            self._draw(key, data)

    def _clear_placing_message(self) -> None:
        if self._window.statusBar().currentMessage() == _PLACING_MESSAGE:
            self._window.statusBar().clearMessage()

    def _on_failed(self, error: BaseException) -> None:
        log.info("no measurement rings for this body: %s", error)
        self._window.statusBar().showMessage(f"The rings cannot be placed on this body: {error}", 8000)

    # -- drawing (GUI thread) -----------------------------------------------------------------

    def _draw(self, key: str, data: _BodyData) -> None:
        view = self._window.body_view
        ring = data.rings.get(key)
        if view is None or ring is None:
            self.clear()
            if ring is None:
                self._window.statusBar().showMessage(
                    f"{MEASUREMENT_LABELS.get(key, key)}: not found on this mesh.", 5000)
            return
        api_value = data.api.get(key) if data.api is not None else None
        self._label_text = ring_label(key, ring.length, api_value, self._window.details.unit_system)
        plotter = view.plotter
        self._remove_actors()
        self._ring_actor = plotter.add_mesh(
            _ring_polyline(ring, RING_CLEARANCE * data.rings.stature), color=RING_RGB,
            line_width=RING_LINE_WIDTH, render_lines_as_tubes=True, lighting=False, pickable=False,
            reset_camera=False, render=False)
        self._label_actor = plotter.add_point_labels(
            [ring.label_anchor], [self._label_text], font_size=LABEL_FONT_SIZE, bold=False,
            text_color="white", shape_color=(0.12, 0.12, 0.14), shape_opacity=0.85,
            show_points=False, always_visible=True, pickable=False, reset_camera=False, render=False,
            justification_horizontal="right" if ring.side == "right" else "left",
            justification_vertical="bottom")
        self._shown_key = key
        self._render()
        self.ringShown.emit(key)

    def _remove_actors(self) -> bool:
        view = self._window.body_view
        actors = [actor for actor in (self._ring_actor, self._label_actor) if actor is not None]
        self._ring_actor = self._label_actor = None
        if view is not None and not view.is_closed:
            for actor in actors:
                view.plotter.remove_actor(actor, reset_camera=False, render=False)
        return bool(actors)

    def _render(self) -> None:
        view = self._window.body_view
        if view is not None and not view.is_closed:
            view.plotter.render()

    def _update_height(self) -> None:
        if self._mesh is None:
            self._height_label.hide()
            return
        declared = self._scan.height if self._scan is not None else None
        self._height_label.setText(height_text(self._mesh, declared, self._window.details.unit_system))
        self._height_label.show()


def _fetch_api_values(session: Any, scan: Scan) -> Measurements | None:
    """The scan's measurements in metres (worker side); None when the server has none to give."""
    if scan.measurements is not None and scan.measurements.unit_system is UnitSystem.METRIC:
        return scan.measurements
    if session is None:
        return None
    try:
        return session.client.get_measurements(scan.id, UnitSystem.METRIC)
    except PrismApiError as exc:  # the ring is still worth drawing without the API value
        log.info("measurements of %s unavailable: %s", scan.id, exc)
        return None


def _ring_polyline(ring: PlacedRing, clearance: float) -> Any:
    import pyvista as pv  # already loaded with the 3D view: the module itself stays light to import

    points = ring.lifted(clearance)
    n = len(points)
    lines = np.concatenate([[n + 1], np.arange(n), [0]])
    return pv.PolyData(points, lines=lines)


def install(window: Any) -> MeasurementOverlay:
    """Attach the measurement rings to ``window`` (a MainWindow); calling it again returns the same."""
    existing = window.findChild(MeasurementOverlay)
    return existing if existing is not None else MeasurementOverlay(window)
