"""Load a body mesh file (OBJ + MTL + texture, PLY, GLB/glTF, STL) into a ``BodyMesh``.

Steps: check the file (exists, not empty, not too big) -> sniff the format from the bytes (an XML
or JSON error document saved under a mesh name is refused before trimesh sees it) -> parse with
trimesh, unprocessed, through a resolver that never leaves the file's folder -> gather plain
arrays per material -> map render vertices back to the file's own vertex numbers -> guess units
and orientation -> rotate into ``VIEW_FRAME``. Every failure is a ``MeshLoadError``.

Orientation precedence: axes given by the caller; ``assume_prism`` (+X up, face +Z); glTF's
convention (+Y up, face +Z); the Prism bundle name ``avatar.obj`` beside ``avatar.obj.mtl``
unless the shape clearly says otherwise; shape cues (``orientation.analyse_body``); otherwise
the format's usual axes (+Y up for OBJ/PLY, +Z up for STL). Vertices are rotated (and scaled
to metres), never moved, so ``vertices[i] == R @ (scale * file_vertex[source_vertex_index[i]])``.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import trimesh
from PIL import Image

from viewer.core.errors import MeshLoadError
from viewer.mesh.mesh_data import BodyMesh, TextureGroup
from viewer.mesh.orientation import (
    BodyShape,
    analyse_body,
    are_perpendicular,
    fallback_front,
    fallback_up,
    normalise_axis,
    rotation_to_view,
)
from viewer.mesh.units import guess_body_unit

log = logging.getLogger(__name__)

PRISM_UP, PRISM_FRONT = "+X", "+Z"
GLTF_UP, GLTF_FRONT = "+Y", "+Z"
SUPPORTED_SUFFIXES = {".obj": "obj", ".ply": "ply", ".glb": "glb", ".gltf": "gltf", ".stl": "stl"}
_SNIFF_BYTES = 65536
_OBJ_LINE = re.compile(rb"^[ \t]*(?:v|vt|vn|f|o|g|s|mtllib|usemtl)[ \t]", re.MULTILINE)
_PLY_FACES = re.compile(rb"^element[ \t]+face[ \t]+(\d+)", re.MULTILINE)
_XML_CODE = re.compile(rb"<Code>\s*([^<]{1,80}?)\s*</Code>")


@dataclass(frozen=True)
class LoadLimits:
    """Files beyond these are refused rather than risking the machine's memory."""

    max_bytes: int = 1 << 30
    max_faces: int = 5_000_000


DEFAULT_LIMITS = LoadLimits()


def load_mesh(
    path: Path,
    *,
    up_axis: str | None = None,
    front_axis: str | None = None,
    assume_prism: bool = False,
    limits: LoadLimits = DEFAULT_LIMITS,
) -> BodyMesh:
    """Read ``path`` into a ``BodyMesh`` standing upright in ``VIEW_FRAME``.

    ``up_axis``/``front_axis`` ("+X", "-Y", ...) name the file's own axes and override detection;
    ``assume_prism`` means the file came from Prism's API (+X up, face +Z unless overridden).
    Raises ``MeshLoadError`` (file and reason in plain words) for anything that is not a mesh,
    and ``ValueError`` for malformed axis names.
    """
    path = Path(path)
    up_axis = normalise_axis(up_axis) if up_axis else None
    front_axis = normalise_axis(front_axis) if front_axis else None
    if up_axis and front_axis and not are_perpendicular(up_axis, front_axis):
        raise ValueError(f"up {up_axis} and front {front_axis} must be perpendicular axes")

    data = _read_bytes(path, limits)
    file_format = sniff_format(path, data)
    warnings: list[str] = []
    suffix_format = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if suffix_format and {suffix_format, file_format} not in ({file_format}, {"glb", "gltf"}):
        warnings.append(f"{path.name} is named .{suffix_format} but contains {file_format.upper()}")
    _check_face_estimate(path, data, file_format, limits)

    raw = _parse(path, data, file_format, warnings, limits)
    raw = _drop_bad_geometry(path, raw, warnings)

    up, front, reason, shape = _decide_orientation(
        path, raw, file_format, up_axis, front_axis, assume_prism
    )
    unit = guess_body_unit(shape.height) if shape.is_body else None
    scale = unit.scale if unit else 1.0
    if unit and unit.source_unit != "m":
        reason += f"; height {shape.height:g} {unit.source_unit} converted to metres"
    elif not unit:
        reason += "; units unknown (not a person-sized body)"
    vertices = raw.vertices @ (scale * rotation_to_view(up, front)).T

    return BodyMesh(
        vertices=_frozen(vertices),
        faces=_frozen(raw.faces),
        uvs=_frozen(raw.uvs),
        texture=raw.texture,
        vertex_colors=_frozen(raw.vertex_colors),
        source_vertex_index=_frozen(raw.source_index),
        groups=raw.groups,
        source_path=path,
        units="m" if unit else None,
        unit_scale=scale,
        source_up_axis=up,
        source_front_axis=front,
        orientation_reason=reason,
        warnings=tuple(warnings),
    )


def reorient(mesh: BodyMesh, *, up_axis: str, front_axis: str | None = None) -> BodyMesh:
    """The same mesh turned as if its file's up/front axes were ``up_axis``/``front_axis``.

    Axes name the file's own frame, like ``load_mesh``'s. Without ``front_axis`` the current
    front is kept when it is perpendicular to the new up, else the usual one for that up is
    taken. Units are left as they were.
    """
    up = normalise_axis(up_axis)
    if front_axis is not None:
        front = normalise_axis(front_axis)
    elif are_perpendicular(up, mesh.source_front_axis):
        front = mesh.source_front_axis
    else:
        front = fallback_front(up)
    old = rotation_to_view(mesh.source_up_axis, mesh.source_front_axis)
    new = rotation_to_view(up, front)
    vertices = mesh.vertices @ (new @ old.T).T
    return dataclasses.replace(
        mesh,
        vertices=_frozen(vertices),
        source_up_axis=up,
        source_front_axis=front,
        orientation_reason="given (re-oriented by the user)",
    )


# ---------------------------------------------------------------- reading and sniffing


def _read_bytes(path: Path, limits: LoadLimits) -> bytes:
    if not path.exists():
        raise MeshLoadError(path, "the file does not exist")
    if not path.is_file():
        raise MeshLoadError(path, "this is a folder, not a mesh file")
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise MeshLoadError(
                path,
                f"the file is too large ({size / 1e6:,.0f} MB; the limit is "
                f"{limits.max_bytes / 1e6:,.0f} MB)",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise MeshLoadError(path, f"the file cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise MeshLoadError(path, "the file is empty")
    return data


def sniff_format(path: Path, data: bytes) -> str:
    """'obj', 'ply', 'glb', 'gltf' or 'stl', judged from the content first, then the suffix."""
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:4] == b"glTF":
        return "glb"
    if head[:3].lower() == b"ply" and head[3:4] in (b"\n", b"\r"):
        return "ply"
    if head[:1] == b"<":
        code = _XML_CODE.search(head)
        detail = f" (the server said {code.group(1).decode('ascii', 'replace')})" if code else ""
        raise MeshLoadError(path, f"this is an XML/HTML document{detail}, not a mesh")
    if head[:1] in (b"{", b"["):
        if b'"asset"' in head and (b'"meshes"' in data or b'"accessors"' in data):
            return "gltf"
        raise MeshLoadError(path, "this is a JSON document (perhaps an error message), not a mesh")
    if len(data) >= 84 and 84 + 50 * int.from_bytes(data[80:84], "little") == len(data):
        return "stl"
    if head[:5].lower() == b"solid" and b"facet" in head:
        return "stl"
    if _OBJ_LINE.search(head):
        return "obj"
    by_suffix = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if by_suffix:
        return by_suffix
    raise MeshLoadError(
        path,
        f"unsupported file type '{path.suffix or '(no extension)'}' and the content is not a "
        "recognised mesh (supported: OBJ, PLY, GLB/glTF, STL)",
    )


def _check_face_estimate(path: Path, data: bytes, file_format: str, limits: LoadLimits) -> None:
    """Refuse obviously oversized files before parsing them."""
    if file_format == "obj":
        estimate = data.count(b"\nf ") + data.count(b"\nf\t")
    elif file_format == "ply":
        match = _PLY_FACES.search(data[:_SNIFF_BYTES])
        estimate = int(match.group(1)) if match else 0
    elif file_format == "stl" and not data[:5].lower() == b"solid":
        estimate = int.from_bytes(data[80:84], "little")
    else:
        return
    _check_face_count(path, estimate, limits)


def _check_face_count(path: Path, faces: int, limits: LoadLimits) -> None:
    if faces > limits.max_faces:
        raise MeshLoadError(
            path, f"the mesh is too large ({faces:,} faces; the limit is {limits.max_faces:,})"
        )


class BundleResolver(trimesh.resolvers.FilePathResolver):
    """Serves only files inside the mesh's own folder and notes what it refused or missed."""

    def __init__(self, source: Path) -> None:
        super().__init__(str(source))
        self.root = Path(self.parent).resolve()
        self.warnings: list[str] = []

    def get(self, name: str) -> bytes:
        text = name.strip()
        # "map_Kd -s 1 1 1 skin.png": options before the file name
        candidates = [text] + ([text.split()[-1]] if len(text.split()) > 1 else [])
        for candidate in candidates:
            target = (self.root / candidate).resolve()
            if escapes_folder(candidate) or not target.is_relative_to(self.root):
                self.warnings.append(
                    f"'{text}' points outside the mesh's folder; it was not followed"
                )
                raise FileNotFoundError(text)
            if target.is_file():
                return target.read_bytes()
        self.warnings.append(f"'{text}' referenced by the file is missing; shown without it")
        raise FileNotFoundError(text)


def escapes_folder(name: str) -> bool:
    """True when a file name in a bundle points outside its folder (``../``, absolute, a drive)."""
    for flavour in (PurePosixPath, PureWindowsPath):
        pure = flavour(name)
        if pure.is_absolute() or pure.drive or pure.anchor or ".." in pure.parts:
            return True
    return False


# ---------------------------------------------------------------- parsing into plain arrays


@dataclass
class _RawMesh:
    """Arrays in the file's frame and units, before orientation."""

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray | None
    vertex_colors: np.ndarray | None
    source_index: np.ndarray | None
    texture: np.ndarray | None  # the first real texture
    groups: tuple[TextureGroup, ...]  # one per material when several have textures, else ()


def _parse(
    path: Path, data: bytes, file_format: str, warnings: list[str], limits: LoadLimits
) -> _RawMesh:
    resolver = BundleResolver(path)
    obj_vertices: _ObjVertices | None = None
    if file_format == "obj":
        numbered_text, obj_vertices = _number_obj_vertices(data)
        stream = io.BytesIO(numbered_text.encode("utf-8"))
    else:
        stream = io.BytesIO(data)
    try:
        scene = trimesh.load_scene(
            stream, file_type=file_format, resolver=resolver, process=file_format == "stl"
        )
        geometries = scene.dump()
    except MemoryError as exc:
        raise MeshLoadError(path, "the mesh is too large to load into memory") from exc
    except Exception as exc:  # trimesh raises anything from ValueError to IndexError
        raise MeshLoadError(path, f"it could not be read as {file_format.upper()} ({exc})") from exc
    warnings.extend(dict.fromkeys(resolver.warnings))

    meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh) and len(g.faces)]
    if not meshes:
        points = sum(len(getattr(g, "vertices", ())) for g in geometries)
        if points:
            reason = f"it has {points:,} points but no faces (a point cloud), so no surface to show"
            raise MeshLoadError(path, reason)
        raise MeshLoadError(path, "it contains no vertices or faces")
    _check_face_count(path, sum(len(m.faces) for m in meshes), limits)
    return _assemble(meshes, file_format, obj_vertices)


def _assemble(
    meshes: list[trimesh.Trimesh], file_format: str, obj_vertices: _ObjVertices | None
) -> _RawMesh:
    """Concatenate the per-material meshes into one set of arrays plus one group per material."""
    vertices, faces, uvs, colours, groups = [], [], [], [], []
    vertex_offset = face_offset = 0
    for mesh in meshes:
        count = len(mesh.vertices)
        visual = mesh.visual
        kind = getattr(visual, "kind", None)
        uv = getattr(visual, "uv", None) if kind == "texture" else None
        uv = np.asarray(uv, dtype=np.float64) if uv is not None and len(uv) == count else None
        vertices.append(np.asarray(mesh.vertices, dtype=np.float64))
        faces.append(np.asarray(mesh.faces, dtype=np.int64) + vertex_offset)
        uvs.append(uv if uv is not None else np.zeros((count, 2)))
        colour = np.asarray(visual.vertex_colors, dtype=np.uint8) if kind == "vertex" else None
        colours.append(colour)
        groups.append(
            TextureGroup(
                name=_material_name(visual, len(groups)),
                faces=_frozen(np.arange(face_offset, face_offset + len(mesh.faces))),
                image=_real_image(visual, file_format) if uv is not None else None,
            )
        )
        vertex_offset += count
        face_offset += len(mesh.faces)

    all_vertices = np.concatenate(vertices)
    all_uvs = np.concatenate(uvs)
    vertex_colors = np.concatenate(colours) if all(c is not None for c in colours) else None
    source_index: np.ndarray | None
    if obj_vertices is not None:
        # trimesh saw row numbers instead of coordinates (see _number_obj_vertices); file
        # vertices no face uses are appended, so every file vertex is present at least once
        source_index = np.rint(all_vertices[:, 0]).astype(np.int64)
        used = np.zeros(len(obj_vertices.positions), dtype=bool)
        used[source_index] = True
        unused = np.flatnonzero(~used)
        source_index = np.concatenate([source_index, unused])
        all_vertices = obj_vertices.positions[source_index]
        all_uvs = np.concatenate([all_uvs, np.zeros((len(unused), 2))])
        vertex_colors = None if obj_vertices.colours is None else obj_vertices.colours[source_index]
    elif file_format == "stl":
        source_index = None  # STL has no shared vertices: trimesh merged the triangle corners
    else:
        source_index = np.arange(len(all_vertices))

    textured = [g for g in groups if g.image is not None]
    return _RawMesh(
        vertices=all_vertices,
        faces=np.concatenate(faces),
        uvs=all_uvs if textured else None,
        vertex_colors=vertex_colors,
        source_index=source_index,
        texture=textured[0].image if textured else None,
        groups=tuple(groups) if len(textured) > 1 else (),
    )


def _material_name(visual: object, position: int) -> str:
    material = getattr(visual, "material", None)
    return str(getattr(material, "name", None) or f"material_{position}")


def _real_image(visual: object, file_format: str) -> np.ndarray | None:
    """The material's texture as uint8 RGB, or None for none / trimesh's 2x2 placeholder.

    For OBJ only an image the MTL's ``map_Kd`` really loaded counts (trimesh tags those with
    ``info['file_path']``). Bodies are opaque: alpha is dropped, whatever ``Tr``/``d`` say.
    """
    material = getattr(visual, "material", None)
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    if not isinstance(image, Image.Image):
        return None
    if file_format == "obj" and "file_path" not in image.info:
        return None
    if min(image.size) <= 2:
        return None
    return _frozen(np.asarray(image.convert("RGB"), dtype=np.uint8))


@dataclass(frozen=True)
class _ObjVertices:
    positions: np.ndarray  # (n, 3) float64, the file's own ``v`` rows
    colours: np.ndarray | None  # (n, 3) uint8 when the rows carry RGB


def _number_obj_vertices(data: bytes) -> tuple[str, _ObjVertices]:
    """The OBJ text with each ``v`` row's coordinates replaced by its row number, and the rows.

    trimesh splits vertices at UV seams and reorders them; handing it row numbers as x makes
    every render vertex say exactly which file vertex it came from, duplicates included. The
    line handling copies trimesh's (backslash continuations joined, rows start with ``"v "``).
    """
    text = data.decode("utf-8", errors="replace")
    text = "\n" + text.replace("\r\n", "\n").replace("\r", "\n").replace("\\\n", "").strip() + "\n"
    parts = text.split("\nv ")
    # each part after the first is "<row>" or "<row>\n<lines up to the next row>"
    pieces = [part.partition("\n") for part in parts[1:]]
    rows = [row for row, _, _ in pieces]
    numbered = [parts[0]] + [f"{n} 0 0{nl}{rest}" for n, (_, nl, rest) in enumerate(pieces)]
    positions, colours = _vertex_table(rows)
    return "\nv ".join(numbered), _ObjVertices(positions, colours)


def _vertex_table(rows: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (NaN where a row is malformed) and, when rows carry RGB, uint8 colours."""
    if not rows:
        return np.zeros((0, 3)), None
    width = len(rows[0].split())
    flat = " ".join(rows).split()
    try:
        if width < 3 or len(flat) != width * len(rows):
            raise ValueError("ragged rows")
        table = np.array(flat, dtype=np.float64).reshape(len(rows), width)
    except ValueError:  # ragged or non-numeric rows: one by one, NaN where unreadable
        width = max(3, max(len(r.split()) for r in rows))
        table = np.full((len(rows), width), np.nan)
        for i, row in enumerate(rows):
            table[i, : len(row.split())] = [_to_float(value) for value in row.split()]
    colours = None
    if table.shape[1] >= 6 and np.isfinite(table[:, 3:6]).any():
        rgb = np.nan_to_num(table[:, 3:6], nan=0.0)
        if rgb.max() <= 1.0:
            rgb = rgb * 255.0
        colours = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(table[:, :3]), colours


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _drop_bad_geometry(path: Path, raw: _RawMesh, warnings: list[str]) -> _RawMesh:
    """Skip faces with out-of-range or non-finite corners; park non-finite vertices at the centre.

    Vertices are kept (``source_vertex_index`` stays complete); a parked vertex has no faces.
    """
    count = len(raw.vertices)
    finite = np.isfinite(raw.vertices).all(axis=1)
    good = (raw.faces >= 0).all(axis=1) & (raw.faces < count).all(axis=1)
    good[good] = finite[raw.faces[good]].all(axis=1)
    if good.all() and finite.all():
        return raw
    if not good.any():
        raise MeshLoadError(path, "none of its faces is valid (all use missing or broken vertices)")
    if not good.all():
        warnings.append(f"{int((~good).sum()):,} broken faces were skipped")
    vertices = raw.vertices
    if not finite.all():
        vertices = vertices.copy()
        vertices[~finite] = vertices[finite].mean(axis=0)
        warnings.append(f"{int((~finite).sum()):,} vertices with invalid coordinates were ignored")
    new_face_number = np.cumsum(good) - 1
    groups = tuple(
        TextureGroup(g.name, _frozen(new_face_number[g.faces[good[g.faces]]]), g.image)
        for g in raw.groups
    )
    return dataclasses.replace(raw, vertices=vertices, faces=raw.faces[good], groups=groups)


# ---------------------------------------------------------------- orientation


def _decide_orientation(
    path: Path,
    raw: _RawMesh,
    file_format: str,
    up_axis: str | None,
    front_axis: str | None,
    assume_prism: bool,
) -> tuple[str, str, str, BodyShape]:
    """(up, front, reason, shape) in the file's frame; see the module docstring for the order."""
    partly = " (partly given)" if up_axis or front_axis else ""
    if up_axis and front_axis:
        return up_axis, front_axis, "given", _shape(raw, up_axis, front_axis)
    if assume_prism:
        up, front = _complete_axes(up_axis, front_axis, PRISM_UP, PRISM_FRONT)
        return up, front, "prism: assumed +X up, face +Z" + partly, _shape(raw, up, front)
    if file_format in ("glb", "gltf"):
        up, front = _complete_axes(up_axis, front_axis, GLTF_UP, GLTF_FRONT)
        shape = _shape(raw, up, front)
        if not shape.is_body and not partly:
            free = _shape(raw, None, None)
            if free.is_body:
                reason = f"heuristic (glTF's +Y up gives no standing person): {free.reason}"
                return free.up, free.front, reason, free
        return up, front, "glTF convention: +Y up, face +Z" + partly, shape

    shape = _shape(raw, up_axis, front_axis)
    if _is_prism_bundle(path) and not partly:
        if shape.is_body and (shape.up, shape.front) != (PRISM_UP, PRISM_FRONT):
            reason = f"heuristic (the shape overrules the Prism bundle name): {shape.reason}"
            return shape.up, shape.front, reason, shape
        reason = "prism: bundle name avatar.obj + avatar.obj.mtl (+X up, face +Z)"
        return PRISM_UP, PRISM_FRONT, reason, _shape(raw, PRISM_UP, PRISM_FRONT)
    if shape.is_body:
        return shape.up, shape.front, f"heuristic{partly}: {shape.reason}", shape

    usual_up, usual_front = ("+Z", "-Y") if file_format == "stl" else ("+Y", "+Z")
    up, front = _complete_axes(up_axis, front_axis, usual_up, usual_front)
    reason = (
        f"not recognisably a standing person, so {file_format.upper()}'s usual axes: "
        f"{up} up, face {front}{partly}"
    )
    return up, front, reason, shape


def _complete_axes(
    up: str | None, front: str | None, default_up: str, default_front: str
) -> tuple[str, str]:
    """Fill in whichever of up/front is missing with the defaults, kept perpendicular."""
    if up is None:
        fits = front is None or are_perpendicular(default_up, front)
        up = default_up if fits else fallback_up(front)
    if front is None:
        front = default_front if are_perpendicular(up, default_front) else fallback_front(up)
    return up, front


def _shape(raw: _RawMesh, up: str | None, front: str | None) -> BodyShape:
    return analyse_body(raw.vertices, raw.faces, up=up, front=front)


def _is_prism_bundle(path: Path) -> bool:
    return path.name == "avatar.obj" and (path.parent / "avatar.obj.mtl").is_file()


def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if array is None:
        return None
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array
