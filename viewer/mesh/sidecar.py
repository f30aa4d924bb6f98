"""A parsed mesh saved beside its source so re-opening skips parsing: one uncompressed ``.npz``.

Every array of the ``BodyMesh`` is stored raw (the texture as its uint8 pixels, not a PNG), the
scalar fields as one JSON string. ``load_sidecar`` gives None, never an exception, for a file
that is missing, unreadable, inconsistent or written by another ``FORMAT_VERSION``: the caller
then parses the source again and writes a fresh sidecar. Writes are atomic (temp file, then
``os.replace``), so a crash never leaves a half-written sidecar under the real name.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from viewer.mesh.mesh_data import BodyMesh, TextureGroup

log = logging.getLogger(__name__)

#: bump whenever the layout or the loader's output changes meaning
FORMAT_VERSION = 1

_OPTIONAL_ARRAYS = ("uvs", "texture", "vertex_colors", "source_vertex_index")


def save_sidecar(mesh: BodyMesh, path: Path) -> None:
    """Write ``mesh`` to ``path`` atomically. Raises OSError when the folder is not writable."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"vertices": mesh.vertices, "faces": mesh.faces}
    for name in _OPTIONAL_ARRAYS:
        value = getattr(mesh, name)
        if value is not None:
            arrays[name] = value
    for number, group in enumerate(mesh.groups):
        arrays[f"group_faces_{number}"] = group.faces
        if group.image is not None:
            arrays[f"group_image_{number}"] = group.image
    meta = {
        "version": FORMAT_VERSION,
        "source_path": str(mesh.source_path) if mesh.source_path is not None else None,
        "units": mesh.units,
        "unit_scale": mesh.unit_scale,
        "source_up_axis": mesh.source_up_axis,
        "source_front_axis": mesh.source_front_axis,
        "orientation_reason": mesh.orientation_reason,
        "warnings": list(mesh.warnings),
        "group_names": [group.name for group in mesh.groups],
    }
    arrays["meta"] = np.array(json.dumps(meta))

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def load_sidecar(path: Path) -> BodyMesh | None:
    """The mesh saved at ``path``, or None when it is missing, corrupt or of another version."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        # open the file ourselves: np.load(path) leaks its handle when the zip is truncated
        with path.open("rb") as stream, np.load(stream, allow_pickle=False) as stored:
            return _read(stored)
    except Exception as exc:  # a bad file may fail in zipfile, numpy, json or our checks
        log.info("ignoring unusable mesh sidecar %s: %s", path, exc)
        return None


def _read(stored: np.lib.npyio.NpzFile) -> BodyMesh | None:
    meta = json.loads(str(stored["meta"][()]))
    if meta.get("version") != FORMAT_VERSION:
        return None
    names = set(stored.files)
    vertices = _frozen(stored["vertices"])
    faces = _frozen(stored["faces"])
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError("vertices or faces have the wrong shape")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError("faces refer to missing vertices")
    optional = {name: _frozen(stored[name]) if name in names else None for name in _OPTIONAL_ARRAYS}
    for name in ("uvs", "vertex_colors", "source_vertex_index"):
        if optional[name] is not None and len(optional[name]) != len(vertices):
            raise ValueError(f"{name} does not match the vertex count")
    groups = tuple(
        TextureGroup(
            name=group_name,
            faces=_frozen(stored[f"group_faces_{number}"]),
            image=_frozen(stored[image]) if (image := f"group_image_{number}") in names else None,
        )
        for number, group_name in enumerate(meta["group_names"])
    )
    return BodyMesh(
        vertices=vertices,
        faces=faces,
        groups=groups,
        source_path=Path(meta["source_path"]) if meta["source_path"] else None,
        units=meta["units"],
        unit_scale=float(meta["unit_scale"]),
        source_up_axis=meta["source_up_axis"],
        source_front_axis=meta["source_front_axis"],
        orientation_reason=meta["orientation_reason"],
        warnings=tuple(meta["warnings"]),
        **optional,
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
