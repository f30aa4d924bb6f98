"""``BodyMesh`` -> pyvista data objects, ready for the GUI thread to add as actors.

Threading: ``body_to_polydata`` builds data objects only (``pv.PolyData``, ``pv.Texture`` and their
arrays) and never touches a renderer, so it runs in a worker thread. The GUI thread then only adds
the actors, which keeps the expensive part (normals, copies, texture image conversion) off it.

Rules worth knowing:
- Point normals are area-weighted face normals summed per *source* vertex: trimesh splits vertices
  at UV seams, and normals computed per split vertex would show the seams as lighting creases. The
  welding uses ``BodyMesh.source_vertex_index`` when the loader gave it, otherwise exact positions.
- ``pv.Texture`` flips the image rows for VTK (whose image origin is bottom-left), so an image in
  the usual top-row-first layout pairs correctly with OBJ-style UVs (v = 0 at the image bottom).
- One ``BodyPart`` per ``TextureGroup`` (each with its own texture); faces in no group form one
  more, untextured part. Normals are computed on the whole mesh first so group borders stay smooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv

from viewer.mesh.mesh_data import BodyMesh

#: name of the point-data array holding per-vertex RGB colours (uint8)
VERTEX_COLOURS_ARRAY = "vertex_rgb"

Bounds = tuple[float, float, float, float, float, float]


@dataclass(frozen=True)
class BodyPart:
    """One actor's worth of data: a surface and, when textured, its texture."""

    polydata: pv.PolyData
    texture: pv.Texture | None

    @property
    def has_vertex_colours(self) -> bool:
        return VERTEX_COLOURS_ARRAY in self.polydata.point_data


@dataclass(frozen=True)
class PreparedBody:
    """Everything the 3D view needs to show one body, built off the GUI thread."""

    parts: tuple[BodyPart, ...]
    bounds: Bounds  # (xmin, xmax, ymin, ymax, zmin, zmax) in VIEW_FRAME
    n_faces: int

    @property
    def is_textured(self) -> bool:
        return any(part.texture is not None for part in self.parts)


def body_to_polydata(mesh: BodyMesh) -> PreparedBody:
    """Build the pyvista surfaces and textures for ``mesh`` (safe in a worker thread)."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int64)
    normals = smooth_point_normals(vertices, faces, mesh.source_vertex_index)
    colours = _rgb_colours(mesh.vertex_colors)

    if mesh.groups:
        parts = []
        grouped = np.zeros(len(faces), dtype=bool)
        for group in mesh.groups:
            grouped[group.faces] = True
            image = group.image if mesh.uvs is not None else None
            group_faces = faces[group.faces]
            parts.append(_make_part(vertices, group_faces, normals, mesh.uvs, colours, image, whole=False))
        if not grouped.all():
            parts.append(_make_part(vertices, faces[~grouped], normals, None, colours, None, whole=False))
        parts = [part for part in parts if part.polydata.n_cells > 0]
    else:
        image = mesh.texture if mesh.uvs is not None else None
        parts = [_make_part(vertices, faces, normals, mesh.uvs, colours, image, whole=True)]

    return PreparedBody(parts=tuple(parts), bounds=_bounds(vertices), n_faces=len(faces))


def smooth_point_normals(
    vertices: np.ndarray, faces: np.ndarray, source_vertex_index: np.ndarray | None = None
) -> np.ndarray:
    """Unit point normals for smooth shading: area-weighted face normals summed per welded vertex."""
    n_points = len(vertices)
    if n_points == 0 or len(faces) == 0:
        return np.zeros((n_points, 3), dtype=np.float32)
    if source_vertex_index is not None and len(source_vertex_index) == n_points:
        welded = np.asarray(source_vertex_index, dtype=np.int64)
    else:
        # vertices split at UV seams share their exact position
        _, welded = np.unique(vertices, axis=0, return_inverse=True)
        welded = welded.reshape(-1)
    n_welded = int(welded.max()) + 1

    corners = vertices[faces].astype(np.float64)
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    targets = welded[faces].ravel()
    summed = np.empty((n_welded, 3))
    for axis in range(3):
        summed[:, axis] = np.bincount(targets, np.repeat(face_normals[:, axis], 3), minlength=n_welded)
    lengths = np.linalg.norm(summed, axis=1, keepdims=True)
    unit = np.divide(summed, lengths, out=np.zeros_like(summed), where=lengths > 0)
    unit[lengths[:, 0] == 0] = (0.0, 0.0, 1.0)
    return unit[welded].astype(np.float32)


def make_texture(image: np.ndarray) -> pv.Texture:
    """A VTK texture from a top-row-first image (grey, RGB or RGBA uint8; alpha is dropped)."""
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    texture = pv.Texture(np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8))
    texture.interpolate = True
    texture.mipmap = True
    texture.wrap = pv.Texture.WrapType.CLAMP_TO_EDGE
    return texture


def _make_part(
    vertices: np.ndarray,
    faces: np.ndarray,
    normals: np.ndarray,
    uvs: np.ndarray | None,
    colours: np.ndarray | None,
    image: np.ndarray | None,
    *,
    whole: bool,
) -> BodyPart:
    """A surface for ``faces``; a part of the mesh (``whole=False``) keeps only the vertices it uses."""
    used: np.ndarray | slice = slice(None)
    local_faces = faces
    if not whole:
        used, inverse = np.unique(faces, return_inverse=True)
        local_faces = inverse.reshape(faces.shape)

    polydata = pv.PolyData.from_regular_faces(vertices[used], local_faces)
    polydata.point_data.active_normals = normals[used]
    texture = None
    if uvs is not None and image is not None:
        polydata.active_texture_coordinates = np.ascontiguousarray(uvs[used], dtype=np.float32)
        texture = make_texture(image)
    elif colours is not None:
        polydata.point_data[VERTEX_COLOURS_ARRAY] = colours[used]
    return BodyPart(polydata=polydata, texture=texture)


def _rgb_colours(vertex_colors: np.ndarray | None) -> np.ndarray | None:
    if vertex_colors is None:
        return None
    return np.ascontiguousarray(np.asarray(vertex_colors)[:, :3], dtype=np.uint8)


def _bounds(vertices: np.ndarray) -> Bounds:
    if len(vertices) == 0:
        return (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    return (
        float(low[0]), float(high[0]), float(low[1]), float(high[1]), float(low[2]), float(high[2])
    )
