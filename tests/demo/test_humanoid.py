"""Generated demo bodies: closed humanoid geometry in Prism's frame, texture, bundle files, preview."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from viewer.demo.body_texture import LIP_COLOR, SCLERA_COLOR, SKIN_TONES, WATCH_COLOR
from viewer.demo.bundle_writer import write_obj_bundle, write_ply
from viewer.demo.humanoid import BodyParams, GeneratedBody, generate_body
from viewer.demo.preview import BACKGROUND, render_preview

TOP = (40, 90, 200)
SHORTS = (30, 30, 40)


@pytest.fixture(scope="module")
def female() -> GeneratedBody:
    return generate_body(BodyParams(height_m=1.68, build="female", top_color=TOP, shorts_color=SHORTS, seed=1))


@pytest.fixture(scope="module")
def male() -> GeneratedBody:
    return generate_body(BodyParams(height_m=1.86, girth=1.2, build="male", skin_tone=3, seed=2))


@pytest.fixture(scope="module")
def large() -> GeneratedBody:
    return generate_body(BodyParams(height_m=1.55, girth=0.85, detail="large", seed=3))


def _mesh(body: GeneratedBody) -> trimesh.Trimesh:
    return trimesh.Trimesh(body.vertices, body.faces, process=False)


def _colour_near(pixels: np.ndarray, colour: tuple[int, int, int], tolerance: float = 30) -> np.ndarray:
    return np.linalg.norm(pixels.astype(float) - np.array(colour, dtype=float), axis=-1) < tolerance


def _face_colours(body: GeneratedBody) -> np.ndarray:
    """Texture colour at the UV centroid of each face."""
    uv = body.uvs[body.face_uvs].mean(axis=1)
    pixels = np.asarray(body.texture)
    h, w = pixels.shape[:2]
    return pixels[((1 - uv[:, 1]) * h).astype(int).clip(0, h - 1), (uv[:, 0] * w).astype(int).clip(0, w - 1)]


@pytest.mark.parametrize("name", ["female", "male", "large"])
def test_body_is_one_closed_outward_surface(name, request):
    body = request.getfixturevalue(name)
    mesh = _mesh(body)
    assert mesh.is_watertight
    assert mesh.is_winding_consistent
    assert mesh.volume > 0  # outward normals
    assert mesh.body_count == 1
    assert body.vertices.dtype == np.float64 and body.faces.dtype == np.int64
    assert body.face_uvs.shape == body.faces.shape
    assert body.face_uvs.max() < len(body.uvs) and body.uvs.min() >= 0 and body.uvs.max() <= 1


def test_face_counts_per_detail_level(female, male, large):
    for body in (female, male):
        assert 6_000 <= len(body.vertices) <= 8_000
        assert 12_000 <= len(body.faces) <= 16_000
    assert len(large.faces) >= 500_000


@pytest.mark.parametrize("height", [1.50, 1.95])
def test_height_feet_and_up_axis(height):
    body = generate_body(BodyParams(height_m=height, build="male", girth=1.3))
    x = body.vertices[:, 0]
    assert x.min() == pytest.approx(0.0, abs=1e-9)  # feet at x=0
    assert x.max() == pytest.approx(height, rel=0.01)
    extent = np.ptp(body.vertices, axis=0)
    assert extent[0] > extent[1] > extent[2]  # up +X; arms spread along Y; front-back the thinnest


def test_face_looks_toward_plus_z_and_left_is_minus_y(female):
    v = female.vertices
    height = np.ptp(v[:, 0])
    centroids = v[female.faces].mean(axis=1)
    in_head = centroids[:, 0] > 0.9 * height
    head, head_colours = centroids[in_head], _face_colours(female)[in_head]
    # Eyes and mouth are painted on the side of the head toward +Z, at the middle of the face.
    face = _colour_near(head_colours, SCLERA_COLOR, 40) | _colour_near(head_colours, LIP_COLOR, 40)
    assert face.sum() >= 4
    assert np.all(head[face, 2] > head[:, 2].mean() + 0.05)
    assert np.all(np.abs(head[face, 1]) < 0.05)
    # The nose is the head's most forward point.
    nose = head[np.argmax(head[:, 2])]
    assert abs(nose[1]) < 0.01 and nose[2] > head[face, 2].mean()
    # Feet point forward (+Z) too.
    feet = v[v[:, 0] < 0.03 * height]
    assert feet[:, 2].max() > 0.15 and feet[:, 2].min() > -0.12
    # The watch is painted on the person's LEFT wrist: left is -Y in Prism's frame.
    watch = _colour_near(_face_colours(female), WATCH_COLOR, 40)
    assert watch.sum() >= 3
    assert np.all(centroids[watch, 1] < -0.2)


def test_texture_is_a_real_image_with_skin_and_clothes(female, male):
    for body in (female, male):
        assert body.texture.mode == "RGB"
        assert body.texture.size in ((1024, 1024), (512, 512))
    pixels = np.asarray(female.texture)
    assert _colour_near(pixels, TOP).mean() > 0.03
    assert _colour_near(pixels, SHORTS).mean() > 0.03
    assert _colour_near(pixels, SKIN_TONES[0]).mean() > 0.2
    assert _colour_near(np.asarray(male.texture), SKIN_TONES[3]).mean() > 0.2


def test_generation_is_deterministic(female):
    again = generate_body(female.params)
    assert np.array_equal(again.vertices, female.vertices)
    assert np.array_equal(again.face_uvs, female.face_uvs)
    assert np.array_equal(np.asarray(again.texture), np.asarray(female.texture))


def test_obj_bundle_matches_prism_names_and_reloads_textured(female, tmp_path):
    write_obj_bundle(female, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.obj", "avatar.obj.mtl", "texture.png"]
    obj_lines = (tmp_path / "avatar.obj").read_text().splitlines()
    assert "mtllib avatar.obj.mtl" in obj_lines
    assert "usemtl material_0" in obj_lines
    assert sum(line.startswith("v ") for line in obj_lines) == len(female.vertices)
    assert sum(line.startswith("vt ") for line in obj_lines) == len(female.uvs)
    first_face = next(line for line in obj_lines if line.startswith("f "))
    assert all("/" in corner for corner in first_face.split()[1:])
    mtl = (tmp_path / "avatar.obj.mtl").read_text().splitlines()
    assert "newmtl material_0" in mtl and "map_Kd texture.png" in mtl

    loaded = trimesh.load(tmp_path / "avatar.obj")
    assert loaded.visual.kind == "texture"
    assert loaded.visual.material.image.size == female.texture.size  # not trimesh's 2x2 placeholder
    assert len(loaded.faces) == len(female.faces)
    assert np.allclose(loaded.bounds, _mesh(female).bounds, atol=1e-5)
    with Image.open(tmp_path / "texture.png") as image:
        assert image.format == "PNG" and image.mode == "RGB"


def test_writers_leave_no_temporary_files(female, tmp_path):
    write_obj_bundle(female, tmp_path)
    write_obj_bundle(female, tmp_path)  # overwriting works too
    write_ply(female, tmp_path / "model.ply")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["avatar.obj", "avatar.obj.mtl", "model.ply", "texture.png"]


def test_ply_reloads_with_vertex_colours(female, tmp_path):
    path = tmp_path / "model.ply"
    write_ply(female, path)
    assert path.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    loaded = trimesh.load(path, process=False)
    assert len(loaded.vertices) == len(female.vertices) and len(loaded.faces) == len(female.faces)
    colours = np.asarray(loaded.visual.vertex_colors)[:, :3]
    assert _colour_near(colours, TOP).mean() > 0.05
    assert _colour_near(colours, SKIN_TONES[0]).mean() > 0.3
    assert loaded.is_watertight


def test_preview_shows_a_textured_body_from_the_front(female):
    image = render_preview(female)
    assert image.size == (360, 640) and image.mode == "RGB"
    pixels = np.asarray(image)
    for corner in (pixels[0, 0], pixels[0, -1], pixels[-1, 0], pixels[-1, -1]):
        assert tuple(corner) == BACKGROUND
    assert _colour_near(pixels, TOP, 60).sum() > 500
    assert _colour_near(pixels, SKIN_TONES[0], 60).sum() > 2000
    # Front view: the watch on the person's left wrist appears on the image's right half.
    watch_cols = np.nonzero(_colour_near(pixels, WATCH_COLOR, 70))[1]
    assert watch_cols.size > 0 and watch_cols.min() > 180
    # The mouth is in view: the camera sees the face, not the back of the head.
    head = pixels[: 640 // 5]
    assert _colour_near(head, LIP_COLOR, 45).sum() >= 3


def test_standard_body_is_fast_enough(tmp_path):
    generate_body(BodyParams(seed=10))  # warm-up (imports, VTK)
    start = time.perf_counter()
    body = generate_body(BodyParams(build="male", seed=11))
    write_obj_bundle(body, tmp_path)
    render_preview(body)
    # The target is < 0.4 s on an idle 2-core machine; allow for other work running alongside.
    assert time.perf_counter() - start < 1.5


@pytest.mark.parametrize("bad", [
    {"height_m": 0.3}, {"girth": 3.0}, {"build": "robot"}, {"detail": "huge"},
])
def test_invalid_params_are_refused(bad):
    with pytest.raises(ValueError):
        BodyParams(**bad)


def test_bundle_writer_accepts_str_paths(female, tmp_path):
    write_obj_bundle(female, Path(str(tmp_path / "nested" / "scan")))
    assert (tmp_path / "nested" / "scan" / "avatar.obj").exists()
