"""The embedded 3D view: one textured body, lit for skin, seen from the front, upright.

Rules:
- GUI thread only. Build the data with ``viewer.mesh.polydata.body_to_polydata`` in a worker;
  ``show_body`` then only adds actors and renders.
- ``auto_update=False``: nothing renders by itself; every public method that changes the scene
  renders explicitly, once. Switching bodies adds the new actors, removes the old ones, then
  renders a single frame, so no intermediate (empty or doubled) frame is ever shown.
- Keys are not handled here: the interactor ignores them (VTK's defaults such as ``e``/``q`` end
  the interactor, ``w`` turns the body into wireframe...), so they travel up to the main window.
  Mouse: terrain-style rotation (azimuth around +Z, elevation; no roll, the body stays upright),
  shift+drag or middle-drag pans, wheel or right-drag zooms.
- Teardown: ``close_view()`` closes the plotter (idempotent); afterwards the scene methods do
  nothing and ``render_image`` raises ``RuntimeError``.
- While a scan loads, ``clear()`` leaves only the background; the main window stacks its preview
  or message on top of this widget.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pyvista as pv
from PySide6.QtCore import Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from viewer.mesh.mesh_data import BodyMesh
from viewer.mesh.polydata import (
    BodyPart,
    Bounds,
    PreparedBody,
    body_to_polydata,
)
from viewer.mesh.render_checks import RGB, VIEW_BACKGROUND, Background
from viewer.mesh.scene import (  # noqa: F401 - FRAME_MARGIN, PLAIN_BODY_RGB re-exported for tests
    FRAME_MARGIN, PLAIN_BODY_RGB, add_body_part, frame_front, set_up_body_lights,
)

log = logging.getLogger(__name__)



class _KeylessInteractor(QtInteractor):
    """A QtInteractor that leaves every key to its parents (VTK never sees one)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        event.ignore()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        event.ignore()


class BodyView(QWidget):
    """Shows one ``PreparedBody`` in an embedded pyvista plotter."""

    #: emitted after the first render of a newly shown body: seconds from ``show_body`` to frame
    rendered = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plotter = _KeylessInteractor(self, auto_update=False, multi_samples=0, lighting="none")
        self._plotter.setAcceptDrops(False)  # pyvistaqt would pv.read() any dropped file
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plotter)

        self._closed = False
        self._body_actors: list[pv.Actor] = []
        self._bounds: Bounds | None = None
        self._warmed_up = False

        self._plotter.enable_terrain_style(mouse_wheel_zooms=True, shift_pans=True)
        self._set_up_lights()
        self.set_background(VIEW_BACKGROUND)

    # --- scene ---------------------------------------------------------------------------------

    @property
    def plotter(self) -> QtInteractor:
        """The embedded plotter (for tests and the screenshot mode; prefer the methods here)."""
        return self._plotter

    @property
    def has_body(self) -> bool:
        return bool(self._body_actors)

    @property
    def body_actors(self) -> tuple[pv.Actor, ...]:
        return tuple(self._body_actors)

    @property
    def is_closed(self) -> bool:
        return self._closed

    def show_body(self, prepared: PreparedBody, *, reset_camera: bool = True) -> None:
        """Replace the shown body with ``prepared`` and render; emits ``rendered``."""
        if self._closed:
            log.debug("show_body after close_view: ignored")
            return
        started = time.perf_counter()
        new_actors = [self._add_part(part) for part in prepared.parts]
        self._remove_actors(self._body_actors)
        self._body_actors = new_actors
        self._bounds = prepared.bounds
        if reset_camera:
            self._frame_front(prepared.bounds)
        self._plotter.render()
        self._warmed_up = True
        seconds = time.perf_counter() - started
        log.debug("body shown (%d faces) in %.3f s", prepared.n_faces, seconds)
        self.rendered.emit(seconds)

    def clear(self) -> None:
        """Remove the body, leaving only the background (e.g. while the next scan loads)."""
        if self._closed:
            return
        self._remove_actors(self._body_actors)
        self._body_actors = []
        self._bounds = None
        self._plotter.render()

    def set_background(self, top: Background | RGB | str, bottom: RGB | str | None = None) -> None:
        """A solid colour (``top`` alone) or a vertical gradient; a ``Background`` gives both ends."""
        if self._closed:
            return
        if isinstance(top, Background):
            top, bottom = top.top, top.bottom
        colour_top = _colour(top)
        if bottom is None:
            self._plotter.set_background(colour_top)
        else:
            self._plotter.set_background(_colour(bottom), top=colour_top)
        self._plotter.render()

    def front_view(self) -> None:
        """Camera on the -Y side looking +Y, +Z up, the whole body framed with a small margin."""
        if self._closed or self._bounds is None:
            return
        self._frame_front(self._bounds)
        self._plotter.render()

    def render_image(self) -> np.ndarray:
        """Render now and return the view as an (h, w, 3) uint8 RGB image."""
        if self._closed:
            raise RuntimeError("the 3D view is closed")
        self._plotter.render()
        image = self._plotter.screenshot(transparent_background=False, return_img=True)
        return np.ascontiguousarray(np.asarray(image)[:, :, :3], dtype=np.uint8)

    def warm_up(self) -> None:
        """Pay VTK's first-render costs (shader compilation, texture upload) on a throwaway body.

        The throwaway is a tiny quad textured in the background colour, removed at once; call this
        after the window shows (e.g. ``QTimer.singleShot(0, view.warm_up)``). Does nothing once a
        body has been shown.
        """
        if self._closed or self._warmed_up:
            return
        started = time.perf_counter()
        throwaway = _warm_up_body()
        actors = [self._add_part(part) for part in throwaway.parts]
        camera = self._plotter.camera_position
        self._frame_front(throwaway.bounds)
        self.render_image()  # a screenshot also realises a widget that was never painted
        self._remove_actors(actors)
        self._plotter.camera_position = camera
        self._plotter.render()
        self._warmed_up = True
        log.debug("3D view warmed up in %.3f s", time.perf_counter() - started)

    def close_view(self) -> None:
        """Close the plotter and release its GL resources; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._body_actors = []
        self._plotter.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.close_view()
        super().closeEvent(event)

    # --- internals -----------------------------------------------------------------------------

    def _add_part(self, part: BodyPart) -> pv.Actor:
        return add_body_part(self._plotter, part)

    def _remove_actors(self, actors: list[pv.Actor]) -> None:
        for actor in actors:
            self._plotter.remove_actor(actor, reset_camera=False, render=False)

    def _set_up_lights(self) -> None:
        set_up_body_lights(self._plotter)

    def _frame_front(self, bounds: Bounds) -> None:
        frame_front(self._plotter, bounds)


def _colour(value: RGB | str) -> str | tuple[float, float, float]:
    if isinstance(value, str):
        return value
    return tuple(channel / 255.0 for channel in value)  # type: ignore[return-value]


def _warm_up_body() -> PreparedBody:
    """Two triangles textured in the background colour: the same shader path as a real body."""
    vertices = np.array([[0, 0, 0], [0.01, 0, 0], [0.01, 0, 0.01], [0, 0, 0.01]], dtype=np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    texture = np.empty((2, 2, 3), dtype=np.uint8)
    texture[:] = VIEW_BACKGROUND.bottom
    return body_to_polydata(BodyMesh(vertices=vertices, faces=faces, uvs=uvs, texture=texture))
