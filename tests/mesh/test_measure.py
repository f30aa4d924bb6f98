"""Circumferences and indices computed from a body's own geometry (viewer.mesh.measure)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from viewer.core.models import MEASUREMENT_LABELS
from viewer.demo.humanoid import BodyParams, generate_body
from viewer.mesh.measure import measure_body
from viewer.mesh.mesh_data import PRISM_TO_VIEW

SIDED = [key.replace("LeftFit", "") for key in MEASUREMENT_LABELS if key.endswith("LeftFit")]


def _standing_cylinder(radius_x: float, radius_y: float, height: float = 1.7) -> trimesh.Trimesh:
    mesh = trimesh.creation.cylinder(radius=1.0, height=height, sections=256)
    mesh.apply_scale([radius_x, radius_y, 1.0])
    mesh.apply_translation([0.0, 0.0, height / 2])
    return mesh


def _in_view_frame(body):
    return body.vertices @ PRISM_TO_VIEW.T, body.faces


@pytest.fixture(scope="module")
def male():
    body = generate_body(BodyParams(build="male", height_m=1.80, seed=4))
    return measure_body(*_in_view_frame(body), weight_kg=78.0), body


@pytest.fixture(scope="module")
def female():
    body = generate_body(BodyParams(build="female", height_m=1.64, girth=1.15, seed=5))
    return measure_body(*_in_view_frame(body)), body


def test_cylinder_ring_matches_the_analytic_circumference():
    radius = 0.16
    result = measure_body(_standing_cylinder(radius, radius).vertices, _standing_cylinder(radius, radius).faces)
    for key in ("waistFit", "chestFit", "hipsFit"):
        assert result.values[key] == pytest.approx(2 * math.pi * radius, rel=0.02)
        ring = result.rings[key]
        assert ring.shape[1] == 3 and np.ptp(ring[:, 2]) < 1e-9  # horizontal, closed polyline points


def test_elliptic_cylinder_ring_matches_ramanujan():
    a, b = 0.17, 0.11
    mesh = _standing_cylinder(a, b)
    result = measure_body(mesh.vertices, mesh.faces)
    ramanujan = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
    assert result.values["waistFit"] == pytest.approx(ramanujan, rel=0.02)
    # A cylinder has no legs or arms: those keys are missing, with reasons, and nothing raises.
    assert "thighLeftFit" not in result.values and result.warnings


def test_generated_body_gets_every_measurement_key(male):
    result, _ = male
    assert set(MEASUREMENT_LABELS) <= set(result.values)
    for key in MEASUREMENT_LABELS:
        if key.endswith("Fit"):
            assert result.rings[key].ndim == 2 and len(result.rings[key]) >= 3


def test_male_chest_is_larger_than_waist_and_values_are_human(male):
    result, body = male
    values = result.values
    assert values["chestFit"] > values["waistFit"]
    assert 0.85 < values["chestFit"] < 1.3
    assert 0.65 < values["waistFit"] < 1.1
    assert 0.30 < values["neckFit"] < 0.48
    assert values["calfLeftFit"] < values["thighLeftFit"] < values["upperThighLeftFit"]
    assert values["wristLeftFit"] < values["forearmLeftFit"]
    assert values["ankleLeftFit"] < values["calfLeftFit"]
    assert values["bmiPredicted"] == pytest.approx(78.0 / 1.80**2, rel=1e-6)
    assert values["bmiConfidence"] == 1.0
    assert values["waistToHipRatio"] == pytest.approx(values["waistFit"] / values["hipsFit"])
    volume = trimesh.Trimesh(body.vertices, body.faces, process=False).volume
    assert values["fullBodyVolume"] == pytest.approx(volume, rel=1e-6)
    radius = values["waistFit"] / (2 * math.pi)
    expected_bri = 364.2 - 365.5 * math.sqrt(1 - radius**2 / (0.5 * 1.80) ** 2)
    assert values["bodyRoundnessIndex"] == pytest.approx(expected_bri, rel=1e-6)


@pytest.mark.parametrize("which", ["male", "female"])
def test_left_and_right_are_symmetric_on_the_generated_body(which, request):
    result, _ = request.getfixturevalue(which)
    for stem in SIDED:
        left, right = result.values[f"{stem}LeftFit"], result.values[f"{stem}RightFit"]
        assert left == pytest.approx(right, rel=0.02), stem


def test_left_rings_are_on_the_persons_left(female):
    result, _ = female
    # VIEW_FRAME: +X is the person's left.
    for stem in SIDED:
        assert result.rings[f"{stem}LeftFit"][:, 0].mean() > 0.03
        assert result.rings[f"{stem}RightFit"][:, 0].mean() < -0.03


def test_arm_rings_are_cut_across_the_sloping_arm(female):
    result, _ = female
    ring = result.rings["midArmLeftFit"]
    assert np.ptp(ring[:, 2]) > 0.03  # not horizontal: perpendicular to an A-pose arm
    # The ring lies in one plane whose normal points down and out along the arm.
    centred = ring - ring.mean(axis=0)
    normal = np.linalg.svd(centred)[2][-1]
    assert np.abs(centred @ normal).max() < 1e-6
    tilt = math.degrees(math.acos(abs(normal[2])))
    assert 20 < tilt < 55


def test_weight_is_estimated_from_volume_when_not_given(female):
    result, body = female
    height = np.ptp(body.vertices[:, 0])
    assert result.values["bmiConfidence"] < 1.0
    assert result.values["bmiPredicted"] == pytest.approx(result.values["fullBodyVolume"] * 1000 / height**2)
    assert 18 < result.values["bmiPredicted"] < 35


@pytest.mark.shared_data
def test_prism_sample_avatar_values_are_plausible(shared_testdata):
    mesh = trimesh.load(shared_testdata / "prismlabs-prism-tools" / "avatar.obj", process=False)
    result = measure_body(np.asarray(mesh.vertices) @ PRISM_TO_VIEW.T, mesh.faces, weight_kg=60.0)
    values = result.values
    assert set(MEASUREMENT_LABELS) <= set(values)
    plausible = {
        "neckFit": (0.26, 0.45), "shoulderFit": (0.85, 1.35), "chestFit": (0.75, 1.2),
        "waistFit": (0.55, 1.0), "hipsFit": (0.85, 1.25), "upperThighLeftFit": (0.45, 0.75),
        "thighRightFit": (0.40, 0.65), "calfLeftFit": (0.28, 0.45), "ankleRightFit": (0.17, 0.30),
        "midArmLeftFit": (0.20, 0.38), "forearmRightFit": (0.18, 0.32), "wristLeftFit": (0.12, 0.19),
        "fullBodyVolume": (0.045, 0.09), "waistToHipRatio": (0.6, 0.9), "bodyRoundnessIndex": (1.0, 6.0),
    }
    for key, (low, high) in plausible.items():
        assert low < values[key] < high, (key, values[key])
    assert values["waistFit"] < values["hipsFit"]
    for stem in SIDED:
        assert values[f"{stem}LeftFit"] == pytest.approx(values[f"{stem}RightFit"], rel=0.08), stem


def test_a_body_with_holes_is_still_measured():
    body = generate_body(BodyParams(seed=6))
    vertices, faces = _in_view_frame(body)
    result = measure_body(vertices, np.delete(faces, np.s_[::50], axis=0))
    assert result.values["waistFit"] > 0.4


@pytest.mark.parametrize("vertices, faces", [
    (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)),  # empty
    (np.random.default_rng(0).random((10, 2)), np.zeros((4, 3), dtype=np.int64)),  # 2D points
    (trimesh.creation.box((0.01, 0.01, 0.01)).vertices, trimesh.creation.box().faces),  # a 1 cm box
    (trimesh.creation.box((3.0, 3.0, 1.0)).vertices + [0, 0, 0.5], trimesh.creation.box().faces),  # a slab
    (np.full((8, 3), np.nan), trimesh.creation.box().faces),
    (trimesh.creation.box((0.3, 0.2, 1.7)).vertices, trimesh.creation.box().faces + 10),  # bad indices
])
def test_input_that_is_not_a_body_raises_value_error(vertices, faces):
    with pytest.raises(ValueError):
        measure_body(vertices, faces)


def test_odd_but_body_sized_input_does_not_raise():
    box = trimesh.creation.box((0.4, 0.3, 1.7))
    result = measure_body(box.vertices, box.faces)
    assert result.values["waistFit"] == pytest.approx(2 * (0.4 + 0.3), rel=0.01)
    assert result.warnings
