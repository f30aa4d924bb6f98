"""The distance tool: click two points on the body, get the straight distance between them.

Tools > Measure distance (D) turns the tool on and off; while it is on, each left click on the
body (a press and release without dragging, so dragging still turns the body) picks the surface
point under the cursor with a ``vtkCellPicker`` restricted to the body's actors (which works for
perspective and parallel cameras alike). Every second point closes a measurement: a line with a
label in the details pane's units (cm or in). Measurements stay until Tools > Clear distances
(Shift+D), until another body is shown or the view leaves the body. Esc leaves the tool (the key
is not consumed: it may clear other things too).

Mouse clicks are read with a Qt event filter on the plotter widget, never consumed, so VTK's own
interaction is untouched whatever interactor style the view uses. GUI thread only. Importing this
module does not import pyvista / VTK (the window shows before they load).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QMouseEvent

from viewer.qt.measurement_overlay import format_length

log = logging.getLogger(__name__)

#: a light cyan, distinct from skin, clothes, the background and the measurement rings
DISTANCE_RGB = (0, 220, 255)
LINE_WIDTH = 4  # pixels
POINT_SIZE = 11  # pixels
LABEL_FONT_SIZE = 14
#: a press and release farther apart than this (pixels) is a drag, not a click
CLICK_SLOP = 4
#: picking tolerance, as a fraction of the render window's diagonal
PICK_TOLERANCE = 0.0005


@dataclass
class _Distance:
    start: np.ndarray
    end: np.ndarray | None = None
    actors: list[Any] = field(default_factory=list)  # points and line; the label is separate
    label_actor: Any = None

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.end - self.start)) if self.end is not None else 0.0


class DistanceTool(QObject):
    """Picks points on the body and draws the distances between pairs of them."""

    #: the tool was turned on (True) or off (False)
    activeChanged = Signal(bool)
    #: a distance was completed: its length in metres
    measured = Signal(float)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._active = False
        self._done: list[_Distance] = []
        self._pending: _Distance | None = None
        self._press_at: QPointF | None = None
        self._watched_plotter: Any = None
        self._picker: Any = None  # a vtkCellPicker, made at the first pick

        self.toggle_action = QAction("Measure &distance", window)
        self.toggle_action.setCheckable(True)
        self.toggle_action.setShortcut(QKeySequence(Qt.Key.Key_D))
        self.toggle_action.setStatusTip("Click two points on the body to measure the straight distance")
        self.toggle_action.toggled.connect(self.set_active)
        self.clear_action = QAction("&Clear distances", window)
        self.clear_action.setShortcut(QKeySequence("Shift+D"))
        self.clear_action.triggered.connect(lambda _checked=False: self.clear())
        menu = window.top_menu("&Tools")
        menu.addAction(self.toggle_action)
        menu.addAction(self.clear_action)
        window.addAction(self.toggle_action)
        window.addAction(self.clear_action)

        window.bodyViewReady.connect(self._watch)
        if window.body_view is not None:
            self._watch(window.body_view)
        window.bodyShown.connect(lambda _scan, _mesh: self.clear())
        window.viewStateChanged.connect(self._on_view_state)
        window.details.unitSystemChanged.connect(lambda _units: self._relabel())
        window.installEventFilter(self)

    # -- public -------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self._active

    @property
    def distances(self) -> tuple[float, ...]:
        """Lengths of the completed measurements on screen, in metres, oldest first."""
        return tuple(d.length for d in self._done)

    @property
    def label_texts(self) -> tuple[str, ...]:
        return tuple(self._label(d) for d in self._done)

    @property
    def actors(self) -> tuple[Any, ...]:
        """Every actor the tool has in the view (points, lines, labels)."""
        items = self._done + ([self._pending] if self._pending is not None else [])
        return tuple(a for d in items for a in [*d.actors, d.label_actor] if a is not None)

    def set_active(self, active: bool) -> None:
        if active == self._active:
            return
        self._active = active
        self.toggle_action.setChecked(active)
        plotter = self._plotter()
        if not active and self._pending is not None:
            self._remove(self._pending)
            self._pending = None
            self._render()
        if plotter is not None:
            if active:
                plotter.setCursor(Qt.CursorShape.CrossCursor)
            else:
                plotter.unsetCursor()
        if active:
            self._window.statusBar().showMessage("Distance: click two points on the body (Esc leaves, Shift+D clears).")
        else:
            self._window.statusBar().clearMessage()
        self.activeChanged.emit(active)

    def pick(self, x: float, y: float) -> np.ndarray | None:
        """The body's surface point at VTK display coordinates (pixels, origin bottom-left), if any."""
        view = self._window.body_view
        if view is None or view.is_closed or not view.body_actors:
            return None
        if self._picker is None:
            from vtkmodules.vtkRenderingCore import vtkCellPicker

            self._picker = vtkCellPicker()
            self._picker.SetTolerance(PICK_TOLERANCE)
            self._picker.PickFromListOn()
        self._picker.InitializePickList()
        for actor in view.body_actors:
            self._picker.AddPickList(actor)
        if not self._picker.Pick(x, y, 0, view.plotter.renderer) or self._picker.GetCellId() < 0:
            return None
        return np.array(self._picker.GetPickPosition(), dtype=np.float64)

    def add_point(self, point: np.ndarray) -> None:
        """Add a picked point: the first of a pair marks it, the second completes a distance."""
        point = np.asarray(point, dtype=np.float64)
        plotter = self._plotter()
        if plotter is None:
            return
        if self._pending is None:
            self._pending = _Distance(point)
            self._pending.actors.append(_add_points(plotter, [point]))
            self._render()
            return
        distance, self._pending = self._pending, None
        distance.end = point
        distance.actors.append(_add_points(plotter, [point]))
        import pyvista as pv  # loaded with the 3D view: this module stays light to import

        distance.actors.append(plotter.add_mesh(
            pv.Line(distance.start, point), color=DISTANCE_RGB, line_width=LINE_WIDTH,
            render_lines_as_tubes=True, lighting=False, pickable=False, reset_camera=False, render=False))
        distance.label_actor = self._add_label(plotter, distance)
        self._done.append(distance)
        self._render()
        self._window.statusBar().showMessage(f"Distance: {self._label(distance)}", 8000)
        self.measured.emit(distance.length)

    def clear(self) -> None:
        """Remove every distance (and a half-picked pair) from the view."""
        for distance in self._done + ([self._pending] if self._pending is not None else []):
            self._remove(distance)
        had_any = bool(self._done) or self._pending is not None
        self._done, self._pending = [], None
        if had_any:
            self._render()

    # -- events -------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if watched is self._window:
            if (kind == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                    and event.key() == Qt.Key.Key_Escape and self._active):
                self.set_active(False)
            return False
        if watched is self._watched_plotter and self._active and isinstance(event, QMouseEvent) \
                and event.button() == Qt.MouseButton.LeftButton:
            if kind == QEvent.Type.MouseButtonPress:
                self._press_at = event.position()
            elif kind == QEvent.Type.MouseButtonRelease and self._press_at is not None:
                moved = (event.position() - self._press_at).manhattanLength()
                self._press_at = None
                if moved <= CLICK_SLOP:
                    self._click(event.position())
        return False  # never consumed: VTK still turns the body on a drag

    def _click(self, position: QPointF) -> None:
        plotter = self._watched_plotter
        ratio = plotter.devicePixelRatioF()
        height = plotter.ren_win.GetSize()[1]
        point = self.pick(position.x() * ratio, height - position.y() * ratio - 1)
        if point is None:
            self._window.statusBar().showMessage("Distance: click on the body.", 3000)
            return
        self.add_point(point)

    def _watch(self, view: Any) -> None:
        if self._watched_plotter is not None:
            self._watched_plotter.removeEventFilter(self)
        self._watched_plotter = view.plotter
        self._watched_plotter.installEventFilter(self)

    def _on_view_state(self, state: str) -> None:
        if state != "body":
            self.clear()

    # -- drawing ------------------------------------------------------------------------------

    def _plotter(self) -> Any:
        view = self._window.body_view
        return None if view is None or view.is_closed else view.plotter

    def _render(self) -> None:
        plotter = self._plotter()
        if plotter is not None:
            plotter.render()

    def _label(self, distance: _Distance) -> str:
        return format_length(distance.length, self._window.details.unit_system)

    def _add_label(self, plotter: Any, distance: _Distance) -> Any:
        middle = (distance.start + distance.end) / 2
        return plotter.add_point_labels(
            [middle], [self._label(distance)], font_size=LABEL_FONT_SIZE, bold=False, text_color="white",
            shape_color=(0.05, 0.25, 0.32), shape_opacity=0.85, show_points=False, always_visible=True,
            pickable=False, reset_camera=False, render=False)

    def _relabel(self) -> None:
        plotter = self._plotter()
        if plotter is None or not self._done:
            return
        for distance in self._done:
            plotter.remove_actor(distance.label_actor, reset_camera=False, render=False)
            distance.label_actor = self._add_label(plotter, distance)
        self._render()

    def _remove(self, distance: _Distance) -> None:
        plotter = self._plotter()
        if plotter is not None:
            for actor in [*distance.actors, distance.label_actor]:
                if actor is not None:
                    plotter.remove_actor(actor, reset_camera=False, render=False)
        distance.actors, distance.label_actor = [], None


def _add_points(plotter: Any, points: list[np.ndarray]) -> Any:
    import pyvista as pv

    return plotter.add_mesh(pv.PolyData(np.array(points)), color=DISTANCE_RGB, point_size=POINT_SIZE,
                            render_points_as_spheres=True, lighting=False, pickable=False,
                            reset_camera=False, render=False)


def install(window: Any) -> DistanceTool:
    """Attach the distance tool to ``window`` (a MainWindow); calling it again returns the same."""
    existing = window.findChild(DistanceTool)
    return existing if existing is not None else DistanceTool(window)
