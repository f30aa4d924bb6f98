"""The embedded 3D view: one textured body, lit for skin, seen from the front, upright.

Rules:
- GUI thread only. Build the data with ``viewer.mesh.polydata.body_to_polydata`` in a worker;
  ``show_body`` then only adds actors and renders.
- ``auto_update=False``: nothing renders by itself; every public method that changes the scene
  renders explicitly, once. Switching bodies adds the new actors, removes the old ones, then
  renders a single frame, so no intermediate (empty or doubled) frame is ever shown.
- The camera: named views (``NAMED_VIEWS``: front, back, the person's left / right side, top)
  at least at the Front view's distance (``viewer.mesh.scene.named_view_pose``), perspective or
  parallel projection; the up vector is always
  ``VIEW_FRAME.up``. A body can be turned by a rotation of its actors (``set_body_rotation``: an
  orientation correction), which re-frames the current named view around the turned body.
- Display choices (representation, texture on/off, lighting preset, background, anti-aliasing)
  are kept here and applied to every body shown next; ``show_body`` resets the rotation.
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
import math
import time
from dataclasses import dataclass

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
    FRAME_MARGIN,
    LIGHTING_PRESETS,
    NAMED_VIEWS,
    PLAIN_BODY_RGB,
    add_body_part,
    is_software_renderer,
    named_view_pose,
    parallel_scale_to_fit,
    rgb_to_float,
    rotate_bounds,
    set_up_body_lights,
)

log = logging.getLogger(__name__)

#: how the surface is drawn: filled, filled with its triangle edges, edges only, vertices only
REPRESENTATIONS = ("surface", "surface_edges", "wireframe", "points")

#: the dark alternative to ``VIEW_BACKGROUND`` (the default, which the pixel checks expect)
DARK_BACKGROUND = Background(top=(0x3A, 0x3F, 0x47), bottom=(0x1C, 0x1F, 0x24))
BACKGROUNDS = {"light": VIEW_BACKGROUND, "dark": DARK_BACKGROUND}

#: "auto": on when a hardware GPU renders, off on a software renderer (too slow there)
ANTI_ALIASING_MODES = ("auto", "on", "off")

_EDGE_RGB: RGB = (0x30, 0x33, 0x38)
_POINT_SIZE = 3.0



class _KeylessInteractor(QtInteractor):
    """A QtInteractor that leaves every key to its parents (VTK never sees one)."""

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        event.ignore()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        event.ignore()


@dataclass(frozen=True)
class _BodyActor:
    """An actor of the shown body and what it can be coloured with."""

    actor: pv.Actor
    texture: pv.Texture | None
    has_vertex_colours: bool


class BodyView(QWidget):
    """Shows one ``PreparedBody`` in an embedded pyvista plotter."""

    #: emitted after the first render of a newly shown body: seconds from ``show_body`` to frame
    rendered = Signal(float)
    #: the shown body was turned by ``set_body_rotation``: the new 3x3 rotation (identity when
    #: none). Overlays drawn in the mesh's frame follow it (``actor.user_matrix``).
    bodyRotated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plotter = _KeylessInteractor(self, auto_update=False, multi_samples=0, lighting="none")
        self._plotter.setAcceptDrops(False)  # pyvistaqt would pv.read() any dropped file
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._plotter)

        self._closed = False
        self._body_actors: list[_BodyActor] = []
        self._prepared_bounds: Bounds | None = None  # as prepared, before the rotation
        self._bounds: Bounds | None = None  # as shown
        self._rotation: np.ndarray | None = None  # None: as loaded
        self._warmed_up = False
        self._view_name = "front"
        self._parallel = False
        self._representation = "surface"
        self._texture_visible = True
        self._lighting = "studio"
        self._anti_aliasing = "auto"
        self._gl_renderer = ""

        self._plotter.enable_terrain_style(mouse_wheel_zooms=True, shift_pans=True)
        set_up_body_lights(self._plotter, self._lighting)
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
        return tuple(entry.actor for entry in self._body_actors)

    @property
    def bounds(self) -> Bounds | None:
        """The shown body's bounds in the scene (after ``set_body_rotation``), None without a body."""
        return self._bounds

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
        for entry in new_actors:
            self._style_actor(entry)
        self._remove_actors(self._body_actors)
        self._body_actors = new_actors
        self._prepared_bounds = self._bounds = prepared.bounds
        self._rotation = None
        self._apply_anti_aliasing()
        if reset_camera:
            self._view_name = "front"
            self._place_camera(prepared.bounds)
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
        self._prepared_bounds = self._bounds = None
        self._rotation = None
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
        self.show_view("front")

    def show_view(self, name: str) -> None:
        """Move the camera to one of ``NAMED_VIEWS`` around the shown body and render.

        "left" / "right" are the person's own sides: in the "left" view their left side faces
        the camera. An upright body keeps its size on screen from view to view.
        """
        if name not in NAMED_VIEWS:
            raise ValueError(f"unknown view {name!r}; expected one of {NAMED_VIEWS}")
        self._view_name = name
        if self._closed or self._bounds is None:
            return
        self._place_camera(self._bounds)
        self._plotter.render()

    @property
    def view_name(self) -> str:
        """The named view last asked for (the user may have orbited away from it since)."""
        return self._view_name

    @property
    def parallel_projection(self) -> bool:
        return self._parallel

    def set_parallel_projection(self, parallel: bool) -> None:
        """Orthographic (``True``) or perspective projection; the body keeps its size on screen."""
        self._parallel = bool(parallel)
        if self._closed:
            return
        camera = self._plotter.camera
        if self._parallel and not camera.parallel_projection:
            distance = float(np.linalg.norm(np.subtract(camera.position, camera.focal_point)))
            camera.parallel_scale = distance * math.tan(math.radians(camera.view_angle) / 2)
        camera.parallel_projection = self._parallel
        self._plotter.reset_camera_clipping_range()
        self._plotter.render()

    # --- orientation ---------------------------------------------------------------------------

    @property
    def body_rotation(self) -> np.ndarray:
        """The 3x3 rotation applied to the shown body's actors (identity when none)."""
        return np.eye(3) if self._rotation is None else self._rotation.copy()

    def set_body_rotation(self, rotation: np.ndarray | None) -> None:
        """Turn the shown body by ``rotation`` (3x3, about the origin, replacing any earlier one)
        and re-frame the current named view around it; ``None`` shows it as loaded."""
        if self._closed or self._prepared_bounds is None:
            return
        matrix = np.eye(3) if rotation is None else np.asarray(rotation, dtype=float)
        if matrix.shape != (3, 3):
            raise ValueError(f"expected a 3x3 rotation, got shape {matrix.shape}")
        self._rotation = None if np.allclose(matrix, np.eye(3)) else matrix
        transform = np.eye(4)
        transform[:3, :3] = matrix
        for entry in self._body_actors:
            entry.actor.user_matrix = transform
        self._bounds = rotate_bounds(self._prepared_bounds, matrix)
        self._place_camera(self._bounds)
        self._plotter.render()
        self.bodyRotated.emit(matrix.copy())

    # --- display -------------------------------------------------------------------------------

    @property
    def representation(self) -> str:
        return self._representation

    def set_representation(self, representation: str) -> None:
        """Draw the body as one of ``REPRESENTATIONS`` (kept for the bodies shown next)."""
        if representation not in REPRESENTATIONS:
            raise ValueError(f"unknown representation {representation!r}; expected one of {REPRESENTATIONS}")
        self._representation = representation
        self._restyle()

    @property
    def texture_visible(self) -> bool:
        return self._texture_visible

    def set_texture_visible(self, visible: bool) -> None:
        """Colour the body with its texture / vertex colours (``True``) or plain clay."""
        self._texture_visible = bool(visible)
        self._restyle()

    @property
    def lighting(self) -> str:
        return self._lighting

    def set_lighting(self, preset: str) -> None:
        """One of ``viewer.mesh.scene.LIGHTING_PRESETS`` ("studio" is the default look)."""
        if preset not in LIGHTING_PRESETS:
            raise ValueError(f"unknown lighting {preset!r}; expected one of {tuple(LIGHTING_PRESETS)}")
        self._lighting = preset
        if self._closed:
            return
        set_up_body_lights(self._plotter, preset)
        self._plotter.render()

    @property
    def anti_aliasing(self) -> str:
        """The anti-aliasing setting: one of ``ANTI_ALIASING_MODES``."""
        return self._anti_aliasing

    @property
    def anti_aliasing_active(self) -> bool:
        """Whether anti-aliasing (FXAA) is on now."""
        return not self._closed and bool(self._plotter.renderer.GetUseFXAA())

    def set_anti_aliasing(self, mode: str) -> None:
        """"on", "off", or "auto": on unless the GL renderer is a software one (see ``gl_renderer``)."""
        if mode not in ANTI_ALIASING_MODES:
            raise ValueError(f"unknown anti-aliasing mode {mode!r}; expected one of {ANTI_ALIASING_MODES}")
        self._anti_aliasing = mode
        if self._closed:
            return
        self._apply_anti_aliasing()
        self._plotter.render()

    @property
    def gl_renderer(self) -> str:
        """The OpenGL renderer string (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"); "" until the view
        has rendered once."""
        window = None if self._closed else self._plotter.render_window
        if not self._gl_renderer and window is not None and not window.GetNeverRendered():
            report = window.ReportCapabilities() or ""
            for line in report.splitlines():
                if "renderer string" in line.lower():
                    self._gl_renderer = line.split(":", 1)[1].strip()
                    break
        return self._gl_renderer

    def render_image(self) -> np.ndarray:
        """Render now and return the view as an (h, w, 3) uint8 RGB image."""
        if self._closed:
            raise RuntimeError("the 3D view is closed")
        self._plotter.render()
        image = self._plotter.screenshot(transparent_background=False, return_img=True)
        return np.ascontiguousarray(np.asarray(image)[:, :, :3], dtype=np.uint8)

    def capture_image(self, scale: int = 1, *, transparent: bool = False) -> np.ndarray:
        """Render the view at ``scale`` times its size (in tiles, off the widget) and return it:
        (h, w, 3) RGB, or (h, w, 4) RGBA with a fully transparent background when ``transparent``."""
        if self._closed:
            raise RuntimeError("the 3D view is closed")
        if scale < 1:
            raise ValueError(f"scale must be 1 or more, not {scale}")
        renderer, window = self._plotter.renderer, self._plotter.render_window
        gradient, alpha_planes = renderer.GetGradientBackground(), window.GetAlphaBitPlanes()
        if transparent:
            renderer.SetBackgroundAlpha(0.0)
            renderer.GradientBackgroundOff()
            window.AlphaBitPlanesOn()
        try:
            self._plotter.render()
            image = self._plotter.screenshot(transparent_background=transparent, return_img=True, scale=scale)
        finally:
            if transparent:
                renderer.SetBackgroundAlpha(1.0)
                renderer.SetGradientBackground(gradient)
                window.SetAlphaBitPlanes(alpha_planes)
                self._plotter.render()
        return np.ascontiguousarray(np.asarray(image)[:, :, : 4 if transparent else 3], dtype=np.uint8)

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
        self._place_camera(throwaway.bounds, "front")
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
        # pyvistaqt keeps Python wrappers of its GL context and surface. Once Qt deletes them, a
        # wrapper left behind can be handed out for a new object at the same address (a new view's
        # context then arrives as a "QSurface" and initializeGL fails): drop them with the view.
        forget = getattr(self._plotter, "_forget_context", None)
        if callable(forget):
            forget()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.close_view()
        super().closeEvent(event)

    # --- internals -----------------------------------------------------------------------------

    def _add_part(self, part: BodyPart) -> _BodyActor:
        return _BodyActor(add_body_part(self._plotter, part), part.texture, part.has_vertex_colours)

    def _remove_actors(self, actors: list[_BodyActor]) -> None:
        for entry in actors:
            self._plotter.remove_actor(entry.actor, reset_camera=False, render=False)

    def _restyle(self) -> None:
        if self._closed:
            return
        for entry in self._body_actors:
            self._style_actor(entry)
        self._plotter.render()

    def _style_actor(self, entry: _BodyActor) -> None:
        """Apply the representation and the texture choice to one body actor."""
        prop = entry.actor.prop
        coloured = self._texture_visible
        if entry.texture is not None:
            entry.actor.texture = entry.texture if coloured else None
            prop.color = "white" if coloured else rgb_to_float(PLAIN_BODY_RGB)
        elif entry.has_vertex_colours:
            entry.actor.mapper.scalar_visibility = coloured
            prop.color = rgb_to_float(PLAIN_BODY_RGB)
        representation = self._representation
        prop.style = {"points": "points", "wireframe": "wireframe"}.get(representation, "surface")
        prop.show_edges = representation == "surface_edges"
        prop.edge_color = rgb_to_float(_EDGE_RGB)
        prop.point_size = _POINT_SIZE

    def _place_camera(self, bounds: Bounds, name: str | None = None) -> None:
        """Put the camera at a named view (the current one by default) for this window size."""
        width, height = self._plotter.window_size
        aspect = width / height if width > 0 and height > 0 else 1.0
        camera = self._plotter.camera
        view = name or self._view_name
        pose = named_view_pose(bounds, aspect, camera.view_angle, view)
        self._plotter.camera_position = [pose.position, pose.focal_point, pose.up]
        camera.parallel_projection = self._parallel
        camera.parallel_scale = parallel_scale_to_fit(bounds, aspect, view)
        self._plotter.reset_camera_clipping_range()

    def _apply_anti_aliasing(self) -> None:
        wanted = self._anti_aliasing == "on" or (
            self._anti_aliasing == "auto" and bool(self.gl_renderer) and not is_software_renderer(self.gl_renderer))
        if wanted == bool(self._plotter.renderer.GetUseFXAA()):
            return
        if wanted:
            self._plotter.enable_anti_aliasing("fxaa")
        else:
            self._plotter.disable_anti_aliasing()
        log.info("anti-aliasing %s (%s, renderer %r)", "on" if wanted else "off", self._anti_aliasing,
                 self.gl_renderer)


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
