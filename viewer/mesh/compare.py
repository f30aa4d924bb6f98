"""How far the second of two bodies lies from the first: signed distances per vertex, in mm (no Qt, no VTK).

Two ways, chosen by ``compare_bodies``:

- **per vertex** when both files have the same topology (same number of file vertices and the
  same triangles): file vertex i of one is the same point of the body as file vertex i of the
  other, so the value is how far it moved along the first body's outward normal. Render vertices
  are mapped to file vertices first (``BodyMesh.source_vertex_index``: the loader splits vertices
  at UV seams), so render order and seam splits never pair the wrong points. The bodies are
  compared where they stand (the correspondence is the alignment).
- **closest point** otherwise: the first body is moved so its floor (lowest z) and the centre of
  its bounding box in x, y meet the second's ("aligned by floor and centre"), then each vertex of
  the second body gets its distance to the nearest point of the first body's surface, positive
  when it lies outside (along the first body's interpolated vertex normal).

The nearest-point search needs no scipy or rtree: triangles are put in a uniform grid (every cell
their bounding box touches); a point looks at the 27 cells around its own, which is exact for
any nearest point closer than one cell, and points not settled that way try again on a grid three
times coarser. Bounding spheres prune candidates before the exact point-triangle distance.
Bodies with more than ``max_points`` vertices are measured at one vertex per small voxel and the
other vertices in that voxel share its value (``Displacement.sampled``).

Values are millimetres when the bodies are in metres (``BodyMesh.units == "m"``).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from viewer.mesh.mesh_data import BodyMesh

log = logging.getLogger(__name__)

Method = Literal["per-vertex", "closest-point"]

#: vertices of the second body measured one by one; above this, one per voxel (``sampled``)
DEFAULT_MAX_POINTS = 60_000

#: candidate (point, triangle) pairs handled at once: bounds the search's memory (~100 bytes each)
_PAIR_BUDGET = 1_500_000

#: each search level's grid is this many times coarser than the previous one
_LEVEL_FACTOR = 2.0

_NEIGHBOUR_OFFSETS = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)],
                              dtype=np.int64)


class CompareCancelled(Exception):
    """The caller stopped wanting the comparison (``is_cancelled`` returned True)."""


@dataclass(frozen=True)
class Displacement:
    """Signed distances of the second body from the first, outward positive."""

    #: (n,) float32 mm, one per render vertex of the second body (``BodyMesh.vertices``)
    per_render_vertex_mm: np.ndarray
    #: (k,) float32 mm, one per file vertex of the second body
    per_file_vertex_mm: np.ndarray
    method: Method
    #: translation (metres) that puts the first body where it was compared: zeros for per-vertex
    first_offset: np.ndarray
    #: True when measured at one vertex per voxel (bodies above ``max_points`` vertices)
    sampled: bool
    seconds: float

    @property
    def alignment_note(self) -> str:
        """How the two bodies were paired, for the UI."""
        if self.method == "per-vertex":
            return "same topology: compared vertex by vertex, as scanned"
        note = "different topology: distance to the nearest surface point, aligned by floor and centre"
        return note + (" (sampled)" if self.sampled else "")


@dataclass(frozen=True)
class FileMesh:
    """A body with the file's own vertex numbering (seam splits welded back together)."""

    vertices: np.ndarray  # (k, 3) float64
    faces: np.ndarray  # (m, 3) int64 into ``vertices``
    render_to_file: np.ndarray  # (n,) int64: file vertex of each render vertex


def file_mesh(mesh: BodyMesh) -> FileMesh:
    """``mesh`` with the file's vertex numbers (its render vertices when the loader gave no map)."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    index = mesh.source_vertex_index
    if index is None or len(index) != len(vertices):
        return FileMesh(vertices, faces, np.arange(len(vertices), dtype=np.int64))
    index = np.asarray(index, dtype=np.int64)
    file_vertices = np.full((int(index.max()) + 1 if len(index) else 0, 3), np.nan)
    file_vertices[index] = vertices  # split copies share the file vertex's position
    return FileMesh(file_vertices, index[faces], index)


def same_topology(first: FileMesh, second: FileMesh) -> bool:
    """Same number of file vertices and the same triangles between them (in any order)."""
    if len(first.vertices) != len(second.vertices) or first.faces.shape != second.faces.shape:
        return False
    return bool(np.array_equal(_canonical_faces(first.faces), _canonical_faces(second.faces)))


def alignment_offset(first_vertices: np.ndarray, second_vertices: np.ndarray) -> np.ndarray:
    """Translation putting the first body's floor and bounding-box centre (x, y) on the second's."""
    low1, high1 = np.nanmin(first_vertices, axis=0), np.nanmax(first_vertices, axis=0)
    low2, high2 = np.nanmin(second_vertices, axis=0), np.nanmax(second_vertices, axis=0)
    offset = np.empty(3)
    offset[:2] = (low2[:2] + high2[:2]) / 2 - (low1[:2] + high1[:2]) / 2
    offset[2] = low2[2] - low1[2]
    return offset


def compare_bodies(
    first: BodyMesh,
    second: BodyMesh,
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> Displacement:
    """Signed distances (mm) of ``second``'s vertices from ``first``'s surface; see the module doc."""
    started = time.perf_counter()
    a, b = file_mesh(first), file_mesh(second)
    normals = vertex_normals(a.vertices, a.faces)
    sampled = False
    if same_topology(a, b):
        method: Method = "per-vertex"
        offset = np.zeros(3)
        moved = b.vertices - a.vertices
        per_file = np.einsum("ij,ij->i", moved, normals)
    else:
        method = "closest-point"
        offset = alignment_offset(a.vertices, b.vertices)
        targets = np.flatnonzero(np.isfinite(b.vertices).all(axis=1))
        measured, share = targets, np.arange(len(targets))
        if len(targets) > max_points:
            measured, share = _voxel_sample(b.vertices, b.faces, targets, max_points)
            sampled = True
        distances = signed_distances(a.vertices + offset, a.faces, b.vertices[measured],
                                     normals=normals, is_cancelled=is_cancelled)
        per_file = np.zeros(len(b.vertices))
        per_file[targets] = distances[share]
    per_file_mm = np.nan_to_num(per_file * 1000.0).astype(np.float32)
    seconds = time.perf_counter() - started
    log.info("compared %d vertices (%s%s) in %.2f s", len(b.vertices), method,
             ", sampled" if sampled else "", seconds)
    return Displacement(
        per_render_vertex_mm=per_file_mm[b.render_to_file],
        per_file_vertex_mm=per_file_mm,
        method=method,
        first_offset=offset,
        sampled=sampled,
        seconds=seconds,
    )


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Unit area-weighted vertex normals (+Z for a vertex without faces)."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    summed = np.zeros((len(vertices), 3))
    for axis in range(3):
        summed[:, axis] = np.bincount(faces.ravel(), np.repeat(face_normals[:, axis], 3),
                                      minlength=len(vertices))
    lengths = np.linalg.norm(summed, axis=1, keepdims=True)
    unit = np.divide(summed, lengths, out=np.zeros_like(summed), where=lengths > 0)
    unit[lengths[:, 0] == 0] = (0.0, 0.0, 1.0)
    return unit


def signed_distances(
    vertices: np.ndarray,
    faces: np.ndarray,
    points: np.ndarray,
    *,
    normals: np.ndarray | None = None,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> np.ndarray:
    """Distance of each point to the surface (``vertices``, ``faces``), positive outside.

    The side is judged by the surface's vertex normals interpolated at the nearest point.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    points = np.asarray(points, dtype=np.float64)
    if normals is None:
        normals = vertex_normals(vertices, faces)
    face_index, closest, barycentric = closest_points(vertices, faces, points, is_cancelled=is_cancelled)
    normal_there = np.einsum("ij,ijk->ik", barycentric, normals[faces[face_index]])
    away = points - closest
    distance = np.linalg.norm(away, axis=1)
    return np.where(np.einsum("ij,ij->i", away, normal_there) < 0, -distance, distance)


def closest_points(
    vertices: np.ndarray,
    faces: np.ndarray,
    points: np.ndarray,
    *,
    is_cancelled: Callable[[], bool] = lambda: False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point: the nearest triangle, the nearest point on it and that point's barycentrics."""
    corners = np.asarray(vertices, dtype=np.float64)[faces]
    valid = np.isfinite(corners).all(axis=(1, 2))
    corners = np.where(valid[:, None, None], corners, 0.0)
    centroids = corners.mean(axis=1)
    radii = np.where(valid, np.linalg.norm(corners - centroids[:, None], axis=2).max(axis=1), np.inf)
    n = len(points)
    best_face = np.zeros(n, dtype=np.int64)
    best_distance = np.full(n, np.inf)
    if n == 0 or not valid.any():
        raise ValueError("no surface to measure against")

    low = np.minimum(corners.min(axis=1)[valid].min(axis=0), points.min(axis=0))
    high = np.maximum(corners.max(axis=1)[valid].max(axis=0), points.max(axis=0))
    cell = max(2.0 * float(np.median(radii[valid])), 1e-6)
    pending = np.arange(n)
    while len(pending):
        grid = _TriangleGrid(corners, valid, low, high, cell)
        settled = grid.search(points[pending], corners, centroids, radii, best_face, best_distance,
                              pending, is_cancelled)
        pending = pending[~settled]
        if cell > 2.0 * float(np.linalg.norm(high - low)):
            break  # the 27 cells around any point hold everything: all are settled
        cell *= _LEVEL_FACTOR

    closest, barycentric = _closest_on_triangles(corners[best_face], points)
    return best_face, closest, barycentric


def heatmap_limit_mm(values_mm: np.ndarray, tolerance_mm: float) -> float:
    """The symmetric colour range (±limit mm): the 99th percentile of |value|, at least twice the
    tolerance and 1 mm, rounded up to a whole millimetre."""
    finite = np.abs(np.asarray(values_mm, dtype=np.float64))
    finite = finite[np.isfinite(finite)]
    spread = float(np.percentile(finite, 99)) if len(finite) else 0.0
    return float(math.ceil(max(spread, 2.0 * tolerance_mm, 1.0) - 1e-9))


#: the diverging map's ends and middle: blue (inside / smaller), white, red (outside / larger)
DIVERGING_RGB = ((0x3B, 0x4C, 0xC0), (0xF7, 0xF7, 0xF7), (0xB4, 0x04, 0x26))


def diverging_colours(n_colours: int, limit_mm: float, tolerance_mm: float) -> np.ndarray:
    """(n, 4) uint8 lookup table over ``-limit..+limit`` mm: blue-white-red, with every entry whose
    value lies within ``±tolerance`` the neutral middle colour."""
    centres = (np.arange(n_colours) + 0.5) / n_colours * 2 * limit_mm - limit_mm
    t = np.clip(centres / limit_mm, -1.0, 1.0) if limit_mm > 0 else np.zeros(n_colours)
    blue, white, red = (np.array(c, dtype=np.float64) for c in DIVERGING_RGB)
    rgb = np.where(t[:, None] < 0, white + (blue - white) * -t[:, None], white + (red - white) * t[:, None])
    rgb[np.abs(centres) <= tolerance_mm] = white
    table = np.empty((n_colours, 4), dtype=np.uint8)
    table[:, :3] = np.round(rgb).astype(np.uint8)
    table[:, 3] = 255
    return table


# --- internals ---------------------------------------------------------------------------------


def _canonical_faces(faces: np.ndarray) -> np.ndarray:
    """Faces as rows starting at their smallest index (winding kept), sorted: equal for equal sets."""
    rolled = np.take_along_axis(faces, (np.argmin(faces, axis=1)[:, None] + np.arange(3)) % 3, axis=1)
    return rolled[np.lexsort(rolled.T[::-1])]


def _voxel_sample(vertices: np.ndarray, faces: np.ndarray, targets: np.ndarray,
                  max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """One of ``targets`` per voxel (voxels sized for about ``max_points`` of them) and, for each
    target, the position of its voxel's representative in that list."""
    corners = np.nan_to_num(vertices[faces])
    area = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]),
                                axis=1).sum()
    size = math.sqrt(area / max_points) if area > 0 else 1e-3
    coords = np.floor(vertices[targets] / size).astype(np.int64)
    _, first_of_voxel, voxel_of_target = np.unique(coords, axis=0, return_index=True, return_inverse=True)
    return targets[first_of_voxel], voxel_of_target.reshape(-1)


class _TriangleGrid:
    """Triangles bucketed in cubic cells of side ``cell`` (each in every cell its box touches)."""

    def __init__(self, corners: np.ndarray, valid: np.ndarray, low: np.ndarray, high: np.ndarray,
                 cell: float) -> None:
        self.low, self.cell = low, cell
        self.dims = np.floor((high - low) / cell).astype(np.int64) + 1
        ids = np.flatnonzero(valid)
        first = self._cell_of(corners[ids].min(axis=1))
        last = self._cell_of(corners[ids].max(axis=1))
        spans = last - first + 1
        counts = spans.prod(axis=1)
        owner = np.repeat(np.arange(len(ids)), counts)
        local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        sx, sy = spans[owner, 0], spans[owner, 1]
        cells = first[owner] + np.stack([local % sx, (local // sx) % sy, local // (sx * sy)], axis=1)
        keys = self._key(cells)
        order = np.argsort(keys, kind="stable")
        self.triangles = ids[owner[order]]
        self.keys, self.starts, self.counts = np.unique(keys[order], return_index=True, return_counts=True)

    def search(self, points: np.ndarray, corners: np.ndarray, centroids: np.ndarray, radii: np.ndarray,
               best_face: np.ndarray, best_distance: np.ndarray, slots: np.ndarray,
               is_cancelled: Callable[[], bool]) -> np.ndarray:
        """Nearest triangle among the 27 cells around each point, written into ``best_*[slots]``;
        returns which points are settled (their nearest point is closer than one cell)."""
        starts, counts = self._neighbour_ranges(points)
        per_point = counts.sum(axis=1)
        settled = np.zeros(len(points), dtype=bool)
        begin = 0
        while begin < len(points):
            if is_cancelled():
                raise CompareCancelled()
            # as many points as fit the pair budget (at least one)
            end = int(np.searchsorted(np.cumsum(per_point[begin:]), _PAIR_BUDGET, side="right")) + begin
            end = max(end, begin + 1)
            chunk = slice(begin, end)
            face, distance = self._nearest(points[chunk], starts[chunk], counts[chunk], corners,
                                           centroids, radii)
            better = distance < best_distance[slots[chunk]]
            best_face[slots[chunk][better]] = face[better]
            best_distance[slots[chunk][better]] = distance[better]
            settled[chunk] = best_distance[slots[chunk]] <= self.cell
            begin = end
        return settled

    def _nearest(self, points: np.ndarray, starts: np.ndarray, counts: np.ndarray, corners: np.ndarray,
                 centroids: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per point: nearest candidate triangle and its distance (inf when there is none)."""
        n = len(points)
        flat_counts = counts.ravel()
        total = int(flat_counts.sum())
        face = np.zeros(n, dtype=np.int64)
        distance = np.full(n, np.inf)
        if total == 0:
            return face, distance
        position = np.arange(total) - np.repeat(np.cumsum(flat_counts) - flat_counts, flat_counts)
        candidates = self.triangles[np.repeat(starts.ravel(), flat_counts) + position]
        owners = np.repeat(np.arange(n), counts.sum(axis=1))
        # the centroid lies on its triangle: the nearest centroid bounds the distance from above
        to_centroid = np.linalg.norm(points[owners] - centroids[candidates], axis=1)
        upper = _group_min(to_centroid, owners, n)
        keep = to_centroid - radii[candidates] <= upper[owners]
        candidates, owners = candidates[keep], owners[keep]
        closest, _ = _closest_on_triangles(corners[candidates], points[owners])
        exact = np.linalg.norm(points[owners] - closest, axis=1)
        distance = _group_min(exact, owners, n)
        winners = exact <= distance[owners]
        face[owners[winners]] = candidates[winners]
        return face, distance

    def _neighbour_ranges(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n, 27) start offsets into ``triangles`` and counts for the cells around each point."""
        around = self._cell_of(points)[:, None, :] + _NEIGHBOUR_OFFSETS[None, :, :]
        inside = ((around >= 0) & (around < self.dims)).all(axis=2)
        keys = self._key(np.clip(around, 0, self.dims - 1))
        slot = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = inside & (self.keys[slot] == keys)
        return np.where(found, self.starts[slot], 0), np.where(found, self.counts[slot], 0)

    def _cell_of(self, points: np.ndarray) -> np.ndarray:
        return np.floor((points - self.low) / self.cell).astype(np.int64)  # inside: low/high hold all

    def _key(self, cells: np.ndarray) -> np.ndarray:
        return (cells[..., 2] * self.dims[1] + cells[..., 1]) * self.dims[0] + cells[..., 0]


def _closest_on_triangles(triangles: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest point of each triangle (k, 3, 3) to its point (k, 3), and its barycentrics (k, 3).

    Ericson, Real-Time Collision Detection, 5.1.5: the Voronoi region of the point decides
    whether the answer is a corner, on an edge or inside; earlier regions win, so they are
    written last. Degenerate triangles fall back to their first corner where a ratio is undefined.
    """
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    ab, ac = b - a, c - a
    ap, bp, cp = points - a, points - b, points - c
    d1, d2 = _dot(ab, ap), _dot(ac, ap)
    d3, d4 = _dot(ab, bp), _dot(ac, bp)
    d5, d6 = _dot(ab, cp), _dot(ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2

    bary = np.empty((len(points), 3))
    total = va + vb + vc
    v, w = _ratio(vb, total), _ratio(vc, total)
    bary[:] = np.stack([1 - v - w, v, w], axis=1)
    regions = (  # last listed = highest priority
        ((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), "bc"),
        ((vb <= 0) & (d2 >= 0) & (d6 <= 0), "ac"),
        ((d6 >= 0) & (d5 <= d6), "c"),
        ((vc <= 0) & (d1 >= 0) & (d3 <= 0), "ab"),
        ((d3 >= 0) & (d4 <= d3), "b"),
        ((d1 <= 0) & (d2 <= 0), "a"),
    )
    for mask, region in regions:
        if not mask.any():
            continue
        if region == "a":
            bary[mask] = (1.0, 0.0, 0.0)
        elif region == "b":
            bary[mask] = (0.0, 1.0, 0.0)
        elif region == "c":
            bary[mask] = (0.0, 0.0, 1.0)
        elif region == "ab":
            t = _ratio(d1[mask], d1[mask] - d3[mask])
            bary[mask] = np.stack([1 - t, t, np.zeros_like(t)], axis=1)
        elif region == "ac":
            t = _ratio(d2[mask], d2[mask] - d6[mask])
            bary[mask] = np.stack([1 - t, np.zeros_like(t), t], axis=1)
        else:
            t = _ratio(d4[mask] - d3[mask], (d4[mask] - d3[mask]) + (d5[mask] - d6[mask]))
            bary[mask] = np.stack([np.zeros_like(t), 1 - t, t], axis=1)
    closest = np.einsum("ij,ijk->ik", bary, triangles)
    return closest, bary


def _group_min(values: np.ndarray, owners: np.ndarray, n: int) -> np.ndarray:
    """Per owner 0..n-1, the smallest of its ``values`` (inf for none); ``owners`` must be sorted."""
    smallest = np.full(n, np.inf)
    if len(values):
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        smallest[owners[starts]] = np.minimum.reduceat(values, starts)
    return smallest


def _dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", u, v)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)
