"""Write a generated body as the files Prism serves.

- OBJ bundle (``objTextureBased``): ``avatar.obj`` (``mtllib avatar.obj.mtl``, ``usemtl material_0``,
  ``v``/``vt``/``f v/vt`` lines, indices 1-based), ``avatar.obj.mtl`` (``newmtl material_0``,
  ``map_Kd texture.png``) and ``texture.png``: the names Prism's backend uses (NOTES.md section 7).
- PLY (legacy ``singlePlyOnly`` scans): binary little-endian, per-vertex colours sampled from the
  texture.

Each file is written under a temporary name in the target folder and moved into place with
``os.replace``, so a reader (or a cache) never sees half a file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from viewer.core.atomic_files import write_bytes_atomic
from viewer.demo.humanoid import GeneratedBody

OBJ_NAME = "avatar.obj"
MTL_NAME = "avatar.obj.mtl"
TEXTURE_NAME = "texture.png"
MATERIAL_NAME = "material_0"

_MTL_TEXT = f"""# Scan Viewer generated demo body
newmtl {MATERIAL_NAME}
Ka 1.000000 1.000000 1.000000
Kd 1.000000 1.000000 1.000000
Ks 0.000000 0.000000 0.000000
d 1.000000
illum 1
map_Kd {TEXTURE_NAME}
"""


def _rows(template: str, values: np.ndarray) -> str:
    """``template`` repeated for every row of ``values``, formatted in one call (no per-line loop)."""
    return (template * len(values)) % tuple(values.ravel().tolist())


def obj_text(body: GeneratedBody) -> str:
    corners = np.empty((len(body.faces), 6), dtype=np.int64)
    corners[:, 0::2] = body.faces + 1
    corners[:, 1::2] = body.face_uvs + 1
    return "".join([
        "# Scan Viewer generated demo body (metres; +X up, face +Z, the person's left -Y)\n",
        f"mtllib {MTL_NAME}\n",
        _rows("v %.6f %.6f %.6f\n", body.vertices),
        _rows("vt %.6f %.6f\n", body.uvs),
        f"usemtl {MATERIAL_NAME}\n",
        _rows("f %d/%d %d/%d %d/%d\n", corners),
    ])


def texture_png(body: GeneratedBody) -> bytes:
    buffer = io.BytesIO()
    body.texture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def write_obj_bundle(body: GeneratedBody, folder: Path) -> None:
    """``avatar.obj``, ``avatar.obj.mtl`` and ``texture.png`` in ``folder`` (created if needed)."""
    folder = Path(folder)
    write_bytes_atomic(folder / TEXTURE_NAME, texture_png(body))
    write_bytes_atomic(folder / MTL_NAME, _MTL_TEXT.encode("ascii"))
    write_bytes_atomic(folder / OBJ_NAME, obj_text(body).encode("ascii"))


def vertex_colors(body: GeneratedBody) -> np.ndarray:
    """(n,3) uint8: the texture under one UV corner of each vertex (nearest texel)."""
    first_uv = np.zeros(len(body.vertices), dtype=np.int64)
    # Later assignments win: walk the corners backwards so each vertex keeps its first corner.
    first_uv[body.faces.ravel()[::-1]] = body.face_uvs.ravel()[::-1]
    image = np.asarray(body.texture.convert("RGB"))
    height, width = image.shape[:2]
    uv = body.uvs[first_uv]
    cols = np.clip((uv[:, 0] * width).astype(np.int64), 0, width - 1)
    rows = np.clip(((1.0 - uv[:, 1]) * height).astype(np.int64), 0, height - 1)
    return image[rows, cols]


def ply_bytes(body: GeneratedBody) -> bytes:
    n, m = len(body.vertices), len(body.faces)
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment Scan Viewer generated demo body\n"
        f"element vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {m}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode("ascii")
    vertex_records = np.empty(n, dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    vertex_records["xyz"] = body.vertices
    vertex_records["rgb"] = vertex_colors(body)
    face_records = np.empty(m, dtype=[("count", "u1"), ("indices", "<i4", 3)])
    face_records["count"] = 3
    face_records["indices"] = body.faces
    return header + vertex_records.tobytes() + face_records.tobytes()


def write_ply(body: GeneratedBody, path: Path) -> None:
    """Binary little-endian PLY with vertex colours (for PLY-only scans)."""
    write_bytes_atomic(Path(path), ply_bytes(body))
