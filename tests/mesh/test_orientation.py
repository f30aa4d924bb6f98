"""Axis names, rotations into VIEW_FRAME, the body shape cues and the unit guess."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh

from viewer.mesh.mesh_data import PRISM_TO_VIEW, VIEW_FRAME
from viewer.mesh.orientation import (
    analyse_body,
    axis_vector,
    fallback_front,
    normalise_axis,
    parse_axis,
    rotation_to_view,
)
from viewer.mesh.units import guess_body_unit

AXES = ("+X", "-X", "+Y", "-Y", "+Z", "-Z")
AXIS_PAIRS = [(u, f) for u, f in itertools.product(AXES, AXES) if u[1] != f[1]]


def test_parse_and_normalise_axis_names():
    assert parse_axis("+X") == (0, 1)
    assert parse_axis("-z") == (2, -1)
    assert normalise_axis("y") == "+Y"
    for bad in ("W", "+-X", "XY", "", "++Y"):
        with pytest.raises(ValueError):
            parse_axis(bad)


def test_prism_frame_rotation_is_the_documented_one():
    np.testing.assert_array_equal(rotation_to_view("+X", "+Z"), PRISM_TO_VIEW)


@pytest.mark.parametrize(("up", "front"), AXIS_PAIRS)
def test_every_axis_pair_gives_a_proper_rotation_onto_the_view_frame(up, front):
    rotation = rotation_to_view(up, front)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rotation) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation @ axis_vector(up), VIEW_FRAME.up)
    np.testing.assert_allclose(rotation @ axis_vector(front), VIEW_FRAME.front)


def test_parallel_up_and_front_are_refused():
    with pytest.raises(ValueError, match="perpendicular"):
        rotation_to_view("+X", "-X")


def test_fallback_front_is_perpendicular_to_up():
    for up in AXES:
        assert parse_axis(fallback_front(up))[0] != parse_axis(up)[0]


def _load(path):
    mesh = trimesh.load_mesh(path, process=False)
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


@pytest.fixture(scope="module")
def smpl_man(shared_testdata):
    """SMPL man: Y-up T-pose facing +Z whose arm span (x 1.84) exceeds its height (y 1.79)."""
    return _load(shared_testdata / "odedstein-meshes-human" / "human_man.obj")


@pytest.fixture(scope="module")
def prism_avatar(shared_testdata):
    """Prism sample: A-pose, +X up, facing +Z."""
    return _load(shared_testdata / "prismlabs-prism-tools" / "avatar.obj")


def _turned(vertices, up_from, front_from, up_to, front_to):
    """Vertices of a body whose up/front are ``*_from`` turned so they become ``*_to``."""
    to_view_from = rotation_to_view(up_from, front_from)
    to_view_to = rotation_to_view(up_to, front_to)
    return vertices @ (to_view_to.T @ to_view_from).T


@pytest.mark.parametrize(("up", "front"), AXIS_PAIRS)
def test_t_pose_is_found_in_every_orientation(smpl_man, up, front):
    vertices, faces = smpl_man
    shape = analyse_body(_turned(vertices, "+Y", "+Z", up, front), faces)
    assert (shape.up, shape.front) == (up, front), shape.reason
    assert shape.is_body
    assert shape.height == pytest.approx(1.791, abs=0.002)  # height, not the 1.84 arm span


@pytest.mark.parametrize(("up", "front"), AXIS_PAIRS)
def test_a_pose_scan_is_found_in_every_orientation(prism_avatar, up, front):
    vertices, faces = prism_avatar
    shape = analyse_body(_turned(vertices, "+X", "+Z", up, front), faces)
    assert (shape.up, shape.front) == (up, front), shape.reason
    assert shape.is_body
    assert "sure" in shape.reason and "unsure" not in shape.reason


def test_given_up_only_still_finds_the_front(smpl_man):
    vertices, faces = smpl_man
    shape = analyse_body(vertices, faces, up="+Y")
    assert (shape.up, shape.front) == ("+Y", "+Z")


@pytest.mark.parametrize(
    "mesh",
    [
        trimesh.creation.box((0.3, 0.7, 1.7)),  # person-sized, but a box
        trimesh.creation.capsule(height=1.5, radius=0.2),
        trimesh.creation.torus(0.8, 0.1),
        trimesh.creation.icosphere(),
    ],
    ids=["box", "capsule", "torus", "sphere"],
)
def test_simple_shapes_are_not_bodies(mesh):
    assert not analyse_body(mesh.vertices, mesh.faces).is_body


@pytest.mark.parametrize(
    ("height", "unit", "scale"),
    [(1.709, "m", 1.0), (17.09, "dm", 0.1), (170.9, "cm", 0.01), (1709.0, "mm", 0.001),
     (0.6, "m", 1.0), (2500.0, "mm", 0.001)],
)
def test_body_units_from_height(height, unit, scale):
    guess = guess_body_unit(height)
    assert guess is not None
    assert (guess.source_unit, guess.scale) == (unit, scale)


@pytest.mark.parametrize("height", [0.2, 3.5, 30.0, 400.0, 5000.0])
def test_heights_no_person_has_give_no_unit(height):
    assert guess_body_unit(height) is None
