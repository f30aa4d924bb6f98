"""The loader's result: plain arrays ready for pyvista, plus what was detected about the file.

``BodyMesh`` is what crosses from a worker thread to the GUI thread, so it is immutable by
convention (arrays are made read-only) and holds no trimesh, VTK or Qt objects.

Frame after loading (``VIEW_FRAME``): **+Z up, the face looking toward -Y, the person's own left
toward +X**, metres when ``units`` is known. A camera on the -Y side looking along +Y therefore
sees the body from the front, upright, with the person's left on the right of the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ViewFrame:
    """The frame every loaded body is turned into, named once for loader, views and tests."""

    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    #: direction the face looks toward (the camera for a Front view sits on this side)
    front: tuple[float, float, float] = (0.0, -1.0, 0.0)
    #: direction of the person's own left hand
    left: tuple[float, float, float] = (1.0, 0.0, 0.0)


VIEW_FRAME = ViewFrame()

#: Rotation taking Prism's stored frame (+X up, face toward +Z, the person's left toward -Y;
#: NOTES.md section 7) into VIEW_FRAME: ``view = PRISM_TO_VIEW @ prism``, i.e. (x, y, z) -> (-y, -z, x).
PRISM_TO_VIEW = np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])


@dataclass(frozen=True)
class TextureGroup:
    """Faces sharing one material: ``faces`` index into ``BodyMesh.faces``."""

    name: str
    faces: np.ndarray  # (k,) int64 indices of faces
    image: np.ndarray | None  # (h, w, 3|4) uint8, None when the material has no real image


@dataclass(frozen=True)
class BodyMesh:
    vertices: np.ndarray  # (n, 3) float32/64, in VIEW_FRAME, metres if units known
    faces: np.ndarray  # (m, 3) int32/64 triangles
    uvs: np.ndarray | None = None  # (n, 2) float, per render vertex
    texture: np.ndarray | None = None  # (h, w, 3|4) uint8, a real image, never trimesh's 2x2 placeholder
    vertex_colors: np.ndarray | None = None  # (n, 3|4) uint8
    #: index of the file's own vertex each render vertex came from (trimesh splits at UV seams)
    source_vertex_index: np.ndarray | None = None  # (n,) int64
    #: when a file has several textured materials: one entry each (texture/uvs above then hold the first)
    groups: tuple[TextureGroup, ...] = ()
    source_path: Path | None = None
    #: "m" when known (possibly after converting from mm/cm/dm), None when not plausibly a body
    units: str | None = None
    #: scale applied to the file's coordinates to get metres (1.0 when none or unknown)
    unit_scale: float = 1.0
    #: the file's up axis as detected or given, e.g. "+X", "+Y", "-Z"
    source_up_axis: str = "+Z"
    #: the file's front axis (the side the face looks toward), e.g. "+Z"
    source_front_axis: str = "-Y"
    #: how the orientation was decided: "given", "prism", "heuristic: ..."
    orientation_reason: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def is_textured(self) -> bool:
        return self.texture is not None and self.uvs is not None

    @property
    def height(self) -> float:
        """Extent along the up axis (metres when units are known)."""
        if self.n_vertices == 0:
            return 0.0
        z = self.vertices[:, 2]
        return float(z.max() - z.min())
