"""Per-scan asset integrity checks for QA: each check says pass, warn or fail in one plain line.

Two layers:
- Pure checks (``check_*``) on a bundle folder's files and the loaded ``BodyMesh``: no network.
  ``check_bundle`` runs all the file and mesh checks on one folder (a cache folder or any Prism
  bundle on disk).
- ``check_scan`` asks the server for the scan, judges its pipeline state, downloads the bundle
  through the ``ScanOpener`` (and so the asset cache), runs the checks and compares the model's
  height with the declared one.

Rules that are easy to miss:
- Mesh topology (holes, duplicate faces) is judged on vertices merged by exact position: UV seams
  split one file vertex into several render vertices with bit-identical coordinates.
- A scan whose Body stage has not produced a model gets every model check as WARN "not run".
- The results of the file and mesh checks are saved as ``integrity.json`` in the scan's cache
  folder, keyed by the cached files' sizes, ETags and mtimes; ``check_scan`` reuses them while the
  files are unchanged, so a second check of a scan loads no mesh at all.
- ``ScanReport.error`` is set only when a scan could not be checked at all (unknown id, network,
  refused key); then ``checks`` is empty.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from PIL import Image

from viewer.assets.cache import ASSET_FILENAMES, AssetCache
from viewer.core.atomic_files import write_json_atomic
from viewer.core.errors import (
    AssetDownloadError,
    MeshLoadError,
    NotFoundError,
    PrismApiError,
    ScanViewerError,
)
from viewer.core.models import AssetType, Quantity, Scan, ScanStatus, StageState
from viewer.mesh.loader import DEFAULT_LIMITS, escapes_folder, load_mesh, sniff_format
from viewer.mesh.mesh_data import BodyMesh
from viewer.services.scan_opening import ScanOpener
from viewer.services.session import ServerSession

log = logging.getLogger(__name__)


class Status(str, Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str


@dataclass(frozen=True)
class ScanReport:
    scan_id: str
    checks: tuple[CheckResult, ...]
    #: why the scan could not be checked at all (then ``checks`` is empty); None otherwise
    error: str | None = None

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)


# Check names, in report order (stable: they are the JSON keys QA scripts filter on).
PIPELINE = "pipeline"
FILE_SIZES = "file-sizes"
MODEL = "model"
MATERIAL_LINKS = "material-links"
TEXTURE = "texture"
UVS = "uvs"
UNITS = "units"
HEIGHT = "height"
CLOSED = "closed"
FACES = "faces"
TEMPLATE = "template-vertices"

#: The checks that need the scan's bundle; reported as "not run" when the scan has no model.
BUNDLE_CHECKS = (FILE_SIZES, MODEL, MATERIAL_LINKS, TEXTURE, UVS, UNITS, CLOSED, FACES, TEMPLATE)
CHECK_ORDER = (PIPELINE, FILE_SIZES, MODEL, MATERIAL_LINKS, TEXTURE, UVS, UNITS, HEIGHT, CLOSED, FACES,
               TEMPLATE)

#: Vertex count of the SMPL body template that Prism's fitted bodies use.
SMPL_VERTEX_COUNT = 6890
#: A model within this fraction of the template's count is probably a damaged fitted body.
TEMPLATE_NEAR_FRACTION = 0.01

HEIGHT_WARN_M = 0.03
HEIGHT_FAIL_M = 0.10

#: (suspiciously small below, huge above) in bytes per bundle file; an empty file always fails.
SIZE_LIMITS: dict[AssetType, tuple[int, int]] = {
    AssetType.MODEL: (50_000, 300_000_000),
    AssetType.TEXTURE: (10_000, 64_000_000),
    AssetType.MATERIAL: (20, 64_000),
    AssetType.CANONICAL_BODY: (50_000, 300_000_000),
}

TEXTURE_PLACEHOLDER_PX = 8  # trimesh's placeholder is 2x2; anything this small is not a photo
TEXTURE_SMALL_PX = 128
TEXTURE_FLAT_STD = 2.0  # per-channel standard deviation (0-255) below which an image is one colour

UV_OUTSIDE_WARN_FRACTION = 0.01
UV_TOLERANCE = 1e-3

#: Holes: a few are a warning, a surface with this share of boundary edges is torn.
TORN_BOUNDARY_FRACTION = 0.05
#: Degenerate + duplicate faces above this share of all faces fail.
BAD_FACE_FAIL_FRACTION = 0.01

RESULTS_FILE = "integrity.json"
#: Bump when a check's logic or wording changes, so saved results are recomputed.
RESULTS_VERSION = 1

_MTLLIB = re.compile(rb"^[ \t]*mtllib[ \t]+([^\r\n]+?)[ \t]*\r?$", re.MULTILINE)
_USEMTL = re.compile(rb"^[ \t]*usemtl[ \t]+([^\r\n]+?)[ \t]*\r?$", re.MULTILINE)
_VT = re.compile(rb"^[ \t]*vt[ \t]+(\S+)[ \t]+(\S+)", re.MULTILINE)
_NEWMTL = re.compile(r"^[ \t]*newmtl[ \t]+(.+?)[ \t]*$", re.MULTILINE)
_MAP_KD = re.compile(r"^[ \t]*map_Kd[ \t]+(.+?)[ \t]*$", re.MULTILINE | re.IGNORECASE)


# ---------------------------------------------------------------------------- small helpers


def not_run(names: Iterable[str], reason: str) -> list[CheckResult]:
    return [CheckResult(name, Status.WARN, f"not run: {reason}") for name in names]


def format_bytes(size: int) -> str:
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size} B"


def metres(quantity: Quantity | None) -> float | None:
    """A declared height in metres (the API sends ``m`` or ``in``)."""
    if quantity is None:
        return None
    factor = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}.get(quantity.unit.strip().lower())
    return quantity.value * factor if factor is not None else None


def _resolve_name(folder: Path, text: str) -> Path | None:
    """The file a ``mtllib``/``map_Kd`` value names inside ``folder`` (the whole value, then its
    last word, for ``map_Kd -s 1 1 1 skin.png``); None when missing or outside the folder."""
    words = text.split()
    for candidate in [text] + ([words[-1]] if len(words) > 1 else []):
        if escapes_folder(candidate):
            continue
        target = folder / candidate
        if target.is_file():
            return target
    return None


# ---------------------------------------------------------------------------- bundle files


@dataclass(frozen=True)
class BundleFiles:
    """The files of one scan's bundle (None where the bundle has none)."""

    model: Path | None
    material: Path | None = None
    texture: Path | None = None
    canonical_body: Path | None = None

    @classmethod
    def in_folder(cls, folder: Path) -> "BundleFiles":
        """A Prism bundle on disk, found by Prism's file names."""
        folder = Path(folder)

        def first(*names: str) -> Path | None:
            return next((folder / n for n in names if (folder / n).is_file()), None)

        return cls(
            model=first("avatar.obj", "model.ply", "model.glb"),
            material=first(ASSET_FILENAMES[AssetType.MATERIAL]),
            texture=first(ASSET_FILENAMES[AssetType.TEXTURE]),
            canonical_body=first(ASSET_FILENAMES[AssetType.CANONICAL_BODY], "canonical_body.obj",
                                 "canonical_body.ply"),
        )

    @classmethod
    def in_cache(cls, cache: AssetCache, scan_id: str) -> "BundleFiles":
        def path(asset: AssetType) -> Path | None:
            cached = cache.get(scan_id, asset)
            return cached.path if cached else None

        return cls(path(AssetType.MODEL), path(AssetType.MATERIAL), path(AssetType.TEXTURE),
                   path(AssetType.CANONICAL_BODY))

    def items(self) -> list[tuple[AssetType, Path]]:
        pairs = [(AssetType.MODEL, self.model), (AssetType.MATERIAL, self.material),
                 (AssetType.TEXTURE, self.texture), (AssetType.CANONICAL_BODY, self.canonical_body)]
        return [(asset, p) for asset, p in pairs if p is not None]


def _model_format(model: Path | None) -> str | None:
    """'obj', 'ply', 'glb', ... from the content; None when there is no model or it is no mesh."""
    if model is None:
        return None
    try:
        with model.open("rb") as stream:
            head = stream.read(65536)
        return sniff_format(model, head)
    except (OSError, MeshLoadError):
        return None


# ---------------------------------------------------------------------------- pipeline


def check_pipeline(scan: Scan) -> CheckResult:
    failed = scan.assets.failed_stage
    if failed is not None:
        return CheckResult(PIPELINE, Status.FAIL, f"the {failed.label} stage failed (scan status {scan.status.value})")
    if scan.status is ScanStatus.FAILED:
        return CheckResult(PIPELINE, Status.FAIL, "the scan's status is FAILED (the server names no failed stage)")
    running = scan.assets.running_stage
    if scan.status is ScanStatus.READY:
        if all(s.state is StageState.SUCCEEDED for s in scan.assets.stages):
            return CheckResult(PIPELINE, Status.PASS, "READY: all four stages succeeded")
        if all(s.state is StageState.NONE for s in scan.assets.stages):
            return CheckResult(PIPELINE, Status.PASS, "READY (the server gives no stage details)")
        pending = ", ".join(s.label for s in scan.assets.stages if s.state is not StageState.SUCCEEDED)
        return CheckResult(PIPELINE, Status.WARN, f"READY, but these stages did not succeed: {pending}")
    if running is not None:
        return CheckResult(PIPELINE, Status.WARN,
                       f"not ready: {scan.status.value}, the {running.label} stage is still running")
    return CheckResult(PIPELINE, Status.WARN, f"not ready: the scan is {scan.status.value}")


def model_expected(scan: Scan) -> bool:
    """Whether the scan should have a model: its Body stage succeeded (or a READY scan from a
    server that reports no stages)."""
    body = scan.assets.state("body")
    return body is StageState.SUCCEEDED or (scan.status is ScanStatus.READY and body is StageState.NONE)


def _no_model_reason(scan: Scan) -> str:
    body = scan.assets.stage("body")
    if body.state is StageState.FAILED:
        return "no model (the Body stage failed)"
    if body.state is StageState.STARTED:
        return "no model yet (the Body stage is still running)"
    return f"no model yet (the scan is {scan.status.value})"


# ---------------------------------------------------------------------------- file checks


def check_file_sizes(files: BundleFiles) -> CheckResult:
    problems: list[str] = []
    sizes: list[str] = []
    status = Status.PASS
    for asset, path in files.items():
        size = path.stat().st_size
        small, huge = SIZE_LIMITS[asset]
        sizes.append(f"{path.name} {format_bytes(size)}")
        if size == 0:
            problems.append(f"{path.name} is empty")
            status = Status.FAIL
        elif asset in (AssetType.MODEL, AssetType.CANONICAL_BODY) and size > DEFAULT_LIMITS.max_bytes:
            problems.append(f"{path.name} is {format_bytes(size)}, over the viewer's limit")
            status = Status.FAIL
        elif size < small:
            problems.append(f"{path.name} is suspiciously small ({format_bytes(size)})")
            status = max(status, Status.WARN, key=_severity)
        elif size > huge:
            problems.append(f"{path.name} is huge ({format_bytes(size)})")
            status = max(status, Status.WARN, key=_severity)
    if not sizes:
        return CheckResult(FILE_SIZES, Status.FAIL, "the bundle has no files")
    return CheckResult(FILE_SIZES, status, "; ".join(problems) if problems else ", ".join(sizes))


def _severity(status: Status) -> int:
    return (Status.PASS, Status.WARN, Status.FAIL).index(status)


def check_model(model: Path | None, mesh: BodyMesh | None, load_error: str | None) -> CheckResult:
    if model is None:
        return CheckResult(MODEL, Status.FAIL, "the server has no model file for this scan")
    if mesh is None:
        return CheckResult(MODEL, Status.FAIL, f"{model.name} does not load: {load_error or 'unknown reason'}")
    summary = f"{model.name} loads: {mesh.n_vertices:,} vertices, {mesh.n_faces:,} faces"
    if mesh.warnings:
        return CheckResult(MODEL, Status.WARN, f"{summary}; {mesh.warnings[0]}")
    return CheckResult(MODEL, Status.PASS, summary)


def check_material_links(files: BundleFiles) -> CheckResult:
    """OBJ -> ``mtllib`` -> MTL -> ``map_Kd`` -> image: every name must resolve in the bundle."""
    model = files.model
    file_format = _model_format(model)
    if model is None or file_format is None:
        return CheckResult(MATERIAL_LINKS, Status.WARN, "not run: there is no readable model")
    if file_format != "obj":
        return CheckResult(MATERIAL_LINKS, Status.PASS,
                       f"not applicable: a {file_format.upper()} model names no MTL or texture files")
    folder = model.parent
    data = model.read_bytes()
    libraries = [m.decode("utf-8", "replace") for m in _MTLLIB.findall(data)]
    if not libraries:
        return CheckResult(MATERIAL_LINKS, Status.WARN, f"{model.name} names no material library (mtllib)")
    mtl_paths: list[Path] = []
    for name in dict.fromkeys(libraries):
        path = _resolve_name(folder, name)
        if path is None:
            where = "outside the bundle" if escapes_folder(name) else "not in the bundle"
            return CheckResult(MATERIAL_LINKS, Status.FAIL, f"{model.name} names '{name}', which is {where}")
        mtl_paths.append(path)
    mtl_text = "\n".join(p.read_text("utf-8", errors="replace") for p in mtl_paths)
    defined = set(_NEWMTL.findall(mtl_text))
    used = {m.decode("utf-8", "replace") for m in _USEMTL.findall(data)}
    textures = list(dict.fromkeys(_MAP_KD.findall(mtl_text)))
    mtl_names = ", ".join(p.name for p in mtl_paths)
    texture_paths: list[Path] = []
    for name in textures:
        path = _resolve_name(folder, name)
        if path is None:
            return CheckResult(MATERIAL_LINKS, Status.FAIL, f"{mtl_names} names texture '{name}', which is missing")
        texture_paths.append(path)
    undefined = sorted(used - defined)
    if undefined:
        return CheckResult(MATERIAL_LINKS, Status.WARN,
                       f"{model.name} uses material '{undefined[0]}', which {mtl_names} does not define")
    if not textures:
        return CheckResult(MATERIAL_LINKS, Status.WARN, f"{mtl_names} names no texture (map_Kd)")
    texture_names = ", ".join(p.name for p in texture_paths)
    return CheckResult(MATERIAL_LINKS, Status.PASS, f"{model.name} -> {mtl_names} -> {texture_names}")


def _decode_image(path: Path) -> tuple[np.ndarray | None, str]:
    """(RGB pixels, "") or (None, why it does not decode)."""
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image.convert("RGB"), dtype=np.uint8), ""
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, str(exc) or type(exc).__name__


def judge_texture_pixels(pixels: np.ndarray, name: str) -> CheckResult:
    """A real photo texture: not a tiny placeholder and not a single flat colour."""
    height, width = pixels.shape[:2]
    if min(height, width) <= TEXTURE_PLACEHOLDER_PX:
        return CheckResult(TEXTURE, Status.FAIL, f"{name} is only {width}x{height} pixels: a placeholder")
    rgb = pixels[..., :3].reshape(-1, 3)
    step = max(1, len(rgb) // 262_144)  # a quarter million samples judge the colours well enough
    spread = rgb[::step].astype(np.float64).std(axis=0)
    if spread.max() < TEXTURE_FLAT_STD:
        colour = ", ".join(str(int(v)) for v in np.median(rgb[::step], axis=0))
        return CheckResult(TEXTURE, Status.FAIL, f"{name} is a single flat colour (RGB {colour}), not a photo")
    if min(height, width) < TEXTURE_SMALL_PX:
        return CheckResult(TEXTURE, Status.WARN, f"{name} is small ({width}x{height} pixels)")
    return CheckResult(TEXTURE, Status.PASS, f"{name} {width}x{height}, decodes, varied colours")


def check_texture(files: BundleFiles, mesh: BodyMesh | None) -> CheckResult:
    file_format = _model_format(files.model)
    if files.texture is not None:
        pixels, why = _decode_image(files.texture)
        if pixels is None:
            return CheckResult(TEXTURE, Status.FAIL, f"{files.texture.name} does not decode as an image ({why})")
        verdict = judge_texture_pixels(pixels, files.texture.name)
        if verdict.status is Status.PASS and mesh is not None and mesh.texture is None:
            return CheckResult(TEXTURE, Status.WARN,
                           f"{files.texture.name} is a real image, but the model does not use it")
        return verdict
    if mesh is not None and mesh.texture is not None:  # embedded (glTF)
        return judge_texture_pixels(mesh.texture, "the embedded texture")
    if file_format == "ply" or (mesh is not None and mesh.vertex_colors is not None):
        if mesh is not None and mesh.vertex_colors is None:
            return CheckResult(TEXTURE, Status.WARN, "no texture and no vertex colours: the body shows plain")
        return CheckResult(TEXTURE, Status.WARN, "no texture: the model is coloured per vertex (legacy PLY bundle)")
    if file_format is None:
        return CheckResult(TEXTURE, Status.FAIL, "no texture image in the bundle (and the model is not readable)")
    return CheckResult(TEXTURE, Status.FAIL, "no texture image in the bundle: the body shows untextured")


def _obj_uvs(model: Path) -> np.ndarray | None:
    """The ``vt`` rows of an OBJ as (n, 2) floats (NaN where unreadable); None when it has none."""
    rows = _VT.findall(model.read_bytes())
    if not rows:
        return None
    try:
        return np.array(rows, dtype=np.bytes_).astype(np.float64)
    except ValueError:
        return np.array([[_to_float(u), _to_float(v)] for u, v in rows])


def _to_float(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def check_uvs(files: BundleFiles, mesh: BodyMesh | None) -> CheckResult:
    file_format = _model_format(files.model)
    if file_format is None:
        return CheckResult(UVS, Status.WARN, "not run: there is no readable model")
    if file_format == "obj":
        uvs = _obj_uvs(files.model)  # the file's own rows: present even when no texture loaded
    elif mesh is not None and mesh.uvs is not None:
        uvs = mesh.uvs[np.unique(mesh.faces)]
    else:
        uvs = None
    if uvs is None or len(uvs) == 0:
        if file_format == "obj":
            return CheckResult(UVS, Status.FAIL, f"{files.model.name} has no UV coordinates (vt): no texture can map")
        return CheckResult(UVS, Status.WARN,
                       f"no UV coordinates: a {file_format.upper()} model (coloured per vertex, if at all)")
    finite = np.isfinite(uvs).all(axis=1)
    if not finite.all():
        return CheckResult(UVS, Status.FAIL, f"{int((~finite).sum()):,} of {len(uvs):,} UVs are not numbers")
    if np.ptp(uvs, axis=0).max() < 1e-6:
        return CheckResult(UVS, Status.FAIL, f"all {len(uvs):,} UVs are the same point: the texture maps to one colour")
    inside = ((uvs >= -UV_TOLERANCE) & (uvs <= 1 + UV_TOLERANCE)).all(axis=1)
    outside = 1.0 - float(inside.mean())
    if outside == 0:
        return CheckResult(UVS, Status.PASS, f"{len(uvs):,} UVs, all within [0, 1]")
    if outside <= UV_OUTSIDE_WARN_FRACTION:
        return CheckResult(UVS, Status.PASS, f"{len(uvs):,} UVs, {100 * (1 - outside):.1f}% within [0, 1]")
    return CheckResult(UVS, Status.WARN,
                   f"{100 * outside:.1f}% of {len(uvs):,} UVs lie outside [0, 1] (the texture repeats there)")


# ---------------------------------------------------------------------------- mesh checks


_UNIT_NAMES = {0.1: "decimetres", 0.01: "centimetres", 0.001: "millimetres"}


def check_units(mesh: BodyMesh | None) -> CheckResult:
    if mesh is None:
        return CheckResult(UNITS, Status.WARN, "not run: the model did not load")
    if mesh.units is None:
        return CheckResult(UNITS, Status.FAIL, f"units unknown: the model is {mesh.height:,.4g} units tall, "
                                           "not a person's height in m, cm or mm")
    if mesh.unit_scale != 1.0:
        unit = _UNIT_NAMES.get(mesh.unit_scale, f"units of {mesh.unit_scale:g} m")
        return CheckResult(UNITS, Status.WARN, f"the file is in {unit} (converted; Prism models are in metres), "
                                           f"{mesh.height:.3f} m tall")
    return CheckResult(UNITS, Status.PASS, f"metres ({mesh.height:.3f} m tall)")


def check_height(model_height_m: float | None, declared_m: float | None, source: str, *,
                 no_model_height: str = "the model's units are unknown") -> CheckResult:
    """``source`` names where the declared height came from ("scan", "user"); ``no_model_height``
    says why ``model_height_m`` is None."""
    if model_height_m is None:
        return CheckResult(HEIGHT, Status.WARN, f"not run: {no_model_height}")
    if declared_m is None:
        return CheckResult(HEIGHT, Status.WARN,
                       f"no declared height to compare with ({source}); the model is {model_height_m:.3f} m tall")
    gap = abs(model_height_m - declared_m)
    detail = (f"model {model_height_m:.3f} m, declared {declared_m:.3f} m ({source}): "
              f"{100 * gap:.1f} cm apart")
    if gap > HEIGHT_FAIL_M:
        return CheckResult(HEIGHT, Status.FAIL, detail)
    if gap > HEIGHT_WARN_M:
        return CheckResult(HEIGHT, Status.WARN, detail)
    return CheckResult(HEIGHT, Status.PASS, detail)


def merged_faces(mesh: BodyMesh) -> np.ndarray:
    """Faces over vertices merged by exact position (UV-seam copies of a file vertex become one)."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    rows = vertices.view(np.dtype((np.void, vertices.dtype.itemsize * 3))).ravel()
    _, inverse = np.unique(rows, return_inverse=True)
    return inverse.reshape(-1)[mesh.faces]


@dataclass(frozen=True)
class Boundary:
    boundary_edges: int
    open_loops: int
    non_manifold_edges: int
    edges: int


def find_boundary(faces: np.ndarray) -> Boundary:
    """Edges used by one face only, how many closed loops they form, and edges shared by > 2 faces."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    keys = edges[:, 0].astype(np.int64) * (int(faces.max(initial=0)) + 1) + edges[:, 1]
    unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
    boundary = edges[first[counts == 1]]
    return Boundary(len(boundary), count_components(boundary), int((counts > 2).sum()), len(unique))


def _duplicate_rows(rows: np.ndarray) -> int:
    """How many rows repeat an earlier one."""
    if len(rows) < 2:
        return 0
    ordered = rows[np.lexsort(rows.T[::-1])]
    return int((ordered[1:] == ordered[:-1]).all(axis=1).sum())


def count_components(edges: np.ndarray) -> int:
    """Connected components of a graph given as (k, 2) vertex pairs (label hooking + compression)."""
    if len(edges) == 0:
        return 0
    nodes, inverse = np.unique(edges, return_inverse=True)
    a, b = inverse.reshape(-1, 2).T
    label = np.arange(len(nodes))
    while True:
        la, lb = label[a], label[b]
        low = np.minimum(la, lb)
        hooked = label.copy()
        np.minimum.at(hooked, la, low)
        np.minimum.at(hooked, lb, low)
        while True:  # point every node at its root
            jumped = hooked[hooked]
            if np.array_equal(jumped, hooked):
                break
            hooked = jumped
        if np.array_equal(hooked, label):
            return len(np.unique(label))
        label = hooked


def check_closed(mesh: BodyMesh | None, faces: np.ndarray | None = None) -> CheckResult:
    """Holes as open boundary loops; ``faces`` may pass ``merged_faces(mesh)`` already computed."""
    if mesh is None:
        return CheckResult(CLOSED, Status.WARN, "not run: the model did not load")
    found = find_boundary(merged_faces(mesh) if faces is None else faces)
    non_manifold = f"; {found.non_manifold_edges:,} edges shared by more than two faces" \
        if found.non_manifold_edges else ""
    if found.boundary_edges == 0:
        status = Status.WARN if found.non_manifold_edges else Status.PASS
        return CheckResult(CLOSED, status, f"closed: no holes{non_manifold}")
    loops = "open loop" if found.open_loops == 1 else "open loops"
    detail = f"{found.open_loops:,} {loops} (holes), {found.boundary_edges:,} boundary edges{non_manifold}"
    if found.boundary_edges > TORN_BOUNDARY_FRACTION * found.edges:
        return CheckResult(CLOSED, Status.FAIL, f"torn surface: {detail}")
    return CheckResult(CLOSED, Status.WARN, detail)


def check_faces(mesh: BodyMesh | None, faces: np.ndarray | None = None) -> CheckResult:
    """Degenerate faces (repeated corners or no area) and duplicates (same three corners)."""
    if mesh is None:
        return CheckResult(FACES, Status.WARN, "not run: the model did not load")
    faces = merged_faces(mesh) if faces is None else faces
    corners = np.asarray(mesh.vertices, dtype=np.float64)[mesh.faces]
    doubled_area = np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    diagonal = float(np.linalg.norm(np.ptp(mesh.vertices, axis=0))) if mesh.n_vertices else 0.0
    repeated = (faces[:, 0] == faces[:, 1]) | (faces[:, 1] == faces[:, 2]) | (faces[:, 0] == faces[:, 2])
    degenerate = int((repeated | (doubled_area <= 1e-12 * diagonal**2)).sum())
    duplicates = _duplicate_rows(np.sort(faces, axis=1))
    skipped = [w for w in mesh.warnings if "broken faces" in w]
    parts = [f"{degenerate:,} degenerate", f"{duplicates:,} duplicate"]
    detail = f"{', '.join(parts)} of {mesh.n_faces:,} faces" + (f"; {skipped[0]}" if skipped else "")
    if degenerate + duplicates > BAD_FACE_FAIL_FRACTION * max(1, mesh.n_faces):
        return CheckResult(FACES, Status.FAIL, detail)
    if degenerate or duplicates or skipped:
        return CheckResult(FACES, Status.WARN, detail)
    return CheckResult(FACES, Status.PASS, f"{mesh.n_faces:,} faces, none degenerate or duplicated")


def file_vertex_count(mesh: BodyMesh) -> int:
    """Vertices as the file numbers them (render copies at UV seams counted once)."""
    if mesh.source_vertex_index is not None and len(mesh.source_vertex_index):
        return int(mesh.source_vertex_index.max()) + 1
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    return len(np.unique(vertices.view(np.dtype((np.void, vertices.dtype.itemsize * 3)))))


def check_template(mesh: BodyMesh | None, canonical: BodyMesh | None = None,
                   canonical_error: str | None = None) -> CheckResult:
    """The fitted body (canonical body asset) must have SMPL's 6,890 vertices; a model with a count
    near that is probably a fitted body with something wrong; any other count is a raw scan."""
    template = f"{SMPL_VERTEX_COUNT:,}"
    if canonical_error is not None:
        return CheckResult(TEMPLATE, Status.FAIL, f"the canonical body does not load: {canonical_error}")
    if canonical is not None:
        count = file_vertex_count(canonical)
        if count == SMPL_VERTEX_COUNT:
            return CheckResult(TEMPLATE, Status.PASS, f"canonical body has {count:,} vertices, the SMPL template's")
        return CheckResult(TEMPLATE, Status.FAIL,
                       f"canonical body has {count:,} vertices; the SMPL template has {template}")
    if mesh is None:
        return CheckResult(TEMPLATE, Status.WARN, "not run: the model did not load")
    count = file_vertex_count(mesh)
    if count == SMPL_VERTEX_COUNT:
        return CheckResult(TEMPLATE, Status.PASS, f"{count:,} vertices: the SMPL fitted-body template")
    if abs(count - SMPL_VERTEX_COUNT) <= TEMPLATE_NEAR_FRACTION * SMPL_VERTEX_COUNT:
        return CheckResult(TEMPLATE, Status.WARN,
                       f"{count:,} vertices: near the SMPL template's {template} but not equal "
                       "(a damaged fitted body?)")
    return CheckResult(TEMPLATE, Status.PASS,
                   f"not applicable: {count:,} vertices, a scanned body rather than the {template}-vertex template")


# ---------------------------------------------------------------------------- a whole bundle


@dataclass(frozen=True)
class BundleResult:
    """The file and mesh checks of one bundle, plus the model's height for the height check."""

    checks: tuple[CheckResult, ...]
    model_height_m: float | None
    #: why ``model_height_m`` is None
    no_model_height: str = ""


def check_bundle(files: BundleFiles, mesh: BodyMesh | None = None, *, load_error: str | None = None,
                 canonical: BodyMesh | None = None, canonical_error: str | None = None) -> BundleResult:
    """Every check in ``BUNDLE_CHECKS`` on one bundle. ``mesh`` is the loaded model (loaded here
    when None and no ``load_error`` is given)."""
    if mesh is None and load_error is None and files.model is not None:
        try:
            mesh = load_mesh(files.model, assume_prism=True)
        except MeshLoadError as exc:
            load_error = exc.reason
    faces = merged_faces(mesh) if mesh is not None else None
    checks = (
        check_file_sizes(files),
        check_model(files.model, mesh, load_error),
        check_material_links(files),
        check_texture(files, mesh),
        check_uvs(files, mesh),
        check_units(mesh),
        check_closed(mesh, faces),
        check_faces(mesh, faces),
        check_template(mesh, canonical, canonical_error),
    )
    if mesh is None:
        return BundleResult(checks, None, "the model did not load")
    if mesh.units is None:
        return BundleResult(checks, None, "the model's units are unknown")
    return BundleResult(checks, mesh.height)


# ---------------------------------------------------------------------------- saved results


def _fingerprint(files: BundleFiles, fitted_body: bool) -> dict:
    key: dict = {"fittedBody": fitted_body}
    for asset, path in files.items():
        stat = path.stat()
        key[asset.value] = [stat.st_size, stat.st_mtime_ns]
    return key


def _etags(cache: AssetCache, scan_id: str) -> dict[str, str | None]:
    etags = {}
    for asset in (AssetType.MODEL, AssetType.MATERIAL, AssetType.TEXTURE, AssetType.CANONICAL_BODY):
        cached = cache.get(scan_id, asset)
        if cached is not None:
            etags[asset.value] = cached.etag
    return etags


def load_savedCheckResult(path: Path, key: dict) -> BundleResult | None:
    """The results saved at ``path`` when they were computed for ``key``; else None."""
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("version") != RESULTS_VERSION or data.get("key") != key:
            return None
        checks = tuple(CheckResult(c["name"], Status(c["status"]), c["detail"]) for c in data["checks"])
        height = data.get("modelHeightM")
        return BundleResult(checks, float(height) if height is not None else None, str(data["noModelHeight"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_check_result(path: Path, key: dict, result: BundleResult) -> None:
    payload = {
        "version": RESULTS_VERSION,
        "key": key,
        "checks": [{"name": c.name, "status": c.status.value, "detail": c.detail} for c in result.checks],
        "modelHeightM": result.model_height_m,
        "noModelHeight": result.no_model_height,
    }
    write_json_atomic(path, payload)


# ---------------------------------------------------------------------------- one scan on a server


def check_scan(source: ScanOpener | ServerSession, scan_id: str) -> ScanReport:
    """Check one scan on the server behind ``source`` (downloads through its cache).

    Never raises for a problem of the scan or the server: an unreadable scan gives a report with
    ``error`` set and no checks.
    """
    opener = source.opener if isinstance(source, ServerSession) else source
    try:
        scan = opener.client.get_scan(scan_id)
    except PrismApiError as exc:
        return ScanReport(scan_id, (), error=str(exc))
    pipeline = check_pipeline(scan)
    if not model_expected(scan):
        reason = _no_model_reason(scan)
        checks = [pipeline, *not_run(BUNDLE_CHECKS, reason), *not_run([HEIGHT], reason)]
        return ScanReport(scan_id, _ordered(checks))
    try:
        bundle = _bundleCheckResult(opener, scan)
    except (PrismApiError, AssetDownloadError) as exc:
        return ScanReport(scan_id, (), error=f"the scan's files could not be downloaded: {exc}")
    declared, source_name = _declared_height(opener, scan)
    height = check_height(bundle.model_height_m, declared, source_name, no_model_height=bundle.no_model_height)
    return ScanReport(scan_id, _ordered([pipeline, *bundle.checks, height]))


def _ordered(checks: Sequence[CheckResult]) -> tuple[CheckResult, ...]:
    return tuple(sorted(checks, key=lambda c: CHECK_ORDER.index(c.name)))


def _bundleCheckResult(opener: ScanOpener, scan: Scan) -> BundleResult:
    cache = opener.cache
    scan_id = scan.id
    fitted = scan.assets.state("fittedBody") is StageState.SUCCEEDED
    results_path = cache.scan_dir(scan_id) / RESULTS_FILE

    def key_now() -> dict:
        return {**_fingerprint(BundleFiles.in_cache(cache, scan_id), fitted), "etags": _etags(cache, scan_id)}

    if cache.is_complete(scan_id):
        saved = load_savedCheckResult(results_path, key_now())
        if saved is not None:
            log.info("integrity of %s: reusing saved results", scan_id)
            return saved

    mesh: BodyMesh | None = None
    load_error: str | None = None
    try:
        mesh = opener.open(scan_id).mesh
    except MeshLoadError as exc:
        load_error = exc.reason
    except NotFoundError as exc:  # the body stage says succeeded, but the server has no model
        load_error = str(exc)
    canonical, canonical_error = _canonical_body(opener, scan_id) if fitted else (None, None)
    files = BundleFiles.in_cache(cache, scan_id)
    result = check_bundle(files, mesh, load_error=load_error, canonical=canonical,
                          canonical_error=canonical_error)
    if mesh is not None:
        try:
            save_check_result(results_path, key_now(), result)
        except OSError as exc:
            log.warning("could not save the integrity results of %s: %s", scan_id, exc)
    return result


def _canonical_body(opener: ScanOpener, scan_id: str) -> tuple[BodyMesh | None, str | None]:
    """The fitted (canonical) body, downloaded into the cache once; (None, None) when the server has none."""
    cache = opener.cache
    cached = cache.get(scan_id, AssetType.CANONICAL_BODY)
    if cached is None:
        url = opener.client.get_asset_urls(scan_id).get(AssetType.CANONICAL_BODY)
        if url is None:
            return None, None
        download = opener.client.open_download(url)
        try:
            cached = cache.store(scan_id, AssetType.CANONICAL_BODY, download.chunks(),
                                 expected_size=download.total, etag=download.etag)
        except OSError as exc:
            raise AssetDownloadError(f"Could not save the canonical body: {exc}") from exc
        finally:
            download.close()
    try:
        return load_mesh(cached.path), None
    except MeshLoadError as exc:
        return None, exc.reason


def _declared_height(opener: ScanOpener, scan: Scan) -> tuple[float | None, str]:
    """The person's declared height in metres and where it came from: the scan, else the user."""
    from_scan = metres(scan.height)
    if from_scan is not None:
        return from_scan, "scan"
    if not scan.user_token:
        return None, "the scan names no user"
    try:
        return metres(opener.client.get_user(scan.user_token).height), "user"
    except ScanViewerError as exc:
        return None, f"the user could not be read: {exc}"
