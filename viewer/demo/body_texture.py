"""UV atlas and painted texture of a generated body.

The body is split into six parts (trunk, head, two arms, two legs); each owns one tile of a square
atlas and a mapping from 3D to its tile:

- trunk, arms, legs: cylindrical about the part's axis. ``a`` is the angle around the axis as a
  fraction of a turn, 0.5 at the front, the seam at the back; ``t`` is the position along the axis.
- head: spherical about the cranium centre: ``a`` as above, ``t`` the elevation.

A face takes the part most of its corners belong to and gets per-corner UVs from that part's mapping
(a face straddling the seam gets its small-``a`` corners shifted by one turn), so seams need no
vertex split. Tiles are painted as functions of (angle, axial position), which are periodic in the
angle, so the strip beyond the seam is painted too. Front of the face = angle 0, the person's left
= positive angles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from viewer.demo.humanoid import BodyParams, Skeleton

PARTS = ("trunk", "head", "arm_left", "arm_right", "leg_left", "leg_right")
PART_INDEX = {name: i for i, name in enumerate(PARTS)}

TEXTURE_SIZE = 1024

#: Skin colours (sRGB), light to dark; ``BodyParams.skin_tone`` indexes this (modulo its length).
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (236, 188, 160),
    (222, 168, 132),
    (196, 138, 100),
    (160, 106, 72),
    (120, 78, 52),
    (86, 56, 40),
)
HAIR_COLORS: tuple[tuple[int, int, int], ...] = ((40, 28, 22), (86, 56, 32), (168, 128, 72), (120, 52, 28))
IRIS_COLORS: tuple[tuple[int, int, int], ...] = ((70, 45, 25), (60, 100, 150), (70, 110, 70))
#: Strap of a watch on the person's LEFT wrist: a marker that tells left from right.
WATCH_COLOR = (250, 200, 0)
SCLERA_COLOR = (245, 245, 240)
LIP_COLOR = (180, 70, 80)

#: Share of a tile's width spent on each side of the seam, so faces across it stay inside the tile.
_SEAM_PAD = 0.08

#: Tile of each part: (u0, v0, width, height) in UV units; v grows upward (OBJ convention).
_TILES = {
    "trunk": (0.0, 0.5, 0.5, 0.5),
    "head": (0.5, 0.5, 0.5, 0.5),
    "arm_left": (0.0, 0.0, 0.25, 0.5),
    "arm_right": (0.25, 0.0, 0.25, 0.5),
    "leg_left": (0.5, 0.0, 0.25, 0.5),
    "leg_right": (0.75, 0.0, 0.25, 0.5),
}


@dataclass(frozen=True)
class PartMapping:
    """3D point -> (turn fraction ``a``, axial ``t`` in 0..1) for one part."""

    origin: np.ndarray
    axis: np.ndarray  # unit; for the head: vertical
    front: np.ndarray  # unit, perpendicular to axis: angle 0
    left: np.ndarray  # unit: angle +90 degrees
    t_range: tuple[float, float]  # axial distance (or elevation in radians for the head) at t=0 and t=1
    spherical: bool = False

    def angle_and_t(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = points - self.origin
        along = rel @ self.axis
        angle = np.arctan2(rel @ self.left, rel @ self.front)
        if self.spherical:
            radial = np.linalg.norm(rel - along[:, None] * self.axis, axis=1)
            along = np.arctan2(along, radial)
        t0, t1 = self.t_range
        return angle / (2 * math.pi) + 0.5, np.clip((along - t0) / (t1 - t0), 0.0, 1.0)

    def axial_value(self, t: np.ndarray) -> np.ndarray:
        """Inverse of the axial mapping: metres along the axis (radians of elevation for the head)."""
        t0, t1 = self.t_range
        return t0 + t * (t1 - t0)


def _limb_mapping(root: np.ndarray, tip: np.ndarray, before: float, after: float) -> PartMapping:
    axis = (tip - root) / np.linalg.norm(tip - root)
    front = np.array([0.0, -1.0, 0.0]) - axis * (-axis[1])
    front /= np.linalg.norm(front)
    left = np.cross(axis, front)
    # Keep angle +90 degrees toward the person's left (+X) whichever way the axis points.
    if left[0] < 0:
        left = -left
    length = float(np.linalg.norm(tip - root))
    return PartMapping(root, axis, front, left, (-before, length + after))


@dataclass(frozen=True)
class BodyAtlas:
    """Part mappings of one body and where its landmarks fall in them."""

    mappings: dict[str, PartMapping]
    skeleton: "Skeleton"

    @classmethod
    def for_skeleton(cls, sk: "Skeleton") -> "BodyAtlas":
        h = sk.stature
        up = np.array([0.0, 0.0, 1.0])
        front = np.array([0.0, -1.0, 0.0])
        left = np.array([1.0, 0.0, 0.0])
        mappings = {
            "trunk": PartMapping(np.array([0.0, 0.01 * h, 0.0]), up, front, left,
                                 (sk.crotch_z - 0.06 * h, sk.head_center[2])),
            "head": PartMapping(sk.head_center, up, front, left, (-math.pi / 2, math.pi / 2), spherical=True),
        }
        for side in ("left", "right"):
            arm, leg = sk.arms[side], sk.legs[side]
            mappings[f"arm_{side}"] = _limb_mapping(arm.root, arm.tip, 0.1 * h, 0.02 * h)
            mappings[f"leg_{side}"] = _limb_mapping(leg.root, leg.end, 0.08 * h, 0.06 * h)
        return cls(mappings, sk)

    def corner_uvs(self, vertices: np.ndarray, faces: np.ndarray,
                   vertex_part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-corner UVs: ``(uvs (k,2), face_uvs (m,3))``; ``vertex_part`` indexes ``PARTS``."""
        corner_part = vertex_part[faces]
        face_part = np.where(corner_part[:, 1] == corner_part[:, 2], corner_part[:, 1], corner_part[:, 0])
        uv = np.zeros((len(faces), 3, 2))
        shifted = np.zeros((len(faces), 3), dtype=bool)
        for name, mapping in self.mappings.items():
            selected = np.flatnonzero(face_part == PART_INDEX[name])
            if selected.size == 0:
                continue
            a, t = mapping.angle_and_t(vertices[faces[selected]].reshape(-1, 3))
            a, t = a.reshape(-1, 3), t.reshape(-1, 3)
            across_seam = (a.max(axis=1) - a.min(axis=1)) > 0.5
            shift = across_seam[:, None] & (a < 0.5)
            a = np.clip(a + shift, -_SEAM_PAD, 1.0 + _SEAM_PAD)
            u0, v0, width, height = _TILES[name]
            uv[selected, :, 0] = u0 + width * (a + _SEAM_PAD) / (1.0 + 2 * _SEAM_PAD)
            uv[selected, :, 1] = v0 + height * t
            shifted[selected] = shift
        # A corner's UV depends only on (vertex, face part, shifted): share equal ones.
        key = (faces * len(PARTS) + face_part[:, None]) * 2 + shifted
        _, first, inverse = np.unique(key.ravel(), return_index=True, return_inverse=True)
        return uv.reshape(-1, 2)[first], inverse.reshape(-1, 3).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Painting
# --------------------------------------------------------------------------------------------


def _tile_grid(name: str, size: int) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Pixel rows/cols of a tile and the (angle in radians, t) at each pixel centre."""
    u0, v0, width, height = _TILES[name]
    cols = slice(round(u0 * size), round((u0 + width) * size))
    rows = slice(round((1.0 - v0 - height) * size), round((1.0 - v0) * size))
    u = ((np.arange(cols.start, cols.stop) + 0.5) / size - u0) / width
    v = ((size - np.arange(rows.start, rows.stop) - 0.5) / size - v0) / height
    a = u * (1.0 + 2 * _SEAM_PAD) - _SEAM_PAD
    angle, t = np.meshgrid((a - 0.5) * 2 * math.pi, v)
    return rows, cols, angle, t


def _fill(target: np.ndarray, mask: np.ndarray, color: tuple[int, int, int]) -> None:
    target[mask] = color


def _ellipse(angle: np.ndarray, elev: np.ndarray, center: tuple[float, float],
             radii: tuple[float, float]) -> np.ndarray:
    return ((angle - center[0]) / radii[0]) ** 2 + ((elev - center[1]) / radii[1]) ** 2 <= 1.0


def paint_texture(atlas: BodyAtlas, params: "BodyParams", rng: np.random.Generator,
                  size: int = TEXTURE_SIZE) -> Image.Image:
    """Skin, shorts, a top, hair and a face, painted tile by tile (see module docstring)."""
    sk = atlas.skeleton
    h = sk.stature
    male = sk.build == "male"
    skin = SKIN_TONES[params.skin_tone % len(SKIN_TONES)]
    hair = HAIR_COLORS[int(rng.integers(len(HAIR_COLORS)))]
    iris = IRIS_COLORS[int(rng.integers(len(IRIS_COLORS)))]
    image = np.empty((size, size, 3), dtype=np.float32)
    image[:] = skin

    waistband_z = sk.waist_z - 0.035 * h
    hem_z = 0.40 * h  # shorts end mid-thigh
    top_hem_z = waistband_z if male else sk.chest_z - 0.075 * h
    neckline_z = sk.neck_base_z - (0.02 if male else 0.065) * h

    # Trunk: shorts below the waistband, the top above its hem, a neckline at the front.
    rows, cols, angle, t = _tile_grid("trunk", size)
    z = atlas.mappings["trunk"].axial_value(t)
    tile = image[rows, cols]
    _fill(tile, z < waistband_z, params.shorts_color)
    front = np.cos(angle)
    neck_depth = np.clip(front, 0.0, 1.0) ** 6 * (0.035 if male else 0.05) * h
    upper_edge = neckline_z + 0.03 * h - neck_depth
    if not male:  # a sports top: its edge drops under the arms
        upper_edge = np.minimum(upper_edge, sk.chest_z + 0.026 * h + 0.06 * h * np.abs(front))
    _fill(tile, (z >= top_hem_z) & (z < upper_edge), params.top_color)

    # Head: hair above a hairline that is high at the front and low at the back; face at angle 0.
    rows, cols, angle, t = _tile_grid("head", size)
    elev = atlas.mappings["head"].axial_value(t)
    tile = image[rows, cols]
    back = (1.0 - np.cos(angle)) / 2.0
    hairline = math.radians(34) - back * math.radians(80 if male else 100)
    _fill(tile, elev > hairline, hair)
    # Face features: only the front window of the tile can hold them.
    in_window_cols = np.flatnonzero(np.abs(angle[0]) < 0.7)
    in_window_rows = np.flatnonzero(np.abs(elev[:, 0] + 0.35) < 0.75)
    window = (slice(in_window_rows[0], in_window_rows[-1] + 1), slice(in_window_cols[0], in_window_cols[-1] + 1))
    tile, angle, elev = tile[window], angle[window], elev[window]
    hc = sk.head_center
    eye_elev = math.atan2(sk.eye_z - hc[2], sk.head_radii[1])
    mouth_elev = math.atan2(sk.mouth_z - hc[2], sk.head_radii[1] * 0.85)
    eye_angle = math.radians(20)
    for sign in (1.0, -1.0):
        eye = (sign * eye_angle, eye_elev)
        _fill(tile, _ellipse(angle, elev, eye, (math.radians(10), math.radians(4.2))), SCLERA_COLOR)
        _fill(tile, _ellipse(angle, elev, eye, (math.radians(4.2), math.radians(4.0))), iris)
        _fill(tile, _ellipse(angle, elev, eye, (math.radians(1.9), math.radians(1.9))), (15, 15, 15))
        brow_center = (sign * (eye_angle + math.radians(1)), eye_elev + math.radians(9))
        brow = _ellipse(angle, elev, brow_center, (math.radians(12), math.radians(2.4 if male else 1.8)))
        _fill(tile, brow, hair)
    _fill(tile, _ellipse(angle, elev, (0.0, mouth_elev), (math.radians(15), math.radians(3.2))), LIP_COLOR)
    _fill(tile, _ellipse(angle, elev, (0.0, mouth_elev), (math.radians(14), math.radians(0.6))), (110, 40, 50))

    # Limbs: shorts on the thighs, sleeves for the male T-shirt, a watch on the left wrist.
    for side in ("left", "right"):
        rows, cols, angle, t = _tile_grid(f"leg_{side}", size)
        mapping = atlas.mappings[f"leg_{side}"]
        z = mapping.origin[2] + mapping.axial_value(t) * mapping.axis[2]
        tile = image[rows, cols]
        _fill(tile, z > hem_z, params.shorts_color)

        rows, cols, angle, t = _tile_grid(f"arm_{side}", size)
        mapping = atlas.mappings[f"arm_{side}"]
        along = mapping.axial_value(t)
        tile = image[rows, cols]
        arm = sk.arms[side]
        if male:
            _fill(tile, along < 0.45 * float(np.linalg.norm(arm.middle - arm.root)), params.top_color)
        if side == "left":
            wrist = float(np.linalg.norm(arm.end - arm.root))
            _fill(tile, np.abs(along - (wrist - 0.02 * h)) < 0.009 * h, WATCH_COLOR)

    # Subtle shading: a slight, smooth brightness variation so flat areas do not look synthetic.
    phase = rng.uniform(0, 2 * math.pi, 2)
    ramp = np.arange(size, dtype=np.float32) / size
    across = np.sin(2 * math.pi * 6 * ramp + phase[0]).astype(np.float32)
    down = np.sin(2 * math.pi * 5 * ramp + phase[1]).astype(np.float32)
    image *= (1.0 + 0.025 * down[:, None] * across[None, :])[..., None]
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "RGB")
