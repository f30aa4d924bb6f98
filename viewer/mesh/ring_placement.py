"""Where each API circumference goes on a body: one closed loop per ``*Fit`` key, ready to draw.

The Prism API returns numbers, not positions, so a ring's place comes from documented body
landmarks and proportions: the table ``viewer.mesh.measure.LANDMARKS`` (fractions of stature,
after Drillis & Contini as reproduced by Winter, with the navel at 0.60 of stature) decides the
height or the distance along a limb; ``measure_body`` then cuts the mesh there:
- torso keys: a horizontal section, arms removed (the shoulder ring keeps the deltoids);
- limb keys: the section across the limb's own axis (arms slope in an A-pose), around that limb
  only; ``...LeftFit`` is the person's own left, which is +X in ``VIEW_FRAME``.

This module adds what a view needs to draw and label a ring: its plane (centre and normal), its
length on the mesh, a copy pushed outward so a tube along it is not buried in the skin, and where
to anchor its label. Input and output are ``VIEW_FRAME`` metres. Pure numpy: runs in a worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from viewer.mesh.measure import measure_body


@dataclass(frozen=True)
class PlacedRing:
    """One circumference: the closed loop a tape measure follows on the mesh."""

    key: str
    points: np.ndarray  # (k, 3) closed polyline: the last point joins the first
    length: float  # metres, the loop's perimeter
    centre: np.ndarray  # (3,) mean of the points
    normal: np.ndarray  # (3,) unit normal of the loop's plane, z >= 0 (up for the torso)
    side: str  # "left" / "right" (the person's own, +X / -X) for a limb, "centre" for the torso

    def lifted(self, clearance: float) -> np.ndarray:
        """The loop with each point moved ``clearance`` metres away from the centre, in its plane."""
        radial = self.points - self.centre
        radial -= np.outer(radial @ self.normal, self.normal)
        norms = np.linalg.norm(radial, axis=1, keepdims=True)
        return self.points + clearance * radial / np.where(norms > 0, norms, 1.0)

    @property
    def label_anchor(self) -> np.ndarray:
        """Where a label goes beside the loop: its outermost point, -X for a right limb, else +X."""
        x = self.points[:, 0]
        return self.points[int(np.argmin(x) if self.side == "right" else np.argmax(x))]


@dataclass(frozen=True)
class BodyRings:
    """Every ring that could be placed on one body, by API key."""

    rings: Mapping[str, PlacedRing]
    stature: float  # metres from the lowest to the highest point (the body's height on the mesh)
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def get(self, key: str) -> PlacedRing | None:
        return self.rings.get(key)


def _plane_normal(points: np.ndarray) -> np.ndarray:
    centred = points - points.mean(axis=0)
    normal = np.linalg.svd(centred, full_matrices=False)[2][-1]
    return -normal if normal[2] < 0 else normal


def place_rings(vertices: np.ndarray, faces: np.ndarray) -> BodyRings:
    """The ring of every circumference key ``measure_body`` can place on this mesh.

    Raises ``ValueError`` when the mesh is not a standing body in metres (see ``measure_body``).
    """
    measured = measure_body(vertices, faces)
    rings = {}
    for key, points in measured.rings.items():
        points = np.asarray(points, dtype=np.float64)
        side = "left" if key.endswith("LeftFit") else "right" if key.endswith("RightFit") else "centre"
        rings[key] = PlacedRing(key=key, points=points, length=measured.values[key],
                                centre=points.mean(axis=0), normal=_plane_normal(points), side=side)
    z = np.asarray(vertices)[:, 2]
    return BodyRings(MappingProxyType(rings), float(z.max() - z.min()), measured.warnings)
