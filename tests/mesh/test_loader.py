"""load_mesh on every shared test file, on crafted broken bundles, and on every format."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from viewer.core.errors import MeshLoadError
from viewer.mesh.loader import LoadLimits, load_mesh, reorient
from viewer.mesh.mesh_data import PRISM_TO_VIEW, BodyMesh

pytestmark = pytest.mark.shared_data

SMPL_NOSE = 331  # SMPL's nose-tip vertex (Prism's avatar uses SMPL topology)


@dataclass(frozen=True)
class Loads:
    vertices: int
    faces: int
    texture: tuple[int, int] | None = None  # (height, width) of a real texture
    height_m: float | None = None  # set for bodies: units "m" and this height
    up: str | None = None  # detected up axis of the file
    vertex_colors: bool = False


@dataclass(frozen=True)
class Fails:
    reason: str  # a piece of MeshLoadError.reason


NOT_A_MESH = Fails("unsupported file type")
POINT_CLOUD = Fails("no faces (a point cloud)")

# Render vertices exceed the file's where trimesh splits at UV/normal seams; file vertices no
# face uses are appended (avatar.obj: 54 sole vertices, so 7462 + 54).
EXPECTED: dict[str, Loads | Fails] = {
    "LICENSE-NOTES.md": NOT_A_MESH,
    "odedstein-meshes-human/README.md": NOT_A_MESH,
    "odedstein-meshes-human/human_man.obj": Loads(6890, 13776, height_m=1.791, up="+Y"),
    "odedstein-meshes-human/human_neutral.obj": Loads(11437, 20908, height_m=1.721, up="+Y"),
    "odedstein-meshes-human/human_woman.obj": Loads(6890, 13776, height_m=1.658, up="+Y"),
    "prismlabs-prism-tools/LICENSE": NOT_A_MESH,
    "prismlabs-prism-tools/avatar.obj": Loads(7516, 13668, (512, 512), 1.709, "+X"),
    "prismlabs-prism-tools/avatar.obj.mtl": NOT_A_MESH,
    "prismlabs-prism-tools/texture.png": NOT_A_MESH,
    "prismlabs-prism-tools/upscaled-avatar.obj": Loads(25021, 49930, height_m=1.707, up="+X"),
    "trimesh-models-messy/LICENSE.md": NOT_A_MESH,
    "trimesh-models-messy/capsule.mtl": NOT_A_MESH,
    "trimesh-models-messy/capsule.obj": Loads(5252, 10200, (1024, 2048)),
    "trimesh-models-messy/capsule0.jpg": NOT_A_MESH,
    "trimesh-models-messy/cube_compressed.obj": Loads(24, 12),
    "trimesh-models-messy/emptyIO/obj_empty.obj": Fails("contains no vertices or faces"),
    "trimesh-models-messy/emptyIO/obj_points.obj": POINT_CLOUD,
    "trimesh-models-messy/face_in_group_name.obj": POINT_CLOUD,
    "trimesh-models-messy/fuze uv.jpg": NOT_A_MESH,
    "trimesh-models-messy/fuze.obj": Loads(664, 1000, (1024, 1024)),
    "trimesh-models-messy/fuze.obj.mtl": NOT_A_MESH,
    "trimesh-models-messy/groups.obj": Loads(1156, 2308),
    "trimesh-models-messy/jacked.obj": Loads(8, 12),
    "trimesh-models-messy/joined_tetrahedra.obj": Loads(15, 8),
    "trimesh-models-messy/nancolor.obj": Loads(8, 12, vertex_colors=True),
    "trimesh-models-messy/negative_indices.obj": Loads(24, 12),
    "trimesh-models-messy/noimg.obj": Loads(664, 1000),
    "trimesh-models-messy/notenoughindices.obj": Loads(3, 1),
    "trimesh-models-messy/obj_with_no_face_in_chunk.obj": Loads(3, 1),
    "trimesh-models-messy/polygonfaces.obj": Loads(5, 3),
    "trimesh-models-messy/quadknot.obj": Loads(2879, 2880, vertex_colors=True),
    "trimesh-models-messy/singlevn.obj": Loads(4, 2),
    "trimesh-models-messy/tube.obj": Loads(128, 120),
    "trimesh-models-messy/two_objects.obj": Loads(12, 16),
    "trimesh-models-messy/wallhole.obj": Loads(92, 66),
}


def _all_arrays(mesh: BodyMesh) -> list[np.ndarray]:
    arrays = [mesh.vertices, mesh.faces, mesh.uvs, mesh.texture, mesh.vertex_colors,
              mesh.source_vertex_index]
    arrays += [a for g in mesh.groups for a in (g.faces, g.image)]
    return [a for a in arrays if a is not None]


def test_every_shared_file_has_an_expectation(shared_testdata):
    files = [p for p in shared_testdata.rglob("*") if p.is_file()]
    present = {p.relative_to(shared_testdata).as_posix() for p in files}
    assert present == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_shared_file(shared_testdata, name):
    path = shared_testdata / name
    expected = EXPECTED[name]
    if isinstance(expected, Fails):
        with pytest.raises(MeshLoadError) as caught:
            load_mesh(path)
        assert expected.reason in caught.value.reason
        assert str(path) in str(caught.value)
        return

    mesh = load_mesh(path)
    assert (mesh.n_vertices, mesh.n_faces) == (expected.vertices, expected.faces)
    if expected.texture is None:
        assert mesh.texture is None and not mesh.is_textured
    else:
        assert mesh.is_textured
        assert mesh.texture.shape == (*expected.texture, 3)
        assert mesh.texture.dtype == np.uint8
        assert mesh.texture.std() > 10  # a photo, not a flat placeholder
        assert mesh.uvs.shape == (mesh.n_vertices, 2)
    assert (mesh.vertex_colors is not None) == expected.vertex_colors
    if expected.height_m is None:
        assert mesh.units is None and mesh.unit_scale == 1.0
    else:
        assert mesh.units == "m"
        assert mesh.height == pytest.approx(expected.height_m, abs=0.002)
        assert mesh.source_up_axis == expected.up
    assert mesh.faces.min() >= 0 and mesh.faces.max() < mesh.n_vertices
    assert np.isfinite(mesh.vertices).all()
    assert mesh.orientation_reason
    assert all(not a.flags.writeable for a in _all_arrays(mesh))


# ---------------------------------------------------------------- Prism's avatar


@pytest.fixture(scope="module")
def avatar_path(shared_testdata) -> Path:
    return shared_testdata / "prismlabs-prism-tools" / "avatar.obj"


@pytest.fixture(scope="module")
def avatar(avatar_path) -> BodyMesh:
    return load_mesh(avatar_path)


def _file_vertices(path: Path) -> np.ndarray:
    rows = [line.split()[1:4] for line in path.read_text().splitlines() if line.startswith("v ")]
    return np.array(rows, dtype=np.float64)


def _head_centre(mesh: BodyMesh) -> np.ndarray:
    z = mesh.vertices[:, 2]
    return mesh.vertices[z > z.max() - 0.12 * mesh.height].mean(axis=0)


def test_avatar_keeps_the_files_vertex_numbers(avatar, avatar_path):
    file_vertices = _file_vertices(avatar_path)
    assert len(file_vertices) == 6890
    index = avatar.source_vertex_index
    np.testing.assert_array_equal(np.unique(index), np.arange(6890))
    np.testing.assert_allclose(avatar.vertices, file_vertices[index] @ PRISM_TO_VIEW.T, atol=1e-12)


def test_avatar_stands_upright_facing_minus_y(avatar):
    assert avatar.source_up_axis == "+X" and avatar.source_front_axis == "+Z"
    assert avatar.orientation_reason.startswith("prism")
    extents = np.ptp(avatar.vertices, axis=0)
    assert extents[2] == pytest.approx(1.709, abs=0.001)
    assert extents[2] > 2 * extents[0] > 2 * extents[1]  # tall, then wide, then deep
    nose = avatar.vertices[avatar.source_vertex_index == SMPL_NOSE][0]
    assert nose[1] < _head_centre(avatar)[1] - 0.05


def test_avatar_texture_is_opaque_despite_tr_1(avatar):
    assert avatar.texture.shape == (512, 512, 3)  # RGB: Meshlab's "Tr 1" makes nothing clear


def test_avatar_renamed_is_still_found_upright_by_shape(avatar_path, tmp_path):
    renamed = tmp_path / "scan.obj"
    shutil.copy(avatar_path, renamed)  # no MTL next to it: untextured, no bundle name
    mesh = load_mesh(renamed)
    assert (mesh.source_up_axis, mesh.source_front_axis) == ("+X", "+Z")
    assert mesh.orientation_reason.startswith("heuristic")
    assert mesh.texture is None
    assert any("avatar.obj.mtl" in w and "missing" in w for w in mesh.warnings)


def test_smpl_t_pose_stands_on_its_height_not_its_arm_span(shared_testdata):
    mesh = load_mesh(shared_testdata / "odedstein-meshes-human" / "human_man.obj")
    extents = np.ptp(mesh.vertices, axis=0)
    assert extents[2] == pytest.approx(1.791, abs=0.002)  # file y: height
    assert extents[0] == pytest.approx(1.837, abs=0.002)  # file x: arm span, now left-right
    nose = mesh.vertices[SMPL_NOSE]
    assert nose[1] < _head_centre(mesh)[1] - 0.05
    assert "heuristic" in mesh.orientation_reason and "sure" in mesh.orientation_reason


# ---------------------------------------------------------------- overrides and re-orienting


def test_given_axes_override_detection(avatar_path):
    mesh = load_mesh(avatar_path, up_axis="+Y", front_axis="+Z")
    assert mesh.source_up_axis == "+Y" and mesh.orientation_reason.startswith("given")
    assert mesh.height == pytest.approx(0.728, abs=0.001)
    assert mesh.units is None  # lying on its side it is no standing person


def test_assume_prism_applies_without_the_bundle_name(shared_testdata, tmp_path):
    source = shared_testdata / "odedstein-meshes-human" / "human_woman.obj"
    mesh = load_mesh(source, assume_prism=True)
    assert (mesh.source_up_axis, mesh.source_front_axis) == ("+X", "+Z")
    assert mesh.orientation_reason.startswith("prism")


@pytest.mark.parametrize(("up", "front"), [("+Q", None), ("+X", "-X"), ("up", "+Z")])
def test_bad_axes_are_refused(avatar_path, up, front):
    with pytest.raises(ValueError):
        load_mesh(avatar_path, up_axis=up, front_axis=front)


def test_reorient_turns_the_loaded_mesh(avatar, avatar_path):
    lying = reorient(avatar, up_axis="+Y")
    assert (lying.source_up_axis, lying.source_front_axis) == ("+Y", "+Z")
    loaded_lying = load_mesh(avatar_path, up_axis="+Y", front_axis="+Z")
    np.testing.assert_allclose(lying.vertices, loaded_lying.vertices)
    back = reorient(lying, up_axis="+X", front_axis="+Z")
    np.testing.assert_allclose(back.vertices, avatar.vertices, atol=1e-12)
    assert not back.vertices.flags.writeable


# ---------------------------------------------------------------- crafted bundles


def _bundle(tmp_path: Path, avatar_path: Path, mtl_text: str) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    shutil.copy(avatar_path, folder / "avatar.obj")
    shutil.copy(avatar_path.parent / "texture.png", folder / "texture.png")
    (folder / "avatar.obj.mtl").write_text(mtl_text)
    return folder / "avatar.obj"


@pytest.mark.parametrize("reference", ["../secret.png", "/etc/secret.png", "sub/../../secret.png"])
def test_texture_outside_the_bundle_is_not_followed(tmp_path, avatar_path, reference):
    secret = np.full((64, 64, 3), 255, dtype=np.uint8)
    Image.fromarray(secret).save(tmp_path / "secret.png")
    obj = _bundle(tmp_path, avatar_path, f"newmtl material_0\nmap_Kd {reference}\n")
    Image.fromarray(secret).save(obj.parent / "secret.png")  # same name inside: still refused
    mesh = load_mesh(obj)
    assert mesh.texture is None
    assert any(reference in w and "outside" in w for w in mesh.warnings)
    assert mesh.n_faces == 13668


def test_missing_texture_file_loads_untextured_with_a_warning(tmp_path, avatar_path):
    obj = _bundle(tmp_path, avatar_path, "newmtl material_0\nmap_Kd gone.png\n")
    mesh = load_mesh(obj)
    assert mesh.texture is None
    assert any("gone.png" in w and "missing" in w for w in mesh.warnings)


def test_map_kd_options_and_rgba_texture(tmp_path, avatar_path):
    obj = _bundle(tmp_path, avatar_path, "newmtl material_0\nTr 1\nd 0\nmap_Kd -s 1 1 1 skin.png\n")
    rgba = np.zeros((32, 16, 4), dtype=np.uint8)
    rgba[..., 0] = 200
    Image.fromarray(rgba).save(obj.parent / "skin.png")  # fully transparent alpha
    mesh = load_mesh(obj)
    assert mesh.texture.shape == (32, 16, 3)
    assert (mesh.texture[..., 0] == 200).all()


def test_crlf_and_stray_bytes_are_tolerated(tmp_path, avatar_path):
    obj = _bundle(tmp_path, avatar_path, (avatar_path.parent / "avatar.obj.mtl").read_text())
    data = obj.read_bytes().replace(b"\n", b"\r\n")
    obj.write_bytes(b"# made by \xff\xfe\x80 tool\r\n" + data)
    mesh = load_mesh(obj)
    assert (mesh.n_vertices, mesh.n_faces) == (7516, 13668)
    assert mesh.texture.shape == (512, 512, 3)
    assert mesh.height == pytest.approx(1.709, abs=0.001)


def test_several_materials_keep_their_own_textures(tmp_path):
    red = np.zeros((8, 8, 3), dtype=np.uint8)
    red[..., 0] = 255
    blue = np.zeros((4, 16, 3), dtype=np.uint8)
    blue[..., 2] = 255
    Image.fromarray(red).save(tmp_path / "red.png")
    Image.fromarray(blue).save(tmp_path / "blue.png")
    (tmp_path / "two.mtl").write_text("newmtl red\nmap_Kd red.png\nnewmtl blue\nmap_Kd blue.png\n")
    (tmp_path / "two.obj").write_text(
        "mtllib two.mtl\n"
        "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 2 0 0\nv 2 1 0\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\n"
        "usemtl red\nf 1/1 2/2 3/3 4/4\n"
        "usemtl blue\nf 2/1 5/2 6/3 3/4\n"
    )
    mesh = load_mesh(tmp_path / "two.obj")
    assert mesh.n_faces == 4  # two quads, triangulated
    assert {g.name: g.image.shape for g in mesh.groups} == {"red": (8, 8, 3), "blue": (4, 16, 3)}
    assert sorted(np.concatenate([g.faces for g in mesh.groups])) == [0, 1, 2, 3]
    assert mesh.texture.shape in {(8, 8, 3), (4, 16, 3)}
    assert mesh.uvs.shape == (mesh.n_vertices, 2)


def test_ngons_are_triangulated(tmp_path):
    (tmp_path / "poly.obj").write_text(
        "v 0 0 0\nv 1 0 0\nv 2 1 0\nv 1 2 0\nv 0 1 0\nv 3 0 0\n" "f 1 2 3 4 5\nf 2 6 3\n"
    )
    mesh = load_mesh(tmp_path / "poly.obj")
    assert mesh.n_faces == 4
    np.testing.assert_array_equal(np.sort(mesh.source_vertex_index), np.arange(6))


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Request has expired</Message></Error>",
            "XML/HTML document (the server said AccessDenied), not a mesh",
        ),
        (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", "XML/HTML document"),
        (b'{"statusCode": 404, "message": "Not Found", "error": "Not Found"}', "JSON document"),
        (b"", "the file is empty"),
        (b"  \n\r\n ", "the file is empty"),
        (b"# only a comment\n", "contains no vertices or faces"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no faces (a point cloud)"),
    ],
    ids=["s3-error", "html", "json", "empty", "blank", "comment", "points"],
)
def test_not_a_mesh_is_refused_in_plain_words(tmp_path, content, reason):
    path = tmp_path / "avatar.obj"
    path.write_bytes(content)
    with pytest.raises(MeshLoadError) as caught:
        load_mesh(path)
    assert reason in caught.value.reason
    assert caught.value.path == path and str(path) in str(caught.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MeshLoadError, match="does not exist"):
        load_mesh(tmp_path / "nothing.obj")
    with pytest.raises(MeshLoadError, match="folder"):
        load_mesh(tmp_path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "model.fbx"
    path.write_bytes(b"Kaydara FBX Binary  \x00\x1a\x00" + bytes(range(256)))
    with pytest.raises(MeshLoadError, match=r"unsupported file type '\.fbx'"):
        load_mesh(path)


def test_limits(avatar_path):
    with pytest.raises(MeshLoadError, match=r"too large \(1 MB; the limit is 0 MB\)"):
        load_mesh(avatar_path, limits=LoadLimits(max_bytes=1000))
    with pytest.raises(MeshLoadError, match=r"too large \(13,668 faces; the limit is 10,000\)"):
        load_mesh(avatar_path, limits=LoadLimits(max_faces=10_000))


# ---------------------------------------------------------------- other formats, sniffed


@pytest.fixture(scope="module")
def smpl_woman(shared_testdata) -> trimesh.Trimesh:
    path = shared_testdata / "odedstein-meshes-human" / "human_woman.obj"
    return trimesh.load_mesh(path, process=False)


def test_ply_with_vertex_colours_under_a_wrong_name(tmp_path, smpl_woman):
    coloured = smpl_woman.copy()
    coloured.visual.vertex_colors = np.tile([200, 100, 50, 255], (len(coloured.vertices), 1))
    path = tmp_path / "scan.obj"  # really a PLY
    path.write_bytes(coloured.export(file_type="ply"))
    mesh = load_mesh(path)
    assert (mesh.n_vertices, mesh.n_faces) == (6890, 13776)
    assert tuple(mesh.vertex_colors[0]) == (200, 100, 50, 255)
    np.testing.assert_array_equal(mesh.source_vertex_index, np.arange(6890))
    assert mesh.height == pytest.approx(1.658, abs=0.002)
    assert any("contains PLY" in w for w in mesh.warnings)


def test_binary_stl_in_millimetres_without_extension(tmp_path, smpl_woman):
    in_mm = smpl_woman.copy()
    in_mm.apply_scale(1000.0)
    path = tmp_path / "model"
    path.write_bytes(in_mm.export(file_type="stl"))
    mesh = load_mesh(path)
    assert (mesh.units, mesh.unit_scale) == ("m", 0.001)
    assert mesh.height == pytest.approx(1.658, abs=0.002)
    assert mesh.n_faces == 13776 and mesh.n_vertices == 6890  # corners merged
    assert "converted to metres" in mesh.orientation_reason


def test_obj_in_centimetres(tmp_path, avatar_path):
    scaled = trimesh.load_mesh(avatar_path, process=False)
    scaled.apply_scale(100.0)
    path = tmp_path / "scan.obj"
    path.write_text(trimesh.exchange.obj.export_obj(scaled, include_texture=False))
    mesh = load_mesh(path)
    assert (mesh.units, mesh.unit_scale) == ("m", 0.01)
    assert mesh.height == pytest.approx(1.709, abs=0.002)


def test_textured_glb_by_convention_and_by_shape(tmp_path, avatar_path, shared_testdata):
    path = tmp_path / "avatar.glb"
    path.write_bytes(trimesh.load_mesh(avatar_path, process=False).export(file_type="glb"))
    mesh = load_mesh(path)
    assert mesh.texture.shape == (512, 512, 3)
    # stored +X up, against glTF's +Y: the shape wins because +Y gives no standing person
    assert mesh.source_up_axis == "+X" and mesh.height == pytest.approx(1.709, abs=0.002)

    y_up = tmp_path / "man.bin"  # no useful extension: sniffed by the glTF magic
    man_path = shared_testdata / "odedstein-meshes-human" / "human_man.obj"
    man = trimesh.load_mesh(man_path, process=False)
    y_up.write_bytes(man.export(file_type="glb"))
    mesh = load_mesh(y_up)
    assert mesh.orientation_reason.startswith("glTF convention")
    assert mesh.height == pytest.approx(1.791, abs=0.002)
