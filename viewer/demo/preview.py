"""A front-view preview image of a generated body, drawn with numpy and Pillow only.

No VTK or Qt, so it runs in any thread. A small z-buffer rasteriser: the body is turned into
VIEW_FRAME, projected orthographically onto the X-Z plane as seen from -Y (the person's left on
the right of the image), back faces are culled, and every triangle is rasterised at once per
size bucket (candidate pixels of its bounding box, barycentric inside test). The nearest sample
per pixel wins; its colour is the texture at the interpolated UV times Gouraud-interpolated Lambert
light with a high ambient term, so clothing and skin colours stay recognisable. The image is drawn
at twice the size and reduced for anti-aliasing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from viewer.demo.humanoid import GeneratedBody
from viewer.mesh.mesh_data import PRISM_TO_VIEW

BACKGROUND = (238, 240, 243)
_SUPERSAMPLE = 2
_MARGIN = 0.05  # of the image height, above the head and below the feet
_AMBIENT = 0.55
_LIGHT = np.array([-0.35, -1.0, 0.45]) / np.linalg.norm([-0.35, -1.0, 0.45])  # from front, upper left


def _vertex_light(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Ambient + Lambert intensity per vertex from area-weighted vertex normals."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return _AMBIENT + (1.0 - _AMBIENT) * np.clip(normals @ _LIGHT, 0.0, 1.0)


def _bucket_sizes(largest: int) -> list[int]:
    """Bounding-box sizes that triangles are grouped by (each ~1.4x the last, little waste)."""
    sizes = [1]
    while sizes[-1] < largest:
        sizes.append(max(sizes[-1] + 1, round(sizes[-1] * 1.4)))
    return sizes


def _rasterise(screen: np.ndarray, depth: np.ndarray, faces: np.ndarray, width: int, height: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Visible (pixel index, face, barycentrics) for every covered pixel centre."""
    tri = screen[faces]  # (m, 3, 2)
    lo = np.floor(tri.min(axis=1) - 0.5).astype(np.int64) + 1
    hi = np.floor(tri.max(axis=1) - 0.5).astype(np.int64)
    extent = np.maximum(hi - lo + 1, 0).max(axis=1)
    pixels, owners, weights, depths = [], [], [], []
    smaller = 0
    for bucket in _bucket_sizes(int(extent.max(initial=0))):
        members = np.flatnonzero((extent <= bucket) & (extent > smaller))
        smaller = bucket
        if members.size:
            offsets = np.arange(bucket)
            px = lo[members, 0][:, None, None] + offsets[None, None, :]
            py = lo[members, 1][:, None, None] + offsets[None, :, None]
            px, py = np.broadcast_arrays(px, py)
            px = px.reshape(len(members), -1) + 0.5
            py = py.reshape(len(members), -1) + 0.5
            a, b, c = (tri[members, k][:, None, :] for k in range(3))
            denom = ((b[..., 1] - c[..., 1]) * (a[..., 0] - c[..., 0])
                     + (c[..., 0] - b[..., 0]) * (a[..., 1] - c[..., 1]))
            denom = np.where(np.abs(denom) < 1e-12, 1e-12, denom)
            w0 = ((b[..., 1] - c[..., 1]) * (px - c[..., 0]) + (c[..., 0] - b[..., 0]) * (py - c[..., 1])) / denom
            w1 = ((c[..., 1] - a[..., 1]) * (px - c[..., 0]) + (a[..., 0] - c[..., 0]) * (py - c[..., 1])) / denom
            w2 = 1.0 - w0 - w1
            inside = (w0 >= -1e-6) & (w1 >= -1e-6) & (w2 >= -1e-6)
            inside &= (px >= 0) & (px < width) & (py >= 0) & (py < height)
            face_row, sample = np.nonzero(inside)
            owner = members[face_row]
            bary = np.stack([w0[inside], w1[inside], w2[inside]], axis=1)
            pixels.append(py[face_row, sample].astype(np.int64) * width + px[face_row, sample].astype(np.int64))
            owners.append(owner)
            weights.append(bary)
            depths.append(np.einsum("ij,ij->i", bary, depth[faces[owner]]))
    if not pixels:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 3))
    pixel = np.concatenate(pixels)
    owner = np.concatenate(owners)
    bary = np.concatenate(weights)
    order = np.lexsort((np.concatenate(depths), pixel))
    pixel, owner, bary = pixel[order], owner[order], bary[order]
    first = np.ones(len(pixel), dtype=bool)
    first[1:] = pixel[1:] != pixel[:-1]
    return pixel[first], owner[first], bary[first]


def render_preview(body: GeneratedBody, size: tuple[int, int] = (360, 640)) -> Image.Image:
    """The body seen from the front, textured and lit, on a plain light background (RGB)."""
    width, height = size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE
    view = body.vertices @ PRISM_TO_VIEW.T
    faces = body.faces
    corners = view[faces]
    facing_camera = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])[:, 1] < 0
    light = _vertex_light(view, faces)

    x, z = view[:, 0], view[:, 2]
    scale = height * (1.0 - 2 * _MARGIN) / max(float(z.max() - z.min()), 1e-9)
    scale = min(scale, width * 0.96 / max(float(x.max() - x.min()), 1e-9))
    screen = np.column_stack([
        width / 2 + (x - (x.max() + x.min()) / 2) * scale,
        height / 2 - (z - (z.max() + z.min()) / 2) * scale,
    ])
    visible_faces = np.flatnonzero(facing_camera)
    pixel, owner, bary = _rasterise(screen, view[:, 1], faces[visible_faces], width, height)
    owner = visible_faces[owner]

    texture = np.asarray(body.texture.convert("RGB"), dtype=np.float32)
    tex_h, tex_w = texture.shape[:2]
    uv = np.einsum("ij,ijk->ik", bary, body.uvs[body.face_uvs[owner]])
    cols = np.clip((uv[:, 0] * tex_w).astype(np.int64), 0, tex_w - 1)
    rows = np.clip(((1.0 - uv[:, 1]) * tex_h).astype(np.int64), 0, tex_h - 1)
    shade = np.einsum("ij,ij->i", bary, light[faces[owner]])
    image = np.empty((height * width, 3), dtype=np.float32)
    image[:] = BACKGROUND
    image[pixel] = texture[rows, cols] * shade[:, None]
    picture = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8).reshape(height, width, 3), "RGB")
    return picture.resize(size, Image.Resampling.BOX)
