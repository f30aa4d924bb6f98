"""Body measurements (Prism's ``MeasurementDto`` keys) computed from a body's own geometry.

Input: a triangle mesh in VIEW_FRAME (+Z up, face toward -Y, the person's own left toward +X),
metres, feet at the lowest z. Output: ``BodyMeasurements`` with ``values`` (metres for the
``*Fit`` circumferences, unitless ratios, m^3 for the volume) and ``rings``: for each
circumference the closed polyline a tape measure would follow (``(k, 3)`` points, the last point
joins the first), so a view can draw it on the body.

How a circumference is taken:
- Torso (neck, shoulder, chests, waists, stomach, hips): the horizontal section at a landmark
  height; its torso loop (the largest one) after removing whatever lies inside an arm; the
  perimeter of its convex hull, like a tape pulled round the body. The shoulder circumference is
  taken over the deltoids, so it keeps the arms.
- Limbs: the section perpendicular to the limb's own axis (arms slope in an A-pose); the loop
  around that limb only; its convex hull. If two thighs touch, the loop is cut at the midline.
  Limb axes are lines fitted through the centres of horizontal sections of each arm and leg.
- Left/right are the person's own sides: +X is the person's left in VIEW_FRAME.

Landmark heights are fractions of stature (table ``LANDMARKS``); "max"/"min" entries search a
height range for the largest/smallest girth, as anthropometric definitions of calf, ankle, hips,
stomach, natural waist and wrist do. A value that cannot be found (odd input, missing limb) is
left out and a reason added to ``warnings``; only input that is not a body at all raises
``ValueError``. Pure numpy + trimesh.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import trimesh

logger = logging.getLogger(__name__)

#: Where each circumference is taken, as (kind, fractions of stature). Kinds: "at" one height, "max"/"min"
#: over a height range. Sources: joint and landmark heights of Drillis & Contini (1966) as
#: reproduced in D. A. Winter, "Biomechanics and Motor Control of Human Movement", Fig. 4.1
#: (chin 0.870, shoulder 0.818, chest 0.720, elbow 0.630, hip 0.530, wrist 0.485, knee 0.285,
#: ankle 0.039; segment lengths upper arm 0.186, forearm 0.146); the navel at about 0.60 of
#: stature (the classical Vitruvian proportion, close to measured omphalion heights). Heights
#: between those landmarks (neck, upper/lower chest, stomach) are interpolated by us.
LANDMARKS: dict[str, tuple[str, float, float]] = {
    # torso, horizontal sections
    "neckFit": ("min", 0.830, 0.880),  # narrowest between the shoulder line 0.818 and the chin 0.870
    "shoulderFit": ("at", 0.800, 0.800),  # over the deltoids, just below the acromion 0.818
    "upperChestFit": ("at", 0.760, 0.760),  # armpit level, between shoulder and chest
    "chestFit": ("max", 0.700, 0.740),  # chest (nipple) line 0.720
    "lowerChestFit": ("at", 0.675, 0.675),  # under the chest
    "waistFit": ("min", 0.580, 0.670),  # natural waist: narrowest trunk girth
    "waistNavyFit": ("at", 0.600, 0.600),  # at the navel, as the US Navy method measures men
    "stomachFit": ("max", 0.565, 0.610),  # fullest part of the abdomen, around the navel
    "hipsFit": ("max", 0.470, 0.560),  # fullest part of the buttocks, below the hip joint 0.530
    # legs, cut perpendicular to each leg's axis; heights measured on the axis
    "upperThighFit": ("at", -0.015, -0.015),  # relative to the crotch (gluteal fold)
    "thighFit": ("at", 0.385, 0.385),  # mid-thigh, between crotch and knee 0.285
    "lowerThighFit": ("at", 0.330, 0.330),  # just above the knee 0.285
    "calfFit": ("max", 0.160, 0.260),
    "ankleFit": ("min", 0.050, 0.100),  # narrowest, just above the ankle 0.039
    # arms: distance from the shoulder joint along the arm axis
    "midArmFit": ("at", 0.093, 0.093),  # half the upper arm 0.186: biceps
    "lowerArmFit": ("at", 0.160, 0.160),  # lower upper arm, above the elbow at 0.186
    "forearmFit": ("max", 0.200, 0.250),  # fullest forearm, below the elbow
    "wristFit": ("min", 0.305, 0.345),  # wrist at 0.332 (upper arm + forearm)
}
#: Shoulder joint height (fraction of stature) where arm distances start: just below the acromion.
_SHOULDER_JOINT = 0.800
_RANGE_SAMPLES = 5
#: Density used to estimate weight from volume when no weight is given (kg/m^3): a scanned body,
#: lungs included, is close to water.
_BODY_DENSITY = 1000.0
_LEFT, _RIGHT = "left", "right"


@dataclass(frozen=True)
class BodyMeasurements:
    values: dict[str, float]
    rings: dict[str, np.ndarray]  # key -> (k, 3) closed polyline (VIEW_FRAME, metres)
    warnings: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------


def _plane_basis(normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([0.0, 0.0, 1.0]) if abs(normal[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    e1 = np.cross(normal, helper)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(normal, e1)


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Indices of the 2D convex hull, counter-clockwise (Andrew's monotone chain)."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    if len(order) < 3:
        return order

    def half(indices: np.ndarray) -> list[int]:
        chain: list[int] = []
        for i in indices:
            while len(chain) >= 2:
                o, a = points[chain[-2]], points[chain[-1]]
                b = points[i]
                if (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]) > 1e-15:
                    break
                chain.pop()
            chain.append(int(i))
        return chain

    lower, upper = half(order), half(order[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _closed_length(points: np.ndarray) -> float:
    return float(np.linalg.norm(points - np.roll(points, -1, axis=0), axis=1).sum())


def _polygon_area(points2d: np.ndarray) -> float:
    x, y = points2d[:, 0], points2d[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _contains(points2d: np.ndarray, query: np.ndarray) -> bool:
    """Even-odd rule: is ``query`` inside the closed polygon ``points2d``?"""
    a = points2d
    b = np.roll(points2d, -1, axis=0)
    straddles = (a[:, 1] > query[1]) != (b[:, 1] > query[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[:, 0] + (query[1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return bool(np.count_nonzero(straddles & (x_cross > query[0])) % 2)


@dataclass(frozen=True)
class _Loop:
    points: np.ndarray  # (k, 3) on the plane
    flat: np.ndarray  # (k, 2) in the plane basis

    @property
    def centroid(self) -> np.ndarray:
        return self.points.mean(axis=0)

    @property
    def area(self) -> float:
        return _polygon_area(self.flat)


class _Body:
    """A merged, edge-indexed copy of the mesh that can be cut by planes."""

    def __init__(self, vertices: np.ndarray, faces: np.ndarray) -> None:
        # Merge vertices that share a position (files split them at UV seams) so sections close.
        keys = np.round(vertices / 1e-7).astype(np.int64)
        _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        faces = inverse.reshape(-1)[faces]
        faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
        self.mesh = trimesh.Trimesh(vertices[first], faces, process=False)
        self.vertices = np.asarray(self.mesh.vertices)
        self.edges = np.asarray(self.mesh.edges_unique)
        self.face_edges = np.asarray(self.mesh.faces_unique_edges)
        # each corner column contiguous: per-column gathers beat reductions along a 3-wide axis
        self.corner0, self.corner1, self.corner2 = (np.ascontiguousarray(self.mesh.faces[:, i]) for i in range(3))

    def section(self, origin: np.ndarray, normal: np.ndarray) -> list[_Loop]:
        """Loops where the plane cuts the surface (open chains at holes are kept as loops too)."""
        normal = normal / np.linalg.norm(normal)
        distance = (self.vertices - origin) @ normal
        distance[distance == 0.0] = 1e-12  # a vertex exactly on the plane counts as above it
        # Only faces with corners on both sides can hold a crossing edge: work on those alone
        # (a few hundred of a million faces), which makes a cut of a 500k-face body ~5x cheaper.
        above = distance > 0
        a0, a1, a2 = above[self.corner0], above[self.corner1], above[self.corner2]
        straddling = (a0 != a1) | (a1 != a2)
        cut_face_edges = self.face_edges[straddling]
        candidates = np.unique(cut_face_edges)
        da, db = distance[self.edges[candidates, 0]], distance[self.edges[candidates, 1]]
        crossing = (da > 0) != (db > 0)
        crossing_edges = candidates[crossing]  # sorted, as np.unique returns them
        if crossing_edges.size == 0:
            return []
        da, db = da[crossing], db[crossing]
        ratio = da / (da - db)
        a, b = self.vertices[self.edges[crossing_edges, 0]], self.vertices[self.edges[crossing_edges, 1]]
        points = a + ratio[:, None] * (b - a)

        slot = np.minimum(np.searchsorted(crossing_edges, cut_face_edges), crossing_edges.size - 1)
        face_nodes = np.where(crossing_edges[slot] == cut_face_edges, slot, -1)
        cut_faces = face_nodes[(face_nodes >= 0).sum(axis=1) == 2]
        pairs = np.sort(cut_faces, axis=1)[:, 1:]  # the -1 sorts first
        neighbours = np.full((crossing_edges.size, 2), -1, dtype=np.int64)
        for p, q in pairs.tolist():
            neighbours[p, 0 if neighbours[p, 0] < 0 else 1] = q
            neighbours[q, 0 if neighbours[q, 0] < 0 else 1] = p

        e1, e2 = _plane_basis(normal)
        visited = np.zeros(crossing_edges.size, dtype=bool)
        degree = (neighbours >= 0).sum(axis=1)
        starts = np.concatenate([np.flatnonzero(degree == 1), np.arange(crossing_edges.size)])
        loops: list[_Loop] = []
        for start in starts.tolist():
            if visited[start]:
                continue
            chain = [start]
            visited[start] = True
            current = start
            while True:
                options = [n for n in neighbours[current].tolist() if n >= 0 and not visited[n]]
                if not options:
                    break
                current = options[0]
                visited[current] = True
                chain.append(current)
            if len(chain) >= 3:
                loop_points = points[chain]
                rel = loop_points - origin
                loops.append(_Loop(loop_points, np.column_stack([rel @ e1, rel @ e2])))
        return loops


def _hull_ring(points: np.ndarray, origin: np.ndarray, normal: np.ndarray) -> np.ndarray:
    e1, e2 = _plane_basis(normal / np.linalg.norm(normal))
    rel = points - origin
    return points[_convex_hull(np.column_stack([rel @ e1, rel @ e2]))]


# --------------------------------------------------------------------------------------------
# Limb axes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    point: np.ndarray  # on the axis at its reference landmark (shoulder joint, or hip end)
    direction: np.ndarray  # unit, pointing down the limb
    radius: float  # typical radius of the limb's sections

    def at(self, distance: float) -> np.ndarray:
        return self.point + distance * self.direction

    def at_height(self, z: float) -> np.ndarray:
        return self.point + (z - self.point[2]) / self.direction[2] * self.direction


def _fit_axis(centroids: list[np.ndarray], radii: list[float]) -> tuple[np.ndarray, np.ndarray, float] | None:
    if len(centroids) < 3:
        return None
    pts = np.array(centroids)
    mean = pts.mean(axis=0)
    _, _, vt = np.linalg.svd(pts - mean)
    direction = vt[0] if vt[0][2] < 0 else -vt[0]
    return mean, direction, float(np.median(radii))


class _Measurer:
    def __init__(self, body: _Body) -> None:
        self.body = body
        z = body.vertices[:, 2]
        self.floor = float(z.min())
        self.stature = float(z.max() - z.min())
        self.warnings: list[str] = []
        self.values: dict[str, float] = {}
        self.rings: dict[str, np.ndarray] = {}
        self.center_x = float(np.median(body.vertices[:, 0]))
        self.arms: dict[str, _Axis] = {}
        self.legs: dict[str, _Axis] = {}
        self.crotch_z: float | None = None

    def z(self, fraction: float) -> float:
        return self.floor + fraction * self.stature

    def horizontal(self, fraction_or_z: float, absolute: bool = False) -> list[_Loop]:
        z = fraction_or_z if absolute else self.z(fraction_or_z)
        return self.body.section(np.array([0.0, 0.0, z]), np.array([0.0, 0.0, 1.0]))

    def side_of(self, point: np.ndarray) -> str:
        return _LEFT if point[0] > self.center_x else _RIGHT

    # -- axes -------------------------------------------------------------------------------

    def legs_apart(self, z: float) -> dict[str, _Loop] | None:
        """The largest loop on each side at height z, if two legs stand apart there."""
        best: dict[str, _Loop] = {}
        for loop in self.horizontal(z, absolute=True):
            side = self.side_of(loop.centroid)
            if loop.area > (best[side].area if side in best else 0.0):
                best[side] = loop
        if len(best) < 2:
            return None
        for loop in best.values():
            if _contains(loop.points[:, :2], np.array([self.center_x, loop.centroid[1]])):
                return None  # one loop spans the midline: this is the trunk, not two legs
        return best

    def find_legs(self) -> None:
        samples: dict[str, tuple[list[np.ndarray], list[float]]] = {_LEFT: ([], []), _RIGHT: ([], [])}
        crotch = None
        for fraction in np.arange(0.08, 0.50, 0.02):
            best = self.legs_apart(self.z(float(fraction)))
            if best is None:
                continue
            for side, loop in best.items():
                samples[side][0].append(loop.centroid)
                samples[side][1].append(math.sqrt(loop.area / math.pi))
            crotch = self.z(float(fraction))
        if crotch is not None:
            # Refine in steps of 0.2 % of stature: the highest height where the legs are still apart.
            base = crotch
            for step in np.arange(0.002, 0.04, 0.002):
                if self.legs_apart(base + float(step) * self.stature) is None:
                    break
                crotch = base + float(step) * self.stature
        self.crotch_z = crotch
        for side, (centroids, radii) in samples.items():
            fit = _fit_axis(centroids, radii)
            if fit is None:
                self.warnings.append(f"no {side} leg found")
                continue
            mean, direction, radius = fit
            if abs(direction[2]) < 0.5:
                self.warnings.append(f"the {side} leg is not upright")
                continue
            self.legs[side] = _Axis(mean, direction, radius)

    def find_arms(self) -> None:
        samples: dict[str, tuple[list[np.ndarray], list[float]]] = {_LEFT: ([], []), _RIGHT: ([], [])}
        low = max(0.50, (self.crotch_z - self.floor) / self.stature + 0.03) if self.crotch_z else 0.50
        for fraction in np.arange(low, 0.79, 0.02):
            loops = self.horizontal(float(fraction))
            if len(loops) < 2:
                continue
            torso = max(loops, key=lambda loop: loop.area)
            outer: dict[str, _Loop] = {}
            for loop in loops:
                if loop is torso or loop.area < 2e-4 * self.stature**2:
                    continue
                side = self.side_of(loop.centroid)
                lateral = abs(loop.centroid[0] - self.center_x)
                if side not in outer or lateral > abs(outer[side].centroid[0] - self.center_x):
                    outer[side] = loop
            for side, loop in outer.items():
                samples[side][0].append(loop.centroid)
                samples[side][1].append(math.sqrt(loop.area / math.pi))
        for side, (centroids, radii) in samples.items():
            fit = _fit_axis(centroids, radii)
            if fit is None:
                self.warnings.append(f"no {side} arm found apart from the trunk")
                continue
            mean, direction, radius = fit
            if abs(direction[2]) > 0.3:
                shoulder = mean + (self.z(_SHOULDER_JOINT) - mean[2]) / direction[2] * direction
            else:  # arms held out sideways: start where the arm leaves the trunk
                shoulder = mean - direction * (abs(mean[0] - self.center_x) - 0.11 * self.stature)
            self.arms[side] = _Axis(shoulder, direction, radius)

    # -- circumferences ---------------------------------------------------------------------

    def torso_ring(self, z: float, keep_arms: bool = False) -> np.ndarray | None:
        origin, normal = np.array([0.0, 0.0, z]), np.array([0.0, 0.0, 1.0])
        loops = self.body.section(origin, normal)
        if not loops:
            return None
        loops.sort(key=lambda loop: loop.area, reverse=True)
        torso = loops[0]
        points = torso.points
        if keep_arms:
            for loop in loops[1:]:
                if loop.area > 1e-4 * self.stature**2 and any(
                        abs(axis.direction[2]) > 0.3
                        and np.linalg.norm(loop.centroid[:2] - axis.at_height(z)[:2]) < 3 * axis.radius
                        for axis in self.arms.values()):
                    points = np.vstack([points, loop.points])
        else:
            for side, axis in self.arms.items():
                if abs(axis.direction[2]) < 0.3 or z > axis.point[2]:
                    continue  # arms held out sideways, or a height above the shoulder
                # An arm that touches the trunk here: drop what lies beyond the arm's inner edge.
                inner_edge = axis.at_height(z)[0] + (-axis.radius if side == _LEFT else axis.radius)
                keep = points[:, 0] < inner_edge if side == _LEFT else points[:, 0] > inner_edge
                if keep.sum() >= 3:
                    points = points[keep]
        if len(points) < 3:
            return None
        return _hull_ring(points, origin, normal)

    def limb_ring(self, axis: _Axis, center: np.ndarray, other: _Axis | None,
                  reach: float | None = None) -> np.ndarray | None:
        """Hull of the loop round ``axis`` at ``center``; ``reach`` drops points farther from the
        axis than that (an arm touching the trunk), ``other`` splits legs that touch."""
        normal = axis.direction
        loops = self.body.section(center, normal)
        e1, e2 = _plane_basis(normal)
        here = np.zeros(2)
        chosen = next((loop for loop in loops if _contains(loop.flat, here)), None)
        if chosen is None:
            near = [loop for loop in loops if np.linalg.norm(loop.centroid - center) < 2.5 * axis.radius]
            if not near:
                return None
            chosen = min(near, key=lambda loop: np.linalg.norm(loop.centroid - center))
        points = chosen.points
        if reach is not None:
            near_axis = np.linalg.norm(points - center, axis=1) <= reach
            if near_axis.sum() < 3:
                return None
            points = points[near_axis]
        if other is not None:
            other_center = other.at_height(center[2]) - center
            other_flat = np.array([other_center @ e1, other_center @ e2])
            if _contains(chosen.flat, other_flat):  # legs touching: keep this leg's half
                mid_x = (center[0] + other.at_height(center[2])[0]) / 2
                keep = (points[:, 0] - mid_x) * (center[0] - mid_x) > 0
                if keep.sum() < 3:
                    return None
                points = points[keep]
        return _hull_ring(points, center, normal)

    def record(self, key: str, ring: np.ndarray | None) -> None:
        if ring is None or len(ring) < 3:
            self.warnings.append(f"{key}: no section found")
            return
        self.values[key] = _closed_length(ring)
        self.rings[key] = ring

    def best_of(self, kind: str, candidates: list[np.ndarray | None]) -> np.ndarray | None:
        found = [ring for ring in candidates if ring is not None and len(ring) >= 3]
        if not found:
            return None
        lengths = [_closed_length(ring) for ring in found]
        return found[int(np.argmax(lengths) if kind == "max" else np.argmin(lengths))]

    def fractions(self, kind: str, low: float, high: float) -> list[float]:
        return [low] if kind == "at" else list(np.linspace(low, high, _RANGE_SAMPLES))

    def measure_torso(self) -> None:
        for key in ("neckFit", "shoulderFit", "upperChestFit", "chestFit", "lowerChestFit",
                    "waistFit", "waistNavyFit", "stomachFit", "hipsFit"):
            kind, low, high = LANDMARKS[key]
            if key == "hipsFit" and self.crotch_z is not None:
                low = max(low, (self.crotch_z - self.floor) / self.stature + 0.01)
            rings = [self.torso_ring(self.z(f), keep_arms=key == "shoulderFit")
                     for f in self.fractions(kind, low, high)]
            self.record(key, self.best_of(kind, rings))

    def measure_legs(self) -> None:
        for key in ("upperThighFit", "thighFit", "lowerThighFit", "calfFit", "ankleFit"):
            kind, low, high = LANDMARKS[key]
            for side, axis in self.legs.items():
                name = key.replace("Fit", f"{side.capitalize()}Fit")
                other = self.legs.get(_RIGHT if side == _LEFT else _LEFT)
                if key == "upperThighFit":
                    if self.crotch_z is None:
                        continue
                    heights = [self.crotch_z + low * self.stature]
                else:
                    heights = [self.z(f) for f in self.fractions(kind, low, high)]
                rings = [self.limb_ring(axis, axis.at_height(z), other) for z in heights]
                self.record(name, self.best_of(kind, rings))

    def measure_arms(self) -> None:
        for key in ("midArmFit", "lowerArmFit", "forearmFit", "wristFit"):
            kind, low, high = LANDMARKS[key]
            for side, axis in self.arms.items():
                name = key.replace("Fit", f"{side.capitalize()}Fit")
                rings = [self.limb_ring(axis, axis.at(f * self.stature), None, reach=2.2 * axis.radius)
                         for f in self.fractions(kind, low, high)]
                self.record(name, self.best_of(kind, rings))


def _validated(vertices: object, faces: object) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 4:
        raise ValueError("Not a body: vertices must be an (n, 3) array with n >= 4.")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) < 4 or not np.issubdtype(f.dtype, np.integer):
        raise ValueError("Not a body: faces must be an (m, 3) integer array of triangles.")
    if f.min() < 0 or f.max() >= len(v):
        raise ValueError("Not a body: faces index vertices that do not exist.")
    if not np.isfinite(v).all():
        raise ValueError("Not a body: vertices contain NaN or infinite coordinates.")
    extent = np.ptp(v, axis=0)
    if not 0.5 <= extent[2] <= 2.6:
        raise ValueError(f"Not a standing body in metres: it is {extent[2]:.3g} tall along +Z.")
    if max(extent[0], extent[1]) > 1.4 * extent[2]:
        raise ValueError("Not a standing body: it is wider than it is tall.")
    return v, f.astype(np.int64)


def measure_body(vertices: np.ndarray, faces: np.ndarray, weight_kg: float | None = None) -> BodyMeasurements:
    """Every ``MeasurementDto`` key this geometry allows (see module docstring).

    ``weight_kg`` gives ``bmiPredicted`` exactly; without it the weight is estimated from the volume.
    """
    v, f = _validated(vertices, faces)
    measurer = _Measurer(_Body(v, f))
    measurer.find_legs()
    measurer.find_arms()
    measurer.measure_torso()
    measurer.measure_legs()
    measurer.measure_arms()
    values = measurer.values
    stature = measurer.stature

    volume = abs(float(measurer.body.mesh.volume))
    if volume > 0:
        values["fullBodyVolume"] = volume
    if "waistFit" in values and "hipsFit" in values:
        values["waistToHipRatio"] = values["waistFit"] / values["hipsFit"]
    if "waistFit" in values:
        # Thomas et al. (2013), Obesity 21(11): BRI = 364.2 - 365.5 * sqrt(1 - (WC/2pi)^2 / (0.5 h)^2).
        eccentricity_sq = 1.0 - (values["waistFit"] / (2 * math.pi)) ** 2 / (0.5 * stature) ** 2
        values["bodyRoundnessIndex"] = 364.2 - 365.5 * math.sqrt(max(eccentricity_sq, 0.0))
    if weight_kg is not None and weight_kg > 0:
        values["bmiPredicted"] = weight_kg / stature**2
        values["bmiConfidence"] = 1.0  # our convention: weight given, BMI is exact for this stature
    elif volume > 0:
        values["bmiPredicted"] = volume * _BODY_DENSITY / stature**2
        values["bmiConfidence"] = 0.5  # our convention: weight estimated from the volume
    for message in measurer.warnings:
        logger.debug("measure_body: %s", message)
    return BodyMeasurements(values, measurer.rings, tuple(measurer.warnings))
