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


def set_up_body_lights(plotter: pv.BasePlotter) -> None:
    """A white headlight (no shadowed side facing the viewer) plus a soft key from above-left.

    Both follow the camera, so a camera turning around the body keeps the same lighting.
    """
    plotter.remove_all_lights()
    plotter.add_light(pv.Light(light_type="headlight", intensity=0.75))
    plotter.add_light(pv.Light(light_type="camera light", position=(-1.0, 1.0, 1.5), intensity=0.35))


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
    half_height = max((zmax - zmin) / 2, 1e-6) * (1 + FRAME_MARGIN)
    half_width = max(half_width, 1e-6) * (1 + FRAME_MARGIN)
    aspect = aspect if aspect > 0 else 1.0
    tan_half = math.tan(math.radians(view_angle_deg) / 2)
    # the box's near side is closer than its centre, so it is the side that must fit
    distance = max(half_height, half_width / aspect) / tan_half + half_depth

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


def rgb_to_float(rgb: RGB) -> tuple[float, float, float]:
    """0-255 channels to VTK's 0-1 floats."""
    return (rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0)
