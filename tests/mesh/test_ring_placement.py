"""Where circumference rings go on a mesh (viewer.mesh.ring_placement), checked on geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import trimesh

from viewer.demo.humanoid import BodyParams, generate_body
from viewer.mesh.mesh_data import PRISM_TO_VIEW
from viewer.mesh.ring_placement import place_rings


def _contains(polygon: np.ndarray, point: np.ndarray) -> bool:
    """Even-odd rule in 2D."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    straddles = (a[:, 1] > point[1]) != (b[:, 1] > point[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = a[:, 0] + (point[1] - a[:, 1]) * (b[:, 0] - a[:, 0]) / (b[:, 1] - a[:, 1])
    return bool(np.count_nonzero(straddles & (x_cross > point[0])) % 2)


def _standing_cylinder(radius_x: float, radius_y: float, height: float = 1.7) -> trimesh.Trimesh:
    mesh = trimesh.creation.cylinder(radius=1.0, height=height, sections=256)
    mesh.apply_scale([radius_x, radius_y, 1.0])
    mesh.apply_translation([0.0, 0.0, height / 2])
    return mesh


@pytest.fixture(scope="module")
def demo_rings():
    body = generate_body(BodyParams())
    return place_rings(body.vertices @ PRISM_TO_VIEW.T, body.faces)


def test_ring_on_a_cylinder_has_the_analytic_length_and_lifts_outward():
    radius = 0.15
    mesh = _standing_cylinder(radius, radius)
    placed = place_rings(mesh.vertices, mesh.faces)
    assert placed.stature == pytest.approx(1.7)
    ring = placed.get("chestFit")
    assert ring.length == pytest.approx(2 * math.pi * radius, rel=0.02)
    assert np.allclose(ring.normal, [0, 0, 1], atol=1e-9)
    assert ring.centre[:2] == pytest.approx([0, 0], abs=1e-3)
    assert ring.centre[2] == pytest.approx(1.7 * 0.72, abs=1.7 * 0.03)  # the chest line, 0.70-0.74 of stature
    lifted = ring.lifted(0.004)
    assert np.linalg.norm(lifted[:, :2], axis=1) == pytest.approx(radius + 0.004, abs=2e-4)
    assert np.ptp(lifted[:, 2]) < 1e-9  # stays in the ring's plane
    assert ring.side == "centre"
    assert ring.label_anchor[0] == pytest.approx(radius, abs=1e-3)  # beside the ring, on the +X side


def test_ring_on_an_elliptic_cylinder_matches_ramanujan():
    a, b = 0.17, 0.11
    mesh = _standing_cylinder(a, b)
    ring = place_rings(mesh.vertices, mesh.faces).get("waistFit")
    ramanujan = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))
    assert ring.length == pytest.approx(ramanujan, rel=0.02)
    assert np.linalg.norm(ring.points - np.roll(ring.points, -1, axis=0), axis=1).sum() == pytest.approx(ring.length)


def test_demo_body_stature_and_every_circumference_is_placed(demo_rings):
    assert demo_rings.stature == pytest.approx(BodyParams().height_m, rel=0.01)
    for stem in ("chest", "waist", "hips", "neck", "thighLeft", "thighRight", "midArmLeft", "wristRight"):
        assert demo_rings.get(f"{stem}Fit") is not None, stem
    assert demo_rings.get("fullBodyVolume") is None  # not a circumference: no ring


def test_left_thigh_ring_is_at_plus_x_around_the_left_leg_only(demo_rings):
    thigh = demo_rings.get("thighLeftFit")
    hips = demo_rings.get("hipsFit")
    assert thigh.points[:, 0].min() > 0.0  # the person's left is +X; no point crosses the midline
    assert np.ptp(thigh.points[:, 0]) < 0.6 * np.ptp(hips.points[:, 0])  # one leg, not both
    right = demo_rings.get("thighRightFit")
    assert right.points[:, 0].max() < 0.0
    assert (thigh.side, right.side) == ("left", "right")
    assert thigh.label_anchor[0] == thigh.points[:, 0].max()  # labels go on the outer side
    assert right.label_anchor[0] == right.points[:, 0].min()
    assert thigh.centre[0] == pytest.approx(-right.centre[0], abs=0.02)


def test_chest_ring_encloses_the_torso_but_not_the_arms(demo_rings):
    chest = demo_rings.get("chestFit")
    assert np.ptp(chest.points[:, 2]) < 1e-9  # horizontal
    torso_centre = np.array([0.0, np.mean(chest.points[:, 1])])
    assert _contains(chest.points[:, :2], torso_centre)
    for side in ("Left", "Right"):
        arm = demo_rings.get(f"lowerArm{side}Fit")  # above the elbow: near the chest's height
        assert abs(arm.centre[2] - chest.centre[2]) < 0.15
        assert not _contains(chest.points[:, :2], arm.centre[:2])
        assert np.abs(chest.points[:, 0]).max() < abs(arm.centre[0]) - 0.02


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_arm_rings_are_perpendicular_to_the_arm(demo_rings, side):
    upper = demo_rings.get(f"midArm{side}Fit")
    wrist = demo_rings.get(f"wrist{side}Fit")
    direction = wrist.centre - upper.centre
    direction /= np.linalg.norm(direction)
    assert abs(direction[2]) < 0.97  # the arm slopes (A-pose), so a horizontal cut would be wrong
    for key in ("midArm", "lowerArm", "forearm", "wrist"):
        normal = demo_rings.get(f"{key}{side}Fit").normal
        assert abs(normal @ direction) > math.cos(math.radians(12)), key
