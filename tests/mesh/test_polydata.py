"""body_to_polydata: arrays, normals, texture orientation, groups; no rendering (no display needed)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import pyvista as pv
import trimesh

from viewer.mesh.loader import load_mesh
from viewer.mesh.mesh_data import BodyMesh, TextureGroup
from viewer.mesh.polydata import (
    VERTEX_COLOURS_ARRAY,
    body_to_polydata,
    make_texture,
    smooth_point_normals,
)

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)


def _two_colour_texture(top: tuple[int, int, int], bottom: tuple[int, int, int], size: int = 8) -> np.ndarray:
    """A top-row-first image: the upper half ``top``, the lower half ``bottom``."""
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[: size // 2] = top
    image[size // 2 :] = bottom
    return image


def _texel(texture: pv.Texture, u: float, v: float) -> tuple[int, ...]:
    """The texture's colour at (u, v) the way VTK reads it: image row j holds v = j / height."""
    image = pv.wrap(texture.GetInput())
    nx, ny, _ = image.dimensions
    pixels = np.asarray(image.point_data.active_scalars).reshape(ny, nx, -1)
    return tuple(int(c) for c in pixels[min(int(v * ny), ny - 1), min(int(u * nx), nx - 1)])


def _quad(texture: np.ndarray | None = None, **extra) -> BodyMesh:
    """A 1 m square in the XZ plane facing -Y, UV (0, 0) at its bottom-left corner."""
    vertices = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 1], [0, 0, 1]], dtype=float)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    uvs = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    return BodyMesh(vertices=vertices, faces=faces, uvs=uvs, texture=texture, **extra)


@pytest.fixture(scope="module")
def avatar(shared_testdata) -> BodyMesh:
    return load_mesh(shared_testdata / "prismlabs-prism-tools" / "avatar.obj")


def test_avatar_polydata_has_triangles_uvs_normals_and_texture(avatar):
    prepared = body_to_polydata(avatar)

    assert len(prepared.parts) == 1 and prepared.is_textured
    surface = prepared.parts[0].polydata
    assert surface.n_points == avatar.n_vertices
    assert surface.n_cells == avatar.n_faces == prepared.n_faces
    assert surface.is_all_triangles
    np.testing.assert_array_equal(surface.regular_faces, avatar.faces)
    assert surface.active_texture_coordinates.shape == (surface.n_points, 2)
    np.testing.assert_allclose(surface.active_texture_coordinates, avatar.uvs, atol=1e-6)
    normals = surface.point_data.active_normals
    assert normals is not None and normals.shape == (surface.n_points, 3)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    texture = prepared.parts[0].texture
    assert texture is not None and texture.dimensions == (512, 512)
    np.testing.assert_allclose(prepared.bounds, surface.bounds, atol=1e-6)
    assert prepared.bounds[5] - prepared.bounds[4] == pytest.approx(1.709, abs=0.01)


def test_avatar_normals_point_outward(avatar):
    """Smooth normals follow the winding: on the torso they point away from the body's axis."""
    normals = smooth_point_normals(avatar.vertices, avatar.faces, avatar.source_vertex_index)
    torso = (avatar.vertices[:, 2] > 1.0) & (avatar.vertices[:, 2] < 1.3) & (np.abs(avatar.vertices[:, 0]) < 0.12)
    outward = avatar.vertices[torso] - avatar.vertices[torso].mean(axis=0)
    outward[:, 2] = 0
    assert np.mean(np.sum(normals[torso] * outward, axis=1) > 0) > 0.9


def test_normals_are_welded_across_uv_seams():
    """Vertices split at a seam (same position) get the same normal, with or without the source index."""
    sphere = trimesh.creation.icosphere(subdivisions=2)
    faces = sphere.faces.copy()
    # split vertex 0: faces on one side of the seam use a duplicate of it
    vertices = np.vstack([sphere.vertices, sphere.vertices[:1]])
    first_faces = np.flatnonzero((faces == 0).any(axis=1))[:2]
    faces[first_faces] = np.where(faces[first_faces] == 0, len(vertices) - 1, faces[first_faces])
    source = np.r_[np.arange(len(sphere.vertices)), 0]

    for source_index in (source, None):
        normals = smooth_point_normals(vertices, faces, source_index)
        np.testing.assert_allclose(normals[0], normals[-1], atol=1e-6)
        # on a sphere the smooth normal is the position itself
        np.testing.assert_allclose(normals, vertices / np.linalg.norm(vertices, axis=1, keepdims=True), atol=0.05)


def test_texture_rows_map_to_vtk_texture_coordinates():
    """Image top row first (PIL / numpy) pairs with v = 1: VTK's bottom-left image origin is handled."""
    texture = make_texture(_two_colour_texture(top=RED, bottom=BLUE))
    assert _texel(texture, 0.5, 0.9) == RED
    assert _texel(texture, 0.5, 0.1) == BLUE


def test_quad_texture_coordinates_reach_the_right_texels():
    prepared = body_to_polydata(_quad(_two_colour_texture(top=RED, bottom=BLUE)))
    part = prepared.parts[0]
    surface = part.polydata
    top_corner = int(np.argmax(surface.points[:, 2]))
    bottom_corner = int(np.argmin(surface.points[:, 2]))
    u_top, v_top = surface.active_texture_coordinates[top_corner]
    u_bottom, v_bottom = surface.active_texture_coordinates[bottom_corner]
    assert _texel(part.texture, u_top, v_top * 0.99) == RED
    assert _texel(part.texture, u_bottom, v_bottom) == BLUE


def test_texture_is_rgb_for_rgba_and_grey_images():
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10
    assert make_texture(rgba).n_components == 3
    assert _texel(make_texture(rgba), 0.5, 0.5) == (200, 0, 0)
    grey = np.full((4, 4), 77, dtype=np.uint8)
    assert _texel(make_texture(grey), 0.5, 0.5) == (77, 77, 77)


def test_vertex_colours_become_an_rgb_point_array():
    colours = np.array([[255, 0, 0, 128], [0, 255, 0, 255], [0, 0, 255, 255], [9, 9, 9, 255]], dtype=np.uint8)
    prepared = body_to_polydata(_quad(texture=None, vertex_colors=colours))
    part = prepared.parts[0]
    assert part.texture is None and part.has_vertex_colours
    np.testing.assert_array_equal(part.polydata.point_data[VERTEX_COLOURS_ARRAY], colours[:, :3])
    assert not prepared.is_textured


def test_untextured_mesh_has_no_texture_or_colours():
    mesh = _quad(texture=None)
    part = body_to_polydata(BodyMesh(vertices=mesh.vertices, faces=mesh.faces)).parts[0]
    assert part.texture is None and not part.has_vertex_colours
    assert part.polydata.active_texture_coordinates is None


def test_each_texture_group_becomes_its_own_part():
    # a 2x1 strip of quads: faces 0-1 left (red texture), 2-3 right (blue texture), 4-5 on top ungrouped
    vertices = np.array(
        [[0, 0, 0], [1, 0, 0], [2, 0, 0], [0, 0, 1], [1, 0, 1], [2, 0, 1], [0, 0, 2], [1, 0, 2]], dtype=float
    )
    faces = np.array([[0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4], [3, 4, 7], [3, 7, 6]])
    uvs = vertices[:, [0, 2]] / 2
    red, blue = np.full((2, 2, 3), RED, np.uint8), np.full((2, 2, 3), BLUE, np.uint8)
    groups = (
        TextureGroup(name="left", faces=np.array([0, 1]), image=red),
        TextureGroup(name="right", faces=np.array([2, 3]), image=blue),
    )
    mesh = BodyMesh(vertices=vertices, faces=faces, uvs=uvs, texture=red, groups=groups)

    prepared = body_to_polydata(mesh)

    left, right, rest = prepared.parts
    assert (left.polydata.n_cells, right.polydata.n_cells, rest.polydata.n_cells) == (2, 2, 2)
    assert left.polydata.n_points == 4 and right.polydata.n_points == 4 and rest.polydata.n_points == 4
    assert _texel(left.texture, 0.5, 0.5) == RED and _texel(right.texture, 0.5, 0.5) == BLUE
    assert rest.texture is None
    # sub-meshes keep their own vertices' UVs and positions
    np.testing.assert_allclose(right.polydata.points[:, 0].min(), 1.0)
    np.testing.assert_allclose(right.polydata.active_texture_coordinates, right.polydata.points[:, [0, 2]] / 2)
    assert prepared.bounds == (0.0, 2.0, 0.0, 0.0, 0.0, 2.0)


def test_runs_in_a_worker_thread(avatar):
    with ThreadPoolExecutor(max_workers=1) as pool:
        prepared = pool.submit(body_to_polydata, avatar).result(timeout=60)
    assert prepared.parts[0].polydata.n_cells == avatar.n_faces
    assert prepared.parts[0].texture is not None
