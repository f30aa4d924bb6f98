"""Displacement between two bodies: per file vertex for one topology, nearest surface point otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from viewer.mesh.compare import (
    DIVERGING_RGB,
    CompareCancelled,
    alignment_offset,
    closest_points,
    compare_bodies,
    diverging_colours,
    file_mesh,
    heatmap_limit_mm,
    same_topology,
    signed_distances,
    vertex_normals,
)
from viewer.mesh.mesh_data import BodyMesh


def _body(vertices: np.ndarray, faces: np.ndarray, source_index: np.ndarray | None = None) -> BodyMesh:
    return BodyMesh(vertices=np.asarray(vertices, dtype=np.float64), faces=np.asarray(faces, dtype=np.int64),
                    source_vertex_index=source_index, units="m")


def _split_and_shuffle(vertices: np.ndarray, faces: np.ndarray, seed: int) -> BodyMesh:
    """The same surface with render vertices unlike the file's: every vertex of a band of faces is
    duplicated (as trimesh does at UV seams) and the render order is shuffled."""
    rng = np.random.default_rng(seed)
    seam_faces = np.flatnonzero(vertices[faces].mean(axis=1)[:, 0] > 0.1)
    seam_vertices = np.unique(faces[seam_faces])
    source = np.concatenate([np.arange(len(vertices)), seam_vertices])  # render -> file
    copy_of = np.arange(len(vertices))
    copy_of[seam_vertices] = len(vertices) + np.arange(len(seam_vertices))
    render_faces = faces.copy()
    render_faces[seam_faces] = copy_of[faces[seam_faces]]
    order = rng.permutation(len(source))  # new render vertex j is old render vertex order[j]
    new_number = np.empty_like(order)
    new_number[order] = np.arange(len(order))
    return _body(vertices[source][order], new_number[render_faces], source[order])


@pytest.fixture(scope="module")
def sphere() -> trimesh.Trimesh:
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=0.3)
    mesh.apply_translation((0.0, 0.0, 0.3))  # standing on the floor like a body
    return mesh


def test_same_topology_moved_along_normals_gives_the_offset_per_vertex(sphere):
    normals = vertex_normals(sphere.vertices, sphere.faces)
    fuller = sphere.vertices + 0.005 * normals
    result = compare_bodies(_body(sphere.vertices, sphere.faces), _body(fuller, sphere.faces))
    assert result.method == "per-vertex"
    np.testing.assert_allclose(result.per_render_vertex_mm, 5.0, atol=0.1)
    np.testing.assert_array_equal(result.first_offset, 0.0)
    slimmer = compare_bodies(_body(fuller, sphere.faces), _body(sphere.vertices, sphere.faces))
    np.testing.assert_allclose(slimmer.per_render_vertex_mm, -5.0, atol=0.1)  # inward is negative


def test_render_vertices_are_mapped_to_file_vertices(sphere):
    # each file vertex moves outward by its own amount: 0..9 mm by index
    normals = vertex_normals(sphere.vertices, sphere.faces)
    amount_mm = (np.arange(len(sphere.vertices)) % 10).astype(float)
    moved = sphere.vertices + normals * amount_mm[:, None] / 1000
    first = _split_and_shuffle(sphere.vertices, sphere.faces, seed=1)
    second = _split_and_shuffle(moved, sphere.faces, seed=2)
    assert first.n_vertices > len(sphere.vertices)  # really split
    assert not np.array_equal(first.source_vertex_index, second.source_vertex_index)  # and reordered

    result = compare_bodies(first, second)
    assert result.method == "per-vertex"
    np.testing.assert_allclose(result.per_file_vertex_mm, amount_mm, atol=0.05)
    np.testing.assert_allclose(result.per_render_vertex_mm, amount_mm[second.source_vertex_index], atol=0.05)


def test_file_mesh_welds_seam_copies(sphere):
    body = _split_and_shuffle(sphere.vertices, sphere.faces, seed=3)
    welded = file_mesh(body)
    np.testing.assert_allclose(welded.vertices, sphere.vertices)
    assert same_topology(welded, file_mesh(_body(sphere.vertices, sphere.faces)))


def test_other_topology_uses_closest_points_and_finds_the_same_surface_at_zero(sphere):
    finer = sphere.subdivide()  # the same surface, four times the triangles
    result = compare_bodies(_body(sphere.vertices, sphere.faces), _body(finer.vertices, finer.faces))
    assert result.method == "closest-point"
    # new vertices on edge midpoints lie inside the coarse sphere's curve by at most the sagitta
    assert np.abs(result.per_render_vertex_mm).max() < 1.0
    np.testing.assert_allclose(np.median(result.per_render_vertex_mm), 0.0, atol=0.2)


def test_closest_points_follow_the_alignment_by_floor_and_centre(sphere):
    # a sphere 5 mm larger, of another topology, standing elsewhere: aligned, its floor meets the
    # smaller one's, so the gap is 0 at the bottom, 5 mm at the equator and 10 mm at the top
    bigger = trimesh.creation.icosphere(subdivisions=3, radius=0.305)
    bigger.apply_translation((0.4, -0.2, 0.305 + 0.05))
    result = compare_bodies(_body(sphere.vertices, sphere.faces), _body(bigger.vertices, bigger.faces))
    assert result.method == "closest-point"
    np.testing.assert_allclose(result.first_offset, (0.4, -0.2, 0.05), atol=1e-9)
    height = bigger.vertices[:, 2] - bigger.vertices[:, 2].min()
    values = result.per_render_vertex_mm
    equator = np.abs(height - 0.305) < 0.01
    assert equator.sum() > 20
    np.testing.assert_allclose(values[equator], 5.0, atol=0.3)
    np.testing.assert_allclose(values[height < 0.002], 0.0, atol=0.3)
    np.testing.assert_allclose(values[height > 0.608], 10.0, atol=0.3)
    assert result.alignment_note.endswith("aligned by floor and centre")


def test_uniformly_scaled_copy_gives_the_radial_gap_outside_and_inside(sphere):
    centre = np.array([0.0, 0.0, 0.3])
    scaled = (sphere.vertices - centre) * 1.02 + centre  # 6 mm larger in radius
    reference = sphere.subdivide()  # another topology: the closest-point path
    values = signed_distances(reference.vertices, reference.faces, scaled)
    np.testing.assert_allclose(values, 6.0e-3, atol=0.3e-3)
    shrunk = (sphere.vertices - centre) * 0.98 + centre
    np.testing.assert_allclose(signed_distances(reference.vertices, reference.faces, shrunk), -6.0e-3, atol=0.3e-3)


def test_closest_points_match_brute_force_for_points_near_and_far(sphere):
    rng = np.random.default_rng(7)
    points = np.concatenate([sphere.vertices[::7] + rng.normal(scale=0.01, size=(len(sphere.vertices[::7]), 3)),
                             rng.uniform(-1.5, 1.5, size=(40, 3))])
    face, closest, bary = closest_points(sphere.vertices, sphere.faces, points)
    # brute force: the nearest of every triangle, through trimesh's own point-triangle routine
    triangles = sphere.triangles
    brute = np.array([
        np.linalg.norm(trimesh.triangles.closest_point(triangles, np.repeat(p[None], len(triangles), 0)) - p,
                       axis=1).min()
        for p in points])
    np.testing.assert_allclose(np.linalg.norm(points - closest, axis=1), brute, atol=1e-9)
    np.testing.assert_allclose(np.einsum("ij,ijk->ik", bary, triangles[face]), closest, atol=1e-12)


def test_large_bodies_are_sampled_per_voxel_and_stay_close(sphere):
    finer = sphere.subdivide()
    centre = np.array([0.0, 0.0, 0.3])
    fuller = (finer.vertices - centre) * 1.02 + centre
    # alignment moves the smaller sphere up by 6 mm: values vary smoothly from 0 (floor) to 12 mm
    exact = compare_bodies(_body(sphere.vertices, sphere.faces), _body(fuller, finer.faces))
    sampled = compare_bodies(_body(sphere.vertices, sphere.faces), _body(fuller, finer.faces), max_points=2000)
    assert sampled.sampled and not exact.sampled
    assert np.abs(sampled.per_render_vertex_mm - exact.per_render_vertex_mm).max() < 1.0


def test_cancelling_stops_the_search(sphere):
    finer = sphere.subdivide()
    with pytest.raises(CompareCancelled):
        compare_bodies(_body(sphere.vertices, sphere.faces), _body(finer.vertices, finer.faces),
                       is_cancelled=lambda: True)


def test_alignment_offset_meets_floor_and_box_centre():
    first = np.array([[0.0, 0.0, 0.1], [1.0, 2.0, 1.0]])
    second = np.array([[2.0, 2.0, 0.0], [4.0, 3.0, 1.5]])
    np.testing.assert_allclose(alignment_offset(first, second), (2.5, 1.5, -0.1))


def test_heatmap_limit_and_colours_keep_the_tolerance_neutral():
    values = np.linspace(-7.2, 7.2, 1001)
    assert heatmap_limit_mm(values, 1.0) == 8.0  # 99th percentile of |v| is ~7.1, rounded up
    assert heatmap_limit_mm(values, 5.0) == 10.0  # at least twice the tolerance
    assert heatmap_limit_mm(np.zeros(5), 0.0) == 1.0
    table = diverging_colours(256, 10.0, 2.0)
    centres = (np.arange(256) + 0.5) / 256 * 20 - 10
    white = np.array(DIVERGING_RGB[1])
    assert (table[np.abs(centres) <= 2.0, :3] == white).all()
    assert (table[np.abs(centres) > 2.5, :3] != white).any(axis=1).all()
    np.testing.assert_array_equal(table[0, :3], np.round(np.array(DIVERGING_RGB[0]) * (1 - 1 / 256)
                                                         + white / 256).astype(np.uint8))
    assert table[-1, 0] > table[-1, 2] and table[0, 2] > table[0, 0]  # red end, blue end


def test_demo_person_two_months_apart(demo_dataset):
    from viewer.demo.catalog import demo_scan_id
    from viewer.mesh.loader import load_mesh

    earlier, later = (load_mesh(demo_dataset / demo_scan_id(name) / "avatar.obj") for name in ("ready-earlier", "ready"))
    result = compare_bodies(earlier, later)
    assert result.method == "closest-point"  # the generator's meshes differ in topology
    assert result.seconds < 5.0  # about 0.2 s on one core
    # two months earlier the figure was fuller: the later body lies mostly inside it
    assert np.median(result.per_render_vertex_mm) < -1.0
    assert len(result.per_render_vertex_mm) == later.n_vertices
