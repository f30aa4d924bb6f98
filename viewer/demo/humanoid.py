"""Generated demo bodies: a closed, UV-mapped humanoid stored the way Prism stores its avatars.

How a body is made (all deterministic for given ``BodyParams``):

1. ``_skeleton`` places joints and landmarks as fractions of stature (table ``_JOINT_HEIGHTS``, from
   Drillis & Contini's segment proportions) in VIEW_FRAME (+Z up, face -Y, left +X), metres, for a
   body of ``REFERENCE_STATURE``.
2. ``_primitives`` dresses the skeleton in smooth shapes (round cones for limbs, ellipsoids for
   head, hands, feet and muscles, an elliptic profile for the torso), each tagged with the UV
   atlas part it belongs to.
3. Their signed distances are blended with an exponential smooth minimum on a grid restricted
   to each shape's bounding box, and VTK's flying edges contours the zero level. A contour of a
   field that is positive on the grid's border is closed, so the mesh is watertight and one piece.
   VTK's quadric decimation brings it to the detail level's face count; "large" is then
   subdivided (midpoints) twice, UVs alongside.
4. ``viewer.demo.body_texture`` assigns per-corner UVs (one atlas tile per part) and paints
   skin, clothes and face into the texture.
5. The mesh is scaled to ``height_m`` (widths by the square root of the height ratio), its feet
   put at x=0, and turned into Prism's stored frame (+X up, face +Z, the person's left -Y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image
from trimesh.remesh import subdivide
from vtkmodules.util.numpy_support import (
    numpy_to_vtk,
    numpy_to_vtkIdTypeArray,
    vtk_to_numpy,
)
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkImageData, vtkPolyData
from vtkmodules.vtkFiltersCore import vtkFlyingEdges3D, vtkQuadricDecimation

from viewer.demo import body_texture
from viewer.mesh.mesh_data import PRISM_TO_VIEW

DETAIL_LEVELS = ("standard", "large")
BUILDS = ("female", "male")

#: Grid spacing of the contoured field as a fraction of stature (1.5 cm / 1.1 cm at 1.75 m); the
#: contour has about 1.5x / 1.2x the target face count and is then decimated.
_GRID_SPACING = {"standard": 0.0085, "large": 0.0062}
#: Faces after decimation. "standard" is about Prism's own avatar (6890 vertices, 13668 faces);
#: "large" is decimated to 33k faces and then subdivided twice (x16): about 530k faces.
_TARGET_FACES = {"standard": 14_000, "large": 33_000}
_LARGE_SUBDIVISIONS = 2

#: Width of the exponential smooth union (m): how much shapes melt together.
_BLEND = 0.011
#: Bodies are built at this stature, then scaled: heights by height_m / REFERENCE_STATURE and
#: widths by the square root of that, so that a taller body of the same girth has a similar BMI.
REFERENCE_STATURE = 1.75


def width_factor(girth: float) -> float:
    """Horizontal scale of trunk and limbs for ``BodyParams.girth``: about BMI 17 at 0.85,
    22-24 at 1.0 and 35 at 1.3 (measured on the generated bodies)."""
    return 1.06 * (1.0 + 0.75 * (girth - 1.0))


@dataclass(frozen=True)
class BodyParams:
    height_m: float = 1.75
    girth: float = 1.0  # 0.85 (slim) .. 1.3 (heavy)
    build: str = "female"  # "female" | "male"
    skin_tone: int = 0  # index into viewer.demo.body_texture.SKIN_TONES
    top_color: tuple[int, int, int] = (40, 90, 200)
    shorts_color: tuple[int, int, int] = (30, 30, 40)
    detail: str = "standard"  # "standard" | "large"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1.2 <= self.height_m <= 2.3:
            raise ValueError(f"height_m must be a human stature in metres, got {self.height_m}")
        if not 0.6 <= self.girth <= 1.6:
            raise ValueError(f"girth must be about 0.85..1.3, got {self.girth}")
        if self.build not in BUILDS:
            raise ValueError(f"build must be one of {BUILDS}, got {self.build!r}")
        if self.detail not in DETAIL_LEVELS:
            raise ValueError(f"detail must be one of {DETAIL_LEVELS}, got {self.detail!r}")


@dataclass(frozen=True)
class GeneratedBody:
    vertices: np.ndarray  # (n,3) float64, PRISM frame (+X up, face +Z, left -Y), metres, feet at x=0
    faces: np.ndarray  # (m,3) int64 into vertices
    uvs: np.ndarray  # (k,2) float UV coordinates
    face_uvs: np.ndarray  # (m,3) int64 into uvs (per-corner, so seams need no vertex split)
    texture: Image.Image  # RGB
    params: BodyParams


# --------------------------------------------------------------------------------------------
# Skeleton
# --------------------------------------------------------------------------------------------

#: Landmark heights as fractions of stature, from the segment-length diagram of Drillis & Contini
#: (1966), reproduced as Fig. 4.1 in D. A. Winter, "Biomechanics and Motor Control of Human
#: Movement" (4th ed., 2009): eye 0.936, chin 0.870, shoulder 0.818, chest 0.720, elbow 0.630,
#: hip (greater trochanter) 0.530, wrist 0.485, knee 0.285, ankle 0.039. Segment lengths follow
#: from them: upper arm 0.186, forearm 0.146, hand 0.108, thigh 0.245, shank 0.246.
_JOINT_HEIGHTS = {
    "eye": 0.936,
    "chin": 0.870,
    "shoulder": 0.818,
    "chest": 0.720,
    "hip": 0.530,
    "knee": 0.285,
    "ankle": 0.039,
}
_SEGMENT_LENGTHS = {"upper_arm": 0.186, "forearm": 0.146, "hand": 0.108}


@dataclass(frozen=True)
class Limb:
    """Joint positions of one arm or leg (VIEW_FRAME, metres)."""

    root: np.ndarray  # shoulder or hip joint
    middle: np.ndarray  # elbow or knee
    end: np.ndarray  # wrist or ankle
    tip: np.ndarray  # fingertip or toe tip


@dataclass(frozen=True)
class Skeleton:
    """Where things are on a body before meshing (VIEW_FRAME: +Z up, face -Y, left +X; metres)."""

    stature: float
    build: str
    head_center: np.ndarray  # centre of the cranium
    head_radii: np.ndarray
    eye_z: float
    mouth_z: float
    neck_base_z: float
    chest_z: float
    waist_z: float
    crotch_z: float
    arms: dict[str, Limb]  # "left", "right"
    legs: dict[str, Limb]


def _skeleton(params: BodyParams, rng: np.random.Generator) -> Skeleton:
    stature = REFERENCE_STATURE
    male = params.build == "male"
    g = width_factor(params.girth)
    arms: dict[str, Limb] = {}
    legs: dict[str, Limb] = {}
    abduction = math.radians(34.0 + 15.0 * max(g - 1.0, 0.0) + rng.uniform(-2.5, 2.5))
    for side, sign in (("left", 1.0), ("right", -1.0)):
        shoulder = np.array([sign * (0.170 if male else 0.152) * g**0.8, 0.02,
                             (_JOINT_HEIGHTS["shoulder"] - 0.012) * stature])
        upper = np.array([sign * math.sin(abduction), -0.04, -math.cos(abduction)])
        upper /= np.linalg.norm(upper)
        fore = np.array([sign * math.sin(abduction + 0.05), -0.14, -math.cos(abduction + 0.05)])
        fore /= np.linalg.norm(fore)
        elbow = shoulder + _SEGMENT_LENGTHS["upper_arm"] * stature * upper
        wrist = elbow + _SEGMENT_LENGTHS["forearm"] * stature * fore
        arms[side] = Limb(shoulder, elbow, wrist, wrist + _SEGMENT_LENGTHS["hand"] * stature * fore)
        hip_x = sign * (0.090 if male else 0.095) * g**0.5
        hip = np.array([hip_x, 0.0, 0.505 * stature])
        knee = np.array([hip_x + sign * 0.012, -0.005, _JOINT_HEIGHTS["knee"] * stature])
        ankle = np.array([hip_x + sign * 0.022, 0.012, 0.050 * stature])
        toe = ankle + np.array([sign * 0.035, -0.205, -0.06])
        legs[side] = Limb(hip, knee, ankle, toe)
    head_radii = np.array([0.077, 0.096, 0.104]) * (1.0 if male else 0.96)
    return Skeleton(
        stature=stature,
        build=params.build,
        head_center=np.array([0.0, 0.008, stature - head_radii[2]]),
        head_radii=head_radii,
        eye_z=_JOINT_HEIGHTS["eye"] * stature,
        mouth_z=(_JOINT_HEIGHTS["chin"] + 0.022) * stature,
        neck_base_z=0.835 * stature,
        chest_z=_JOINT_HEIGHTS["chest"] * stature,
        waist_z=0.615 * stature,
        crotch_z=0.470 * stature,
        arms=arms,
        legs=legs,
    )


# --------------------------------------------------------------------------------------------
# Shapes (signed distance functions, vectorised over (n,3) points)
# --------------------------------------------------------------------------------------------

Sdf = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Shape:
    """One blended solid: its distance function, bounding box and atlas part."""

    sdf: Sdf
    lo: np.ndarray
    hi: np.ndarray
    part: str


def _round_cone(a: np.ndarray, b: np.ndarray, ra: float, rb: float, part: str) -> Shape:
    """Capsule with different end radii (I. Quilez's exact round-cone distance)."""
    ba = b - a
    l2 = float(ba @ ba)
    rr = ra - rb
    a2 = l2 - rr * rr
    il2 = 1.0 / l2

    def sdf(p: np.ndarray) -> np.ndarray:
        pa = p - a
        y = pa @ ba
        z = y - l2
        x2 = np.einsum("ij,ij->i", pa * l2 - y[:, None] * ba, pa * l2 - y[:, None] * ba)
        y2 = y * y * l2
        z2 = z * z * l2
        k = np.sign(rr) * rr * rr * x2
        side = (np.sqrt(x2 * a2 * il2) + y * rr) * il2 - ra
        top = np.sqrt(x2 + z2) * il2 - rb
        bottom = np.sqrt(x2 + y2) * il2 - ra
        return np.where(np.sign(z) * a2 * z2 > k, top, np.where(np.sign(y) * a2 * y2 < k, bottom, side))

    r = max(ra, rb)
    return Shape(sdf, np.minimum(a, b) - r, np.maximum(a, b) + r, part)


def _ellipsoid(center: np.ndarray, radii: np.ndarray, part: str, axes: np.ndarray | None = None) -> Shape:
    """Ellipsoid with semi-axes ``radii`` along the rows of ``axes`` (identity when None).

    Uses Quilez's bound k0 (k0 - 1) / k1, close to the true distance near the surface.
    """
    rot = np.eye(3) if axes is None else np.asarray(axes, dtype=float)
    radii = np.asarray(radii, dtype=float)

    def sdf(p: np.ndarray) -> np.ndarray:
        q = (p - center) @ rot.T
        k0 = np.linalg.norm(q / radii, axis=1)
        k1 = np.linalg.norm(q / (radii * radii), axis=1)
        return k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)

    extent = np.abs(rot.T) @ radii
    return Shape(sdf, center - extent, center + extent, part)


def _smooth_profile(table: np.ndarray, samples: int = 96) -> np.ndarray:
    """Resample a (z, values...) table with cubic Hermite curves, so that sections blend
    without the creases a piecewise-linear interpolation shows in shading."""
    zs = table[:, 0]
    values = table[:, 1:]
    slopes = np.gradient(values, zs, axis=0)
    dense_z = np.linspace(zs[0], zs[-1], samples)
    i = np.clip(np.searchsorted(zs, dense_z, side="right") - 1, 0, len(zs) - 2)
    span = (zs[i + 1] - zs[i])[:, None]
    t = ((dense_z - zs[i])[:, None]) / span
    h00, h10 = 2 * t**3 - 3 * t**2 + 1, t**3 - 2 * t**2 + t
    h01, h11 = -2 * t**3 + 3 * t**2, t**3 - t**2
    dense = h00 * values[i] + h10 * span * slopes[i] + h01 * values[i + 1] + h11 * span * slopes[i + 1]
    return np.column_stack([dense_z, dense])


def _torso(profile: np.ndarray) -> Shape:
    """Stack of horizontal ellipses; rows of ``profile``: z, half-width, half-depth, y-centre."""
    zs, half_w, half_d, y_c = _smooth_profile(profile).T

    def sdf(p: np.ndarray) -> np.ndarray:
        z = p[:, 2]
        a = np.interp(z, zs, half_w)
        b = np.interp(z, zs, half_d)
        x = p[:, 0]
        y = p[:, 1] - np.interp(z, zs, y_c)
        k0 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
        k1 = np.sqrt((x / (a * a)) ** 2 + (y / (b * b)) ** 2)
        ring = k0 * (k0 - 1.0) / np.maximum(k1, 1e-9)
        return np.maximum(ring, np.maximum(zs[0] - z, z - zs[-1]))

    w = float(half_w.max())
    lo = np.array([-w, float((y_c - half_d).min()), zs[0]])
    hi = np.array([w, float((y_c + half_d).max()), zs[-1]])
    return Shape(sdf, lo, hi, "trunk")


#: Torso cross-sections for a 1.75 m body of girth 1: height/stature, half-width, half-depth,
#: centre offset toward the back (m). Waist, chest and hip girths land near adult means.
_TORSO_PROFILES = {
    "male": np.array([
        [0.448, 0.095, 0.070, 0.010],
        [0.470, 0.150, 0.100, 0.012],
        [0.500, 0.168, 0.108, 0.012],
        [0.540, 0.163, 0.104, 0.006],
        [0.590, 0.153, 0.103, 0.000],
        [0.640, 0.158, 0.104, 0.000],
        [0.700, 0.172, 0.116, 0.006],
        [0.750, 0.178, 0.112, 0.012],
        [0.790, 0.160, 0.098, 0.018],
        [0.820, 0.110, 0.072, 0.022],
        [0.840, 0.060, 0.050, 0.022],
    ]),
    "female": np.array([
        [0.448, 0.100, 0.070, 0.012],
        [0.470, 0.163, 0.102, 0.016],
        [0.500, 0.182, 0.112, 0.016],
        [0.540, 0.172, 0.106, 0.010],
        [0.580, 0.148, 0.098, 0.002],
        [0.615, 0.132, 0.092, 0.000],
        [0.665, 0.138, 0.094, 0.004],
        [0.720, 0.145, 0.098, 0.010],
        [0.770, 0.148, 0.094, 0.015],
        [0.800, 0.136, 0.084, 0.020],
        [0.825, 0.098, 0.064, 0.022],
        [0.840, 0.058, 0.048, 0.022],
    ]),
}


def _primitives(sk: Skeleton, params: BodyParams) -> list[Shape]:
    stature = sk.stature
    g = width_factor(params.girth)
    limb_g = g**0.8
    male = sk.build == "male"
    shapes: list[Shape] = []

    profile = _TORSO_PROFILES[sk.build].copy()
    rel = profile[:, 0]
    belly = np.exp(-(((rel - 0.58) / 0.06) ** 2))  # heavier bodies grow mostly round the belly
    profile[:, 0] = rel * stature
    profile[:, 1] *= g
    profile[:, 2] *= g ** (1.0 + 0.8 * belly)
    profile[:, 3] -= 0.02 * (g - 1.0) * belly
    shapes.append(_torso(profile))

    shoulder_l, shoulder_r = sk.arms["left"].root, sk.arms["right"].root
    shoulder_r_in = shoulder_r + np.array([0.035, 0.0, 0.012])
    shoulder_l_in = shoulder_l + np.array([-0.035, 0.0, 0.012])
    shapes.append(_round_cone(shoulder_l_in, shoulder_r_in, 0.052 * g**0.3, 0.052 * g**0.3, "trunk"))
    # Glutes, and a bust for the female build.
    for sign in (1.0, -1.0):
        shapes.append(_ellipsoid(np.array([sign * 0.075 * g, 0.055 * g, 0.495 * stature]),
                                 np.array([0.085, 0.07, 0.085]) * g, "trunk"))
        if not male:
            shapes.append(_ellipsoid(np.array([sign * 0.068 * g, -0.06 * g, 0.705 * stature]),
                                     np.array([0.068, 0.055, 0.06]) * g**0.9, "trunk"))
        else:
            shapes.append(_ellipsoid(np.array([sign * 0.075 * g, -0.055 * g, 0.73 * stature]),
                                     np.array([0.085, 0.05, 0.06]) * g**0.9, "trunk"))

    neck_r = (0.060 if male else 0.052) * g**0.5
    shapes.append(_round_cone(np.array([0.0, 0.02, sk.neck_base_z - 0.01]),
                              np.array([0.0, 0.012, sk.head_center[2] - 0.06]),
                              neck_r * 1.12, neck_r, "trunk"))

    hc, hr = sk.head_center, sk.head_radii
    shapes.append(_ellipsoid(hc, hr, "head"))
    jaw_c = hc + np.array([0.0, -0.03, -0.072])
    shapes.append(_ellipsoid(jaw_c, np.array([0.06, 0.062, 0.058]) * (1.0 if male else 0.94), "head"))
    shapes.append(_ellipsoid(np.array([0.0, hc[1] - hr[1] + 0.002, sk.eye_z - 0.032]),
                             np.array([0.011, 0.016, 0.024]), "head"))
    for sign in (1.0, -1.0):
        shapes.append(_ellipsoid(hc + np.array([sign * hr[0], 0.01, -0.035]),
                                 np.array([0.012, 0.022, 0.03]), "head"))
    if not male:  # a bun at the back of the head: hair, and it tells back from front
        shapes.append(_ellipsoid(hc + np.array([0.0, hr[1] * 0.95, 0.02]),
                                 np.array([0.045, 0.04, 0.045]), "head"))

    for side, arm in sk.arms.items():
        part = f"arm_{side}"
        upper_r = (0.050 if male else 0.043) * limb_g
        fore_r = (0.040 if male else 0.034) * limb_g
        wrist_r = (0.027 if male else 0.023) * limb_g**0.5
        shapes.append(_ellipsoid(arm.root + 0.02 * (arm.middle - arm.root),
                                 np.array([0.06, 0.058, 0.062]) * limb_g * (1.0 if male else 0.88), part))
        shapes.append(_round_cone(arm.root, arm.middle, upper_r, fore_r * 0.9, part))
        shapes.append(_round_cone(arm.middle, arm.end, fore_r, wrist_r, part))
        along = (arm.tip - arm.end) / np.linalg.norm(arm.tip - arm.end)
        across = np.array([0.0, 1.0, 0.0]) - along[1] * along  # palm faces the thigh: width front-back
        across /= np.linalg.norm(across)
        normal = np.cross(along, across)
        hand_len = float(np.linalg.norm(arm.tip - arm.end))
        shapes.append(_ellipsoid(arm.end + along * hand_len * 0.45,
                                 np.array([hand_len * 0.5, 0.043, 0.017]), part,
                                 axes=np.stack([along, across, normal])))
        thumb_base = arm.end + along * 0.03 - across * 0.03
        shapes.append(_round_cone(thumb_base, thumb_base + along * 0.05 - across * 0.015,
                                  0.012, 0.009, part))

    for side, leg in sk.legs.items():
        part = f"leg_{side}"
        sign = 1.0 if side == "left" else -1.0
        thigh_r = (0.088 if male else 0.092) * limb_g
        knee_r = 0.052 * limb_g**0.7
        ankle_r = 0.031 * limb_g**0.4
        shapes.append(_round_cone(leg.root, leg.middle, thigh_r, knee_r, part))
        shapes.append(_round_cone(leg.middle, leg.end, knee_r * 0.95, ankle_r, part))
        calf = leg.middle + 0.38 * (leg.end - leg.middle) + np.array([0.0, 0.018, 0.0])
        shapes.append(_ellipsoid(calf, np.array([0.047, 0.048, 0.1]) * limb_g, part))
        heel = np.array([leg.end[0], leg.end[1] + 0.028, 0.034])
        ball = np.array([leg.end[0] + sign * 0.022, leg.end[1] - 0.125, 0.026])
        shapes.append(_round_cone(heel, ball, 0.034, 0.026, part))
        shapes.append(_ellipsoid(np.array([ball[0] + sign * 0.006, ball[1] - 0.045, 0.02]),
                                 np.array([0.042, 0.05, 0.02]), part))
        shapes.append(_round_cone(leg.end, heel, ankle_r, 0.03, part))
    return shapes


# --------------------------------------------------------------------------------------------
# Field and contour
# --------------------------------------------------------------------------------------------


def _blended_field(shapes: list[Shape], origin: np.ndarray, shape: tuple[int, int, int],
                   spacing: float, blend: float) -> np.ndarray:
    """Smooth union -blend*log(sum exp(-d/blend)), evaluated only near each shape."""
    total = np.zeros(shape, dtype=np.float64)
    reach = 8.0 * blend
    for item in shapes:
        lo = np.maximum(np.floor((item.lo - reach - origin) / spacing).astype(int), 0)
        hi = np.minimum(np.ceil((item.hi + reach - origin) / spacing).astype(int) + 1, shape)
        axes = [origin[i] + spacing * np.arange(lo[i], hi[i]) for i in range(3)]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        d = item.sdf(grid).reshape(hi - lo)
        total[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] += np.exp(-np.minimum(d, reach) / blend)
    with np.errstate(divide="ignore"):
        return np.minimum(-blend * np.log(total), reach)


def _contour(field: np.ndarray, origin: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero level of ``field`` as an outward-wound triangle mesh (VTK flying edges)."""
    image = vtkImageData()
    image.SetDimensions(*field.shape)
    image.SetOrigin(*origin)
    image.SetSpacing(spacing, spacing, spacing)
    scalars = numpy_to_vtk(np.ascontiguousarray(field.ravel(order="F")), deep=True)
    image.GetPointData().SetScalars(scalars)
    contour = vtkFlyingEdges3D()
    contour.SetInputData(image)
    contour.SetValue(0, 0.0)
    contour.ComputeNormalsOff()
    contour.ComputeGradientsOff()
    contour.ComputeScalarsOff()
    contour.Update()
    output = contour.GetOutput()
    vertices = vtk_to_numpy(output.GetPoints().GetData()).astype(np.float64)
    faces = vtk_to_numpy(output.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int64)
    # Flying edges winds triangles toward the positive (outside) side's opposite: flip to outward.
    return vertices, faces[:, ::-1].copy()


def _decimate(vertices: np.ndarray, faces: np.ndarray, target_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadric edge-collapse decimation (VTK) down to about ``target_faces`` triangles."""
    if len(faces) <= target_faces:
        return vertices, faces
    points = vtkPoints()
    points.SetData(numpy_to_vtk(np.ascontiguousarray(vertices), deep=True))
    cells = vtkCellArray()
    offsets = np.arange(0, 3 * len(faces) + 1, 3, dtype=np.int64)
    cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                  numpy_to_vtkIdTypeArray(np.ascontiguousarray(faces.ravel(), dtype=np.int64), deep=True))
    polydata = vtkPolyData()
    polydata.SetPoints(points)
    polydata.SetPolys(cells)
    decimation = vtkQuadricDecimation()
    decimation.SetInputData(polydata)
    decimation.SetTargetReduction(1.0 - target_faces / len(faces))
    decimation.Update()
    output = decimation.GetOutput()
    return (vtk_to_numpy(output.GetPoints().GetData()).astype(np.float64),
            vtk_to_numpy(output.GetPolys().GetConnectivityArray()).reshape(-1, 3).astype(np.int64))


def _mesh_body(shapes: list[Shape], stature: float, detail: str) -> tuple[np.ndarray, np.ndarray]:
    spacing = _GRID_SPACING[detail] * stature
    blend = _BLEND
    lo = np.min([item.lo for item in shapes], axis=0) - 4 * spacing - blend
    hi = np.max([item.hi for item in shapes], axis=0) + 4 * spacing + blend
    shape = tuple(int(n) for n in np.ceil((hi - lo) / spacing).astype(int) + 1)
    field_values = _blended_field(shapes, lo, shape, spacing, blend)
    vertices, faces = _contour(field_values, lo, spacing)
    return _decimate(vertices, faces, _TARGET_FACES[detail])


def view_to_prism(points: np.ndarray) -> np.ndarray:
    """VIEW_FRAME coordinates to Prism's stored frame (inverse of ``PRISM_TO_VIEW``)."""
    return points @ PRISM_TO_VIEW


def generate_body(params: BodyParams) -> GeneratedBody:
    """A closed, textured humanoid for ``params``, in Prism's frame (see module docstring)."""
    rng = np.random.default_rng(params.seed)
    skeleton = _skeleton(params, rng)
    shapes = _primitives(skeleton, params)
    vertices, faces = _mesh_body(shapes, skeleton.stature, params.detail)
    shape_part = np.array([body_texture.PART_INDEX[item.part] for item in shapes])
    nearest_shape = np.argmin(np.stack([item.sdf(vertices) for item in shapes]), axis=0)
    atlas = body_texture.BodyAtlas.for_skeleton(skeleton)
    uvs, face_uvs = atlas.corner_uvs(vertices, faces, shape_part[nearest_shape])
    if params.detail == "large":
        for _ in range(_LARGE_SUBDIVISIONS):
            vertices, faces = subdivide(vertices, faces)
            uvs, face_uvs = subdivide(uvs, face_uvs)
    texture = body_texture.paint_texture(atlas, params, rng)

    z = vertices[:, 2]
    stretch = params.height_m / REFERENCE_STATURE
    vertices = (vertices - np.array([0.0, 0.0, z.min()])) * np.array([stretch**0.5, stretch**0.5, 1.0])
    vertices[:, 2] *= params.height_m / float(z.max() - z.min())
    return GeneratedBody(
        vertices=view_to_prism(vertices),
        faces=faces,
        uvs=uvs,
        face_uvs=face_uvs,
        texture=texture,
        params=params,
    )
