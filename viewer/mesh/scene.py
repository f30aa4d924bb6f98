"""How a body looks in 3D, shared by the interactive view and off-screen renders (no Qt).

One place for the surface response, the lights, the background and the framing, so that the
window, a screenshot and an exported turntable show the same body the same way.

Framing (see ``VIEW_FRAME``): the camera looks horizontally at the centre of the body's bounding
box, from the front (-Y) at azimuth 0; a positive azimuth moves the camera clockwise seen from
above (toward the person's right side), which looks like the body turning counter-clockwise.
The distance makes the box's nearest side fit the view with ``FRAME_MARGIN`` to spare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvista as pv

from viewer.mesh.mesh_data import VIEW_FRAME
from viewer.mesh.polydata import VERTEX_COLOURS_ARRAY, BodyPart, Bounds

RGB = tuple[int, int, int]

#: colour of a body without texture or vertex colours: a light, neutral clay
PLAIN_BODY_RGB: RGB = (0xBD, 0xB7, 0xB0)

#: extra room around the body when framed, as a fraction of its height / width
FRAME_MARGIN = 0.06

#: the views ``named_view_pose`` knows, in toolbar order
NAMED_VIEWS = ("front", "back", "left", "right", "top")

#: elevation of the Top view's camera: just short of straight down, where an upright orbit
#: (VTK's terrain style keeps the up vector, and stops 1 degree short of it) still turns freely
TOP_ELEVATION_DEG = 88.0

#: words in an OpenGL renderer string that name a CPU rasteriser (Mesa, Google, Windows)
_SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swiftshader", "software rasterizer", "gdi generic",
                       "basic render driver")

# Surface response tuned for skin under the lights below: a soft ambient floor so the sides never go
# black, mostly diffuse, a faint broad highlight rather than a plastic shine.
_SURFACE_STYLE: dict[str, Any] = dict(
    smooth_shading=False,  # each part carries its own point normals: no normals filter here
    interpolation="gouraud",
    ambient=0.28,
    diffuse=0.78,
    specular=0.04,
    specular_power=12.0,
    show_scalar_bar=False,
    reset_camera=False,
    render=False,
)


@dataclass(frozen=True)
class CameraPose:
    position: tuple[float, float, float]
    focal_point: tuple[float, float, float]
    up: tuple[float, float, float]


def add_body_part(plotter: pv.BasePlotter, part: BodyPart) -> pv.Actor:
    """Add one part of a body with the shared look: its texture, vertex colours or plain clay."""
    if part.texture is not None:
        return plotter.add_mesh(part.polydata, texture=part.texture, color="white", **_SURFACE_STYLE)
    if part.has_vertex_colours:
        return plotter.add_mesh(part.polydata, scalars=VERTEX_COLOURS_ARRAY, rgb=True, **_SURFACE_STYLE)
    return plotter.add_mesh(part.polydata, color=rgb_to_float(PLAIN_BODY_RGB), **_SURFACE_STYLE)


#: lighting presets: (light type, position in camera coordinates or None, intensity) per light.
#: Camera lights follow the camera, so a body turned in the view keeps the same lighting.
LIGHTING_PRESETS: dict[str, tuple[tuple[str, tuple[float, float, float] | None, float], ...]] = {
    # a white headlight (no shadowed side facing the viewer) plus a soft key from above-left
    "studio": (("headlight", None, 0.75), ("camera light", (-1.0, 1.0, 1.5), 0.35)),
    # flat and even: a dimmer headlight and weak fills from both upper sides
    "soft": (("headlight", None, 0.6), ("camera light", (-1.0, 0.6, 1.0), 0.22),
             ("camera light", (1.0, 0.6, 1.0), 0.22)),
    # a strong light from the viewer's right, a faint headlight: deep shading shows the shape
    "dramatic": (("headlight", None, 0.15), ("camera light", (2.0, 0.6, 0.5), 1.0)),
}


def set_up_body_lights(plotter: pv.BasePlotter, preset: str = "studio") -> None:
    """Replace the lights with one of ``LIGHTING_PRESETS`` (the default, "studio", is the usual look)."""
    plotter.remove_all_lights()
    for light_type, position, intensity in LIGHTING_PRESETS[preset]:
        if position is None:
            plotter.add_light(pv.Light(light_type=light_type, intensity=intensity))
        else:
            plotter.add_light(pv.Light(light_type=light_type, position=position, intensity=intensity))


def set_gradient_background(plotter: pv.BasePlotter, top: RGB, bottom: RGB) -> None:
    """A vertical gradient, ``top`` at the top edge (a solid colour when both are equal)."""
    if top == bottom:
        plotter.set_background(rgb_to_float(top))
    else:
        plotter.set_background(rgb_to_float(bottom), top=rgb_to_float(top))


def front_pose(
    bounds: Bounds,
    aspect: float,
    view_angle_deg: float,
    *,
    azimuth_deg: float = 0.0,
    whole_turn: bool = False,
) -> CameraPose:
    """The camera pose that frames ``bounds`` from the front, turned by ``azimuth_deg`` about +Z.

    ``aspect`` is the view's width / height. With ``whole_turn`` the distance fits the body at
    every azimuth (the box's horizontal half-diagonal is the width), so a turntable keeps one
    distance and the body never leaves the frame.
    """
    xmin, xmax, ymin, ymax, zmin, zmax = bounds
    centre = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    half_x, half_y = (xmax - xmin) / 2, (ymax - ymin) / 2
    if whole_turn:
        half_width = half_depth = math.hypot(half_x, half_y)
    else:
        half_width, half_depth = half_x, half_y
    distance = _fit_distance(half_width, (zmax - zmin) / 2, half_depth, aspect, view_angle_deg)

    turn = math.radians(azimuth_deg)
    fx, fy, fz = VIEW_FRAME.front
    # clockwise seen from above: (x, y) -> (x cos + y sin, -x sin + y cos)
    direction = np.array([fx * math.cos(turn) + fy * math.sin(turn),
                          -fx * math.sin(turn) + fy * math.cos(turn), fz])
    position = centre + direction * distance
    return CameraPose(
        position=tuple(float(v) for v in position),  # type: ignore[arg-type]
        focal_point=tuple(float(v) for v in centre),  # type: ignore[arg-type]
        up=VIEW_FRAME.up,
    )


def frame_front(
    plotter: pv.BasePlotter, bounds: Bounds, *, azimuth_deg: float = 0.0, whole_turn: bool = False
) -> None:
    """Place ``plotter``'s camera at ``front_pose`` for its window size and reset the clipping range."""
    width, height = plotter.window_size
    aspect = width / height if width > 0 and height > 0 else 1.0
    camera = plotter.camera
    camera.parallel_projection = False
    pose = front_pose(bounds, aspect, camera.view_angle, azimuth_deg=azimuth_deg, whole_turn=whole_turn)
    plotter.camera_position = [pose.position, pose.focal_point, pose.up]
    plotter.reset_camera_clipping_range()


def named_view_pose(bounds: Bounds, aspect: float, view_angle_deg: float, view: str) -> CameraPose:
    """The camera pose of one of ``NAMED_VIEWS``, looking at the centre of ``bounds``.

    "front" is ``front_pose``. The other views keep at least the Front view's distance, so an
    upright body keeps its size on screen when switching (and the Top view shows a small
    silhouette), and move further away when the body would not fit that view (a body lying down).
    "left" puts the camera on the person's left side (``VIEW_FRAME.left``), so their left side faces
    it. "top" looks down from ``TOP_ELEVATION_DEG`` with the front at the bottom of the image. The
    up vector stays ``VIEW_FRAME.up`` in every view, which an upright (terrain-style) orbit needs.
    """
    front = front_pose(bounds, aspect, view_angle_deg)
    if view == "front":
        return front
    if view not in _VIEW_AXES:
        raise ValueError(f"unknown view {view!r}; expected one of {NAMED_VIEWS}")
    centre = np.array(front.focal_point)
    width, height, depth = _view_half_extents(bounds, view)
    distance = max(float(np.linalg.norm(np.array(front.position) - centre)),
                   _fit_distance(width, height, depth, aspect, view_angle_deg))
    ahead, up, left = (np.array(axis) for axis in (VIEW_FRAME.front, VIEW_FRAME.up, VIEW_FRAME.left))
    elevation = math.radians(TOP_ELEVATION_DEG)
    direction = {
        "back": -ahead,
        "left": left,
        "right": -left,
        "top": math.cos(elevation) * ahead + math.sin(elevation) * up,
    }[view]
    position = centre + direction * distance
    return CameraPose(
        position=tuple(float(v) for v in position),  # type: ignore[arg-type]
        focal_point=front.focal_point,
        up=VIEW_FRAME.up,
    )


def parallel_scale_to_fit(bounds: Bounds, aspect: float, view: str = "front") -> float:
    """Half the view height (world units) of a parallel projection that frames ``bounds`` in a
    named view with the margin: at least the Front view's, like ``named_view_pose``."""
    def scale(name: str) -> float:
        width, height, _depth = _view_half_extents(bounds, name)
        return max(_with_margin(height), _with_margin(width) / (aspect if aspect > 0 else 1.0))

    return max(scale("front"), scale(view))


#: for each named view, the coordinate axes across the image, up the image and along the sight line
_VIEW_AXES = {"front": (0, 2, 1), "back": (0, 2, 1), "left": (1, 2, 0), "right": (1, 2, 0), "top": (0, 1, 2)}


def _view_half_extents(bounds: Bounds, view: str) -> tuple[float, float, float]:
    """Half the box's width, height and depth as seen in ``view``."""
    halves = [(bounds[2 * axis + 1] - bounds[2 * axis]) / 2 for axis in range(3)]
    across, upward, along = _VIEW_AXES[view]
    return halves[across], halves[upward], halves[along]


def _with_margin(half_extent: float) -> float:
    return max(half_extent, 1e-6) * (1 + FRAME_MARGIN)


def _fit_distance(half_width: float, half_height: float, half_depth: float, aspect: float,
                  view_angle_deg: float) -> float:
    """Distance from a box's centre at which a perspective camera frames it with ``FRAME_MARGIN``."""
    aspect = aspect if aspect > 0 else 1.0
    tan_half = math.tan(math.radians(view_angle_deg) / 2)
    # the box's near side is closer than its centre, so it is the side that must fit
    return max(_with_margin(half_height), _with_margin(half_width) / aspect) / tan_half + half_depth


def rotate_bounds(bounds: Bounds, rotation: np.ndarray) -> Bounds:
    """Axis-aligned bounds of ``bounds``' box turned by the 3x3 ``rotation`` about the origin
    (exact for quarter turns about the axes, a bounding box of the turned box otherwise)."""
    xmin, xmax, ymin, ymax, zmin, zmax = bounds
    corners = np.array([[x, y, z] for x in (xmin, xmax) for y in (ymin, ymax) for z in (zmin, zmax)])
    turned = corners @ np.asarray(rotation, dtype=float).T
    low, high = turned.min(axis=0), turned.max(axis=0)
    return (float(low[0]), float(high[0]), float(low[1]), float(high[1]), float(low[2]), float(high[2]))


def is_software_renderer(gl_renderer: str) -> bool:
    """Whether an OpenGL renderer string names a CPU rasteriser (llvmpipe, SwiftShader, ...)."""
    name = gl_renderer.lower()
    return any(word in name for word in _SOFTWARE_RENDERERS)


def rgb_to_float(rgb: RGB) -> tuple[float, float, float]:
    """0-255 channels to VTK's 0-1 floats."""
    return (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0)
